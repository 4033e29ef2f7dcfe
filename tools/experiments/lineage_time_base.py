"""Do the lineage annotations run on the same clock as the images? Two measurements.

Superseded finding (issue 25): the older curves stretched each tracing over all movie frames; the exact curves
now in train/epic_population_curves.csv run on the table's clock (frame n = time point n), and the 'tracing'
method fitted to the stretched clock was removed. The tool still checks the clocks and the 'timeline' method.

1. Training embryos (train/epic/CD*.csv with their curves in train/epic_population_curves.csv): the nuclei
   each EPIC table holds at time t, against the annotated total of the same embryo at curve frame f.
   Fits annotated(f) = nuclei(d * f + c) and prints d per embryo (d = 1: same clock).
   Also prints where the annotations stop: the median last annotated total over all curves
   (about 360 cells), and each curve's length against its table's time points.
   Then checks the 'timeline' method with the table as a perfect nucleus counter: a movie of as
   many frames as the annotation, frame g showing table time g (no signal past the table's end), the time
   line fitted through the shipped model's reference curves, nMAE against the embryo's annotation.
2. A movie with an annotation (e.g. eval/embryo_timelapse.mov): nuclei found in sampled frames by the
   shipped nucleus model against the annotated total of the same frame, and the same fit of d.

Usage:
    PYTHONPATH=. python tools/experiments/lineage_time_base.py --epic ../shared/data/train/epic \
        --curves ../shared/data/train/epic_population_curves.csv \
        [--video ../shared/data/eval/embryo_timelapse.mov --labels ../shared/data/eval/embryo_timelapse_populations.csv]
"""
import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from devocore.lineage import LINEAGES, StageCurves, evaluate, to_counts


def fit_clock(frames: np.ndarray, annotated: np.ndarray, times: np.ndarray, nuclei: np.ndarray) -> tuple[float, float]:
    """(d, c) minimising the mean |log(1 + annotated(f)) - log(1 + nuclei(d f + c))| over frames in range."""
    best = (np.inf, 1.0, 0.0)
    for d in np.arange(0.3, 1.6, 0.01):
        for c in np.arange(-20, 21, 1.0):
            t = c + d * frames
            ok = (t >= times.min()) & (t <= times.max())
            if ok.sum() < max(5, len(frames) // 4):
                continue
            err = np.mean(np.abs(np.log1p(np.interp(t[ok], times, nuclei)) - np.log1p(annotated[ok])))
            if err < best[0]:
                best = (err, float(d), float(c))
    return best[1], best[2]


def epic_clocks(epic_dir: str, curves_csv: str) -> None:
    from devocore import registry

    reference = StageCurves.from_model(registry.load_model("lineage", "cpu"))
    curves = pd.read_csv(curves_csv)
    curves["total"] = curves[list(LINEAGES)].sum(axis=1)
    last = curves.sort_values("frame").groupby("embryo").total.last()
    print(f"{len(last)} curves; last annotated total: median {last.median():.0f}, "
          f"quartiles {last.quantile(0.25):.0f}-{last.quantile(0.75):.0f}")
    for path in sorted(Path(epic_dir).glob("CD*.csv")):
        name = path.stem[2:]
        one = curves[curves.embryo == name]
        if one.empty:
            continue
        nuclei = pd.read_csv(path).groupby("time").size()
        d, c = fit_clock(one.frame.to_numpy(float), one.total.to_numpy(float),
                         nuclei.index.to_numpy(float), nuclei.to_numpy(float))
        print(f"{name}: table time points {nuclei.index.max()}, curve frames {one.frame.max()} "
              f"(ratio {nuclei.index.max() / one.frame.max():.2f}), annotated(f) = nuclei({d:.2f} f {c:+.0f})")
        print("    with the table as a perfect counter: " + perfect_counter(one, nuclei, reference))


def perfect_counter(annotation: pd.DataFrame, nuclei: pd.Series, curves: StageCurves) -> str:
    """nMAE of 'timeline' when the image time line is fitted to the table's exact nucleus counts."""
    truth = annotation[["frame", *LINEAGES]].reset_index(drop=True)
    frames = np.arange(1, max(len(truth), int(nuclei.index.max())) + 1, dtype=float)
    seen = np.log1p(np.interp(frames, nuclei.index.to_numpy(float), nuclei.to_numpy(float)))
    offset, rate = curves.fit_timeline(frames, seen, (frames <= nuclei.index.max()).astype(float))
    pred = pd.DataFrame(to_counts(curves.at(offset + rate * frames)), columns=list(LINEAGES))
    pred.insert(0, "frame", frames.astype(int))
    return f"timeline nMAE {evaluate(pred, truth)['nmae']:.3f} (rate {rate:.2f})"


def movie_clock(video: str, labels: str, step: int = 10, last: int = 120) -> None:
    from devocore import segmentation
    from devocore.io import open_frames

    model = segmentation.load("nucleus")
    truth = pd.read_csv(labels)
    truth["total"] = truth[list(LINEAGES)].sum(axis=1)
    wanted = set(range(1, last + 1, step))
    frames, counts = [], []
    with open_frames(video) as stream:
        for k, frame in enumerate(stream, start=1):
            if k in wanted:
                plane = frame[..., 1] if frame.ndim == 3 else frame  # the green (nucleus) channel
                frames.append(k)
                counts.append(int(segmentation.segment(plane, model).labels.max()))
            if k >= last:
                break
    annotated = truth.set_index("frame").total.reindex(frames).to_numpy(float)
    print("frame  nuclei found  annotated total")
    for f, n, a in zip(frames, counts, annotated):
        print(f"{f:5d}  {n:12d}  {a:15.0f}")
    d, c = fit_clock(np.array(frames, float), annotated, np.array(frames, float), np.array(counts, float))
    print(f"annotated(f) = nuclei found({d:.2f} f {c:+.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epic")
    parser.add_argument("--curves")
    parser.add_argument("--video")
    parser.add_argument("--labels")
    args = parser.parse_args()
    if args.epic and args.curves:
        epic_clocks(args.epic, args.curves)
    if args.video and args.labels:
        movie_clock(args.video, args.labels)


if __name__ == "__main__":
    main()
