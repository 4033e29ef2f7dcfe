"""Clips on TRAINING data only: measure the network's bias for the timeline fit, and score clips leave-one-out.

The timeline fit compares the network's per-frame log(1 + total) with the reference curve. On every training
movie the network errs the same way along development (about -0.65 at 8-28 cells, +0.3..+0.45 from about 110
to 330 cells), which pulls the fitted line when a clip sees only part of development. This script

* measures that bias: each training movie's frames are placed on the reference time by its oracle line (fitted
  to its exact totals; frames past the traced part follow the same line), and the median error is taken per
  reference step (+-7.5 steps, median over movies of each movie's median) where at least 5 movies have frames;
  past the last such step the fit is censored (see devocore.lineage.CENSOR_WEIGHT);
* scores the old default (no bias, rate prior 0.01) against the new one (bias, rate prior 0.003) on whole movies
  and clips, leave-one-movie-out: the bias used for a movie is measured on the other movies.

Training movies: train/epic_movie/20090309_F39B2_1_7_L1.mov (real; exact populations for frames 1-135) and the
train/epic tables the network was not trained on, rendered (see lineage_choose.py). The eval movie is never
read. About 5 minutes on one core.

Usage: PYTHONPATH=. python tools/experiments/lineage_clips.py [--write-bias] [--json]
"""
import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from devocore import lineage, registry
from devocore.lineage import LINEAGES, StageCurves, evaluate, to_counts

import lineage_choose as lc  # noqa: E402  (beside this script)

REAL_CLIPS = ("1:254", "1:100", "1:80", "1:60", "30:135", "60:180", "60:254", "80:254", "100:254", "1:254:2",
              "1:254:3", "20:200:2", "40:254:2")
KNOTS = np.arange(30, 320, 10.0)
MIN_MOVIES = 5


def clips_for(name: str, n: int) -> list:
    if name == "real":
        return list(REAL_CLIPS)
    return [f"1:{n}", f"1:{n}:2", f"{n // 3}:{n}", f"1:{2 * n // 3}", f"{n // 4}:{3 * n // 4}", f"{n // 2}:{n}"]


def unbiased(net) -> StageCurves:
    """The network's reference curves and prior, without the card's bias."""
    curves = StageCurves.from_model(net)
    return StageCurves(curves.curves, curves.prior)


def oracle_residuals(curves: StageCurves, raw: np.ndarray, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(reference time of every frame by the oracle line, network log total minus the reference there)."""
    total = np.log1p(truth[list(LINEAGES)].sum(axis=1).to_numpy(float))
    a, b = curves.fit_timeline(truth["frame"].to_numpy(float), total, prior_strength=0.0, offset_strength=0.0)
    tau = a + b * np.arange(1, len(raw) + 1)
    ref = np.maximum.accumulate(curves.log_total)
    return tau, lineage.log_total_count(raw) - np.interp(tau, np.arange(len(ref)), ref)


def measure_bias(residuals: list) -> dict:
    """The card's ``timeline_bias`` from (tau, residual) pairs of several movies."""
    values = np.full(len(KNOTS), np.nan)
    for i, k in enumerate(KNOTS):
        per = [np.median(r[np.abs(t - k) <= 7.5]) for t, r in residuals if (np.abs(t - k) <= 7.5).sum() >= 2]
        if len(per) >= MIN_MOVIES:
            values[i] = np.median(per)
    good = ~np.isnan(values)
    last = float(KNOTS[good].max())
    values = np.interp(KNOTS, KNOTS[good], values[good])
    keep = KNOTS <= last
    return {"tau": KNOTS[keep].tolist(), "log_bias": np.round(values[keep], 3).tolist(), "censor_from": last}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--write-bias", action="store_true", help="write the bias into the model's card.json")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = registry.load_model("lineage", "cpu")
    plain = unbiased(net)
    movies = lc.movies(net)
    res = {name: oracle_residuals(plain, raw, truth) for name, raw, _, truth, _ in movies}
    bias = measure_bias(list(res.values()))
    print("bias (all training movies):", json.dumps(bias))
    if args.write_bias:
        info = registry.find_model("lineage")
        card = dict(info.card)
        card["timeline_bias"] = {**bias, **{k: card.get("timeline_bias", {}).get(k) for k in ("data", "command")}}
        (info.folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    rows = []
    for name, raw, contrast, truth, _ in movies:
        b = measure_bias([v for k, v in res.items() if k != name])  # leave this movie out
        held = StageCurves(plain.curves, plain.prior, (np.array(b["tau"]), np.array(b["log_bias"]), b["censor_from"]))
        cands = {"old: no bias, rate prior 0.01": (plain, 0.01),
                 f"new: bias, rate prior {lineage.PRIOR_STRENGTH}": (held, lineage.PRIOR_STRENGTH)}
        for j, clip in enumerate(clips_for(name, len(raw))):
            idx = lineage.parse_clip(clip, len(raw))
            scored = truth[truth["frame"].isin(idx + 1)]
            if len(scored) < 5:
                continue
            x = np.arange(1, len(idx) + 1, dtype=float)
            w = lineage.signal_weights(contrast[idx])
            row = {"movie": name, "clip": clip, "whole": j == 0}
            for key, (curves, strength) in cands.items():
                a, r = curves.fit_timeline(x, lineage.log_total_count(raw[idx]), w, prior_strength=strength)
                pred = pd.DataFrame(to_counts(curves.at(a + r * x)), columns=list(LINEAGES))
                pred.insert(0, "frame", idx + 1)
                row[key] = evaluate(pred, scored)["nmae"]
            rows.append(row)
    table = pd.DataFrame(rows)
    keys = [c for c in table.columns if c not in ("movie", "clip", "whole")]
    real, rendered = table[table.movie == "real"], table[table.movie != "real"]
    summary = pd.DataFrame({k: {"real whole": real[real.whole][k].mean(), "real clips": real[~real.whole][k].mean(),
                                "rendered whole": rendered[rendered.whole][k].mean(),
                                "rendered clips": rendered[~rendered.whole][k].mean()} for k in keys}).T
    summary["score"] = summary.mean(axis=1)
    pd.set_option("display.width", 250)
    print(real.drop(columns=["movie", "whole"]).set_index("clip").round(3).T.to_string())
    print(summary.round(4).to_string())
    if args.json:
        print(json.dumps({"bias": bias, "summary": summary.reset_index().rename(columns={"index": "candidate"})
                          .to_dict("records"), "real_clips": real.to_dict("records")}))


if __name__ == "__main__":
    main()
