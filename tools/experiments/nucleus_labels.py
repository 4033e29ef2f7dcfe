"""Where a nucleus model and the binary nucleus masks disagree: outlines, and blobs that hold touching nuclei.

The CTC masks are binary (0/255), so two touching nuclei can share one labelled blob, and a scorer that takes
the connected components of the mask as nuclei counts a correct split of such a blob as one missed nucleus and
two false ones. This script measures how much of the instance F1 that explains, and how closely models of
different design agree with each other compared with the masks:

- blobs: labelled connected components of at least 20 px (the scorer's nuclei); a blob is *non-convex* when its
  area is under 0.9 of its convex hull's (two round nuclei that touch make a figure of eight);
- instance F1 at IoU 0.5 of the first model over all blobs, over convex blobs only and over non-convex blobs
  only (each predicted nucleus goes with the blob it overlaps most; one that overlaps none is left out of the
  two parts);
- non-convex blobs that the model splits into two or more nuclei (each with more than 10 px inside the blob);
- pixel IoU of every model with the masks and of every pair of models with each other, on slices with a
  labelled nucleus;
- blobs the first model does not see at all (its probability stays under 0.1 on every pixel of the blob), and
  slices where it sees none of the labelled pixels.

    PYTHONPATH=. python tools/experiments/nucleus_labels.py --images ../shared/data/train/ctc_nuclei/images \\
        --masks ../shared/data/train/ctc_nuclei/masks --validation --models nucleus OTHER_MODEL_DIR --json

``--validation`` keeps the validation time points of the training command's split (``--group-by
'^(t\\d+)_' --val-fraction 0.15``, seed 0). ``--gallery PNG`` draws 24 random non-convex blobs that the model
splits (image | mask outline in red | model outline in green), for checking the masks by eye.
"""
from __future__ import annotations

import argparse
import itertools
import json

import numpy as np


def parts_f1(labels: np.ndarray, truth: np.ndarray, nonconvex: np.ndarray) -> dict[str, tuple[int, int, int]]:
    """(tp, fp, fn) at IoU 0.5 over all blobs, convex blobs only and non-convex blobs only."""
    from devocore.segmentation.evaluate import match_counts

    counts = {"all": match_counts(labels, truth)}
    owner = np.zeros(int(labels.max()) + 1, np.int64)  # the blob each predicted nucleus overlaps most
    inside = (labels > 0) & (truth > 0)
    if inside.any():
        pairs = np.stack([labels[inside], truth[inside]], 1).astype(np.int64)
        ids, n = np.unique(pairs, axis=0, return_counts=True)
        for (p, t), _ in sorted(zip(map(tuple, ids), n), key=lambda item: item[1]):
            owner[p] = t  # the largest overlap is written last
    for name, keep in (("convex", False), ("nonconvex", True)):
        truth_part = np.where(nonconvex[truth] == keep, truth, 0) * (truth > 0)
        pred_part = np.where((owner[labels] > 0) & (nonconvex[owner[labels]] == keep), labels, 0)
        counts[name] = match_counts(pred_part, truth_part)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--masks", required=True)
    parser.add_argument("--models", nargs="+", default=["nucleus"], help="model names or folders; the first is scored")
    parser.add_argument("--validation", action="store_true", help="only the training split's validation time points")
    parser.add_argument("--gallery", help="PNG to draw 24 random non-convex blobs the first model splits")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from skimage.measure import regionprops

    from devocore import segmentation
    from devocore.segmentation.evaluate import pixel_scores, truth_instances
    from devocore.train.finetune import initial_model
    from tools.experiments.segmentation_choose import training_split

    data, _, validation = training_split(args.images, args.masks, "nucleus")
    chosen = validation if args.validation else range(len(data.images))
    chosen = [i for i in chosen if data.masks[i].any()]
    predictors = [segmentation.Predictor(initial_model(m).eval()) for m in args.models]

    totals = {part: np.zeros(3, np.int64) for part in ("all", "convex", "nonconvex")}
    blobs = nonconvex_blobs = split_blobs = unseen_blobs = unseen_slices = 0
    ious = {pair: [] for pair in itertools.combinations(range(-1, len(predictors)), 2)}  # -1: the masks
    crops, kept_labels = [], {}  # the split blobs and the first model's labels of their slices
    for i in chosen:
        image, mask = data.images[i], data.masks[i] > 0
        maps = [p.probability(image) for p in predictors]
        results = [segmentation.postprocess(m, image, "nucleus", 0.5) for m in maps]
        unseen_slices += int(maps[0][mask].max() < 0.1)
        masks = [mask] + [r.mask for r in results]
        for a, b in ious:
            ious[(a, b)].append(pixel_scores(masks[a + 1], masks[b + 1])[0])
        labels, truth = results[0].labels, truth_instances(mask)
        nonconvex = np.zeros(int(truth.max()) + 1, bool)
        for blob in regionprops(truth):
            nonconvex[blob.label] = blob.solidity < 0.9
            inside = tuple(blob.coords.T)
            pieces = np.unique(labels[inside], return_counts=True)
            split = int(((pieces[0] > 0) & (pieces[1] > 10)).sum()) >= 2
            blobs += 1
            unseen_blobs += int(maps[0][inside].max() < 0.1)
            nonconvex_blobs += int(nonconvex[blob.label])
            if nonconvex[blob.label] and split:
                split_blobs += 1
                crops.append((i, blob.centroid, blob.label))
                kept_labels[i] = labels
        for part, counts in parts_f1(labels, truth, nonconvex).items():
            totals[part] += counts

    def f1(counts):
        tp, fp, fn = (int(c) for c in counts)
        return {"f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4), "precision": round(tp / max(1, tp + fp), 4),
                "recall": round(tp / max(1, tp + fn), 4), "tp": tp, "fp": fp, "fn": fn}

    names = ["masks"] + list(args.models)
    result = {"images": len(chosen), "model": args.models[0], "blobs": blobs, "nonconvex_blobs": nonconvex_blobs,
              "nonconvex_blobs_split_by_model": split_blobs, "blobs_unseen": unseen_blobs,
              "slices_unseen": unseen_slices,
              **{f"instances_{part}": f1(c) for part, c in totals.items()},
              "pixel_iou": {f"{names[a + 1]} vs {names[b + 1]}": round(float(np.mean(v)), 4) for (a, b), v in ious.items()}}
    print(f"{len(chosen)} slices with a labelled nucleus; {blobs} labelled blobs, {nonconvex_blobs} non-convex "
          f"({nonconvex_blobs / max(1, blobs):.0%}), {split_blobs} of them split by {args.models[0]}; "
          f"{unseen_blobs} blobs and {unseen_slices} slices where {args.models[0]} sees nothing (probability < 0.1)")
    for part in totals:
        r = result[f"instances_{part}"]
        print(f"instance F1 ({part} blobs): {r['f1']:.3f} (P {r['precision']:.3f} R {r['recall']:.3f}; "
              f"tp {r['tp']} fp {r['fp']} fn {r['fn']})")
    for pair, value in result["pixel_iou"].items():
        print(f"pixel IoU {pair}: {value:.3f}")
    if args.gallery and crops:
        _gallery(args.gallery, crops, data, kept_labels)
    if args.json:
        print(json.dumps(result))


def _gallery(path, crops, data, labels_of: dict, count: int = 24, side: int = 32) -> None:
    from PIL import Image
    from skimage.segmentation import find_boundaries

    from devocore.segmentation.evaluate import truth_instances

    picked = np.random.default_rng(0).choice(len(crops), min(count, len(crops)), replace=False)
    tiles = []
    for k in picked:
        i, (cy, cx), blob = crops[k]
        image, mask = data.images[i], data.masks[i] > 0
        labels = labels_of[i]
        grey = image.astype(float) if image.ndim == 2 else image[..., 0].astype(float)
        low, high = np.percentile(grey, (1, 99.8))
        grey = np.clip((grey - low) / max(high - low, 1e-9), 0, 1) * 255
        y0 = int(np.clip(cy - side // 2, 0, grey.shape[0] - side))
        x0 = int(np.clip(cx - side // 2, 0, grey.shape[1] - side))
        window = (slice(y0, y0 + side), slice(x0, x0 + side))
        plain = np.repeat(grey[window][..., None], 3, -1)
        truth, model = plain.copy(), plain.copy()
        truth[find_boundaries(truth_instances(mask)[window] == blob, mode="inner")] = (255, 0, 0)
        model[find_boundaries(labels[window], mode="inner")] = (0, 255, 0)
        tiles.append(np.concatenate([plain, truth, model, np.zeros((side, 4, 3))], 1))
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 4)
    rows = [np.concatenate(tiles[k:k + 4], 1) for k in range(0, len(tiles), 4)]
    sheet = np.concatenate([np.concatenate([r, np.zeros((4, r.shape[1], 3))], 0) for r in rows], 0).astype(np.uint8)
    Image.fromarray(sheet).resize((sheet.shape[1] * 3, sheet.shape[0] * 3), Image.NEAREST).save(path)


if __name__ == "__main__":
    main()
