"""Convex combinations of simple forecasts, weighted per horizon step on the validation part (an option for the
LSTM's base, off by default: `evaluate.BASE_EXTRAS`)."""
from __future__ import annotations

from typing import Callable

import numpy as np


def convex_weights(forecasts: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-step weights, ``H x M``, each row non-negative and summing to 1, that minimise the squared error of
    ``sum_m w[h, m] forecasts[m, :, h]`` against ``truth[:, h]``.

    ``forecasts`` is ``M x N x H`` (M methods, N origins, H steps), ``truth`` is ``N x H``. A method that
    adds nothing gets weight 0; with one method the weight is 1.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> truth = rng.normal(size=(200, 2))
        >>> good, bad = truth + 0.1 * rng.normal(size=truth.shape), rng.normal(size=truth.shape)
        >>> w = convex_weights(np.stack([bad, good]), truth)
        >>> w.round(1).tolist()
        [[0.0, 1.0], [0.0, 1.0]]
    """
    from scipy.optimize import nnls

    forecasts, truth = np.asarray(forecasts, float), np.asarray(truth, float)
    n_methods, _, horizon = forecasts.shape
    weights = np.empty((horizon, n_methods))
    for h in range(horizon):
        design, target = forecasts[:, :, h].T, truth[:, h]
        scale = max(float(np.sqrt(np.mean(design ** 2))), 1e-12) * np.sqrt(len(target)) * 100.0
        # the sum-to-one constraint as a heavily weighted extra row of the non-negative least squares
        w, _ = nnls(np.vstack([design, np.full((1, n_methods), scale)]), np.append(target, scale))
        weights[h] = w / max(w.sum(), 1e-12)
    return weights


def combine(bases: dict[str, Callable], val_origins: np.ndarray, val_truth: np.ndarray
            ) -> tuple[Callable, dict[str, np.ndarray]]:
    """``(origins -> combined forecast, {name: weight per step})`` from named forecast functions
    (``origins -> len(origins) x H``), the weights from :func:`convex_weights` on the validation origins."""
    names = list(bases)
    weights = convex_weights(np.stack([bases[k](val_origins) for k in names]), val_truth)

    def combined(origins: np.ndarray) -> np.ndarray:
        return sum(weights[:, i] * bases[k](origins) for i, k in enumerate(names))
    return combined, {k: weights[:, i] for i, k in enumerate(names)}


def online_combination(forecasts: np.ndarray, truth: np.ndarray, origins: np.ndarray, half_life: float = 25.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's forecasts weighted by how well each method did on the rows whose outcome was already known.

    ``forecasts`` is ``M x N x H`` (M methods, N origins in ascending order, H steps), ``truth`` is ``N x H``
    and ``origins`` the N origins (the last observed step of each forecast). Step ``h`` of row ``i`` weights
    method ``m`` by ``1 / R**2``, ``R`` the exponentially weighted mean absolute error (half-life
    ``half_life`` rows) of ``m``'s step-``h`` forecasts from the rows ``j`` with ``origins[j] + h <=
    origins[i]``: only outcomes that were observed at origin ``i`` are used, so a row's own truth and
    later ones never are. A row with no such row before it takes the first method's forecast.

    Returns ``(combined N x H, weights M x N x H)``.

    Example:
        >>> truth = np.zeros((40, 1)); origins = np.arange(40)
        >>> a = np.r_[np.full(20, 0.1), np.full(20, 1.0)][:, None]  # good, then bad
        >>> b = np.r_[np.full(20, 1.0), np.full(20, 0.1)][:, None]  # bad, then good
        >>> _, w = online_combination(np.stack([a, b]), truth, origins, half_life=2)
        >>> w[:, [0, 10, 39], 0].round(2).tolist()  # row 0 knows nothing yet
        [[1.0, 0.99, 0.01], [0.0, 0.01, 0.99]]
    """
    from scipy.signal import lfilter

    forecasts, truth, origins = np.asarray(forecasts, float), np.asarray(truth, float), np.asarray(origins)
    n_methods, n, horizon = forecasts.shape
    decay = 0.5 ** (1.0 / half_life)
    weights = np.zeros_like(forecasts)
    counts = lfilter([1.0], [1.0, -decay], np.ones(n))  # the weights' sum over the first k rows
    for h in range(horizon):
        errors = np.abs(forecasts[:, :, h] - truth[None, :, h])
        sums = lfilter([1.0], [1.0, -decay], errors, axis=1)
        known = np.searchsorted(origins + h + 1, origins, side="right")  # rows whose step h+1 was observed
        blind = known == 0
        recent = sums[:, np.maximum(known - 1, 0)] / counts[np.maximum(known - 1, 0)]
        w = 1.0 / np.maximum(recent, 1e-12) ** 2
        w /= w.sum(axis=0, keepdims=True)
        w[:, blind] = 0.0
        w[0, blind] = 1.0
        weights[:, :, h] = w
    return np.sum(weights * forecasts, axis=0), weights
