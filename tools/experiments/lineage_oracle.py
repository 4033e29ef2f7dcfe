"""How well can any stage-based lineage predictor do? An oracle study on the real training curves.

For each of the real EPIC population curves (train/epic_population_curves.csv), leave that embryo out,
build the median reference from the others, and predict its seven populations per frame from an
oracle that knows the embryo's true annotated TOTAL cell count at every frame (the best any
image -> developmental-stage estimator could hope for): tau = the reference time with that total,
populations = the reference curves at tau. The nMAE of this oracle is a floor for every method that
first estimates the stage (total cells) and then splits it into lineages, which is all a max
projection of unlabelled nuclei can show.

Also: the image-blind curve read at the same fraction of the movie (lineage.length_baseline_curve), which
knows only how many frames the annotation spans.

Usage: PYTHONPATH=. python tools/experiments/lineage_oracle.py ../shared/data/train/epic_population_curves.csv [--json]
"""
import argparse
import json

import numpy as np
import pandas as pd

from devocore.lineage import LINEAGES, evaluate, length_baseline_curve

LIN = list(LINEAGES)


def reference(curves: pd.DataFrame) -> pd.DataFrame:
    """Median curves over embryos per frame, each lineage made non-decreasing."""
    med = curves.groupby("frame")[LIN].median().sort_index()
    med = med.cummax()
    med["total"] = med[LIN].sum(axis=1)
    return med


def oracle(ref: pd.DataFrame, total: np.ndarray) -> np.ndarray:
    """Populations at the reference time where the reference total first reaches ``total``."""
    t = np.maximum.accumulate(ref["total"].to_numpy(float))
    idx = np.searchsorted(t, total, side="left").clip(0, len(t) - 1)
    return ref[LIN].to_numpy(float)[idx]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    curves = pd.read_csv(args.curves)
    scores, blind, by_length = [], [], []
    for name, one in curves.groupby("embryo"):
        others = curves[curves.embryo != name]
        ref = reference(others)
        truth = one[["frame", *LIN]].reset_index(drop=True)
        pred = truth.copy()
        pred[LIN] = oracle(ref, truth[LIN].sum(axis=1).to_numpy(float))
        scores.append(evaluate(pred, truth)["nmae"])
        base = truth.copy()
        base[LIN] = ref[LIN].reindex(range(1, int(truth.frame.max()) + 1)).ffill().to_numpy(float)[truth.frame - 1]
        blind.append(evaluate(base, truth)["nmae"])
        by_length.append(evaluate(length_baseline_curve(others, truth.frame.tolist(), len(truth)), truth)["nmae"])
    scores, blind = np.array(scores), np.array(blind)
    out = {"embryos": int(len(scores)), "oracle_nmae_median": float(np.median(scores)),
           "oracle_nmae_mean": float(scores.mean()), "oracle_share_below_0.05": float((scores <= 0.05).mean()),
           "frame_index_nmae_median": float(np.median(blind)),
           "length_nmae_median": float(np.median(by_length)), "length_nmae_mean": float(np.mean(by_length))}
    print(f"{out['embryos']} embryos, each left out in turn")
    print(f"oracle (true total known): nMAE median {out['oracle_nmae_median']:.3f}, mean {out['oracle_nmae_mean']:.3f}, "
          f"<= 0.05 on {100 * out['oracle_share_below_0.05']:.0f}% of embryos")
    print(f"image-blind (frame index): nMAE median {out['frame_index_nmae_median']:.3f}")
    print(f"image-blind (same fraction of the movie): nMAE median {out['length_nmae_median']:.3f}, "
          f"mean {out['length_nmae_mean']:.3f}")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
