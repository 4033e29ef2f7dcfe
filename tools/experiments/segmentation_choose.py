"""Choose the segmentation threshold and post-processing on the *training* data's own validation split.

The split is the one `train nucleus/membrane --images ... --group-by '^(t\\d+)_' --val-fraction 0.15` makes
(whole time points, seed 0), so nothing here looks at ../shared/data/eval.

    PYTHONPATH=. python tools/experiments/segmentation_choose.py --task nucleus --model /path/to/model \\
        --images ../shared/data/train/ctc_nuclei/images --masks ../shared/data/train/ctc_nuclei/masks --json
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def training_split(images, masks, task: str, binary: bool = True):
    """(dataset, training indices, validation indices) as `train nucleus/membrane --group-by '^(t\\d+)_'
    --val-fraction 0.15` splits them (whole time points, seed 0); the other experiment scripts use it too."""
    from devocore.train import user_data

    data = user_data.load_dataset(images, masks, task, binary=binary, group_pattern=r"^(t\d+)_")
    return (data, *user_data.split(data.groups, 0.15, seed=0))


def scores_of_maps(pairs, maps, task: str, threshold: float) -> dict:
    """:func:`devocore.segmentation.evaluate_pairs` of probability maps computed beforehand, one per pair."""
    from devocore import segmentation

    given = iter(maps)
    return segmentation.evaluate_pairs(pairs, None, task, threshold, method=lambda image, task, threshold:
                                       segmentation.postprocess(next(given), image, task, threshold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["nucleus", "membrane"], required=True)
    parser.add_argument("--model", required=True, help="model name or folder")
    parser.add_argument("--images", required=True)
    parser.add_argument("--masks", required=True)
    parser.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7")
    parser.add_argument("--flips", action="store_true",
                        help="average the maps of the image and its 3 flips (test-time augmentation, 4x the time)")
    parser.add_argument("--zoom", type=float, default=1.0,
                        help="run the network at this many times its input size (as `segment --zoom`)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from devocore import segmentation
    from devocore.train.finetune import initial_model
    from devocore.commands.eval_segmentation import cell_labels

    instance = args.task == "membrane"
    data, _, val = training_split(args.images, args.masks, args.task, binary=not instance)
    pairs = [(data.images[i], cell_labels(data.masks[i]) if instance else data.masks[i] > 0) for i in val]
    model = initial_model(args.model).eval()
    predictor = segmentation.Predictor(model, zoom=args.zoom)

    def probability(image):
        plain = predictor.probability(image)
        if not args.flips:
            return plain
        flipped = [np.flip(predictor.probability(np.ascontiguousarray(np.flip(image, axes))), axes)
                   for axes in ((0,), (1,), (0, 1))]
        return np.mean([plain, *flipped], axis=0)

    probs = [probability(image) for image, _ in pairs]
    # the eval sets hold only slices with a labelled object; an empty slice scores IoU 1 when nothing is
    # predicted there (0 for one false pixel), so the mean over all slices is not comparable with eval
    kept = [k for k, (_, truth) in enumerate(pairs) if truth.any()]

    def scores(which: list[int], threshold: float) -> dict:
        return scores_of_maps([pairs[k] for k in which], [probs[k] for k in which], args.task, threshold)

    rows = []
    for threshold in (float(t) for t in args.thresholds.split(",")):
        figures = scores(list(range(len(pairs))), threshold)
        labelled = scores(kept, threshold)
        rows.append({"threshold": threshold, **{k: round(v, 4) for k, v in figures.items()},
                     "labelled_images": len(kept), "labelled_iou": round(labelled["iou"], 4)})
        print(f"threshold {threshold:.2f}: IoU {figures['iou']:.3f} F1 {figures['f1']:.3f} "
              f"(P {figures['precision']:.3f} R {figures['recall']:.3f}); on the {len(kept)} slices with a "
              f"labelled object (as in eval): IoU {labelled['iou']:.3f}")
    best = max(rows, key=lambda r: r["f1"] + r["iou"])
    result = {"task": args.task, "model": args.model, "validation_images": len(pairs), "rows": rows,
              "best_threshold": best["threshold"]}
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
