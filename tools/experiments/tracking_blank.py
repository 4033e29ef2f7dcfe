"""How the tracker does with what a camera does to a recording: dark first frames, a flash, dim or changing light.

The bundled plate video is changed as a camera would change it, written as an MP4 (mp4v, as OpenCV writes it) and
tracked by `tracking.track`:
  as_is        the video as it is;
  black_start  10 black frames before it (a shutter opening, a camera's first frames);
  white_start  5 white frames before it (overexposed first frames);
  flash        frame 101 white (a flash);
  dim_0.25 ... the whole video at that share of its brightness (plate at 38 of 255 at 0.25);
  flicker_0.05, flicker_0.1  each frame's brightness times 1 + that much normal noise (seed 0: a lamp's flicker);
  drift_0.85-1.15, drift_0.7-1.3  the brightness rising steadily between those shares (a lamp warming up).
Prints, per case, the worms found, the rows and the rows "ok", and the frames skipped as showing nothing to track.

Usage: PYTHONPATH=. python tools/experiments/tracking_blank.py [--cases as_is black_start ...] [--json]
       (about 1 min in all on 2 cores)
"""
import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from devocore import io, tracking

ROOT = Path(__file__).resolve().parents[2]
DIM = (0.25, 0.1, 0.06, 0.04)


def cases(frames: list) -> dict:
    """Each case's frames (colour, 8-bit)."""
    black, white = np.zeros_like(frames[0]), np.full_like(frames[0], 255)
    made = {"as_is": frames, "black_start": [black] * 10 + frames, "white_start": [white] * 5 + frames,
            "flash": frames[:100] + [white] + frames[101:]}
    for share in DIM:
        made[f"dim_{share:g}"] = [(f * share).astype(np.uint8) for f in frames]
    rng = np.random.default_rng(0)
    lit = {f"flicker_{sd:g}": 1 + sd * rng.standard_normal(len(frames)) for sd in (0.05, 0.1)}
    lit.update({f"drift_{a:g}-{b:g}": np.linspace(a, b, len(frames)) for a, b in ((0.85, 1.15), (0.7, 1.3))})
    for name, gains in lit.items():
        made[name] = [np.clip(f.astype(np.float32) * g, 0, 255).astype(np.uint8) for f, g in zip(frames, gains)]
    return made


def write(frames: list, path: Path, fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames[0].shape[1::-1], True)
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", help="which cases (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with io.open_frames(ROOT / "assets" / "examples" / "tracking" / "worms.mp4") as source:
        frames, fps = list(source), source.fps
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, made in cases(frames).items():
            if args.cases and name not in args.cases:
                continue
            result = tracking.track(write(made, Path(tmp) / f"{name}.mp4", fps), tracking.TrackConfig())
            table = result.table
            row = {"case": name, "worms": int(table["worm"].nunique()), "rows": len(table),
                   "ok": int((table["status"] == "ok").sum()), "skipped_frames": io.frame_list(result.blank_frames)}
            rows.append(row)
            print(f"{name:12s} worms {row['worms']:3d}  rows {row['rows']:5d}  ok {row['ok']:4d}  "
                  f"skipped: {row['skipped_frames'] or '-'}", flush=True)
    if args.json:
        print(json.dumps({"cases": rows}))


if __name__ == "__main__":
    main()
