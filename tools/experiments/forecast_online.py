"""Does weighting the LSTM against linear AR by their recent errors hold the rolling-origin folds? A design study.

Each fold is judged against the best of persistence, seasonal naive and linear AR on that fold. The LSTM
(network on the travelling wave + linear AR base) is fitted on everything before the fold, so when the worm
changes its behaviour inside a fold nothing follows it. The last step of the forecast
(`evaluate.ONLINE_HALF_LIFE`, off in the product; `devocore.forecast.combination.online_combination`) weights, at every origin
and horizon step, the network's forecast and linear AR's by 1 / (recent MAE)^2 over the forecasts whose outcome
was already observed at that origin (warmed up on the fold's validation part). One run gives both: the
`LSTM` column is the weighted forecast, `LSTM_network` the network alone (what shipped before).

How it was chosen: on the simulator's seeds 3-8 the forecasts of the network and the baselines were weighted
offline with half-lives of 25-200 origins, by inverse error, inverse squared error or the recent best alone,
with and without persistence and seasonal naive as members; linear AR + network, inverse squared error,
half-life 25 gave the lowest mean worst fold. This script then judges it on seeds the choice did not see.

Data: the worm simulator's curvature (`sim:curvature`, 2000 steps at 100 Hz); targets segments 10, 50 and 90,
horizon 50, `--folds 4`; the eval recording is not read.

Usage: PYTHONPATH=. python tools/experiments/forecast_online.py --seeds 9 10 11 [--json]
"""
import argparse

import numpy as np
import pandas as pd

from devocore import forecast as fc
from devocore.forecast import evaluate
from tools.experiments.forecast_base_combination import print_means

TARGETS = ("segment_010", "segment_050", "segment_090")
BASELINES = ("persistence", "seasonal naive", "linear AR")


def ratios(table: pd.DataFrame, column: str) -> tuple[float, list[float]]:
    """(pooled MAE ratio to the best baseline, per-fold ratios to each fold's best baseline) of ``column``."""
    def mae(part, col):
        return float(np.mean(np.abs(part[col] - part["truth"])))

    def best(part):
        return min(mae(part, b) for b in BASELINES if part[b].notna().all())
    folds = [mae(part, column) / best(part) for _, part in table.groupby("fold")]
    return mae(table, column) / best(table), folds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[9, 10, 11, 12, 13, 14])
    ap.add_argument("--half-life", type=float, default=25.0, help="origins (25)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    evaluate.ONLINE_HALF_LIFE = args.half_life
    rows = []
    for seed in args.seeds:
        frame = fc.simulated_series("sim:curvature", seed=seed)
        for target in TARGETS:
            table = fc.forecast(frame, fc.ForecastConfig(target=target, horizon=50, folds=4)).forecasts
            for variant, column in (("network alone (shipped before)", "LSTM_network"), ("weighted online", "LSTM")):
                pooled, folds = ratios(table, column)
                rows.append({"seed": seed, "target": target, "variant": variant, "pooled": round(pooled, 3),
                             "worst_fold": round(max(folds), 3), "folds": [round(f, 3) for f in folds]})
                print(rows[-1], flush=True)
    print_means(rows, args.json)


if __name__ == "__main__":
    main()
