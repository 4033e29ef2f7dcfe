"""How Segmentation and Lineage do with dim or blank input: the bundled examples at lower brightness.

Segmentation: the bundled nuclei and membrane examples at 1, 0.25, 0.1 and 0.05 times their brightness (8-bit),
as 12-bit levels with a camera offset (x4 + 100, 16-bit), and at 3 times (saturated): nuclei or cells found.
Lineage: the bundled embryo movie as it is, after 10 black frames, at 0.25 and 0.1 times its brightness, and with
its middle frame white: the mean and largest difference of the per-frame total from the movie as it is (the same
frames compared), and the frames found without an embryo.

Usage: PYTHONPATH=. python tools/experiments/dim_inputs.py [--json]   (about 3 min on 2 cores)
"""
import argparse
import json
from pathlib import Path

import numpy as np

from devocore import io, registry, segmentation
from devocore.lineage import predict

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "assets" / "examples"


def segmentation_rows() -> list[dict]:
    rows = []
    for name, task in (("nuclei.png", "nucleus"), ("membrane.png", "membrane")):
        image = io.to_gray(io.read_image(EXAMPLES / "segmentation" / name).data)
        model = segmentation.load(task)
        variants = {f"x{k:g}": (image.astype(np.float32) * k).astype(np.uint8) for k in (1, 0.25, 0.1, 0.05)}
        variants["12-bit + offset"] = image.astype(np.uint16) * 4 + 100
        variants["x3 saturated"] = np.clip(image.astype(np.float32) * 3, 0, 255).astype(np.uint8)
        for variant, data in variants.items():
            rows.append({"example": name, "variant": variant, "found": segmentation.segment(data, model).count})
            print(f"{name:13s} {variant:16s} found {rows[-1]['found']}", flush=True)
    return rows


def lineage_rows() -> list[dict]:
    net = registry.load_model("lineage")
    with io.open_frames(EXAMPLES / "lineage" / "embryo_timelapse.mov") as source:
        frames = list(source)
    plain = predict(np.stack(frames), net).table["total"].to_numpy()
    middle = len(frames) // 2
    variants = {"as it is": (frames, 0), "10 black frames before": ([np.zeros_like(frames[0])] * 10 + frames, 10),
                "x0.25": ([(f * 0.25).astype(np.uint8) for f in frames], 0),
                "x0.1": ([(f * 0.1).astype(np.uint8) for f in frames], 0),
                "middle frame white": (frames[:middle] + [np.full_like(frames[0], 255)] + frames[middle + 1:], 0)}
    rows = []
    for variant, (given, skip) in variants.items():
        table = predict(np.stack(given), net).table
        diff = np.abs(table["total"].to_numpy()[skip:skip + len(plain)] - plain)
        rows.append({"variant": variant, "mean_total_difference": round(float(diff.mean()), 2),
                     "max_total_difference": int(diff.max()), "frames_without_embryo": int((~table["embryo"]).sum())})
        print(f"lineage {variant:24s} total differs by {rows[-1]['mean_total_difference']:.2f} on average "
              f"(at most {rows[-1]['max_total_difference']}); frames without an embryo "
              f"{rows[-1]['frames_without_embryo']}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"segmentation": segmentation_rows(), "lineage": lineage_rows()}
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
