"""Measuring a segmentation against labels: pixel IoU, instance F1, and the classical baseline."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from devocore.progress import ProgressFn
from devocore.segmentation.cells import (default_min_size, enclosed_regions, fill_holes, max_hole, measure,
                                         postprocess, relabel, remove_small, split_touching, to_input)
from devocore.segmentation.config import Result
from devocore.segmentation.predict import Predictor


def pixel_scores(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(IoU, Dice) of two bool masks; both empty counts as perfect.

    Example:
        >>> a = np.zeros((4, 4), bool); a[:2] = True; b = np.zeros((4, 4), bool); b[:1] = True
        >>> pixel_scores(a, b)
        (0.5, 0.6666666666666666)
    """
    inter = float(np.logical_and(pred, truth).sum())
    total = float(pred.sum() + truth.sum())
    union = total - inter
    if union == 0:
        return 1.0, 1.0
    return inter / union, 2 * inter / total


def match_counts(pred: np.ndarray, truth: np.ndarray, iou: float = 0.5) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of instance labels matched at IoU > ``iou``.

    At IoU > 0.5 a match is unique, so no assignment step is needed.
    """
    tp, n_pred, n_true, _ = _matches(pred, truth, iou)
    return tp, n_pred - tp, n_true - tp


def _matches(pred: np.ndarray, truth: np.ndarray, iou: float):
    """(matched pairs, predicted instances, labelled instances, IoUs of the matched pairs); ids may have gaps."""
    n_pred, n_true = int(pred.max()), int(truth.max())
    if n_pred == 0 or n_true == 0:
        return 0, len(np.setdiff1d(np.unique(pred), [0])), len(np.setdiff1d(np.unique(truth), [0])), np.zeros(0)
    joint = np.bincount(pred.ravel().astype(np.int64) * (n_true + 1) + truth.ravel().astype(np.int64),
                        minlength=(n_pred + 1) * (n_true + 1)).reshape(n_pred + 1, n_true + 1)
    area_p, area_t = joint.sum(1), joint.sum(0)
    inter = joint[1:, 1:].astype(np.float64)
    union = area_p[1:, None] + area_t[None, 1:] - inter
    scores = inter / np.maximum(union, 1)
    hits = scores > iou
    return (int(hits.any(1).sum()), int((area_p[1:] > 0).sum()), int((area_t[1:] > 0).sum()),
            scores[hits])


def truth_instances(mask: np.ndarray, min_size: int = 20) -> np.ndarray:
    """Instances of a ground-truth foreground mask: connected components, specks under ``min_size`` dropped."""
    labels, _ = ndi.label(mask)
    return relabel(remove_small(labels, min_size))


def baseline(image: np.ndarray, task: str = "nucleus", threshold: float = 0.5) -> Result:
    """The classical method beside the model: Otsu after a Gaussian blur + watershed (nucleus),
    adaptive threshold + enclosed regions (membrane). ``threshold`` is ignored."""
    from skimage.filters import threshold_local, threshold_otsu

    grey = to_input(image)
    blurred = ndi.gaussian_filter(grey, 2.0 * max(1.0, max(grey.shape) / 256))
    if task == "nucleus":
        mask = blurred > threshold_otsu(blurred)
        min_size = default_min_size(grey.shape, task)
        labels = relabel(remove_small(split_touching(fill_holes(mask, max_hole(grey.shape))), min_size))
    else:
        local = threshold_local(blurred, block_size=2 * (max(grey.shape) // 16) + 1, offset=-0.02)
        labels = relabel(enclosed_regions(blurred > local, default_min_size(grey.shape, task)))
    return Result(blurred, labels, measure(labels, image), threshold, task)


def evaluate_pairs(pairs, predictor: Predictor | None, task: str = "nucleus", threshold: float = 0.5,
                   method=None, progress: ProgressFn | None = None) -> dict:
    """Mean pixel IoU and Dice over images, and instance F1 at IoU 0.5 pooled over all instances.

    Args:
        pairs: (image, truth) pairs; truth is a bool foreground mask or integer instance labels.
        predictor: the model; ignored when ``method(image, task, threshold) -> Result`` is given.

    ``iou_touching_truth`` is the pixel IoU when predicted objects that touch no annotated pixel are
    ignored: on partly annotated data (silver truth) it shows how much of the gap is unannotated objects.
    """
    ious, dices, f1s, tp, fp, fn, matched = [], [], [], 0, 0, 0, []
    partial = []  # pixel IoU counting only predicted objects that touch the truth (partly annotated data)
    for k, (image, truth) in enumerate(pairs):
        if method is not None:
            result = method(image, task, threshold)
        else:
            result = postprocess(predictor.probability(image), image, task, threshold)
        # truth is a bool mask (instances = its connected components) or integer instance labels
        labels = truth_instances(truth) if truth.dtype == bool else truth
        iou, dice = pixel_scores(result.mask, truth > 0)
        ious.append(iou)
        dices.append(dice)
        touching = np.setdiff1d(np.unique(result.labels[truth > 0]), [0])
        partial.append(pixel_scores(np.isin(result.labels, touching), truth > 0)[0])
        hits, n_pred, n_true, scores = _matches(result.labels, labels, 0.5)
        counts = (hits, n_pred - hits, n_true - hits)
        matched.extend(scores.tolist())
        tp, fp, fn = tp + counts[0], fp + counts[1], fn + counts[2]
        f1s.append(2 * counts[0] / max(1, 2 * counts[0] + counts[1] + counts[2]))
        if progress:
            progress((k + 1) / len(pairs), f"image {k + 1} of {len(pairs)}")
    return {"iou": float(np.mean(ious)), "iou_touching_truth": float(np.mean(partial)), "dice": float(np.mean(dices)),
            "f1": 2 * tp / max(1, 2 * tp + fp + fn), "f1_per_image": float(np.mean(f1s)),
            "precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn),
            "mean_matched_iou": float(np.mean(matched)) if matched else 0.0, "images": len(ious)}
