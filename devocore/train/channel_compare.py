"""One model per channel recipe (and architecture), same data, seed and budget, scored on held-out images.

:func:`compare_recipes` splits the multi-channel pairs once into training, validation (early stopping and the
best epoch) and held-out images (scoring only), trains a segmenter per (architecture, recipe) with
:func:`devocore.train.segmentation.train`, and scores each on the held-out images exactly as inference runs
(:class:`devocore.segmentation.Predictor` applies the recipe deterministically): pixel IoU and instance F1
(IoU 0.5) per image, reported as mean, standard deviation and interquartile range over the images.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from devocore import channels
from devocore.errors import DevocoreError
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

COLUMNS = ["arch", "recipe", "iou", "iou_std", "iou_iqr", "f1", "f1_std", "f1_iqr", "dice", "images", "epochs",
           "seconds"]


@dataclass
class Comparison:
    """What :func:`compare_recipes` found.

    Attributes:
        table: one row per (arch, recipe) in the order asked (see :data:`COLUMNS`).
        per_image: one row per (arch, recipe, held-out image): iou, dice, f1.
        split: numbers of training, validation and held-out images.
        models: (arch, recipe) -> trained module (eval mode, card with its recipe).
    """

    table: pd.DataFrame
    per_image: pd.DataFrame
    split: dict
    models: dict


def three_way(groups: list[str], held_out: float, val_fraction: float, seed: int) -> tuple[list, list, list]:
    """(train, validation, held-out) indices; whole groups on one side; at least one image in each.

    Example:
        >>> tr, va, ho = three_way([str(i) for i in range(10)], 0.3, 0.2, seed=0)
        >>> len(tr), len(va), len(ho), sorted(tr + va + ho) == list(range(10))
        (6, 1, 3, True)
    """
    from devocore.train.user_data import split

    if len(set(groups)) < 3:
        raise DevocoreError(f"A comparison needs at least 3 images (or groups): to train, to choose the best epoch "
                            f"and to score; found {len(set(groups))}.")
    rest, test = split(groups, held_out, seed)
    train, val = split([groups[i] for i in rest], val_fraction, seed + 1)
    return [rest[i] for i in train], [rest[i] for i in val], test


def _iqr(values) -> float:
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 - q1)


def score_images(model, pairs, task: str, threshold: float = 0.5) -> list[dict]:
    """Per held-out image: pixel IoU, Dice and instance F1 at IoU 0.5, with ``model`` run as at inference."""
    from devocore import segmentation

    predictor = segmentation.Predictor(model, bf16=False, int8=False)
    rows = []
    for image, truth in pairs:
        result = segmentation.postprocess(predictor.probability(image), image, task, threshold)
        labels = segmentation.truth_instances(truth) if truth.dtype == bool else truth
        iou, dice = segmentation.pixel_scores(result.mask, truth > 0)
        tp, fp, fn = segmentation.match_counts(result.labels, labels, 0.5)
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        rows.append({"iou": float(iou), "dice": float(dice), "f1": float(f1)})
    return rows


def compare_recipes(images_dir, masks_dir, recipes: list[str], cfg, archs: tuple[str, ...] = ("fpn",),
                    held_out: float = 0.25, val_fraction: float = 0.2, binary: bool | None = None,
                    progress: ProgressFn | None = None, stop=None) -> Comparison:
    """Train and score one model per (architecture, recipe).

    Args:
        images_dir, masks_dir: multi-channel images and their masks, matched by name.
        recipes: channel recipe texts (each may have several parts, e.g. "0; 3").
        cfg: a :class:`devocore.train.segmentation.TrainConfig`: the budget (epochs, steps, batch, minutes),
            seed, size and crop shared by every model.
        archs: architectures to train (``fpn``, ``unet34-ps``).
        held_out: share of images kept out of training and validation, for the scores.
        binary: masks are black and white (True) or instance labels (False); None decides from the masks.
        stop: ``() -> bool`` checked after every batch (Train view's Stop button).
    """
    from devocore.train import channel_data
    from devocore.train.segmentation import ARCHITECTURES, train

    parsed = [channels.parse(r) for r in recipes]
    if not parsed:
        raise DevocoreError("Give at least one channel recipe to compare, e.g. --channels \"0\" \"3\".")
    for arch in archs:
        if arch not in ARCHITECTURES:
            raise DevocoreError(f"Unknown architecture '{arch}'. Available options are: {list(ARCHITECTURES)}")
    widest = max(parsed, key=channels.needed)
    if binary is None:
        from devocore import subimages
        from devocore.train.pairs import match_pairs

        first = match_pairs(images_dir, masks_dir)[0]
        binary = len(np.unique(subimages.read_channels(first.mask))) <= 2
    dataset = channel_data.load_dataset(images_dir, masks_dir, cfg.task, binary, recipe=widest)
    train_idx, val_idx, test_idx = three_way(dataset.groups, held_out, val_fraction, cfg.seed)
    train_set, val_set, test_set = dataset.subset(train_idx), dataset.subset(val_idx), dataset.subset(test_idx)
    held = channel_data.ChannelSource(val_set, test_set, cfg.size, min(cfg.crop, cfg.size), recipe=parsed[0])
    pairs = held.validation_pairs()
    rows, per_image, models = [], [], {}
    jobs = [(arch, recipe) for arch in archs for recipe in parsed]
    for k, (arch, recipe) in enumerate(jobs):
        name = channels.text(recipe)
        run_cfg = replace(cfg, arch=arch, channels=name)
        source = channel_data.ChannelSource(train_set, val_set, cfg.size, min(cfg.crop, cfg.size), cfg.batch,
                                            cfg.aug_strength, recipe=recipe)

        def report(fraction, message, k=k):
            if progress:
                progress((k + fraction) / len(jobs), f"{arch}, '{name}': {message}")

        result = train(run_cfg, progress=report, data=source, stop=stop)
        model = result.pop("model")
        scores = score_images(model, pairs, cfg.task)
        for image_name, s in zip(test_set.names, scores):
            per_image.append({"arch": arch, "recipe": name, "image": image_name, **s})
        iou = [s["iou"] for s in scores]
        f1 = [s["f1"] for s in scores]
        rows.append({"arch": arch, "recipe": name, "iou": float(np.mean(iou)), "iou_std": float(np.std(iou)),
                     "iou_iqr": _iqr(iou), "f1": float(np.mean(f1)), "f1_std": float(np.std(f1)),
                     "f1_iqr": _iqr(f1), "dice": float(np.mean([s["dice"] for s in scores])),
                     "images": len(scores), "epochs": result["epochs"], "seconds": result["seconds"]})
        models[(arch, name)] = model
        log.info("%s '%s': held-out IoU %.3f, F1 %.3f", arch, name, rows[-1]["iou"], rows[-1]["f1"])
        if stop is not None and stop():
            break
    table = pd.DataFrame(rows, columns=COLUMNS)
    return Comparison(table, pd.DataFrame(per_image), {"train": len(train_idx), "validation": len(val_idx),
                                                       "held_out": len(test_idx)}, models)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def bar_chart(table: pd.DataFrame) -> np.ndarray:
    """An RGB uint8 bar chart: held-out IoU (blue) and F1 (orange) per recipe (and architecture); bars are
    means, whiskers one standard deviation over the images; y axis 0 to 1.

    Example:
        >>> t = pd.DataFrame({"arch": ["fpn"] * 2, "recipe": ["0", "3"], "iou": [0.8, 0.5], "iou_std": [0.05, 0.1],
        ...                   "f1": [0.7, 0.4], "f1_std": [0.1, 0.1]})
        >>> bar_chart(t).shape[2]
        3
    """
    from PIL import Image, ImageDraw

    n = len(table)
    left, right, top, bottom = 60, 20, 40, 70
    slot = 110
    width, height = left + right + slot * max(n, 1), 360
    plot_h = height - top - bottom
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font, small = _font(15), _font(12)

    def py(v):
        return top + plot_h * (1 - float(np.clip(v, 0, 1)))

    for v in (0, 0.25, 0.5, 0.75, 1.0):
        draw.line([(left, py(v)), (width - right, py(v))], fill=(225, 225, 225))
        draw.text((left - 6, py(v)), f"{v:.2f}", fill="black", font=small, anchor="rm")
    many_archs = len(set(table["arch"])) > 1
    for k, row in enumerate(table.itertuples()):
        x0 = left + k * slot + 15
        for j, (value, spread, colour) in enumerate(((row.iou, row.iou_std, (76, 114, 176)),
                                                     (row.f1, row.f1_std, (221, 132, 82)))):
            bx = x0 + j * 40
            draw.rectangle([bx, py(value), bx + 36, py(0)], fill=colour)
            cx = bx + 18
            draw.line([(cx, py(value - spread)), (cx, py(value + spread))], fill="black", width=1)
            for v in (value - spread, value + spread):
                draw.line([(cx - 5, py(v)), (cx + 5, py(v))], fill="black")
            draw.text((cx, py(value) - 4), f"{value:.2f}", fill="black", font=small, anchor="md")
        label = str(row.recipe) if len(str(row.recipe)) <= 16 else str(row.recipe)[:15] + "…"
        draw.text((x0 + 38, py(0) + 8), label, fill="black", font=small, anchor="ma")
        if many_archs:
            draw.text((x0 + 38, py(0) + 24), str(row.arch), fill=(90, 90, 90), font=small, anchor="ma")
    draw.line([(left, top), (left, py(0)), (width - right, py(0))], fill="black")
    draw.text((width / 2, 10), "Held-out scores per channel recipe (mean ± std)", fill="black", font=font,
              anchor="ma")
    draw.rectangle([left + 5, height - 22, left + 17, height - 10], fill=(76, 114, 176))
    draw.text((left + 22, height - 16), "pixel IoU", fill="black", font=small, anchor="lm")
    draw.rectangle([left + 105, height - 22, left + 117, height - 10], fill=(221, 132, 82))
    draw.text((left + 122, height - 16), "instance F1 (IoU 0.5)", fill="black", font=small, anchor="lm")
    return np.asarray(image)
