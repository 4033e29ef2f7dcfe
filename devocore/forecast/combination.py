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
