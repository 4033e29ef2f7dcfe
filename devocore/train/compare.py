"""Several models scored on the same validation images, in one table.

Typical rows: the shipped model, the fine-tuned one, one trained from scratch
and the classical baseline (Otsu + watershed, :func:`devocore.segmentation.baseline`).
Every row is measured by :func:`devocore.segmentation.evaluate_pairs` on the
same (image, truth) pairs: pixel IoU and Dice (mean over images) and instance
F1 at IoU 0.5.
"""
from __future__ import annotations

import logging

import pandas as pd

from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

BASELINE = "baseline"
COLUMNS = ["model", "kind", "iou", "dice", "f1", "precision", "recall", "images"]


def compare(models: dict, pairs, task: str = "nucleus", threshold: float = 0.5,
            progress: ProgressFn | None = None) -> pd.DataFrame:
    """One row per model, best IoU first.

    Args:
        models: row name -> a loaded model (``nn.Module`` with a card), or the
            string ``"baseline"`` for the classical method.
        pairs: (image, truth foreground bool mask) pairs, e.g.
            :meth:`devocore.train.user_data.PairSource.validation_pairs`.
        task: "nucleus" or "membrane".
    """
    from devocore import segmentation

    rows = []
    for k, (name, model) in enumerate(models.items()):
        if isinstance(model, str) and model == BASELINE:
            scores = segmentation.evaluate_pairs(pairs, None, task, threshold, method=segmentation.baseline)
            kind = "classical (Otsu + watershed)" if task == "nucleus" else "classical (adaptive threshold)"
        else:
            card = getattr(model, "card", {}) or {}
            model.card = dict(card, target=card.get("target", task))
            predictor = segmentation.Predictor(model, bf16=False, int8=False)  # every model in float32
            scores = segmentation.evaluate_pairs(pairs, predictor, task, threshold)
            kind = card.get("kind") or card.get("source", "model")
        rows.append({"model": name, "kind": kind, **{c: scores[c] for c in COLUMNS[2:]}})
        if progress:
            progress((k + 1) / len(models), f"scored {name}")
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values("iou", ascending=False, ignore_index=True)
    for column in ("iou", "dice", "f1", "precision", "recall"):
        table[column] = table[column].round(4)
    return table
