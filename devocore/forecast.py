"""Forecasting time series (worm behaviour, curvature) with an LSTM, compared honestly with baselines.

The whole evaluation runs on one split of the series **in time order**::

    |<----------- training part (train_fraction) ----------->|<------ test part ------>|
    |<------ fit (weights, AR) ------>|<-- validation -->|                             |

* Normalisation, PCA (eigenworms, input compression), the dominant period, the
  AR coefficients and the LSTM weights are fitted on the training part only;
  the validation part (the end of the training part) chooses the lookback, the
  AR order and the epoch to stop at. The test part is used only for the metrics.
* A forecast is made at every *origin* ``t`` (the last observed step) whose
  ``horizon`` next values all lie in the test part; its inputs are the
  ``lookback`` steps up to ``t`` (the past, which may reach back into the
  training part, as it would in real use).
* The LSTM forecasts all horizon steps at once (**direct** multi-step): its
  last hidden state goes through one linear layer to ``horizon x 3`` outputs,
  the 10 %, 50 % and 90 % quantiles (pinball loss) of the difference from a
  *base* forecast (a residual design: the output layer starts at zero, so
  the untrained LSTM *is* the base forecast, and early stopping keeps that when
  training does not improve the validation MAE). The base is the linear AR
  forecast, or, when the series has a body axis (``segment*`` columns) and the
  target lies on it (a segment or an eigenworm), a per-step blend of it with
  the **travelling-wave** forecast, weighted on the validation part: the
  body's present shape carried along at the wave speed measured over the last
  few steps (:func:`wave_forecast`). The wave forecast is also reported as its
  own row; it is not one of the baselines.
  The median is the point forecast; 10-90 % is the interval, widened per step
  on the validation part (conformalised quantile regression). Several seeds are
  averaged (an ensemble).
* Baselines on the same origins: persistence (the last value), seasonal naive
  (the value one period earlier, the period being the autocorrelation peak of
  the training part) and a univariate linear autoregressive model fitted by
  least squares (forecast **recursively**, its order chosen on the validation part).
* Metrics: MAE and RMSE at each horizon step ``h`` over all test origins.
  ``mae`` (one number) is the mean over ``h = 1..H`` of the per-step MAE, which
  equals the MAE over all (origin, step) pairs of the test part.

Example:
    >>> t = np.arange(400)
    >>> frame = pd.DataFrame({"time_s": t / 10, "x": np.sin(2 * np.pi * t / 40)})
    >>> result = forecast(frame, ForecastConfig(target="x", horizon=5, epochs=2, n_models=1))
    >>> list(result.metrics["method"])
    ['LSTM', 'persistence', 'seasonal naive', 'linear AR']
    >>> result.period
    40
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from devocore import io
from devocore.errors import MissingColumnsError, NonNumericError, TableError
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

ID_COLUMNS = ("frame", "worm", "id", "track", "track_id", "index", "worm_id")
TIME_NAMES = ("time_s", "time", "t", "seconds", "timestamp", "time_sec", "frame", "frame_index")
QUANTILES = (0.1, 0.5, 0.9)
BASELINES = ("persistence", "seasonal naive", "linear AR")
WAVE = "travelling wave"
WAVE_WINDOWS = (5, 10, 20, 40, 80)
EpochFn = Callable[[int, float, float], None]


@dataclass(frozen=True)
class ForecastConfig:
    """Everything that defines one forecast run (the page's widgets fill it, the CLI's options too).

    Attributes:
        target: the column to forecast (``eigenworm_k`` once ``eigenworms >= k``).
        columns: input columns; empty means every numeric column. The target is always an input.
        horizon: how many steps ahead to forecast (H).
        lookback: input window length in steps; ``None`` chooses it on the validation part
            among a half and one dominant period (or H and 2 H without a period).
        train_fraction: the first part of the series used for fitting (the rest is the test part).
        val_fraction: the share of the training part, at its end, used for validation.
        eigenworms: K > 0 adds the columns ``eigenworm_1..K``, projections on the principal
            components of the segment columns (``segment*``, else all inputs) fitted on the training part.
        max_inputs: more input columns than this are compressed (z-score then PCA, fitted on the
            training part) to the target plus ``max_inputs - 1`` components.
        hidden, layers, dropout: LSTM size.
        epochs, patience, batch_size, learning_rate: training; early stopping on the validation MAE.
        n_models: ensemble size (seeds ``seed .. seed + n_models - 1``).
        max_steps: longest LSTM input sequence; longer lookbacks are subsampled with a stride.
        ar_orders: candidate AR orders (those up to a tenth of the fitting part are tried).
        folds: 1 evaluates on one split (the test part after ``train_fraction``). K > 1 evaluates with
            rolling origins: the part after ``train_fraction`` is cut into K consecutive test folds, and
            each fold is forecast by models fitted (and chosen on a validation part) on everything
            before it; the metrics pool the folds and each fold's figures are kept.
        seed: random seed (weights, batches).
        threads: torch CPU threads while training; small recurrent nets run fastest (and far
            more predictably on a busy machine) on one thread.
    """

    target: str
    columns: tuple[str, ...] = ()
    horizon: int = 10
    lookback: int | None = None
    train_fraction: float = 0.7
    val_fraction: float = 0.2
    eigenworms: int = 0
    max_inputs: int = 9
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 60
    patience: int = 8
    batch_size: int = 64
    learning_rate: float = 3e-3
    n_models: int = 3
    max_steps: int = 50
    ar_orders: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
    seed: int = 0
    threads: int = 1
    folds: int = 1


@dataclass
class SeriesData:
    """A regular time series: ``frame`` has the time column first, then numeric columns."""

    frame: pd.DataFrame
    time_column: str
    step: float
    messages: list[str] = field(default_factory=list)


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
                    "ratio_to_travelling_wave": _ratio(mae, float(rows.loc[WAVE, "mae"])),
                    "wave_window": self.wave_window,
                    "wave_weight_per_step": [round(float(w), 4) for w in self.wave_weight]}
        return {
            "target": self.config.target,
            "horizon": self.config.horizon,
            "mae": mae,
            "rmse": float(rows.loc["LSTM", "rmse"]),
            "best_baseline": best,
            "best_baseline_mae": float(baselines.loc[best, "mae"]),
            "ratio_to_best_baseline": _ratio(mae, float(baselines.loc[best, "mae"])),
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


def _ratio(mae: float, reference: float) -> float:
    """``mae / reference``; 1 when both are 0 and infinity when only the reference is (an exact baseline)."""
    if reference > 0:
        return mae / reference
    return 1.0 if mae == 0 else float("inf")


# ----------------------------------------------------------------------------- reading series

def _find_time_column(columns: Sequence[str], time_column: str | None) -> str | None:
    if time_column:
        return time_column
    lower = {c.lower(): c for c in columns}
    for name in TIME_NAMES:
        if name in lower:
            return lower[name]
    return None


def pick_worm(frame: pd.DataFrame, worm=None, what: str = "the table") -> tuple[pd.DataFrame, str | None]:
    """The rows of one worm of a tracking table (column ``worm``): ``worm`` or the longest track.

    Returns the rows and a message (``None`` when the table has one worm or no ``worm`` column).

    Example:
        >>> rows, message = pick_worm(pd.DataFrame({"worm": [0, 1, 1], "x": [1, 2, 3]}))
        >>> rows["x"].tolist(), message
        ([2, 3], 'The table holds 2 worms; worm 1 (2 rows, the longest track) is used.')
    """
    if "worm" not in frame.columns:
        if worm is not None:
            raise MissingColumnsError(f"{what} has no 'worm' column to pick worm {worm} from.")
        return frame, None
    ids = frame["worm"].astype(str)
    counts = ids.value_counts()
    if worm is None:
        if len(counts) == 1:
            return frame, None
        chosen = str(counts.index[0])
        return frame[ids == chosen], (f"The table holds {len(counts)} worms; worm {chosen} ({counts.iloc[0]} rows, "
                                      "the longest track) is used.")
    if str(worm) not in counts.index:
        raise MissingColumnsError(f"{what} has no worm {worm}; its worms are {', '.join(counts.index[:20])}.")
    return frame[ids == str(worm)], None


def to_series(frame: pd.DataFrame, time_column: str | None = None, what: str = "the table",
              tolerance: float = 0.01, worm=None) -> SeriesData:
    """Make a regular, gap-free numeric series from a table.

    The time column is ``time_column`` or the first of ``time_s, time, t, ...``
    (else the row number). Rows are sorted by time and duplicated times dropped.
    Irregular steps (any step more than ``tolerance`` away from the median step)
    are resampled to the mean step (so the row count stays) by linear interpolation; missing values
    are interpolated. A tracking table's rows of one worm are used (see
    :func:`pick_worm`); identifier columns (``frame``, ``worm``, ...) are not
    series. Every such change is reported in ``messages``.

    Example:
        >>> s = to_series(pd.DataFrame({"time": [0, 0.5, 2, 3], "x": [0.0, 1, 4, 6]}))
        >>> s.frame["x"].tolist(), s.step
        ([0.0, 2.0, 4.0, 6.0], 1.0)
    """
    messages: list[str] = []
    frame, message = pick_worm(frame, worm, what)
    if message:
        messages.append(message)
    column = _find_time_column(list(frame.columns), time_column)
    if column is not None and column not in frame.columns:
        raise MissingColumnsError(f"{what} has no time column '{column}'; it has {', '.join(map(str, frame.columns[:20]))}.")
    data = frame.copy()
    if column is None:
        column = "step"
        data.insert(0, column, np.arange(len(data), dtype=float))
        messages.append("No time column found (time_s, time, t, ...): the row number is used as time.")
    times = pd.to_numeric(data[column], errors="coerce")
    if times.isna().all():
        raise TableError(f"{what}: the time column '{column}' holds no numbers.")
    if np.isinf(times.to_numpy(float)).any():
        row = int(np.flatnonzero(np.isinf(times.to_numpy(float)))[0])
        raise NonNumericError(f"{what}: the time column '{column}' holds an infinite value in row "
                              f"{int(data.index[row]) + 2}.")
    data[column] = times
    data = data[times.notna()]
    numeric = {}
    for name in data.columns:
        if name == column or str(name).lower() in ID_COLUMNS:
            continue
        values = pd.to_numeric(data[name], errors="coerce")
        if values.notna().mean() >= 0.9 and values.notna().sum() >= 2:
            values = values.astype(float)
            infinite = np.isinf(values.to_numpy())
            if infinite.any():  # inf would reach the fits as NaN or as a failed least squares
                row = int(np.flatnonzero(infinite)[0])
                raise NonNumericError(f"{what}: column '{name}' holds an infinite value ('{data[name].iloc[row]}') "
                                      f"in row {int(data.index[row]) + 2}; replace it with a number or leave the "
                                      "cell empty.")
            text = values.isna() & data[name].notna()
            if text.any():
                row = int(np.flatnonzero(text.to_numpy())[0])
                messages.append(f"Column '{name}': {int(text.sum())} cell(s) hold text instead of a number (first: "
                                f"'{data[name].iloc[row]}' in row {int(data.index[row]) + 2}); they are treated as "
                                "missing.")
            numeric[name] = values
    if not numeric:
        raise TableError(f"{what} has no numeric column besides the time column '{column}'.")
    dropped = [c for c in data.columns if c != column and c not in numeric and str(c).lower() not in ID_COLUMNS]
    if dropped:
        messages.append(f"Ignored non-numeric column(s): {', '.join(map(str, dropped[:10]))}.")
    data = pd.concat([data[[column]], pd.DataFrame(numeric, index=data.index)], axis=1)
    data = data.sort_values(column, kind="stable")
    duplicated = data[column].duplicated()
    if duplicated.any():
        messages.append(f"Dropped {int(duplicated.sum())} row(s) with a repeated time.")
        data = data[~duplicated.to_numpy()]
    if len(data) < 3:
        raise TableError(f"{what} has only {len(data)} usable time points; a forecast needs far more.")
    t = data[column].to_numpy(float)
    steps = np.diff(t)
    step = float(np.median(steps))
    values = data.drop(columns=column)
    n_missing = int(values.isna().sum().sum())
    if n_missing:
        values = values.interpolate(limit_direction="both")
        messages.append(f"Filled {n_missing} missing value(s) by linear interpolation.")
    if np.any(np.abs(steps - step) > tolerance * step):
        # the mean step keeps the number of rows (and so what "H steps" means) close to the original
        step = float((t[-1] - t[0]) / (len(t) - 1))
        grid = t[0] + step * np.arange(len(t))
        values = pd.DataFrame({c: np.interp(grid, t, values[c].to_numpy(float)) for c in values.columns})
        messages.append(f"Time steps were irregular (from {steps.min():.4g} to {steps.max():.4g}); "
                        f"resampled to their mean step, {step:.4g}, by linear interpolation.")
        t = grid
    out = pd.concat([pd.DataFrame({column: t}), values.reset_index(drop=True)], axis=1)
    for message in messages:
        log.info("%s", message)
    return SeriesData(out, column, step, messages)


def load_series(source: io.Source, name: str | None = None, time_column: str | None = None,
                worm=None) -> SeriesData:
    """Read a CSV (path or upload bytes) into a regular series; see :func:`to_series`."""
    frame = io.read_table(source, name=name)
    what = f"'{name}'" if name else (f"'{source}'" if isinstance(source, (str,)) else "the table")
    return to_series(frame, time_column=time_column, what=what, worm=worm)


def example_series(seed: int = 0, n_steps: int = 2000, fps: float = 25.0) -> pd.DataFrame:
    """The built-in example: the worm simulator's behaviour series.

    Uses ``devocore.simulate.worm.behaviour_series`` when the simulator is
    installed, else a small stand-in of the same columns (an undulation with a
    drifting frequency, reversals and noise), so the view always has an example.

    Returns:
        DataFrame ``time_s, head_tail_distance, curvature, speed`` (float64).
    """
    try:
        from devocore.simulate.worm import behaviour_series  # teammate's simulator
    except ImportError:
        behaviour_series = None
    if behaviour_series is not None:
        return behaviour_series(seed=seed, n_steps=n_steps, fps=fps)
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps) / fps
    frequency = 0.5 + 0.1 * np.sin(2 * np.pi * t / 37.0) + 0.02 * rng.standard_normal(n_steps).cumsum() / np.sqrt(n_steps)
    phase = 2 * np.pi * np.cumsum(frequency) / fps
    reversal = np.where(np.sin(2 * np.pi * t / 23.0 + 1.0) > 0.93, -1.0, 1.0)
    curvature = 0.8 * np.sin(phase) + 0.1 * rng.standard_normal(n_steps)
    speed = reversal * (0.2 + 0.05 * np.cos(phase)) + 0.02 * rng.standard_normal(n_steps)
    head_tail = 0.9 - 0.15 * np.abs(np.sin(phase + 0.6)) + 0.02 * rng.standard_normal(n_steps)
    return pd.DataFrame({"time_s": t, "head_tail_distance": head_tail, "curvature": curvature, "speed": speed})


SIMULATED = ("sim:behaviour", "sim:curvature")


def simulated_series(kind: str, seed: int = 1, n_steps: int = 2000) -> pd.DataFrame:
    """A simulated series by name: ``sim:behaviour`` (25 fps, :func:`example_series`) or
    ``sim:curvature`` (100 fps, 100 segments, like a real curvature recording; needs the worm simulator).
    """
    if kind == "sim:behaviour":
        return example_series(seed=seed, n_steps=n_steps, fps=25.0)
    if kind == "sim:curvature":
        from devocore.simulate.worm import curvature_series

        return curvature_series(seed=seed, n_steps=n_steps, fps=100.0, n_segments=100)
    raise TableError(f"Unknown simulated series '{kind}'; choose one of {', '.join(SIMULATED)}.")


# ----------------------------------------------------------------------------- baselines

def dominant_period(values: np.ndarray, max_lag: int | None = None) -> int | None:
    """The lag of the highest autocorrelation peak after the first zero crossing, or ``None``.

    Example:
        >>> dominant_period(np.sin(2 * np.pi * np.arange(500) / 25))
        25
    """
    x = np.asarray(values, float) - np.mean(values)
    n = len(x)
    max_lag = min(max_lag or n // 2, n - 2)
    if max_lag < 3 or not np.any(x):
        return None
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 1]
    acf = acf / acf[0]
    negative = np.flatnonzero(acf < 0)
    if negative.size == 0:
        return None
    start = int(negative[0])
    if start >= max_lag:
        return None
    lag = start + int(np.argmax(acf[start:]))
    return lag if acf[lag] > 0.1 else None


def fit_ar(values: np.ndarray, order: int) -> np.ndarray:
    """Least-squares AR(order) with intercept: returns ``[c, a_1, ..., a_p]``.

    The model is ``y[t] = c + a_1 y[t-1] + ... + a_p y[t-p] + e[t]``.

    Example:
        >>> y = np.sin(np.arange(200) * 0.3)
        >>> np.round(fit_ar(y, 2), 3).tolist()[1:]  # exact for a sine: a_1 = 2 cos(w), a_2 = -1
        [1.911, -1.0]
    """
    y = np.asarray(values, float)
    if len(y) <= 2 * order + 1:
        raise TableError(f"Too few points ({len(y)}) to fit an AR model of order {order}.")
    lags = np.stack([y[order - i: len(y) - i] for i in range(1, order + 1)], axis=1)
    design = np.concatenate([np.ones((len(lags), 1)), lags], axis=1)
    coef, *_ = np.linalg.lstsq(design, y[order:], rcond=None)
    return coef


def ar_forecast(values: np.ndarray, coef: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Recursive AR forecasts: ``(len(origins), horizon)``, origin ``t`` = last observed index."""
    y = np.asarray(values, float)
    order = len(coef) - 1
    buffer = np.stack([y[origins - i] for i in range(order)], axis=1)  # newest first
    out = np.empty((len(origins), horizon))
    for h in range(horizon):
        nxt = coef[0] + buffer @ coef[1:]
        out[:, h] = nxt
        buffer = np.concatenate([nxt[:, None], buffer[:, :-1]], axis=1)
    return out


def persistence_forecast(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value, repeated: ``(len(origins), horizon)``."""
    return np.repeat(np.asarray(values, float)[origins][:, None], horizon, axis=1)


def seasonal_naive_forecast(values: np.ndarray, origins: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """``y[t + h - k P]`` with the smallest ``k`` that makes it observed (``k = ceil(h / P)``)."""
    y = np.asarray(values, float)
    h = np.arange(1, horizon + 1)
    back = period * np.ceil(h / period).astype(int)
    return y[origins[:, None] + h[None, :] - back[None, :]]


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
    """(MAE, RMSE) per horizon step, over origins (rows)."""
    diff = prediction - truth
    return np.mean(np.abs(diff), axis=0), np.sqrt(np.mean(diff ** 2, axis=0))


def _truth(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    return np.asarray(values, float)[origins[:, None] + np.arange(1, horizon + 1)[None, :]]


def choose_ar_order(values: np.ndarray, fit_end: int, val_origins: np.ndarray, horizon: int,
                    orders: Sequence[int]) -> int:
    """The AR order with the lowest validation MAE (fitted on ``values[:fit_end]``)."""
    truth = _truth(values, val_origins, horizon)
    best, best_mae = 1, np.inf
    for order in orders:
        if order > fit_end // 10 or order > val_origins.min() + 1:
            continue
        mae = float(np.mean(np.abs(ar_forecast(values, fit_ar(values[:fit_end], order), val_origins, horizon) - truth)))
        if np.isfinite(mae) and mae < best_mae:
            best, best_mae = order, mae
    return best



# ----------------------------------------------------------------------------- the travelling body wave

def body_axis(columns: Sequence[str], min_segments: int = 5) -> list[str]:
    """The columns named ``segment<number>`` in body order (by the number), or ``[]`` when fewer than
    ``min_segments``: curvature sampled along the worm, head to tail (or tail to head).

    Example:
        >>> body_axis(["time_s", "segment_10", "segment_2", "segment_1", "segment_3", "segment_4", "speed"])
        ['segment_1', 'segment_2', 'segment_3', 'segment_4', 'segment_10']
    """
    numbered = {}
    for name in columns:
        match = re.fullmatch(r"segment[_ ]?(\d+)", str(name), flags=re.IGNORECASE)
        if match:
            numbered.setdefault(int(match.group(1)), name)
    return [numbered[k] for k in sorted(numbered)] if len(numbered) >= min_segments else []


def _box_sums(values: np.ndarray, window: int, band: int) -> np.ndarray:
    """``out[t, s]`` = sum of ``values[t - window + 1 .. t, s - band .. s + band]`` (clipped at the edges)."""
    n, m = values.shape
    table = np.zeros((n + 1, m + 1))
    table[1:, 1:] = np.cumsum(np.cumsum(values, axis=0), axis=1)
    rows = np.arange(n)
    lo_t, hi_t = np.maximum(rows + 1 - window, 0), rows + 1
    cols = np.arange(m)
    lo_s, hi_s = np.maximum(cols - band, 0), np.minimum(cols + band + 1, m)
    return (table[hi_t][:, hi_s] - table[lo_t][:, hi_s] - table[hi_t][:, lo_s] + table[lo_t][:, lo_s])


def wave_velocity(profiles: np.ndarray, window: int, band: int | None = None) -> np.ndarray:
    """Local speed of the body wave, ``n x S`` (segments per step, positive = towards higher segments).

    ``profiles`` is ``n x S`` (curvature at S segments along the body, in body order). A wave
    travelling along the body obeys ``dk/dt + v dk/ds = 0``; ``v`` at step ``t`` and segment ``s`` is
    its least-squares solution over the last ``window`` steps (up to ``t``, never after) and the
    ``band`` segments on either side (default: a fifth of the body, at least 2). Clipped to one
    segment per step.

    Example:
        >>> s, t = np.arange(100), np.arange(60)[:, None]
        >>> v = wave_velocity(np.sin(0.1 * (s - 0.5 * t)), window=5, band=3)
        >>> round(float(np.median(v[10:])), 2)
        0.5
    """
    k = np.asarray(profiles, float)
    band = max(2, k.shape[1] // 5) if band is None else band
    dt = np.zeros_like(k)
    dt[1:] = np.diff(k, axis=0)
    ds = np.zeros_like(k)  # the space derivative half-way between the two steps, where dt is taken
    ds[1:] = np.gradient(0.5 * (k[1:] + k[:-1]), axis=1)
    num = _box_sums(dt * ds, window, band)
    den = _box_sums(ds * ds, window, band)
    v = -num / np.maximum(den, 1e-12)
    return np.clip(np.where(den > 1e-12, v, 0.0), -1.0, 1.0)


def wave_forecast(profiles: np.ndarray, origins: np.ndarray, horizon: int, weights: np.ndarray,
                  offset: np.ndarray | float = 0.0, window: int = 20, band: int | None = None,
                  velocity: np.ndarray | None = None) -> np.ndarray:
    """Forecast ``(profile - offset) @ weights`` by carrying the body's shape along at the wave's speed.

    The profile at step ``t + h`` is the one at the origin ``t`` shifted by ``v h`` segments
    (``k(t + h, s) = k(t, s - v(t, s) h)``, linear interpolation, held at the head and tail), ``v`` from
    :func:`wave_velocity` (which sees only steps up to ``t``). ``weights`` picks the target out of the
    profile: a unit vector for one segment, a principal component for an eigenworm. No parameter is
    fitted; ``window`` and ``band`` are chosen by the caller (on the validation part).

    Returns ``len(origins) x horizon``.

    Example:
        >>> s, t = np.arange(100), np.arange(80)[:, None]
        >>> k = np.sin(0.1 * (s - 0.5 * t))
        >>> pred = wave_forecast(k, np.array([50]), 20, np.eye(100)[60], window=5, band=3)
        >>> bool(np.abs(pred - k[51:71, 60]).max() < 0.01)
        True
    """
    k = np.asarray(profiles, float)
    n_seg = k.shape[1]
    v = wave_velocity(k, window, band) if velocity is None else velocity
    weights = np.asarray(weights, float)
    offset_term = float(np.dot(np.broadcast_to(offset, (n_seg,)), weights))
    seg = np.arange(n_seg, dtype=float)
    steps = np.arange(1, horizon + 1, dtype=float)
    out = np.empty((len(origins), horizon))
    for start in range(0, len(origins), 256):  # bounded memory: 256 x H x S at a time
        o = np.asarray(origins[start: start + 256])
        source = np.clip(seg[None, None, :] - steps[None, :, None] * v[o][:, None, :], 0, n_seg - 1)
        left = np.minimum(source.astype(int), n_seg - 2)
        frac = source - left
        profile = np.broadcast_to(k[o][:, None, :], source.shape)
        low = np.take_along_axis(profile, left, axis=2)
        high = np.take_along_axis(profile, left + 1, axis=2)
        out[start: start + 256] = ((1 - frac) * low + frac * high) @ weights - offset_term
    return out

# ----------------------------------------------------------------------------- the LSTM

def _torch():
    import torch

    return torch


def build_lstm(n_inputs: int, horizon: int, hidden: int = 64, layers: int = 1, dropout: float = 0.0):
    """LSTM -> last hidden state -> linear layer to ``horizon x len(QUANTILES)`` outputs (zero at start)."""
    torch = _torch()
    nn = torch.nn

    class LSTMForecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(n_inputs, hidden, num_layers=layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0.0)
            self.head = nn.Linear(hidden, horizon * len(QUANTILES))
            # zero start: the untrained model forecasts exactly its base (the AR forecast)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

        def forward(self, x):  # x: batch x steps x inputs
            out, _ = self.lstm(x)
            return self.head(out[:, -1]).view(len(x), horizon, len(QUANTILES))

    return LSTMForecaster()


def pinball_loss(prediction, target):
    """Mean quantile (pinball) loss; prediction ``B x H x Q``, target ``B x H``."""
    torch = _torch()
    q = torch.tensor(QUANTILES, dtype=prediction.dtype)
    diff = target.unsqueeze(-1) - prediction
    return torch.mean(torch.maximum(q * diff, (q - 1) * diff))


@dataclass
class _Windows:
    """Input windows and residual targets for the LSTM (all in normalised units)."""

    inputs: np.ndarray  # n x C
    target: np.ndarray  # n
    base: Callable[[np.ndarray], np.ndarray]  # origins -> origins x H base forecast (the linear AR)
    lookback: int
    stride: int
    horizon: int

    def make(self, origins: np.ndarray):
        """(windows ``N x steps x C``, residual targets ``N x H``: truth minus base; NaN past the end)."""
        steps = np.arange(-self.lookback + 1, 1)[::-1][:: self.stride][::-1]
        x = self.inputs[origins[:, None] + steps[None, :]]
        ahead = origins[:, None] + np.arange(1, self.horizon + 1)[None, :]
        truth = np.where(ahead < len(self.target), self.target[np.minimum(ahead, len(self.target) - 1)], np.nan)
        return x.astype(np.float32), (truth - self.base(origins)).astype(np.float32)


def train_lstm(windows: _Windows, train_origins: np.ndarray, val_origins: np.ndarray, config: ForecastConfig,
               seed: int, progress: ProgressFn | None = None, on_epoch: EpochFn | None = None,
               progress_span: tuple[float, float] = (0.0, 1.0)):
    """Train one LSTM with early stopping on the validation MAE (normalised units).

    Returns ``(model, curve)``; the model holds the weights of its best epoch, in eval mode.
    """
    torch = _torch()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_train, y_train = (torch.from_numpy(a) for a in windows.make(train_origins))
    x_val, y_val = (torch.from_numpy(a) for a in windows.make(val_origins))
    model = build_lstm(x_train.shape[-1], config.horizon, config.hidden, config.layers, config.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    model.eval()
    with torch.inference_mode():  # epoch 0 = the base forecast alone; training must beat it
        best_mae = float(torch.mean(torch.abs(model(x_val)[..., 1] - y_val)))
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    waited, curve = 0, []
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(len(x_train))  # shuffling within the fitting part only
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = torch.from_numpy(order[start: start + config.batch_size])
            optimizer.zero_grad()
            loss = pinball_loss(model(x_train[idx]), y_train[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        model.eval()
        with torch.inference_mode():
            val_mae = float(torch.mean(torch.abs(model(x_val)[..., 1] - y_val)))
        train_loss = total / len(order)
        curve.append((epoch, train_loss, val_mae))
        if on_epoch is not None:
            on_epoch(epoch, train_loss, val_mae)
        if progress is not None:
            lo, hi = progress_span
            progress(lo + (hi - lo) * epoch / config.epochs, f"epoch {epoch}: val MAE {val_mae:.3f}")
        if val_mae < best_mae - 1e-5:
            best_mae, waited = val_mae, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= config.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, curve, best_mae


def predict_lstm(models: list, windows: _Windows, origins: np.ndarray) -> np.ndarray:
    """Ensemble-mean forecast quantiles ``origins x H x Q`` (normalised units): base + residual."""
    torch = _torch()
    x, _ = windows.make(origins)
    with torch.inference_mode():
        outputs = [m(torch.from_numpy(x)).numpy() for m in models]
    return windows.base(origins)[..., None] + np.sort(np.mean(outputs, axis=0), axis=-1)


# ----------------------------------------------------------------------------- inputs

def _pca(matrix: np.ndarray, fit_rows: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Projections of ``matrix`` on its first ``k`` principal components fitted on ``matrix[:fit_rows]``.

    Returns ``(projections n x k, explained variance shares, mean, components k x columns)``.
    """
    mean = matrix[:fit_rows].mean(axis=0)
    _, singular, vt = np.linalg.svd(matrix[:fit_rows] - mean, full_matrices=False)
    k = min(k, vt.shape[0])
    explained = singular[:k] ** 2 / np.sum(singular ** 2)
    return (matrix - mean) @ vt[:k].T, explained, mean, vt[:k]


def _inputs(frame: pd.DataFrame, time_column: str, config: ForecastConfig, fit_rows: int,
            messages: list[str]) -> tuple[np.ndarray, np.ndarray, list[str], tuple | None]:
    """(target n, normalised inputs n x C, input names, body wave), all fitted on the first ``fit_rows`` rows.

    The body wave is ``(segment columns in body order, weights, offset)`` with target =
    ``(profile - offset) @ weights``, when the inputs hold a body axis (:func:`body_axis`) and the
    target is one of its segments or an eigenworm of it; else ``None``.
    """
    numeric = [c for c in frame.columns if c != time_column]
    columns = list(config.columns) or numeric
    table = frame
    axis = body_axis([c for c in columns if c in frame.columns])
    wave = None
    if config.target in axis:
        wave = (axis, np.eye(len(axis))[axis.index(config.target)], 0.0)
    if config.eigenworms > 0:
        segments = [c for c in columns if str(c).lower().startswith("segment")] or [
            c for c in columns if not str(c).startswith("eigenworm_")]
        projections, explained, mean, components = _pca(frame[segments].to_numpy(float), fit_rows,
                                                        config.eigenworms)
        match = re.fullmatch(r"eigenworm_(\d+)", str(config.target))
        if axis and match and sorted(segments) == sorted(axis) and int(match.group(1)) <= len(components):
            order = [segments.index(c) for c in axis]
            wave = (axis, components[int(match.group(1)) - 1][order], mean[order])
        table = frame.copy()
        for k in range(projections.shape[1]):
            table[f"eigenworm_{k + 1}"] = projections[:, k]
        messages.append(f"Eigenworms: PCA of {len(segments)} columns fitted on the training part; the first "
                        f"{projections.shape[1]} explain {100 * explained.sum():.1f} % of the variance.")
        if not config.columns:
            columns = [f"eigenworm_{k + 1}" for k in range(projections.shape[1])] + columns
    available = [c for c in table.columns if c != time_column]
    missing = [c for c in [config.target, *columns] if c not in available]
    if missing:
        hint = " (use eigenworms >= k for eigenworm_k)" if any(str(m).startswith("eigenworm_") for m in missing) else ""
        raise MissingColumnsError(
            f"No column {', '.join(map(repr, missing))} in the series{hint}; it has "
            f"{', '.join(available[:20])}{' ...' if len(available) > 20 else ''}.")
    target = table[config.target].to_numpy(float)
    others = [c for c in dict.fromkeys(columns) if c != config.target]
    matrix = table[[config.target, *others]].to_numpy(float)
    mean = matrix[:fit_rows].mean(axis=0)
    std = matrix[:fit_rows].std(axis=0)
    std[std < 1e-12] = 1.0
    z = (matrix - mean) / std
    names = [config.target, *others]
    if len(names) > config.max_inputs:
        k = config.max_inputs - 1
        projections, explained, _, _ = _pca(z[:, 1:], fit_rows, k)
        scale = projections[:fit_rows].std(axis=0)
        z = np.concatenate([z[:, :1], projections / np.where(scale > 1e-12, scale, 1.0)], axis=1)
        names = [config.target] + [f"input_pc{i + 1}" for i in range(projections.shape[1])]
        messages.append(f"{len(others)} other input columns compressed to {projections.shape[1]} principal "
                        f"components ({100 * explained.sum():.1f} % of their variance), fitted on the training part.")
    return target, z, names, wave


# ----------------------------------------------------------------------------- the whole run

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
    torch = _torch()
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
                      "ratio_to_linear_ar": _ratio(summary["mae"], ar),
                      "lookback": r.lookback, "ar_order": r.ar_order, "base": r.base_method})
    coverage = float(np.mean((forecasts["truth"] >= forecasts["LSTM_low"]) &
                             (forecasts["truth"] <= forecasts["LSTM_high"])))
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
        f"Rolling origins: {len(bounds)} test folds of steps {bounds[0][0]}..{bounds[-1][1] - 1}; each fold is "
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
    torch = _torch()
    started = time.perf_counter()
    series = frame if isinstance(frame, SeriesData) else to_series(frame, time_column=time_column)
    messages = list(series.messages)
    data, tcol = series.frame, series.time_column
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
    target, z, names, wave = _inputs(data, tcol, config, test_start, messages)
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
        wave_window, wave_predict = _choose_wave(data[axis].to_numpy(float), weights, offset, target, val_start,
                                                 val_origins, horizon)
        messages.append(f"Body axis: {len(axis)} segment columns; the {WAVE} forecast carries the body's shape "
                        f"along at the wave speed measured over the last {wave_window} steps (chosen on the "
                        "validation part).")
        base, wave_weight = _blend_with_wave(base, lambda o: (wave_predict(o) - y_mean) / y_std, val_origins,
                                             _truth(y_norm, val_origins, horizon), y_std, messages)
        base_method = f"{WAVE} + linear AR"
    truth = _truth(target, test_origins, horizon)
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
        windows = _Windows(z, y_norm, base, lookback, stride, horizon)
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
    val_truth = _truth(y_norm, val_origins, horizon)
    scores = np.maximum(val_q[..., 0] - val_truth, val_truth - val_q[..., 2])
    widen = np.quantile(scores, min(1.0, 0.8 * (1 + 1 / len(val_origins))), axis=0)
    quantiles[..., 0] -= widen
    quantiles[..., 2] += widen
    quantiles = y_mean + quantiles * y_std
    predictions = {"LSTM": quantiles[..., 1], **predictions}
    coverage = float(np.mean((truth >= quantiles[..., 0]) & (truth <= quantiles[..., 2])))

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


def _blend_with_wave(ar_base: Callable, wave_base: Callable, val_origins: np.ndarray, val_truth: np.ndarray,
                     scale: float, messages: list[str]):
    """The LSTM's base when a travelling wave is at hand: ``AR + w_h (wave - AR)`` with one weight per
    horizon step, ``w_h`` in [0, 1] by least squares on the validation part (a forecast combination:
    on simulated worms and within the real recording's training part it beat both forecasts and a
    hard choice between them, which an unlucky validation part sends the wrong way)."""
    ar_val, wave_val = ar_base(val_origins), wave_base(val_origins)
    gap, residual = wave_val - ar_val, val_truth - ar_val
    weight = np.clip(np.sum(gap * residual, axis=0) / np.maximum(np.sum(gap * gap, axis=0), 1e-12), 0.0, 1.0)

    def blended(origins: np.ndarray) -> np.ndarray:
        ar = ar_base(origins)
        return ar + weight * (wave_base(origins) - ar)
    maes = [float(np.mean(np.abs(f - val_truth))) * scale for f in (wave_val, ar_val, ar_val + weight * gap)]
    messages.append(f"The LSTM starts from a blend of the {WAVE} and linear AR forecasts, weighted per step on the "
                    f"validation part (wave weight {weight[0]:.2f} at step 1, {weight[-1]:.2f} at step "
                    f"{len(weight)}); validation MAE {maes[0]:.4g} ({WAVE}), {maes[1]:.4g} (linear AR), "
                    f"{maes[2]:.4g} (blend).")
    return blended, weight


def _choose_wave(profiles: np.ndarray, weights: np.ndarray, offset, target: np.ndarray, val_start: int,
                 val_origins: np.ndarray, horizon: int):
    """``(window, origins -> forecast in target units)``: the travelling-wave forecast of
    ``target = (profiles - offset) @ weights`` with the velocity window of the lowest validation MAE."""
    truth = _truth(target, val_origins, horizon)
    best = None
    for window in [w for w in WAVE_WINDOWS if w <= val_start // 4] or [WAVE_WINDOWS[0]]:
        velocity = wave_velocity(profiles, window)
        error = float(np.mean(np.abs(wave_forecast(profiles, val_origins, horizon, weights, offset,
                                                   velocity=velocity) - truth)))
        if best is None or error < best[0]:
            best = (error, window, velocity)
    _, window, velocity = best

    def predict(origins: np.ndarray) -> np.ndarray:
        return wave_forecast(profiles, origins, horizon, weights, offset, velocity=velocity)
    return window, predict


def config_dict(config: ForecastConfig) -> dict:
    """The config as a plain dict (for cards and JSON)."""
    return asdict(config)


__all__ = ["ForecastConfig", "ForecastResult", "SeriesData", "forecast", "fold_bounds", "to_series", "load_series",
           "example_series", "dominant_period", "fit_ar", "ar_forecast", "persistence_forecast",
           "body_axis", "wave_velocity", "wave_forecast",
           "seasonal_naive_forecast", "errors_per_step", "build_lstm", "pinball_loss"]


# ----------------------------------------------------------------------------- a picture without plotly

COLORS = {"history": (90, 90, 90), "truth": (0, 0, 0), "LSTM": (214, 39, 40), "persistence": (31, 119, 180),
          "seasonal naive": (44, 160, 44), "linear AR": (148, 103, 189), WAVE: (255, 127, 14)}


def render_png(result: ForecastResult, path, origin: int | None = None, size: tuple[int, int] = (1200, 460)):
    """Draw one test forecast (left) and the MAE per horizon step (right) into a PNG (PIL only).

    ``origin`` is a test origin (default: the one in the middle of the test part). Returns the path.
    """
    from PIL import Image, ImageDraw

    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image, "RGBA")
    horizon = result.config.horizon
    origins = np.sort(result.forecasts["origin"].unique())
    origin = int(origins[len(origins) // 2] if origin is None else origin)
    rows = result.forecasts[result.forecasts["origin"] == origin]
    history = result.history.iloc[max(0, origin - 3 * horizon): origin + 1]

    def panel(box, xs, ys_list, title, xlabel):
        left, top, right, bottom = box
        x_all = np.concatenate(xs)
        y_all = np.concatenate([np.asarray(y, float) for y in ys_list])
        y_all = y_all[np.isfinite(y_all)]
        x0, x1 = float(x_all.min()), float(x_all.max())
        y0, y1 = float(y_all.min()), float(y_all.max())
        pad = 0.05 * (y1 - y0 or 1.0)
        y0, y1 = y0 - pad, y1 + pad
        draw.rectangle(box, outline=(160, 160, 160))
        draw.text((left, top - 16), title, fill="black")
        draw.text((left, bottom + 4), f"{x0:.3g}", fill="black")
        draw.text((right - 40, bottom + 4), f"{x1:.3g}", fill="black")
        draw.text(((left + right) // 2 - 30, bottom + 4), xlabel, fill="black")
        draw.text((left + 3, top + 2), f"{y1:.3g}", fill="black")
        draw.text((left + 3, bottom - 14), f"{y0:.3g}", fill="black")

        def to_px(x, y):
            return (left + (np.asarray(x, float) - x0) / (x1 - x0 or 1.0) * (right - left),
                    bottom - (np.asarray(y, float) - y0) / (y1 - y0) * (bottom - top))
        return to_px

    def line(to_px, x, y, color, width=2, dashed=False):
        px, py = to_px(x, y)
        points = [(float(a), float(b)) for a, b in zip(px, py) if np.isfinite(b)]
        if dashed:
            for i in range(0, len(points) - 1, 2):
                draw.line(points[i: i + 2], fill=color, width=width)
        elif len(points) > 1:
            draw.line(points, fill=color, width=width)

    # left: history, truth, forecasts
    t_hist, t_fc = history["time"].to_numpy(), rows["time"].to_numpy()
    methods = [m for m in (*BASELINES, WAVE) if m in rows.columns]
    values = [history["value"], rows["truth"], rows["LSTM_low"], rows["LSTM_high"], *[rows[m] for m in methods]]
    to_px = panel((60, 40, width // 2 - 20, height - 70), [t_hist, t_fc], values,
                  f"{result.config.target}: forecast from one test origin (H = {horizon})", "time")
    lx, ly = to_px(t_fc, rows["LSTM_low"])
    hx, hy = to_px(t_fc, rows["LSTM_high"])
    draw.polygon([(float(a), float(b)) for a, b in zip(lx, ly)] + [(float(a), float(b)) for a, b in
                                                                     zip(hx[::-1], hy[::-1])],
                 fill=(214, 39, 40, 50))
    line(to_px, t_hist, history["value"], COLORS["history"])
    line(to_px, t_fc, rows["truth"], COLORS["truth"], 2, dashed=True)
    for method in methods:
        line(to_px, t_fc, rows[method], COLORS[method], 2, dashed=True)
    line(to_px, t_fc, rows["LSTM"], COLORS["LSTM"], 3)

    # right: MAE per step
    steps = result.per_step
    ys = [g["mae"].to_numpy() for _, g in steps.groupby("method")]
    to_px = panel((width // 2 + 60, 40, width - 20, height - 70), [steps["step"].to_numpy()], ys,
                  "MAE per horizon step on the test part", "step")
    for method, group in steps.groupby("method", sort=False):
        if np.isfinite(group["mae"]).any():
            line(to_px, group["step"], group["mae"], COLORS[method], 3 if method == "LSTM" else 2)

    # legend
    x = 60
    for name, color in COLORS.items():
        if name in BASELINES + (WAVE,) and name not in methods:
            continue
        draw.line([(x, height - 25), (x + 25, height - 25)], fill=color, width=3)
        draw.text((x + 30, height - 32), name, fill="black")
        x += 40 + 7 * len(name)
    draw.rectangle([(x, height - 32), (x + 25, height - 18)], fill=(214, 39, 40, 50))
    draw.text((x + 30, height - 32), "LSTM 10-90 %", fill="black")
    image.save(path)
    return path
