"""Choose the lineage method on TRAINING data only: the real EPIC training movie and rendered EPIC tables.

Two kinds of training movies, each scored whole and in clips (A:B[:S], seen as if it were the whole movie) by
nMAE against its exact populations:

* real: train/epic_movie/20090309_F39B2_1_7_L1.mov (exact populations for frames 1-135);
* rendered: the cell tables of train/epic/ the network was not trained on (its card names those it was),
  drawn by devocore.simulate.epic_movie.render_movie (frame n = time point n; partial tracings cut where their total
  falls). The network never saw them, and their timing (slow and fast embryos) is real.

Candidates: 'net', 'stage', and 'timeline' with rate-prior strengths 0..0.1, the rate prior's mode at 1 step
per frame only or also at 2..6 (movies that keep every S-th frame), without or with the capped prior on where
frame 1 lies. Score: the mean of (real whole, real clips, rendered whole, rendered clips). Last, for the chosen
default: how often the stage band holds the stage of the oracle line (fitted to the true totals) on the real
movie. The eval movie is never read here. Takes about 10 minutes on one core.

Usage: PYTHONPATH=. python tools/experiments/lineage_choose.py [--json]
"""
import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from devocore import lineage, registry
from devocore.io import open_frames, read_epic
from devocore.lineage import LINEAGES, StageCurves, evaluate, read_populations, to_counts
from devocore.simulate import epic_movie as em

DATA = Path("../shared/data/train")
MOVIE = DATA / "epic_movie/20090309_F39B2_1_7_L1.mov"
LABELS = DATA / "epic_movie/20090309_F39B2_1_7_L1_populations.csv"
REAL_CLIPS = ("1:254", "1:135", "1:80", "30:135", "60:254", "100:254", "1:254:2", "1:254:3", "20:200:2")


def trained_on(net) -> set:
    """File names of the cell tables the network was trained on (named in its card, its start's included)."""
    text = f"{net.card.get('training_data', '')} {(net.card.get('init') or {}).get('training_data', '')}"
    return set(text.replace(",", " ").replace(";", " ").split())


def movies(net, skip: set | None = None) -> list:
    """(name, raw outputs, contrasts, truth, clips) for the real movie and every rendered held-out table.

    ``skip``: table file names left out (default: those the network was trained on).
    """
    with open_frames(MOVIE) as stream:
        raw, contrast, _, _ = lineage.run_network(net, stream, stream.frame_count)
    out = [("real", raw, contrast, read_populations(LABELS), REAL_CLIPS)]
    skip = trained_on(net) if skip is None else skip
    for path in sorted((DATA / "epic").glob("CD*.csv")):
        if path.name in skip:
            continue
        shots = em.epic_snapshots(read_epic(path))
        truth = em.movie_truth(shots)
        total = truth[list(LINEAGES)].sum(axis=1).to_numpy(float)
        bad = np.flatnonzero(total < 0.9 * np.maximum.accumulate(total))
        n = int(bad[0]) if bad.size else len(shots)
        raw, contrast, _, _ = lineage.run_network(net, em.render_movie(shots[:n], seed=7), n)
        out.append((path.stem, raw, contrast, truth.iloc[:n], (f"1:{n}", f"1:{n}:2", f"{n // 3}:{n}", f"1:{2 * n // 3}")))
    return out


def candidates() -> dict:
    out = {"net": None, "stage": None}
    for p, (m, modes), o in itertools.product((0.0, 0.003, 0.01, 0.03, 0.1), (("1", (1,)), ("1..6", range(1, 7))),
                                              (0.0, 0.02)):
        if not (p == 0 and m != "1"):
            out[f"timeline prior {p} modes {m} start {o}"] = (p, tuple(modes), o)
    return out


def predict(curves: StageCurves, raw: np.ndarray, weights: np.ndarray, setting) -> np.ndarray:
    if isinstance(setting, str):
        return lineage.populations(raw, curves, setting, weights=weights)[0]
    x = np.arange(1, len(raw) + 1, dtype=float)
    offset, rate = curves.fit_timeline(x, lineage.log_total_count(raw), weights, prior_strength=setting[0],
                                       strides=setting[1], offset_strength=setting[2])
    return curves.at(offset + rate * x)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = registry.load_model("lineage", "cpu")
    curves = StageCurves.from_model(net)
    cands = candidates()
    rows = []
    for name, raw, contrast, truth, clips in movies(net):
        for i, clip in enumerate(clips):
            idx = lineage.parse_clip(clip, len(raw))
            r, w = raw[idx], lineage.signal_weights(contrast[idx])
            scored = truth[truth["frame"].isin(idx + 1)]
            row = {"movie": name, "clip": clip, "whole": i == 0}
            for key, setting in cands.items():
                values = predict(curves, r, w, setting or key)
                pred = pd.DataFrame(to_counts(values), columns=list(LINEAGES))
                pred.insert(0, "frame", idx + 1)
                row[key] = evaluate(pred, scored)["nmae"]
            rows.append(row)
    result = pd.DataFrame(rows)
    real, rendered = result[result.movie == "real"], result[result.movie != "real"]
    summary = pd.DataFrame({k: {"real whole": real[real.whole][k].mean(), "real clips": real[k].mean(),
                                "rendered whole": rendered[rendered.whole][k].mean(),
                                "rendered clips": rendered[k].mean(),
                                "rendered worst whole": rendered[rendered.whole][k].max()} for k in cands}).T
    summary["score"] = summary[["real whole", "real clips", "rendered whole", "rendered clips"]].mean(axis=1)
    summary = summary.sort_values("score")
    pd.set_option("display.width", 250)
    print(real.drop(columns=["movie", "whole"]).round(3).T.to_string())
    print(summary.round(4).to_string())
    default = (f"timeline prior {lineage.PRIOR_STRENGTH} modes {'1' if lineage.STRIDES == (1,) else '1..6'} "
               f"start {lineage.OFFSET_STRENGTH}")
    print(f"default ({default}) is the best: {summary.index[0] == default}")

    # the stage band of the default, on the real movie: does it hold the oracle line's stage?
    truth = read_populations(LABELS)
    t_frames = truth["frame"].to_numpy(float)
    t_total = np.log1p(truth[list(LINEAGES)].sum(axis=1).to_numpy(float))
    a, b = curves.fit_timeline(t_frames, t_total, prior_strength=0.0, offset_strength=0.0)
    with open_frames(MOVIE) as stream:
        raw, contrast, _, _ = lineage.run_network(net, stream, stream.frame_count)
    coverage = {}
    for clip in REAL_CLIPS:
        idx = lineage.parse_clip(clip, len(raw))
        w = lineage.signal_weights(contrast[idx])
        _, timeline = lineage.populations(raw[idx], curves, "timeline", weights=w)
        tp, lo, hi = lineage.stage(raw[idx], curves, timeline, w)
        known = idx + 1 <= truth["frame"].max()
        true_tp = a + b * (idx + 1) - curves.four_cell
        coverage[clip] = {"coverage": float(np.mean((lo[known] <= true_tp[known]) & (true_tp[known] <= hi[known]))),
                          "median_error": float(np.median(np.abs(tp[known] - true_tp[known]))),
                          "median_width": float(np.median(hi - lo))}
    print("stage band of the default on the real movie: " + "; ".join(
        f"{k} {v['coverage']:.2f} (error {v['median_error']:.1f}, width {v['median_width']:.1f})"
        for k, v in coverage.items()))
    if args.json:
        print(json.dumps({"summary": summary.reset_index().rename(columns={"index": "candidate"}).to_dict("records"),
                          "real_clips": real.to_dict("records"), "stage_band": coverage, "default": default}))


if __name__ == "__main__":
    main()
