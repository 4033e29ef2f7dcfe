"""Lineage on a field that shows several embryos, and how often one embryo is taken for several.

Slides are often mounted with several embryos in the field, and debris or a bead may shine beside one. This
scores the lineage model by nMAE against a movie's exact populations with a second embryo beside it (80 px of
background between; the same movie, the same movie 40 frames younger, or frames side by side without a gap), or
with a nucleus-sized bright spot 300 px beside it, counted the default way (the largest embryo) and as a whole
field (``--embryos all``). Then it counts the short clips of one embryo that :func:`devocore.io.embryo_region`
takes for several: the first 70 time points of each training EPIC table rendered as a movie, clips of 8, 10 and 15
frames starting every 2 frames up to frame 54 (the early stages, whose nuclei lie in groups apart from each
other). Development used the training movie and tables only.

Usage: PYTHONPATH=. python tools/experiments/lineage_several_embryos.py --video MOVIE --labels POPULATIONS.csv
           [--epic DIR] [--json]
"""
import glob
import json
from pathlib import Path

import numpy as np

from devocore import io, lineage
from devocore.lineage import LineageConfig
from devocore.simulate import epic_movie as em
from tools.experiments.lineage_movie import movie_parser, movie_with_truth, nmae


def scored(frames, truth, net, config: LineageConfig) -> tuple[float, str]:
    """nMAE of the lineage model on ``frames``, and its note on several embryos or spots ("" when none)."""
    result = lineage.predict(np.stack(frames), net, config)
    return nmae(result, truth), " ".join(n for n in result.notes if "embryos apart" in n or "Bright spots" in n)


def spotted(frame: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """``frame`` with 300 px of background on its right and a nucleus-sized bright green spot (debris, a bead) there."""
    import cv2

    wide = np.concatenate([frame, gap, gap, gap, gap[:, :60]], axis=1)
    return cv2.circle(np.ascontiguousarray(wide), (wide.shape[1] - 60, 60), 12, (0, 255, 0), -1)


def false_several(folder: str) -> dict:
    """Short early clips of one rendered embryo taken for several, of all clips."""
    clips, taken = 0, []
    for k, path in enumerate(sorted(glob.glob(str(Path(folder) / "*.csv")))):
        shots = em.epic_snapshots(io.read_epic(path))
        movie = [lineage.nucleus_channel(f) for f in em.render_movie(shots[:70], seed=k)]
        for n in (8, 10, 15):
            for start in range(0, 56, 2):
                clip = movie[start:start + n]
                picks = np.unique(np.linspace(0, len(clip) - 1, min(10, len(clip))).round().astype(int))
                clips += 1
                found = io.embryo_region([clip[i] for i in picks])
                if found:
                    taken.append({"table": Path(path).name, "frames": n, "start": start, "embryos": found[0]})
    return {"clips": clips, "taken_for_several": len(taken), "cases": taken}


def main() -> None:
    parser = movie_parser(__doc__)
    parser.add_argument("--epic", default="../shared/data/train/epic", help="folder of EPIC tables (training)")
    args = parser.parse_args()
    frames, truth, net = movie_with_truth(args.video, args.labels)
    background = np.median(frames[len(frames) // 2][::4, ::4], axis=(0, 1)).astype(np.uint8)
    gap = np.broadcast_to(background, (frames[0].shape[0], 80, 3))
    fields = {
        "alone": frames,
        "beside a copy": [np.concatenate([f, gap, f], axis=1) for f in frames],
        "beside itself 40 frames younger": [np.concatenate([f, gap, frames[max(0, i - 40)]], axis=1)
                                            for i, f in enumerate(frames)],
        "beside a copy without a gap": [np.concatenate([f, f], axis=1) for f in frames],
        "a bright spot 300 px beside it": [spotted(f, gap) for f in frames],
    }
    rows = []
    for name, field in fields.items():
        largest, said = scored(field, truth, net, LineageConfig())
        whole, _ = scored(field, truth, net, LineageConfig(embryos="all"))
        rows.append({"field": name, "nmae_largest": round(largest, 4), "nmae_whole_field": round(whole, 4),
                     "note": said})
        print(f"{name:32s} nMAE {largest:.4f} (largest embryo), {whole:.4f} (whole field)  {said[:90]}", flush=True)
    several = false_several(args.epic)
    print(f"short early clips of one embryo taken for several: {several['taken_for_several']} of {several['clips']}")
    if args.json:
        print(json.dumps({"video": args.video, "rows": rows, **several}))


if __name__ == "__main__":
    main()
