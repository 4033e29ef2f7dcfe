"""The baselines every forecast is compared with: persistence, seasonal naive and a linear AR model."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from devocore.errors import TableError


BASELINES = ("persistence", "seasonal naive", "linear AR")



def dominant_period(values: np.ndarray, max_lag: int | None = None) -> int | None:
    """The lag of the highest autocorrelation peak after the first zero crossing, or ``None``.

    Example:
        >>> dominant_period(np.sin(2 * np.pi * np.arange(500) / 25))
        25
    """
    x = np.asarray(values, float) - np.mean(values)
    n = len(x)
    max_lag = min(max_lag or n // 2, n - 2)
    if max_lag < 3 or not np.any(x):
        return None
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 1]
    acf = acf / acf[0]
    negative = np.flatnonzero(acf < 0)
    if negative.size == 0:
        return None
    start = int(negative[0])
    if start >= max_lag:
        return None
    lag = start + int(np.argmax(acf[start:]))
    return lag if acf[lag] > 0.1 else None



def fit_ar(values: np.ndarray, order: int) -> np.ndarray:
    """Least-squares AR(order) with intercept: returns ``[c, a_1, ..., a_p]``.

    The model is ``y[t] = c + a_1 y[t-1] + ... + a_p y[t-p] + e[t]``.

    Example:
        >>> y = np.sin(np.arange(200) * 0.3)
        >>> np.round(fit_ar(y, 2), 3).tolist()[1:]  # exact for a sine: a_1 = 2 cos(w), a_2 = -1
        [1.911, -1.0]
    """
    y = np.asarray(values, float)
    if len(y) <= 2 * order + 1:
        raise TableError(f"Too few points ({len(y)}) to fit an AR model of order {order}.")
    lags = np.stack([y[order - i: len(y) - i] for i in range(1, order + 1)], axis=1)
    design = np.concatenate([np.ones((len(lags), 1)), lags], axis=1)
    coef, *_ = np.linalg.lstsq(design, y[order:], rcond=None)
    return coef



def ar_forecast(values: np.ndarray, coef: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Recursive AR forecasts: ``(len(origins), horizon)``, origin ``t`` = last observed index."""
    y = np.asarray(values, float)
    order = len(coef) - 1
    buffer = np.stack([y[origins - i] for i in range(order)], axis=1)  # newest first
    out = np.empty((len(origins), horizon))
    for h in range(horizon):
        nxt = coef[0] + buffer @ coef[1:]
        out[:, h] = nxt
        buffer = np.concatenate([nxt[:, None], buffer[:, :-1]], axis=1)
    return out



def persistence_forecast(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value, repeated: ``(len(origins), horizon)``."""
    return np.repeat(np.asarray(values, float)[origins][:, None], horizon, axis=1)



def seasonal_naive_forecast(values: np.ndarray, origins: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """``y[t + h - k P]`` with the smallest ``k`` that makes it observed (``k = ceil(h / P)``)."""
    y = np.asarray(values, float)
    h = np.arange(1, horizon + 1)
    back = period * np.ceil(h / period).astype(int)
    return y[origins[:, None] + h[None, :] - back[None, :]]



def truth_windows(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    return np.asarray(values, float)[origins[:, None] + np.arange(1, horizon + 1)[None, :]]



def choose_ar_order(values: np.ndarray, fit_end: int, val_origins: np.ndarray, horizon: int,
                    orders: Sequence[int]) -> int:
    """The AR order with the lowest validation MAE (fitted on ``values[:fit_end]``)."""
    truth = truth_windows(values, val_origins, horizon)
    best, best_mae = 1, np.inf
    for order in orders:
        if order > fit_end // 10 or order > val_origins.min() + 1:
            continue
        mae = float(np.mean(np.abs(ar_forecast(values, fit_ar(values[:fit_end], order), val_origins, horizon) - truth)))
        if np.isfinite(mae) and mae < best_mae:
            best, best_mae = order, mae
    return best
