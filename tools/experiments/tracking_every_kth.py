"""The bundled plate video saved as a folder of every k-th frame, numbered as saved, scored against its truth.

For each k, writes frames 0, k, 2k, ... as `0000.png`, `000k.png`, ... and runs `eval tracking --video FOLDER
--truth assets/examples/tracking/truth.csv --fps 25 --json`. Prints the median head error and the head/tail swap rate
over the matched rows, and the recall over the truth rows of the frames kept.

Usage: PYTHONPATH=. python tools/experiments/tracking_every_kth.py [--steps 1 2 3 5] [--json]   (about 20 s)
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.experiments.tracking_scale import EXAMPLE, ROOT, bundled_frames, write_folder

KEYS = ("median_head_error_px", "swap_rate", "recall", "id_switches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 3, 5])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    frames = bundled_frames()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for step in args.steps:
            kept = range(0, len(frames), step)
            folder = write_folder([frames[i] for i in kept], Path(tmp) / f"every{step}", kept)
            run = subprocess.run([sys.executable, "-m", "devocore", "eval", "tracking", "--video", str(folder),
                                  "--truth", str(EXAMPLE / "truth.csv"),
                                  "--fps", "25", "--json"], capture_output=True, text=True, cwd=ROOT, check=True)
            figures = json.loads(run.stdout.strip().splitlines()[-1])
            rows.append({"every": step, **{k: figures[k] for k in KEYS}})
            if not args.json:
                print(rows[-1], flush=True)
    print(json.dumps({"video": "assets/examples/tracking/worms.mp4", "steps": rows}))


if __name__ == "__main__":
    main()
