"""How the tracker does with worms seen larger or smaller: the bundled plate video resized 0.15-3x.

Each size is written as a folder of PNG frames and tracked twice: by `tracking.track` (which measures the worms'
width and tracks frames resized where they are wider than `tracker.WIDE_WORM` or thinner than `tracker.THIN_WORM`)
and, with `--as-given`, by `tracking.track_frames` on the same frames at their own size (what `track` did before).
Prints, per size, the worms' measured width, the scale tracked at, the worms found, the rows "ok" (of all rows) and
the median length of the "ok" rows divided by the size (about 100 px when the worms are measured right).

Usage: PYTHONPATH=. python tools/experiments/tracking_scale.py [--sizes 0.15 0.2 0.25 0.3 1 2 2.25 3] [--as-given]
       [--json]   (about 1 min per size on 2 cores)
"""
import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from devocore import io, tracking
from devocore.tracking.segment import compact_gray, worm_width

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "assets" / "examples" / "tracking"


def bundled_frames() -> list:
    """The bundled plate video's frames (150, 640 x 480, colour)."""
    with io.open_frames(EXAMPLE / "worms.mp4") as source:
        return list(source)


def write_folder(frames, folder: Path, numbers) -> Path:
    """``frames`` as PNG files named by ``numbers`` (``0007.png``) in a new ``folder``."""
    folder.mkdir()
    for number, frame in zip(numbers, frames):
        cv2.imwrite(str(folder / f"{number:04d}.png"), frame)
    return folder


def figures(result) -> dict:
    table = result.table
    ok = table[table["status"] == "ok"]
    return {"scale": round(result.scale, 3), "worms": int(table["worm"].nunique()), "ok_rows": int(len(ok)),
            "rows": int(len(table))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.15, 0.2, 0.25, 0.3, 1, 2, 2.25, 3])
    parser.add_argument("--as-given", action="store_true", help="also track the frames at their own size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    frames = bundled_frames()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            resized = [cv2.resize(f, None, fx=size, fy=size,
                                  interpolation=cv2.INTER_AREA if size < 1 else cv2.INTER_CUBIC) for f in frames]
            folder = write_folder(resized, Path(tmp) / f"x{size:g}", range(len(resized)))
            picks = [compact_gray(resized[i]) for i in np.linspace(0, len(resized) - 1, 7).astype(int)]
            width = worm_width(picks)
            result = tracking.track(folder, tracking.TrackConfig(fps=25))
            row = {"size": size, "width_px": None if width is None else round(width, 1), **figures(result)}
            ok = result.table[result.table["status"] == "ok"]
            row["ok_length_over_size"] = round(float(ok["length_px"].median()) / size, 1) if len(ok) else None
            if args.as_given:
                row["as_given"] = figures(tracking.track_frames(resized, tracking.TrackConfig(fps=25)))
            rows.append(row)
            if not args.json:
                print(row, flush=True)
    print(json.dumps({"video": "assets/examples/tracking/worms.mp4", "sizes": rows}))


if __name__ == "__main__":
    main()
