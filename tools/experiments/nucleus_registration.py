"""Are the nucleus masks shifted against their images? A check on the training split's validation time points.

The CTC masks were resized from 708 x 512 to 256 x 256 apart from the images; a shift of half a pixel between
them would cost a 10-20 px nucleus about 0.05-0.1 IoU, and flips in training would keep a model from learning
it. Two measures:

- the shipped model's probability map moved by (dy, dx) in -1..1 px (half-pixel steps, linear interpolation),
  thresholded at 0.5 and scored by pixel IoU against the masks (mean over slices with a labelled nucleus): the
  best shift should be (0, 0);
- model-free: for every labelled blob of at least 40 px, the centroid of the image's brightness (above the
  slice's median) within the blob grown by 3 px, minus the blob's centroid, in pixels.

Usage: PYTHONPATH=. python tools/experiments/nucleus_registration.py --images ../shared/data/train/ctc_nuclei/images \\
    --masks ../shared/data/train/ctc_nuclei/masks [--json]
"""
import argparse
import json

import numpy as np
from scipy import ndimage as ndi

SHIFTS = (-1.0, -0.5, 0.0, 0.5, 1.0)


def brightness_offsets(image: np.ndarray, mask: np.ndarray, min_size: int = 40, grow: int = 3) -> list:
    """(dy, dx) of the brightness centroid around each labelled blob minus the blob's centroid."""
    grey = image.astype(float).mean(-1) if image.ndim == 3 else image.astype(float)
    weight = np.clip(grey - np.median(grey), 0, None)
    labels, count = ndi.label(mask)
    offsets = []
    for k in range(1, count + 1):
        blob = labels == k
        if blob.sum() < min_size:
            continue
        around = weight * ndi.binary_dilation(blob, iterations=grow)
        if around.sum() > 0:
            offsets.append(np.subtract(ndi.center_of_mass(around), ndi.center_of_mass(blob)))
    return offsets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", required=True)
    ap.add_argument("--masks", required=True)
    ap.add_argument("--model", default="nucleus")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from devocore import segmentation
    from devocore.train.finetune import initial_model
    from tools.experiments.segmentation_choose import training_split

    data, _, validation = training_split(args.images, args.masks, "nucleus")
    chosen = [i for i in validation if data.masks[i].any()]
    predictor = segmentation.Predictor(initial_model(args.model).eval())
    maps = [(predictor.probability(data.images[i]), data.masks[i] > 0) for i in chosen]
    grid = {}
    for dy in SHIFTS:
        for dx in SHIFTS:
            scores = []
            for probability, mask in maps:
                moved = ndi.shift(probability, (dy, dx), order=1) > 0.5
                scores.append((moved & mask).sum() / max(1, (moved | mask).sum()))
            grid[f"{dy:+.1f},{dx:+.1f}"] = round(float(np.mean(scores)), 4)
    offsets = np.array([o for i in chosen for o in brightness_offsets(data.images[i], data.masks[i] > 0)])
    best = max(grid, key=grid.get)
    result = {"slices": len(chosen), "iou_by_shift_dy_dx": grid, "best_shift": best,
              "blobs": len(offsets), "brightness_minus_mask_centroid_px": offsets.mean(0).round(3).tolist(),
              "standard_error_px": (offsets.std(0) / np.sqrt(len(offsets))).round(3).tolist()}
    print(f"{len(chosen)} slices: pixel IoU {grid['+0.0,+0.0']:.4f} unshifted, best {grid[best]:.4f} at (dy, dx) = "
          f"({best}); {len(offsets)} blobs: brightness minus mask centroid (dy, dx) = "
          f"{result['brightness_minus_mask_centroid_px']} px (standard error {result['standard_error_px']})")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
