"""Forecast a time series (CSV) with an LSTM and compare it with persistence, seasonal naive and linear AR
(and, for curvature along a body, with the travelling-wave forecast the LSTM starts from).

The series is split in time order: the first --train-fraction is for fitting (its last 20 % validates:
lookback, AR order, early stopping), the rest is the test part where MAE and RMSE are measured at every
horizon step. With --folds K the test part is cut into K consecutive folds (rolling origins): each fold is
forecast by models fitted and chosen on everything before it; the MAE pools the folds, and `fold_ratios`
and `worst_fold_ratio` give each fold's LSTM MAE over its best baseline's. `mae` is the mean over steps
1..H of the per-step MAE over all test origins; the LSTM forecasts all H steps at once (direct), the AR
baseline recursively.

Example:
    python -m devocore forecast series.csv --target curvature --horizon 25 --out forecast.csv --json
    python -m devocore forecast worm_curvature.csv --target segment_050 --horizon 50 --folds 4 --json
"""
from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    parser.set_defaults(_out_file=True)  # --out is a table, not a results folder (outputs.KINDS)
    parser.add_argument("series", help="CSV with a time column (time_s, time, t, ...) and numeric columns, or "
                                       "sim:behaviour / sim:curvature for a simulated worm (seed --sim-seed)")
    parser.add_argument("--target", required=True, help="column to forecast (eigenworm_k with --eigenworms K>=k)")
    parser.add_argument("--horizon", type=int, required=True, help="steps ahead to forecast")
    parser.add_argument("--columns", nargs="+", default=(), metavar="C",
                        help="input columns (default: every numeric column; the target is always an input)")
    parser.add_argument("--lookback", type=int, default=None,
                        help="input window in steps (default: chosen on the validation part)")
    parser.add_argument("--out", default=None,
                        help="CSV of all test forecasts (default: none written; the figures are printed)")
    parser.add_argument("--train-fraction", type=float, default=0.7, help="first part used for fitting (0.7)")
    parser.add_argument("--folds", type=int, default=1, metavar="K",
                        help="rolling origins: cut the part after --train-fraction into K consecutive test folds, "
                             "each forecast by models fitted on everything before it (default 1: one split)")
    parser.add_argument("--eigenworms", type=int, default=0, metavar="K",
                        help="add eigenworm_1..K: PCA of the segment columns fitted on the training part")
    parser.add_argument("--time-column", default=None, help="name of the time column if not guessed")
    parser.add_argument("--worm", default=None, help="worm id in a tracking CSV (default: the longest track)")
    parser.add_argument("--epochs", type=int, default=60, help="maximum epochs per LSTM (early stopping)")
    parser.add_argument("--models", type=int, default=3, help="LSTM ensemble size (3)")
    parser.add_argument("--hidden", type=int, default=64, help="LSTM hidden units (64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sim-seed", type=int, default=1, help="simulator seed for sim:... series (1)")
    parser.add_argument("--plot", default=None, metavar="PNG", help="also draw a forecast and the MAE per step")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")


def run(args) -> dict:
    from devocore import forecast as fc
    from devocore.commands._options import require_at_least
    from devocore.progress import terminal

    require_at_least(args, epochs=1, models=1, hidden=1, folds=1, lookback=1, eigenworms=0)
    if args.series.startswith("sim:"):
        series = fc.to_series(fc.simulated_series(args.series, seed=args.sim_seed), what=args.series)
    else:
        series = fc.load_series(args.series, name=Path(args.series).name, time_column=args.time_column,
                                worm=args.worm)
    config = fc.ForecastConfig(target=args.target, columns=tuple(args.columns), horizon=args.horizon,
                               lookback=args.lookback, train_fraction=args.train_fraction,
                               eigenworms=args.eigenworms, epochs=args.epochs, n_models=args.models,
                               hidden=args.hidden, seed=args.seed, folds=args.folds)
    result = fc.forecast(series, config,
                         progress=None if args.json else terminal("training"))
    if args.out:
        result.forecasts.to_csv(args.out, index=False)
    if args.plot:
        fc.render_png(result, args.plot)
    for message in result.messages:
        print(f"note: {message}")
    split = result.split
    print(f"{args.series}: target {args.target}, horizon {args.horizon}, lookback {result.lookback}, "
          f"period {result.period}, AR order {result.ar_order}, inputs {len(result.input_columns)}; "
          f"test part rows {split['test_start']}..{split['n_steps'] - 1} ({split['n_test_origins']} origins)")
    table = result.metrics.copy()
    table["method"] = [m + (" *" if b else "") for m, b in zip(table["method"], table["best"])]
    print(table.drop(columns="best").to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    summary = result.summary()
    for fold in result.folds:
        print(f"fold {fold['fold']}: rows {fold['test_start']}..{fold['test_end'] - 1} ({fold['origins']} origins), "
              f"LSTM MAE {fold['lstm_mae']:.4f}, best baseline {fold['best_baseline']} {fold['best_baseline_mae']:.4f}, "
              f"ratio {fold['ratio_to_best_baseline']:.3f} (to linear AR {fold['ratio_to_linear_ar']:.3f})")
    print(f"LSTM MAE / best baseline ({summary['best_baseline']}) MAE = {summary['ratio_to_best_baseline']:.3f}; "
          f"10-90 % interval coverage {100 * summary['interval_coverage_10_90']:.1f} %; "
          + (f"forecasts written to {args.out}" if args.out else "pass --out FILE.csv to keep the forecasts"))
    return summary
