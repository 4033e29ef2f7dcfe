"""How touching nuclei are split, scored on the training data: the shipped rule, no split, and h-maxima markers.

The shipped rule (``segmentation.cells.split_touching``) puts one marker on every peak of the smoothed distance
map at least ``0.6 x`` the typical radius from the next. The variants here: no split (connected components), and
markers from the h-maxima of the same smoothed map (a peak must rise ``h`` px above the saddle that joins it to
the next), which splits only where the waist between two nuclei is deep. The probability maps are computed once.

    PYTHONPATH=. python tools/experiments/nucleus_split.py --images ../shared/data/train/ctc_nuclei/images \\
        --masks ../shared/data/train/ctc_nuclei/masks --part validation --json

``--part validation`` scores the validation time points of the training command's split (seed 0); ``--part
training`` the slices the model was trained on (the model reproduces their masks, merged blobs included, so
this part favours not splitting).
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def h_maxima_split(h: float):
    """A ``split_touching`` replacement whose markers are the h-maxima of the smoothed distance map."""
    from scipy import ndimage as ndi
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    def split(mask: np.ndarray, min_distance=None) -> np.ndarray:
        components, n = ndi.label(mask)
        if n == 0:
            return components.astype(np.int32)
        dist = ndi.distance_transform_edt(mask)
        smooth = ndi.gaussian_filter(dist, 1.0)
        markers, count = ndi.label(h_maxima(smooth, h) & mask)
        for component in np.setdiff1d(np.arange(1, n + 1), np.unique(components[markers > 0])):
            count += 1  # a flat component with no h-maximum keeps one marker at its deepest point
            markers[ndi.maximum_position(dist, components, component)] = count
        return watershed(-smooth, markers, mask=mask)

    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--masks", required=True)
    parser.add_argument("--model", default="nucleus")
    parser.add_argument("--part", choices=["validation", "training"], default="validation")
    parser.add_argument("--heights", default="0.5,1,1.5,2", help="h values in px (comma-separated)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from scipy import ndimage as ndi

    from devocore import segmentation
    from devocore.segmentation import cells
    from devocore.train.finetune import initial_model
    from tools.experiments.segmentation_choose import scores_of_maps, training_split

    data, training, validation = training_split(args.images, args.masks, "nucleus")
    pairs = [(data.images[i], data.masks[i] > 0) for i in (validation if args.part == "validation" else training)]
    predictor = segmentation.Predictor(initial_model(args.model).eval())
    maps = [predictor.probability(image) for image, _ in pairs]

    variants = {"shipped": cells.split_touching,
                "no split": lambda mask, min_distance=None: ndi.label(mask)[0].astype(np.int32)}
    variants.update({f"h-maxima {h:g} px": h_maxima_split(h) for h in (float(v) for v in args.heights.split(","))})
    rows, shipped = [], cells.split_touching
    try:
        for name, split in variants.items():
            cells.split_touching = split  # cells.instances looks it up at call time
            figures = scores_of_maps(pairs, maps, "nucleus", 0.5)
            rows.append({"split": name, **{k: round(figures[k], 4) for k in ("f1", "precision", "recall", "iou")}})
            print(f"{name:18s} F1 {figures['f1']:.4f} (P {figures['precision']:.3f} R {figures['recall']:.3f}), "
                  f"pixel IoU {figures['iou']:.4f}")
    finally:
        cells.split_touching = shipped
    if args.json:
        print(json.dumps({"part": args.part, "images": len(pairs), "rows": rows}))


if __name__ == "__main__":
    main()
