"""Choose the lineage method on TRAINING data only: the real EPIC training movie, whole and in clips.

Runs the shipped network once over train/epic_movie/20090309_F39B2_1_7_L1.mov, then scores (nMAE against its
exact populations, frames 1-135) every candidate on the whole movie and on clips (A:B[:S], each seen as if it were
the whole movie): 'net', 'stage', and 'timeline' with several strengths of the rate prior, with the prior's
mode at 1 step per frame only or also at 2, 3, ... (movies that keep every S-th frame), without or with the
capped prior on where frame 1 lies (lineage.OFFSET_STRENGTH, lineage.OFFSET_CAP). Beside them: the
image-blind frame-index baseline (median exact curve at the clip's own frame index) and the oracle time line
(fitted to the true totals: the floor for any method that reads the populations off one time line). Last, for
the default method: how often the 90 % stage band holds the oracle line's stage (lineage.BAND_FLOOR was set so
that it does on about 90 % of the whole movie's annotated frames) and the median stage error.
The eval movie is never read here.

Usage: PYTHONPATH=. python docs/tools/lineage_choose.py [--json]
"""
import argparse
import json

import numpy as np
import pandas as pd

from devocore import lineage, registry
from devocore.io import open_frames
from devocore.lineage import LINEAGES, StageCurves, baseline_curve, evaluate, read_populations, to_counts
from devocore.train.lineage import read_population_curves

DATA = "../shared/data/train"
MOVIE = f"{DATA}/epic_movie/20090309_F39B2_1_7_L1.mov"
LABELS = f"{DATA}/epic_movie/20090309_F39B2_1_7_L1_populations.csv"
CLIPS = ("1:254", "1:135", "1:80", "30:135", "60:254", "100:254", "1:254:2", "1:254:3", "20:200:2")
CANDIDATES = {"net": None, "stage": None,
              **{f"timeline prior {p} modes {m} start {o}": (p, s, o) for p in (0.01, 0.03, 0.05, 0.1)
                 for m, s in (("1", (1,)), ("1..6", lineage.STRIDES)) for o in (0.0, lineage.OFFSET_STRENGTH)}}


def table(values: np.ndarray, frames: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame(to_counts(values), columns=list(LINEAGES))
    out.insert(0, "frame", frames)
    return out


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = registry.load_model("lineage", "cpu")
    curves = StageCurves.from_model(net)
    with open_frames(MOVIE) as stream:
        raw, contrast, _ = lineage.run_network(net, stream, stream.frame_count)
    truth = read_populations(LABELS)
    real = read_population_curves(f"{DATA}/epic_population_curves.csv")
    t_frames = truth["frame"].to_numpy(float)
    t_total = np.log1p(truth[list(LINEAGES)].sum(axis=1).to_numpy(float))
    a, b = curves.fit_timeline(t_frames, t_total, prior_strength=0.0, offset_strength=0.0)
    oracle = evaluate(table(curves.at(a + b * t_frames), truth["frame"].to_numpy()), truth)
    rows = []
    for clip in CLIPS:
        idx = lineage.parse_clip(clip, len(raw))
        frames = idx + 1
        scored = truth[truth["frame"].isin(frames)]
        r, w = raw[idx], lineage.signal_weights(contrast[idx])
        base = baseline_curve(real, list(range(1, len(idx) + 1)))
        base["frame"] = frames
        row = {"clip": clip, "frames scored": len(scored), "baseline": evaluate(base, scored)["nmae"]}
        for name, setting in CANDIDATES.items():
            if setting is None:
                values, _ = lineage.populations(r, curves, name, weights=w)
            else:
                x = np.arange(1, len(idx) + 1, dtype=float)
                off, rate = curves.fit_timeline(x, lineage._log_total(r), w, prior_strength=setting[0],
                                                strides=setting[1], offset_strength=setting[2])
                values = curves.at(off + rate * x)
            row[name] = evaluate(table(values, frames), scored)["nmae"]
        # stage band of the default method: does it hold the true stage (the oracle line) on annotated frames?
        _, timeline = lineage.populations(r, curves, "timeline", weights=w)
        tp, lo, hi = lineage.stage(r, curves, timeline, w)
        known = frames <= truth["frame"].max()
        true_tp = a + b * frames - curves.four_cell
        row["stage coverage"] = float(np.mean((lo[known] <= true_tp[known]) & (true_tp[known] <= hi[known])))
        row["stage median error"] = float(np.median(np.abs(tp[known] - true_tp[known])))
        rows.append(row)
    result = pd.DataFrame(rows)
    summary = {"stage coverage": {"whole movie": float(result["stage coverage"].iloc[0]),
                                  "mean over clips": float(result["stage coverage"].mean())}}
    summary.update({name: {"whole movie": float(result[name].iloc[0]), "mean over clips": float(result[name].mean()),
                      "worst clip": float(result[name].max())} for name in ["baseline", *CANDIDATES]})
    pd.set_option("display.width", 250)
    print(result.round(3).T.to_string())
    print(pd.DataFrame(summary).T.round(4).to_string())
    print(f"oracle time line (true totals): nMAE {oracle['nmae']:.3f}; per lineage "
          + ", ".join(f"{k} {v:.3f}" for k, v in oracle["nmae_per"].items()))
    if args.json:
        print(json.dumps({"clips": rows, "summary": summary, "oracle_nmae": oracle["nmae"],
                          "oracle_nmae_per": oracle["nmae_per"]}))


if __name__ == "__main__":
    main()
