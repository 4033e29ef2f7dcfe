"""Learning-rate finder: an exponential sweep of the rate, loss against rate, and a suggested rate.

The model is trained for a few dozen batches with the rate growing by the same
factor at every step (``start`` to ``end``); the loss is smoothed and the sweep
stops once it has blown up. The suggested rate is where the smoothed loss falls
fastest (steepest negative slope against log rate), capped at a tenth of the
rate of the lowest loss. The model passed in is not changed (a copy is swept).
"""
from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass

import numpy as np

from devocore.progress import ProgressFn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LRFinderResult:
    """Rates tried, the smoothed loss at each, and the suggested rate."""

    rates: list[float]
    losses: list[float]
    suggested: float

    def table(self):
        import pandas as pd

        return pd.DataFrame({"learning_rate": self.rates, "loss": self.losses})


def suggest(rates, losses) -> float:
    """The rate of steepest loss descent, at most a tenth of the rate at the lowest loss.

    Example:
        >>> r = np.logspace(-5, 0, 50); l = 1 / (1 + np.exp((np.log10(r) + 2.5) * 3)) + (r > 0.3) * 5
        >>> 1e-4 < suggest(r, l) < 1e-2
        True
    """
    rates, losses = np.asarray(rates, float), np.asarray(losses, float)
    if len(rates) < 3:
        return float(rates[0]) if len(rates) else 1e-3
    best = int(np.argmin(losses))
    slope = np.gradient(losses[:best + 1], np.log10(rates[:best + 1])) if best >= 2 else np.array([0.0])
    steep = float(rates[int(np.argmin(slope))]) if best >= 2 else float(rates[best])
    return float(min(steep, rates[best] / 10)) if best >= 2 else float(rates[best] / 10)


def find_lr(model, data, steps: int = 40, start: float = 1e-6, end: float = 1.0, loss: str = "bce+dice",
            fg_weight: float = 1.0, seed: int = 0, progress: ProgressFn | None = None,
            freeze_encoder: bool = False) -> LRFinderResult:
    """Sweep the learning rate over ``steps`` batches from ``data.batch(rng)`` (see
    :class:`devocore.train.user_data.PairSource`) on a copy of ``model``; ``freeze_encoder``: train only what
    follows the encoder, as :class:`devocore.train.segmentation.TrainConfig` ``.freeze_encoder`` does."""
    import torch

    from devocore.train.segmentation import freeze_encoder as freeze, loss_fn, train_mode

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = copy.deepcopy(model).float()
    if freeze_encoder:
        freeze(net)
    train_mode(net)
    device = next(net.parameters()).device
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=start, weight_decay=1e-4)
    factor = (end / start) ** (1 / max(steps - 1, 1))
    rates, losses, smooth, lowest = [], [], 0.0, math.inf
    for step in range(steps):
        lr = start * factor ** step
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, t = data.batch(rng)
        optimizer.zero_grad(set_to_none=True)
        value = loss_fn(net(x.to(device)).float(), t.to(device), loss, fg_weight)
        value.backward()
        optimizer.step()
        smooth = 0.7 * smooth + 0.3 * value.item()
        corrected = smooth / (1 - 0.7 ** (step + 1))
        rates.append(lr)
        losses.append(corrected)
        lowest = min(lowest, corrected)
        if progress:
            progress((step + 1) / steps, f"rate {lr:.1e}: loss {corrected:.3f}")
        if not math.isfinite(corrected) or (step > 5 and corrected > 4 * lowest):
            log.info("loss blew up at rate %.1e; sweep ends", lr)
            break
    result = LRFinderResult(rates, losses, suggest(rates, losses))
    log.info("suggested learning rate %.1e", result.suggested)
    return result
