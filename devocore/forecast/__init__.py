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

The package: :mod:`.series` (reading), :mod:`.baselines`, :mod:`.wave`, :mod:`.lstm`, :mod:`.coverage`,
:mod:`.evaluate` (the run and its metrics) and :mod:`.figures` (a PNG without plotly).
"""
from __future__ import annotations

import numpy as np  # noqa: F401  (the doctest above uses np and pd)
import pandas as pd  # noqa: F401

from devocore.forecast.baselines import (BASELINES, ar_forecast, choose_ar_order, dominant_period, fit_ar,
                                         persistence_forecast, seasonal_naive_forecast, truth_windows)
from devocore.forecast.evaluate import (ForecastResult, errors_per_step, fold_bounds, forecast, method_metrics,
                                        split_points)
from devocore.forecast.figures import render_png
from devocore.forecast.lstm import QUANTILES, build_lstm, pinball_loss
from devocore.forecast.series import (ID_COLUMNS, SIMULATED, TIME_NAMES, ForecastConfig, SeriesData, config_dict,
                                      example_series, load_series, pick_worm, simulated_series, to_series,
                                      worm_order)
from devocore.forecast.wave import WAVE, WAVE_WINDOWS, blend_with_wave, body_axis, choose_wave, wave_forecast, wave_velocity

__all__ = ["ForecastConfig", "ForecastResult", "SeriesData", "forecast", "fold_bounds", "split_points",
           "to_series", "load_series", "pick_worm", "worm_order", "example_series", "simulated_series", "config_dict",
           "dominant_period", "fit_ar", "ar_forecast", "choose_ar_order", "persistence_forecast",
           "seasonal_naive_forecast", "truth_windows", "method_metrics", "errors_per_step", "body_axis",
           "wave_velocity", "wave_forecast", "blend_with_wave", "choose_wave", "build_lstm", "pinball_loss",
           "render_png", "BASELINES", "WAVE", "WAVE_WINDOWS", "QUANTILES", "ID_COLUMNS", "TIME_NAMES",
           "SIMULATED"]
