"""One forecast run: fit on the training part, measure on the test part (or rolling-origin folds)."""
from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from devocore.errors import MissingColumnsError, TableError
from devocore.forecast.baselines import (BASELINES, ar_forecast, choose_ar_order, dominant_period, fit_ar,
                                         persistence_forecast, seasonal_naive_forecast, truth_windows)
from devocore.forecast.combination import combine, online_combination
from devocore.forecast.coverage import coverage as band_coverage
from devocore.forecast.lstm import EpochFn, Windows, import_torch, model_inputs, predict_lstm, train_lstm
from devocore.forecast.series import ForecastConfig, SeriesData, to_series
from devocore.forecast.wave import WAVE, blend_with_wave, choose_wave
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

# Simple forecasts added to the LSTM's base ("persistence", "seasonal naive"), all members then weighted
# convexly per step on the validation part. Off by default: on simulated worms it made the rolling-origin
# figures worse (tools/experiments/forecast_base_combination.py, docs/results/generalisation.md).
BASE_EXTRAS: tuple = ()

# An optional last step of the LSTM's forecast: at each origin, each horizon step a weighted mean of the network's
# and linear AR's forecasts, weights 1 / (recent MAE)^2 over the forecasts whose outcome was already observed
# (exponential half-life in origins; the forecasts table then keeps the network's own as `LSTM_network`). Off
# (None): on simulated worms it lowered the worst fold but raised the pooled ratio
# (tools/experiments/forecast_online.py, docs/results/generalisation.md).
ONLINE_HALF_LIFE: float | None = None


@dataclass
class ForecastResult:
    """What one run produced.

    Attributes:
        metrics: one row per method: ``method, mae, rmse, mae_step1, mae_last`` (+ ``best``).
        per_step: long table ``method, step, mae, rmse`` (test part only).
        forecasts: long table, one row per test origin and step: ``origin, origin_time, step, time,
            truth, LSTM, LSTM_low, LSTM_high, persistence, seasonal naive, linear AR``.
        loss_curves: ``model, epoch, train_loss, val_mae`` of every LSTM trained.
        history: the target over the whole series (``time``, ``value``, ``part``).
        folds: with rolling origins (``config.folds > 1``), one dict per test fold: ``fold, test_start,
            test_end, origins, lstm_mae, best_baseline, best_baseline_mae, ratio_to_best_baseline,
            linear_ar_mae, ratio_to_linear_ar, lookback, ar_order``; the other attributes then pool the
            folds (``lookback`` etc. are those of the last fold).
    """

    config: ForecastConfig
    metrics: pd.DataFrame
    per_step: pd.DataFrame
    forecasts: pd.DataFrame
    loss_curves: pd.DataFrame
    history: pd.DataFrame
    lookback: int
    period: int | None
    ar_order: int
    input_columns: list[str]
    messages: list[str]
    interval_coverage: float
    seconds: float
    split: dict
    base_method: str = "linear AR"
    wave_window: int | None = None
    wave_weight: np.ndarray | None = None
    folds: list = field(default_factory=list)

    def summary(self) -> dict:
        """The figures as a JSON-able dict (the CLI's ``--json`` line)."""
        rows = self.metrics.set_index("method")
        baselines = rows.loc[[m for m in BASELINES if m in rows.index and np.isfinite(rows.loc[m, "mae"])]]
        best = str(baselines["mae"].idxmin())
        mae = float(rows.loc["LSTM", "mae"])
        steps = self.per_step
        wave = {}
        if WAVE in rows.index:
            wave = {"travelling_wave_mae": float(rows.loc[WAVE, "mae"]),
                    "ratio_to_travelling_wave": ratio(mae, float(rows.loc[WAVE, "mae"])),
                    "wave_window": self.wave_window,
                    "wave_weight_per_step": [round(float(w), 4) for w in self.wave_weight]}
        return {
            "target": self.config.target,
            "horizon": self.config.horizon,
            "mae": mae,
            "rmse": float(rows.loc["LSTM", "rmse"]),
            "best_baseline": best,
            "best_baseline_mae": float(baselines.loc[best, "mae"]),
            "ratio_to_best_baseline": ratio(mae, float(baselines.loc[best, "mae"])),
            "baselines": {m: {"mae": float(rows.loc[m, "mae"]), "rmse": float(rows.loc[m, "rmse"])}
                          for m in baselines.index},
            "mae_per_step": {m: [float(v) for v in g.sort_values("step")["mae"]]
                             for m, g in steps.groupby("method", sort=False)},
            "interval_coverage_10_90": self.interval_coverage,
            "lookback": self.lookback,
            "period": self.period,
            "ar_order": self.ar_order,
            "base": self.base_method,
            **wave,
            "input_columns": self.input_columns,
            "split": self.split,
            "mae_definition": "mean over horizon steps 1..H of the per-step MAE over all test origins",
            "forecast": f"LSTM: direct multi-step residual on the {self.base_method} forecast (weights from "
                        f"the validation part), quantile loss (10/50/90 %), ensemble of {self.config.n_models}; "
                        "linear AR: recursive",
            "seconds": round(self.seconds, 1),
            "messages": self.messages,
            **self._fold_summary(),
        }

    def _fold_summary(self) -> dict:
        if not self.folds:
            return {}
        ratios = [f["ratio_to_best_baseline"] for f in self.folds]
        return {"folds": self.folds, "fold_ratios": ratios, "worst_fold_ratio": max(ratios),
                "fold_ratios_to_linear_ar": [f["ratio_to_linear_ar"] for f in self.folds],
                "mae_pooled_over": f"{len(self.folds)} rolling-origin test folds"}



def ratio(mae: float, reference: float) -> float:
    """``mae / reference``; 1 when both are 0 and infinity when only the reference is (an exact baseline)."""
    if reference > 0:
        return mae / reference
    return 1.0 if mae == 0 else float("inf")



def method_metrics(predictions: dict, truth: np.ndarray) -> tuple[pd.DataFrame, list[dict]]:
    """Per-method MAE/RMSE (overall, first and last step; ``best`` marks the lowest finite MAE) and per-step rows.

    Args:
        predictions: method name -> origins x horizon forecasts.
        truth: origins x horizon true values.
    """
    rows, steps = [], []
    for method, prediction in predictions.items():
        mae, rmse = errors_per_step(prediction, truth)
        rows.append({"method": method, "mae": float(mae.mean()), "rmse": float(np.sqrt(np.mean(rmse ** 2))),
                     "mae_step1": float(mae[0]), "mae_last": float(mae[-1])})
        steps.extend({"method": method, "step": h + 1, "mae": float(mae[h]), "rmse": float(rmse[h])}
                     for h in range(truth.shape[1]))
    metrics = pd.DataFrame(rows)
    finite = metrics[np.isfinite(metrics["mae"])]
    metrics["best"] = metrics["method"] == finite.loc[finite["mae"].idxmin(), "method"]
    return metrics, steps



def errors_per_step(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MAE, RMSE) per horizon step, over origins (rows) whose truth is known (NaN truth is skipped).

    Example:
        >>> errors_per_step(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, np.nan], [1.0, 4.0]]))[0].tolist()
        [1.5, 0.0]
    """
    diff = prediction - truth
    with warnings.catch_warnings():  # a method without forecasts (seasonal naive without a period) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.abs(diff), axis=0), np.sqrt(np.nanmean(diff ** 2, axis=0))



def split_points(n: int, config: ForecastConfig) -> tuple[int, int]:
    """(validation start, test start) row indices of a series of ``n`` rows."""
    if not 0.2 <= config.train_fraction <= 0.95:
        raise TableError(f"train_fraction must be between 0.2 and 0.95, not {config.train_fraction}.")
    test_start = int(round(n * config.train_fraction))
    val_start = test_start - max(1, int(round(test_start * config.val_fraction)))
    return val_start, test_start



def forecast(frame: pd.DataFrame | SeriesData, config: ForecastConfig, time_column: str | None = None,
             progress: ProgressFn | None = None, on_epoch: EpochFn | None = None) -> ForecastResult:
    """Fit the LSTM and the baselines on the training part and measure them on the test part.

    Args:
        frame: a table with a time column and numeric columns (made regular here with
            :func:`to_series` if it is not), or a :class:`SeriesData` (its messages are kept).
        config: the run's settings.
        progress: called with (fraction, message) during training.
        on_epoch: called with (epoch, train loss, validation MAE) after every epoch of every LSTM.
    """
    torch = import_torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, config.threads))
    try:
        if config.folds > 1:
            return _rolling(frame, config, time_column, progress, on_epoch)
        return _forecast(frame, config, time_column, progress, on_epoch)
    finally:
        torch.set_num_threads(threads)



def fold_bounds(n: int, config: ForecastConfig) -> list[tuple[int, int]]:
    """``(test start, test end)`` of each rolling-origin test fold: the part after ``train_fraction``
    cut into ``config.folds`` consecutive pieces.

    Example:
        >>> fold_bounds(2000, ForecastConfig(target="x", folds=4))
        [(1400, 1550), (1550, 1700), (1700, 1850), (1850, 2000)]
    """
    _, first = split_points(n, config)
    edges = np.linspace(first, n, int(config.folds) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]



def _rolling(frame, config, time_column, progress, on_epoch) -> ForecastResult:
    """Rolling-origin evaluation: each test fold forecast by models fitted on everything before it."""
    started = time.perf_counter()
    series = frame if isinstance(frame, SeriesData) else to_series(frame, time_column=time_column)
    n, horizon = len(series.frame), int(config.horizon)
    bounds = fold_bounds(n, config)
    if min(end - start for start, end in bounds) < horizon + 1:
        raise TableError(f"{config.folds} test folds of the last {100 * (1 - config.train_fraction):.0f} % of "
                         f"{n} steps are shorter than the horizon ({horizon}) plus one; use fewer folds, a "
                         "shorter horizon or a smaller training fraction.")
    results = []
    for k, (start, end) in enumerate(bounds):
        report = None
        if progress is not None:
            def report(fraction, message, k=k):
                progress((k + min(fraction, 0.999)) / len(bounds), f"fold {k + 1} of {len(bounds)}: {message}")
        results.append(_forecast(series, config, None, report, on_epoch, bounds=(start, end)))
    if progress is not None:
        progress(1.0, "done")
    return _pool_folds(results, series, bounds, time.perf_counter() - started)



def _pool_folds(results: list[ForecastResult], series: SeriesData, bounds: list, seconds: float) -> ForecastResult:
    last, horizon = results[-1], results[-1].config.horizon
    forecasts = pd.concat([r.forecasts.assign(fold=k + 1) for k, r in enumerate(results)], ignore_index=True)
    truth = forecasts["truth"].to_numpy(float).reshape(-1, horizon)
    methods = [m for m in last.metrics["method"] if m in forecasts.columns]
    metrics, steps = method_metrics({m: forecasts[m].to_numpy(float).reshape(-1, horizon) for m in methods},
                                    truth)
    folds = []
    for k, (r, (start, end)) in enumerate(zip(results, bounds)):
        summary = r.summary()
        ar = summary["baselines"]["linear AR"]["mae"]
        folds.append({"fold": k + 1, "test_start": start, "test_end": end,
                      "origins": int(r.split["n_test_origins"]), "lstm_mae": summary["mae"],
                      "best_baseline": summary["best_baseline"], "best_baseline_mae": summary["best_baseline_mae"],
                      "ratio_to_best_baseline": summary["ratio_to_best_baseline"], "linear_ar_mae": ar,
                      "ratio_to_linear_ar": ratio(summary["mae"], ar),
                      "lookback": r.lookback, "ar_order": r.ar_order, "base": r.base_method})
    coverage = band_coverage(forecasts)
    first = results[0]
    history = first.history.copy()
    times = series.frame[series.time_column].to_numpy(float)
    target = series.frame[last.config.target].to_numpy(float) if last.config.target in series.frame else None
    if target is not None and len(history) < len(times):
        history = pd.DataFrame({"time": times, "value": target, "part": "test"})
        history.iloc[:len(first.history), history.columns.get_loc("part")] = first.history["part"].to_numpy()
    curves = pd.concat([r.loss_curves.assign(model=f"fold {k + 1}: " + r.loss_curves["model"])
                        for k, r in enumerate(results) if not r.loss_curves.empty], ignore_index=True)
    messages = list(first.messages) + [
        f"Rolling origins: {len(bounds)} test folds of steps {bounds[0][0] + 1}..{bounds[-1][1]} (numbered from 1); "
        "each fold is "
        "forecast by models fitted and chosen (lookback, AR order, wave blend, early stopping) on everything "
        "before it. Metrics pool the folds."]
    split = {"n_steps": len(series.frame), "val_start": first.split["val_start"], "test_start": bounds[0][0],
             "n_test_origins": int(sum(f["origins"] for f in folds)), "step": series.step,
             "time_column": series.time_column, "folds": [[a, b] for a, b in bounds]}
    return ForecastResult(last.config, metrics, pd.DataFrame(steps), forecasts, curves, history, last.lookback,
                          last.period, last.ar_order, last.input_columns, messages, coverage, seconds, split,
                          last.base_method, last.wave_window, last.wave_weight, folds)



def _forecast(frame, config, time_column, progress, on_epoch, bounds: tuple[int, int] | None = None) -> ForecastResult:
    """One fit and test. ``bounds = (test start, end)`` uses rows before ``end`` only, testing from
    ``test start`` (a rolling-origin fold); None splits at ``config.train_fraction``."""
    torch = import_torch()
    started = time.perf_counter()
    series = frame if isinstance(frame, SeriesData) else to_series(frame, time_column=time_column)
    messages = list(series.messages)
    data, tcol = series.frame, series.time_column
    if config.target in series.left_out:  # in the table, but not a series: say so, not "no column"
        raise MissingColumnsError(f"The column '{config.target}' is in the table but cannot be forecast: it "
                                  f"{series.left_out[config.target]}.")
    horizon = int(config.horizon)
    if horizon < 1:
        raise TableError(f"The horizon must be at least 1 step, not {horizon}.")
    if bounds is None:
        n = len(data)
        val_start, test_start = split_points(n, config)
    else:
        test_start, n = bounds
        data = data.iloc[:n]
        val_start = test_start - max(1, int(round(test_start * config.val_fraction)))
    target, z, names, wave = model_inputs(data, tcol, config, test_start, messages)
    if np.std(target[:test_start]) < 1e-12:
        raise TableError(f"The target '{config.target}' is constant in the training part; nothing to learn.")
    y_mean, y_std = float(target[:test_start].mean()), float(target[:test_start].std())
    y_norm = (target - y_mean) / y_std

    period = dominant_period(target[:test_start], max_lag=test_start // 3)
    if config.lookback:
        candidates = [int(config.lookback)]
    else:
        base = period if period else 2 * horizon
        candidates = sorted({int(np.clip(round(base / 2), 8, 200)), int(np.clip(base, 8, 200))})
    max_lookback = max(candidates)
    n_fit_windows = val_start - horizon - max_lookback + 1
    if n_fit_windows < 20 or test_start - val_start < horizon + 5 or n - test_start < horizon + 1:
        raise TableError(
            f"The series ({n} steps) is too short for a lookback of {max_lookback} and a horizon of {horizon}: "
            f"the training part must hold at least 20 windows and the validation and test parts more than "
            f"one horizon. Use a shorter lookback or horizon, or a longer series.")

    val_origins = np.arange(val_start - 1, test_start - horizon)
    test_origins = np.arange(test_start - 1, n - horizon)

    # Baselines: fitted on the training part, the AR order chosen on the validation part.
    orders = [p for p in config.ar_orders if p < val_start // 10] or [1]
    ar_order = choose_ar_order(target, val_start, val_origins, horizon, orders)
    coef = fit_ar(target[:test_start], ar_order)
    base_coef = fit_ar(y_norm[:val_start], ar_order)  # the LSTM's base: fitted on the fitting part only

    def base(origins: np.ndarray) -> np.ndarray:
        return ar_forecast(y_norm, base_coef, origins, horizon)
    base_method, wave_weight = "linear AR", None
    wave_window = wave_predict = None
    if wave is not None:
        axis, weights, offset = wave
        wave_window, wave_predict = choose_wave(data[axis].to_numpy(float), weights, offset, target, val_start,
                                                 val_origins, horizon)
        messages.append(f"Body axis: {len(axis)} segment columns; the {WAVE} forecast carries the body's shape "
                        f"along at the wave speed measured over the last {wave_window} steps (chosen on the "
                        "validation part).")
    val_truth = truth_windows(y_norm, val_origins, horizon)  # normalised, as the LSTM and its base
    wave_base = None if wave_predict is None else (lambda o: (wave_predict(o) - y_mean) / y_std)
    if BASE_EXTRAS:
        bases = {"linear AR": base}
        if wave_base is not None:
            bases[WAVE] = wave_base
        if "persistence" in BASE_EXTRAS:
            bases["persistence"] = lambda o: persistence_forecast(y_norm, o, horizon)
        if "seasonal naive" in BASE_EXTRAS and period:
            bases["seasonal naive"] = lambda o: seasonal_naive_forecast(y_norm, o, horizon, period)
        base, base_weights = combine(bases, val_origins, val_truth)
        wave_weight = base_weights.get(WAVE)
        base_method = " + ".join(bases)
    elif wave_base is not None:
        base, wave_weight = blend_with_wave(base, wave_base, val_origins, val_truth, y_std, messages)
        base_method = f"{WAVE} + linear AR"
    truth = truth_windows(target, test_origins, horizon)
    if series.filled is not None:  # values filled in for missing ones are not scored
        filled = series.filled
        rows = (filled[config.target] if config.target in filled else filled.any(axis=1)).to_numpy()  # eigenworms
        truth[rows[test_origins[:, None] + np.arange(1, horizon + 1)]] = np.nan
        if np.isnan(truth).all():
            raise TableError(f"Every value of steps {test_start + 1}..{n} was missing and filled in; nothing there "
                             "to score a forecast against.")
    predictions = {
        "persistence": persistence_forecast(target, test_origins, horizon),
        "seasonal naive": (seasonal_naive_forecast(target, test_origins, horizon, period) if period
                           else np.full_like(truth, np.nan)),
        "linear AR": ar_forecast(target, coef, test_origins, horizon),
    }
    if wave_predict is not None:
        predictions[WAVE] = wave_predict(test_origins)
    if not period:
        messages.append("No dominant period in the training part's autocorrelation: seasonal naive skipped.")

    # LSTM: the lookback chosen on the validation part, then an ensemble at that lookback.
    torch.manual_seed(config.seed)
    n_runs = len(candidates) + max(0, config.n_models - 1)
    curves, run = [], 0
    trained: dict[int, tuple[list, float]] = {}

    def fit(lookback: int, seed: int):
        nonlocal run
        stride = max(1, math.ceil(lookback / config.max_steps))
        windows = Windows(z, y_norm, base, lookback, stride, horizon)
        train_origins = np.arange(max(lookback, ar_order) - 1, val_start - horizon)
        model, curve, best = train_lstm(windows, train_origins, val_origins, config, seed, progress, on_epoch,
                                        (run / n_runs, (run + 1) / n_runs))
        curves.extend({"model": f"lookback {lookback}, seed {seed}", "epoch": e, "train_loss": tl, "val_mae": vm}
                      for e, tl, vm in curve)
        run += 1
        return model, windows, best

    windows_by_lookback = {}
    for lookback in candidates:
        model, windows, best = fit(lookback, config.seed)
        trained[lookback] = ([model], best)
        windows_by_lookback[lookback] = windows
        log.info("lookback %d: validation MAE %.4f (normalised)", lookback, best)
    lookback = min(trained, key=lambda k: trained[k][1])
    models = trained[lookback][0]
    for i in range(1, config.n_models):
        models.append(fit(lookback, config.seed + i)[0])
    quantiles = predict_lstm(models, windows_by_lookback[lookback], test_origins)
    # Conformalised quantile regression: widen the 10-90 % band per step until it holds 80 % of the
    # validation truth (early-stopped quantile heads are often too narrow).
    val_q = predict_lstm(models, windows_by_lookback[lookback], val_origins)
    scores = np.maximum(val_q[..., 0] - val_truth, val_truth - val_q[..., 2])
    widen = np.quantile(scores, min(1.0, 0.8 * (1 + 1 / len(val_origins))), axis=0)
    quantiles[..., 0] -= widen
    quantiles[..., 2] += widen
    quantiles = y_mean + quantiles * y_std
    if ONLINE_HALF_LIFE:
        network = quantiles[..., 1].copy()
        quantiles, online = _weighted_online(quantiles, y_mean + val_q[..., 1] * y_std, target, coef, val_origins,
                                             test_origins, horizon, predictions["linear AR"])
        messages.append(online)
    predictions = {"LSTM": quantiles[..., 1], **predictions}

    # Metrics on the test part only.
    metrics, steps = method_metrics(predictions, truth)

    times = data[tcol].to_numpy(float)
    origin_rows = np.repeat(test_origins, horizon)
    step_rows = np.tile(np.arange(1, horizon + 1), len(test_origins))
    forecasts = pd.DataFrame({
        "origin": origin_rows, "origin_time": times[origin_rows], "step": step_rows,
        "time": times[origin_rows + step_rows], "truth": truth.ravel(),
        "LSTM": quantiles[..., 1].ravel(), "LSTM_low": quantiles[..., 0].ravel(),
        "LSTM_high": quantiles[..., 2].ravel(),
        **{m: predictions[m].ravel() for m in (*BASELINES, WAVE) if m in predictions}})
    if ONLINE_HALF_LIFE:
        forecasts.insert(forecasts.columns.get_loc("LSTM_high") + 1, "LSTM_network", network.ravel())
    coverage = band_coverage(forecasts)
    part = np.where(np.arange(n) >= test_start, "test", np.where(np.arange(n) >= val_start, "validation", "train"))
    history = pd.DataFrame({"time": times, "value": target, "part": part})
    split = {"n_steps": n, "val_start": val_start, "test_start": test_start, "n_test_origins": len(test_origins),
             "step": series.step, "time_column": tcol}
    seconds = time.perf_counter() - started
    if progress is not None:
        progress(1.0, "done")
    return ForecastResult(config, metrics, pd.DataFrame(steps), forecasts, pd.DataFrame(curves), history,
                          lookback, period, ar_order, names, messages, coverage, seconds, split,
                          base_method, wave_window, wave_weight)



def _weighted_online(quantiles, val_median, target, coef, val_origins, test_origins, horizon, ar_test):
    """The LSTM's quantiles moved by :func:`online_combination` of its median with linear AR (the band keeps
    its width around the new point forecast), warmed up on the validation origins; and a message."""
    origins = np.concatenate([val_origins, test_origins])
    members = np.stack([np.concatenate([val_median, quantiles[..., 1]]),
                        np.concatenate([ar_forecast(target, coef, val_origins, horizon), ar_test])])
    truth = truth_windows(target, origins, horizon)
    combined, weights = online_combination(members, truth, origins, ONLINE_HALF_LIFE)
    shift = combined[len(val_origins):] - quantiles[..., 1]
    network_weight = weights[0, len(val_origins):]
    message = (f"Each forecast step weights the network against linear AR by their recent errors (outcomes already "
               f"observed, half-life {ONLINE_HALF_LIFE:g} origins): the network's weight averaged "
               f"{network_weight[:, 0].mean():.2f} at step 1 and {network_weight[:, -1].mean():.2f} at step {horizon} "
               "over the test origins.")
    return quantiles + shift[..., None], message
