"""Which simple forecasts should the LSTM's base combine? A design study with rolling origins, no test data.

The LSTM forecasts a residual over a base: today linear AR blended with the travelling wave (weights per step on
the validation part). Rolling-origin folds judge each fold against the best of persistence, seasonal naive and
linear AR *on that fold*, so a base that leaves persistence and seasonal naive out cannot follow a fold where one
of them is best. The variants add them to the convex combination (weights >= 0, summing to 1 per step, fitted
on each fold's own validation part; `devocore.forecast.combination`):

- `AR + wave` (what ships), `+ persistence`, `+ seasonal naive`, `+ both`.

Series: the worm simulator's curvature (`sim:curvature`, seeds 3-8, 2000 steps at 100 Hz), and, when a real
recording is given, only its first 70 % of rows (the history of the issue's evaluation, never its test folds).
Targets: segments 10, 50 and 90, horizon 50, `--folds 4`, everything else as `python -m devocore forecast`.
Prints, per variant, the pooled ratio to the best baseline and the worst fold ratio per series and target, and
the means over all of them. About 2 minutes per variant and series on one core.

Usage: PYTHONPATH=. python tools/experiments/forecast_base_combination.py [--real CSV] [--seeds 3 4 ...] [--json]
"""
import argparse
import json

import numpy as np
import pandas as pd

from devocore import forecast as fc
from devocore.forecast import evaluate

VARIANTS = {"AR + wave": (), "+ persistence": ("persistence",), "+ seasonal naive": ("seasonal naive",),
            "+ both": ("persistence", "seasonal naive")}
TARGETS = ("segment_010", "segment_050", "segment_090")


def series_list(args) -> dict:
    out = {f"sim seed {s}": fc.simulated_series("sim:curvature", seed=s) for s in args.seeds}
    if args.real:
        frame = pd.read_csv(args.real)
        out["real, first 70 %"] = frame.iloc[: int(0.7 * len(frame))].reset_index(drop=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", help="a real curvature CSV: only its first 70 % of rows is read")
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 4, 5, 6, 7, 8])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for name, frame in series_list(args).items():
        for target in TARGETS:
            for variant in args.variants:
                evaluate.BASE_EXTRAS = VARIANTS[variant]
                config = fc.ForecastConfig(target=target, horizon=50, folds=4)
                result = fc.forecast(frame, config)
                s = result.summary()
                rows.append({"series": name, "target": target, "variant": variant,
                             "pooled": round(s["ratio_to_best_baseline"], 3),
                             "worst_fold": round(s["worst_fold_ratio"], 3),
                             "folds": [round(f, 3) for f in s["fold_ratios"]]})
                print(rows[-1], flush=True)
    print_means(rows, args.json)


def print_means(rows: list[dict], as_json: bool) -> None:
    """Per variant, the mean pooled and worst fold ratios and the number of folds at or above 1.0 (and, with
    ``as_json``, every row and the means as one JSON line)."""
    table = pd.DataFrame(rows)
    means = table.groupby("variant")[["pooled", "worst_fold"]].mean().round(3)
    means["folds >= 1"] = table.assign(n=table.folds.map(lambda f: sum(x >= 1 for x in f))).groupby("variant").n.sum()
    print(means.to_string())
    if as_json:
        print(json.dumps({"rows": rows, "means": means.reset_index().to_dict("records")}))


if __name__ == "__main__":
    main()
