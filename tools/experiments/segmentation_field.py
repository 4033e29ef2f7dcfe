"""How much of the field does the embryo fill, in the slices the segmentation models were trained on?

The network sees every plane at 256 px, so an embryo small in a wide field comes out too small for it. This
measures, for every training slice, the frame's extent over the embryo box's (`devocore.io.embryo_box`) along
each axis, and takes the smaller of the two; `segmentation.FIELD_NOTE_RATIO` must lie above what the training
slices give. It then sets the bundled examples in fields 1-4 times as wide (background pixels drawn from the
image's darker half) and counts what the shipped model finds at each width, as it is and at zoom 2.

Usage: PYTHONPATH=. python tools/experiments/segmentation_field.py [--data ../shared/data/train] [--json]
"""
import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from devocore import io, segmentation

ROOT = Path(__file__).resolve().parents[2]
SETS = {"membrane": "cshaper_membrane", "nucleus": "ctc_nuclei"}
WIDTHS = (1, 1.5, 2, 3, 4)


def field_ratio(plane: np.ndarray) -> float | None:
    """The frame's extent over the embryo box's, the smaller of the two axes (None: no embryo found)."""
    box = io.embryo_box(plane)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    return min(plane.shape[0] / (y1 - y0), plane.shape[1] / (x1 - x0))


def widened(image: np.ndarray, factor: float, seed: int = 0) -> np.ndarray:
    """``image`` in the middle of a field ``factor`` times as wide, filled with its darker half's pixels."""
    rng = np.random.default_rng(seed)
    background = image[image < np.percentile(image, 50)]
    h, w = image.shape
    big_h, big_w = int(h * factor), int(w * factor)
    field = rng.choice(background, size=(big_h, big_w)).astype(image.dtype)
    top, left = (big_h - h) // 2, (big_w - w) // 2
    field[top:top + h, left:left + w] = image
    return field


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = {"field_note_ratio": segmentation.FIELD_NOTE_RATIO}
    for task, folder in SETS.items():
        index = pd.read_csv(args.data / folder / "index.csv")
        ratios = pd.Series([field_ratio(io.to_gray(io.read_image(args.data / folder / name).data))
                            for name in index["image"]], dtype=float)
        figures[f"{task}_training_slices"] = {
            "slices": int(ratios.notna().sum()), "min": round(float(ratios.min()), 2),
            "median": round(float(ratios.median()), 2), "p99": round(float(ratios.quantile(0.99)), 2),
            "max": round(float(ratios.max()), 2), "at_or_above_note": int((ratios >= segmentation.FIELD_NOTE_RATIO[task]).sum())}
        example = io.to_gray(io.read_image(ROOT / "assets" / "examples" / "segmentation" /
                                           ("membrane.png" if task == "membrane" else "nuclei.png")).data)
        model = segmentation.load(task)
        rows = []
        for factor in WIDTHS:
            field = widened(example, factor)
            zoomed = segmentation.Predictor(model, zoom=2)
            rows.append({"width": factor, "ratio": round(field_ratio(field), 2),
                         "found": int(segmentation.segment(field, model).labels.max()),
                         "found_at_zoom_2": int(segmentation.segment(field, model, predictor=zoomed).labels.max()),
                         "note": segmentation.field_note(field, task, "x") is not None})
        figures[f"{task}_example_widened"] = rows
        if not args.json:
            print(task, figures[f"{task}_training_slices"])
            for row in rows:
                print("  ", row)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
