"""LSTM forecast: forecast a worm time series and see whether the LSTM beats simple baselines."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from devocore import forecast as fc
from devocore.forecast import coverage as fcov
from devocore.forecast.figures import time_axis_title, time_unit
from devocore import config as dev_config, io, ui_cache
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

st.title("LSTM forecast")
st.caption("Forecast a behaviour or curvature time series H steps ahead with an LSTM, and compare it honestly with "
           "persistence, seasonal naive and a linear autoregressive model on the last part of the series, "
           "which no method sees while fitting.")

EXAMPLE = "Simulated worm (built-in example)"
CURVATURE = "Simulated body curvature (100 segments)"
UPLOAD = "Upload a CSV (tracking output or any table with a time column)"
SOURCES = [EXAMPLE, CURVATURE, UPLOAD]
PINBALL = ("Pinball (quantile) loss: the error measure that trains a forecast of the 10 %, 50 % and 90 % quantiles; "
           "lower is better.")
AR_ORDER = "AR order: how many past steps the linear autoregressive model weighs to predict the next one."


def significant(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Float columns rounded to ``digits`` significant figures (errors are in the target's own units)."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = [float(f"{v:.{digits}g}") if np.isfinite(v) else v for v in out[column]]
    return out


def time_decimals(step: float) -> int:
    """Decimals that show a time on a grid of ``step`` exactly enough (0.04 -> 2, 1 -> 0, 1/30 -> 3)."""
    if not (np.isfinite(step) and step > 0):
        return 3
    for decimals in range(7):
        if abs(round(step, decimals) - step) <= 1e-6 * step:
            return decimals
    return max(0, math.ceil(-math.log10(step))) + 1


def duration(steps: int, step: float | None, unit: str | None) -> str:
    """`` (2 s)``: the length of ``steps`` time steps in the time column's unit; empty when it is unknown."""
    if not unit or step is None or not (np.isfinite(step) and step > 0):
        return ""
    length = steps * step
    return f" ({length:.0f} {unit})" if length >= 100 else f" ({length:.3g} {unit})"  # 1500 s, not 1.5e+03 s


@ui_cache.data
def _example() -> pd.DataFrame:
    files = common.examples("forecast")
    if "worm_series.csv" in files:
        return fc.load_series(str(files["worm_series.csv"])).frame
    return fc.example_series(seed=0, n_steps=2000, fps=25.0)


source = st.radio("Data", SOURCES, index=common.choice_index(SOURCES, common.param("fc_src", EXAMPLE)),
                  key="fc_source", horizontal=True)
common.set_param("fc_src", source)
messages: list[str] = []
series = None  # an upload's series keeps which of its values were filled in, so they are never scored
with common.guard("reading the series"):
    if source == UPLOAD:
        upload = st.file_uploader("Series CSV", type=io.upload_types("table"), key="fc_upload",
                                  help="A time column (time_s, time, t, frame, ...) and numeric columns, "
                                       "e.g. the CSV written by Worm tracking. Irregular time steps are resampled.")
        common.limits_caption("table")
        if upload is None:
            st.info("Upload a CSV, or choose the built-in example.")
            st.stop()
        data = upload.getvalue()
        table = ui_cache.read_table(data, upload.name)
        worms = fc.worm_order(table["worm"]) if "worm" in table.columns else []
        worm = None
        if len(worms) > 1:
            chosen = str(fc.pick_worm(table)[0]["worm"].iloc[0])  # the longest track that moves
            worm = st.selectbox("Worm (tracking table)", worms, index=worms.index(chosen), key="fc_worm",
                                help="First offered: the worm followed longest, passing over tracks that stay in "
                                     "place (a time stamp, debris, a resting worm).")
        series = ui_cache.load_series(data, upload.name, worm)
        frame, time_column, messages = series.frame, series.time_column, series.messages
        # a result belongs to the bytes it was computed on (and the worm), never to the file's name alone
        data_key = ("upload", hashlib.sha256(data).hexdigest(), worm)
        data_label = f"the file '{upload.name}'" + (f" (worm {worm})" if worm is not None else "")
    elif source == CURVATURE:
        frame = ui_cache.simulated_series("sim:curvature", 1)
        time_column = "time_s"
        data_key, data_label = ("sim:curvature", 1), "the simulated body curvature"
    else:
        frame = _example()
        time_column = "time_s"
        data_key, data_label = ("example",), "the built-in example (simulated worm)"
for message in messages:
    st.info(message, icon=":material/info:")

numeric = [c for c in frame.columns if c != time_column]
segments = [c for c in numeric if c.lower().startswith("segment")]
unit = time_unit(time_column)  # "s" for time_s, t_s, seconds, ...; None when the name gives no unit
data_step = float(frame[time_column].diff().median()) if len(frame) > 1 else float("nan")
length = duration(len(frame), data_step, unit).strip(" ()")
st.caption(f"{len(frame)} time steps, step {data_step:.4g}{' ' + unit if unit else ''}"
           f"{f' ({length} in all)' if length else ''}, {len(numeric)} numeric columns.")

left, right = st.columns(2)
with left:
    eigenworms = 0
    if len(segments) >= 3:
        eigenworms = st.number_input("Eigenworms (PCA of the segment columns, fitted on the training part)", 0, 10,
                                     common.param("fc_eig", 0, int), key="fc_eigenworms")
        common.set_param("fc_eig", eigenworms)
    targets = [f"eigenworm_{k + 1}" for k in range(eigenworms)] + numeric
    default_target = next((t for t in ("curvature", "segment_050") if t in targets), targets[0])
    target = st.selectbox("Target (the column to forecast)", targets,
                          index=common.choice_index(targets, common.param("fc_target", default_target),
                                                    common.choice_index(targets, default_target)),
                          key="fc_target")
    common.set_param("fc_target", target)
    columns = st.multiselect("Input columns (empty: all; the target is always an input)", numeric,
                             default=[c for c in common.param("fc_cols", "").split(",") if c in numeric],
                             key="fc_columns")
with right:
    horizon = st.number_input("Horizon H (steps ahead)", 1, 500, common.param("fc_h", 25, int), key="fc_horizon")
    common.set_param("fc_h", horizon)
    lookback = st.number_input("Lookback (steps; 0 = choose on the validation part)", 0, 1000,
                               common.param("fc_lb", 0, int), key="fc_lookback")
    common.set_param("fc_lb", lookback)
    if unit:
        st.caption(f"Horizon {int(horizon)} steps{duration(int(horizon), data_step, unit)}"
                   + (f"; lookback {int(lookback)} steps{duration(int(lookback), data_step, unit)}." if lookback
                      else "; lookback chosen on the validation part."))
    train_fraction = st.slider("Training part (the rest is the test part)", 0.5, 0.9,
                               common.param("fc_tf", 0.7, float), 0.05, key="fc_train_fraction")
    common.set_param("fc_tf", train_fraction)
    folds = st.number_input("Test folds (rolling origins; 1 = one split)", 1, 8, common.param("fc_folds", 1, int),
                            key="fc_folds", help="K > 1 cuts the test part into K consecutive folds; each is forecast "
                                                 "by models fitted on everything before it, so a gain must hold on "
                                                 "every fold, not on one lucky split.")
    common.set_param("fc_folds", folds)
with st.expander("Training settings"):
    a, b, c = st.columns(3)
    bounds = dev_config.forecast_bounds()  # the public demo's limits (cloud profile), else None
    most_epochs, most_models = (bounds["epochs"], bounds["n_models"]) if bounds else (500, 10)
    epochs = a.number_input("Max epochs (early stopping)", 1, most_epochs,
                            min(most_epochs, max(1, common.param("fc_ep", 60, int))), key="fc_epochs")
    n_models = b.number_input("Ensemble size", 1, most_models, min(most_models, max(1, common.param("fc_ens", 3, int))),
                              key="fc_models")
    hidden = c.number_input("LSTM hidden units", 4, 512, common.param("fc_hid", 64, int), key="fc_hidden")
if bounds:
    st.caption(f"On this public demo training is bounded (at most {most_epochs} epochs and {most_models} "
               "networks in the ensemble) and one visitor's training runs at a time; run Devoscope on your own "
               "computer for longer runs.")
for key, value in (("fc_ep", epochs), ("fc_ens", n_models), ("fc_hid", hidden), ("fc_cols", ",".join(columns))):
    common.set_param(key, value)

config = fc.ForecastConfig(target=target, columns=tuple(columns), horizon=int(horizon),
                           lookback=int(lookback) or None, train_fraction=float(train_fraction),
                           eigenworms=int(eigenworms), epochs=int(epochs), n_models=int(n_models), hidden=int(hidden),
                           folds=int(folds))

if st.button("Train and forecast", type="primary", key="fc_train"):
    slot = st.empty()  # the progress bar and the live curve go once training ends
    with slot.container():
        report = common.progress_bar("Training the LSTM...")
        chart = st.empty()
    losses: list[dict] = []

    def on_epoch(epoch: int, train_loss: float, val_mae: float) -> None:
        losses.append({"epoch": len(losses) + 1, "train loss (pinball)": train_loss, "validation MAE": val_mae})
        chart.line_chart(pd.DataFrame(losses).set_index("epoch"), height=220, x_label="epoch",
                         y_label="loss (normalised units)")

    with common.guard("forecasting"), ui_cache.job():
        source_series = frame if series is None else series
        made = fc.forecast(source_series, config, time_column=time_column, progress=report, on_epoch=on_epoch)
        st.session_state["fc_result"] = {"config": config, "result": made, "data": data_key, "label": data_label}
    slot.empty()

stored = st.session_state.get("fc_result")
if not isinstance(stored, dict):  # none yet (or one stored before results carried their data)
    st.info("Choose the target and horizon, then press **Train and forecast**.")
    st.stop()
if stored["data"] != data_key:  # never show a forecast of other data as this one's
    st.info(f"The last forecast was made on {stored['label']}, not on this data, so it is not shown. Press "
            f"**Train and forecast** to forecast {data_label}, or choose {stored['label']} again to see that "
            "forecast.", icon=":material/info:")
    st.stop()
used, result = stored["config"], stored["result"]
if used != config:
    st.warning("The settings changed since this forecast was made; press **Train and forecast** to update it.")

for message in result.messages:
    if message not in messages:  # the series' own notes are shown above
        st.caption(message)
summary = result.summary()
st.subheader("Test part: error per method")
table = significant(result.metrics.copy())
table["best"] = ["★" if b else "" for b in table["best"]]
st.dataframe(table.rename(columns={"mae": "MAE (mean over steps)", "rmse": "RMSE", "mae_step1": "MAE step 1",
                                   "mae_last": f"MAE step {used.horizon}"}), hide_index=True)
st.caption(f"Errors in the units of '{used.target}', 4 significant figures; ★ = the lowest MAE.")
step = result.split.get("step", data_step)  # the series' time step (after any resampling)
period = (f"period {result.period} steps{duration(result.period, step, unit)}" if result.period
          else "no period found")
st.write(f"LSTM MAE / best baseline ({summary['best_baseline']}) = **{summary['ratio_to_best_baseline']:.2f}**"
         f" · horizon {used.horizon} steps{duration(used.horizon, step, unit)}"
         f" · lookback {result.lookback} steps{duration(result.lookback, step, unit)} · {period}"
         f" · AR order {result.ar_order} · run time {result.seconds:.0f} s")
st.caption(AR_ORDER)
coverage = result.interval_coverage  # devocore.forecast.coverage, over every test origin and step
band, nominal = st.columns(2)
band.metric("10-90 % band: share of the truth inside", f"{100 * coverage:.0f} %",
            help="Measured on the test part: how often the true value lies between the LSTM's 10 % and 90 % "
                 "quantiles.")
nominal.metric("Nominal (what a right band holds)", f"{100 * fcov.NOMINAL:.0f} %")
flag = fcov.coverage_warning(coverage)
if flag:
    st.warning(flag + " Read the shaded band below with care.", icon=":material/warning:")
metrics = result.metrics.set_index("method")
lstm_mae, ar_mae = float(metrics.loc["LSTM", "mae"]), float(metrics.loc["linear AR", "mae"])
if result.folds:
    st.subheader(f"Each of the {len(result.folds)} test folds")
    folds_table = significant(pd.DataFrame(result.folds))
    folds_table["test_start"] = folds_table["test_start"] + 1  # steps numbered from 1; the end was exclusive
    st.dataframe(folds_table[["fold", "test_start", "test_end", "origins", "lstm_mae", "best_baseline",
                              "best_baseline_mae", "ratio_to_best_baseline", "linear_ar_mae", "ratio_to_linear_ar"]]
                 .rename(columns={"test_start": "first test step", "test_end": "last test step",
                                  "lstm_mae": "LSTM MAE", "best_baseline_mae": "best baseline MAE",
                                  "ratio_to_best_baseline": "LSTM / best baseline", "linear_ar_mae": "linear AR MAE",
                                  "ratio_to_linear_ar": "LSTM / linear AR"}), hide_index=True, key="fc_folds_table")
    st.caption("Time steps are numbered from 1 (step 1 = the first row of the series).")
    st.write(f"Pooled over the folds: LSTM / best baseline = **{summary['ratio_to_best_baseline']:.2f}**; worst fold "
             f"**{summary['worst_fold_ratio']:.2f}**.")
    losing = [f["fold"] for f in result.folds if f["ratio_to_linear_ar"] >= 1.0]
    if losing:
        st.warning(f"The network does **not** beat linear AR on fold{'s' if len(losing) > 1 else ''} "
                   f"{', '.join(map(str, losing))} of {len(result.folds)}: there, linear AR forecasts as well or "
                   "better.")
if lstm_mae >= ar_mae:
    st.warning(f"The network does **not** beat linear AR here (MAE {lstm_mae:.4g} vs {ar_mae:.4g}): use linear AR "
               "for this series.")
if fc.WAVE in set(result.metrics["method"]):
    st.caption(f"The series has a body axis (segment columns), so the **{fc.WAVE}** forecast is shown too: the body's "
               "present shape carried along at the wave speed measured over the last "
               f"{result.wave_window} steps (no fitted weights; not one of the simple baselines). The LSTM learns a "
               f"correction on top of a blend of it with the linear AR forecast, weighted per step on the validation "
               f"part; compare its row with the {fc.WAVE} row to see what the blend and the network add. "
               "Near the head and tail the wave is made rather than carried, and this forecast is often worse than "
               "the baselines there.")

origins = sorted(result.forecasts["origin"].unique())
origin_times = result.forecasts.groupby("origin")["origin_time"].first()
time_name, decimals = result.split["time_column"], time_decimals(step)


def origin_label(o) -> str:
    """``step 1400 (55.96 s)``; the time column's name instead of a unit it does not give (``frame 1399``)."""
    when = f"{float(origin_times[o]):.{decimals}f}"
    if unit:
        return f"step {int(o) + 1} ({when} {unit})"
    return f"step {int(o) + 1}" + ("" if time_name == "step" else f" ({time_name} {when})")


wanted = common.param("fc_origin", origins[0] + 1, int) - 1
origin = st.select_slider("Forecast origin (last observed step, numbered from 1)", origins,
                          value=wanted if wanted in origins else origins[0], key="fc_origin",
                          format_func=origin_label)
common.set_param("fc_origin", int(origin) + 1)
rows = result.forecasts[result.forecasts["origin"] == origin]
history = result.history.iloc[max(0, origin - 4 * used.horizon): origin + 1]
figure = go.Figure()
figure.add_scatter(x=history["time"], y=history["value"], name="history", line=dict(color="#444"))
figure.add_scatter(x=rows["time"], y=rows["LSTM_high"], line=dict(width=0), showlegend=False, hoverinfo="skip")
figure.add_scatter(x=rows["time"], y=rows["LSTM_low"], fill="tonexty", line=dict(width=0),
                   fillcolor="rgba(214,39,40,0.2)", name=f"LSTM 10-90 % (held {100 * coverage:.0f} % of the truth)")
figure.add_scatter(x=rows["time"], y=rows["truth"], name="truth", line=dict(color="black", dash="dot"))
figure.add_scatter(x=rows["time"], y=rows["LSTM"], name="LSTM", line=dict(color="#d62728", width=3))
for method, color in zip((*fc.BASELINES, fc.WAVE), ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")):
    if method in rows.columns:
        figure.add_scatter(x=rows["time"], y=rows[method], name=method, line=dict(color=color, dash="dash"))
figure.update_layout(height=420, xaxis_title=time_axis_title(time_name), yaxis_title=used.target,
                     margin=dict(l=10, r=10, t=30, b=10))
st.plotly_chart(figure, key="fc_plot")

per_step = result.per_step.assign(step=lambda d: d["step"].astype(int))
steps_figure = px.line(per_step, x="step", y="mae", color="method", markers=True,
                       labels={"step": "horizon step (steps ahead)", "mae": f"MAE ({used.target} units)"},
                       title="MAE at each horizon step (test part)")
st.plotly_chart(steps_figure, key="fc_steps_plot")
by_step = fcov.coverage_by_step(result.forecasts)
band_figure = px.line(by_step, x="step", y="coverage", markers=True, title="10-90 % band: share of the truth inside, "
                      "per horizon step", labels={"step": "horizon step (steps ahead)", "coverage": "share inside"})
band_figure.add_hline(y=fcov.NOMINAL, line_dash="dash", line_color="grey", annotation_text="nominal 80 %")
band_figure.update_yaxes(range=[0, 1], tickformat=".0%")
st.plotly_chart(band_figure, key="fc_coverage_plot")
curves = result.loss_curves
validation = curves.assign(run=curves["model"].astype(str) + " val")
curves_figure = px.line(validation, x="epoch", y="val_mae", color="run",
                        labels={"epoch": "epoch", "val_mae": "validation MAE (normalised units)", "run": "LSTM"},
                        title="Training curves of every LSTM (validation MAE)")
st.plotly_chart(curves_figure, key="fc_curves_plot")
st.caption(PINBALL + " The networks are trained on it and stopped early when the validation MAE stops falling.")

# origins numbered from 1 like the slider (the engine counts rows from 0); steps ahead are 1..H already
st.download_button("Download the forecasts (CSV; origin = last observed step, numbered from 1)",
                   result.forecasts.assign(origin=result.forecasts["origin"] + 1).to_csv(index=False).encode(),
                   file_name=f"forecast_{used.target}_h{used.horizon}.csv", mime="text/csv", key="fc_download")
st.download_button("Download the metrics (CSV)", result.per_step.to_csv(index=False).encode(),
                   file_name=f"forecast_metrics_{used.target}_h{used.horizon}.csv", mime="text/csv",
                   key="fc_download_metrics")
