"""The travelling-wave forecast: the body's present shape carried along at the measured wave speed."""
from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from devocore.forecast.baselines import truth_windows


WAVE = "travelling wave"



WAVE_WINDOWS = (5, 10, 20, 40, 80)



def body_axis(columns: Sequence[str], min_segments: int = 5) -> list[str]:
    """The columns named ``segment<number>`` in body order (by the number), or ``[]`` when fewer than
    ``min_segments``: curvature sampled along the worm, head to tail (or tail to head).

    Example:
        >>> body_axis(["time_s", "segment_10", "segment_2", "segment_1", "segment_3", "segment_4", "speed"])
        ['segment_1', 'segment_2', 'segment_3', 'segment_4', 'segment_10']
    """
    numbered = {}
    for name in columns:
        match = re.fullmatch(r"segment[_ ]?(\d+)", str(name), flags=re.IGNORECASE)
        if match:
            numbered.setdefault(int(match.group(1)), name)
    return [numbered[k] for k in sorted(numbered)] if len(numbered) >= min_segments else []



def _box_sums(values: np.ndarray, window: int, band: int) -> np.ndarray:
    """``out[t, s]`` = sum of ``values[t - window + 1 .. t, s - band .. s + band]`` (clipped at the edges)."""
    n, m = values.shape
    table = np.zeros((n + 1, m + 1))
    table[1:, 1:] = np.cumsum(np.cumsum(values, axis=0), axis=1)
    rows = np.arange(n)
    lo_t, hi_t = np.maximum(rows + 1 - window, 0), rows + 1
    cols = np.arange(m)
    lo_s, hi_s = np.maximum(cols - band, 0), np.minimum(cols + band + 1, m)
    return (table[hi_t][:, hi_s] - table[lo_t][:, hi_s] - table[hi_t][:, lo_s] + table[lo_t][:, lo_s])



def wave_velocity(profiles: np.ndarray, window: int, band: int | None = None) -> np.ndarray:
    """Local speed of the body wave, ``n x S`` (segments per step, positive = towards higher segments).

    ``profiles`` is ``n x S`` (curvature at S segments along the body, in body order). A wave
    travelling along the body obeys ``dk/dt + v dk/ds = 0``; ``v`` at step ``t`` and segment ``s`` is
    its least-squares solution over the last ``window`` steps (up to ``t``, never after) and the
    ``band`` segments on either side (default: a fifth of the body, at least 2). Clipped to one
    segment per step.

    Example:
        >>> s, t = np.arange(100), np.arange(60)[:, None]
        >>> v = wave_velocity(np.sin(0.1 * (s - 0.5 * t)), window=5, band=3)
        >>> round(float(np.median(v[10:])), 2)
        0.5
    """
    k = np.asarray(profiles, float)
    band = max(2, k.shape[1] // 5) if band is None else band
    dt = np.zeros_like(k)
    dt[1:] = np.diff(k, axis=0)
    ds = np.zeros_like(k)  # the space derivative half-way between the two steps, where dt is taken
    ds[1:] = np.gradient(0.5 * (k[1:] + k[:-1]), axis=1)
    num = _box_sums(dt * ds, window, band)
    den = _box_sums(ds * ds, window, band)
    v = -num / np.maximum(den, 1e-12)
    return np.clip(np.where(den > 1e-12, v, 0.0), -1.0, 1.0)



def wave_forecast(profiles: np.ndarray, origins: np.ndarray, horizon: int, weights: np.ndarray,
                  offset: np.ndarray | float = 0.0, window: int = 20, band: int | None = None,
                  velocity: np.ndarray | None = None) -> np.ndarray:
    """Forecast ``(profile - offset) @ weights`` by carrying the body's shape along at the wave's speed.

    The profile at step ``t + h`` is the one at the origin ``t`` shifted by ``v h`` segments
    (``k(t + h, s) = k(t, s - v(t, s) h)``, linear interpolation, held at the head and tail), ``v`` from
    :func:`wave_velocity` (which sees only steps up to ``t``). ``weights`` picks the target out of the
    profile: a unit vector for one segment, a principal component for an eigenworm. No parameter is
    fitted; ``window`` and ``band`` are chosen by the caller (on the validation part).

    Returns ``len(origins) x horizon``.

    Example:
        >>> s, t = np.arange(100), np.arange(80)[:, None]
        >>> k = np.sin(0.1 * (s - 0.5 * t))
        >>> pred = wave_forecast(k, np.array([50]), 20, np.eye(100)[60], window=5, band=3)
        >>> bool(np.abs(pred - k[51:71, 60]).max() < 0.01)
        True
    """
    k = np.asarray(profiles, float)
    n_seg = k.shape[1]
    v = wave_velocity(k, window, band) if velocity is None else velocity
    weights = np.asarray(weights, float)
    offset_term = float(np.dot(np.broadcast_to(offset, (n_seg,)), weights))
    seg = np.arange(n_seg, dtype=float)
    steps = np.arange(1, horizon + 1, dtype=float)
    out = np.empty((len(origins), horizon))
    for start in range(0, len(origins), 256):  # bounded memory: 256 x H x S at a time
        o = np.asarray(origins[start: start + 256])
        source = np.clip(seg[None, None, :] - steps[None, :, None] * v[o][:, None, :], 0, n_seg - 1)
        left = np.minimum(source.astype(int), n_seg - 2)
        frac = source - left
        profile = np.broadcast_to(k[o][:, None, :], source.shape)
        low = np.take_along_axis(profile, left, axis=2)
        high = np.take_along_axis(profile, left + 1, axis=2)
        out[start: start + 256] = ((1 - frac) * low + frac * high) @ weights - offset_term
    return out



def blend_with_wave(ar_base: Callable, wave_base: Callable, val_origins: np.ndarray, val_truth: np.ndarray,
                     scale: float, messages: list[str]):
    """The LSTM's base when a travelling wave is at hand: ``AR + w_h (wave - AR)`` with one weight per
    horizon step, ``w_h`` in [0, 1] by least squares on the validation part (a forecast combination:
    on simulated worms and within the real recording's training part it beat both forecasts and a
    hard choice between them, which an unlucky validation part sends the wrong way)."""
    ar_val, wave_val = ar_base(val_origins), wave_base(val_origins)
    gap, residual = wave_val - ar_val, val_truth - ar_val
    weight = np.clip(np.sum(gap * residual, axis=0) / np.maximum(np.sum(gap * gap, axis=0), 1e-12), 0.0, 1.0)

    def blended(origins: np.ndarray) -> np.ndarray:
        ar = ar_base(origins)
        return ar + weight * (wave_base(origins) - ar)
    maes = [float(np.mean(np.abs(f - val_truth))) * scale for f in (wave_val, ar_val, ar_val + weight * gap)]
    messages.append(f"The LSTM starts from a blend of the {WAVE} and linear AR forecasts, weighted per step on the "
                    f"validation part (wave weight {weight[0]:.2f} at step 1, {weight[-1]:.2f} at step "
                    f"{len(weight)}); validation MAE {maes[0]:.4g} ({WAVE}), {maes[1]:.4g} (linear AR), "
                    f"{maes[2]:.4g} (blend).")
    return blended, weight



def choose_wave(profiles: np.ndarray, weights: np.ndarray, offset, target: np.ndarray, val_start: int,
                 val_origins: np.ndarray, horizon: int):
    """``(window, origins -> forecast in target units)``: the travelling-wave forecast of
    ``target = (profiles - offset) @ weights`` with the velocity window of the lowest validation MAE."""
    truth = truth_windows(target, val_origins, horizon)
    best = None
    for window in [w for w in WAVE_WINDOWS if w <= val_start // 4] or [WAVE_WINDOWS[0]]:
        velocity = wave_velocity(profiles, window)
        error = float(np.mean(np.abs(wave_forecast(profiles, val_origins, horizon, weights, offset,
                                                   velocity=velocity) - truth)))
        if best is None or error < best[0]:
            best = (error, window, velocity)
    _, window, velocity = best

    def predict(origins: np.ndarray) -> np.ndarray:
        return wave_forecast(profiles, origins, horizon, weights, offset, velocity=velocity)
    return window, predict
