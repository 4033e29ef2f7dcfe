"""Lineage time-lapse: populations of the seven founder lineages in every frame of an embryo movie."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
import streamlit as st

from devocore import io, lineage, style, ui_cache
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

st.title("Lineage time-lapse")
st.caption("How many cells of each founder lineage ("
           + ", ".join(style.lineage_label(k).replace(" (", " = ").rstrip(")") for k in style.LINEAGES)
           + ") are in every frame "
           "of an embryo time-lapse (green histone-GFP nuclei, maximum projection), and how far development has "
           "gone. A ResNet-18 estimates the cells in each frame; by default one developmental time line is fitted "
           "to the whole video and the populations are read off reference curves built from the exact lineage "
           "curves of 251 EPIC embryos.")

EXAMPLE = "Example (simulated embryo)"


def _source_from_uploads(uploads) -> Path:
    """A path devocore can stream: the video/image itself, or a folder of frames."""
    if len(uploads) == 1 and Path(uploads[0].name).suffix.lower() == ".zip":
        return common.stage_upload(uploads[0], kind="frames")
    if len(uploads) == 1:
        return common.stage_upload(uploads[0])
    return common.stage_frames(uploads)


LOG_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]


def curves_figure(table: pd.DataFrame, truth: pd.DataFrame | None, frame: int) -> go.Figure:
    """Populations per lineage (log axis) above the stage with its 90 % band, one shared frame axis.

    Colours and legend names come from devocore.style; the legend sits right of the plot (one entry per
    lineage: its annotated curve, dotted, toggles with it), the log axis has plain ticks 1, 2, 5, 10, ...
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    for k in lineage.LINEAGES + ("total",):
        color = style.lineage_plotly(k)
        name = style.lineage_label(k)
        fig.add_trace(go.Scatter(x=table["frame"], y=table[k], name=name, mode="lines", legendgroup=k,
                                 line=dict(color=color, width=3 if k == "total" else 2)), row=1, col=1)
        if truth is not None:
            values = truth[k] if k in truth else truth[list(lineage.LINEAGES)].sum(axis=1)
            fig.add_trace(go.Scatter(x=truth["frame"], y=values, name=f"{name} annotated", mode="lines",
                                     legendgroup=k, showlegend=False,
                                     line=dict(color=color, dash="dot", width=1)), row=1, col=1)
    if truth is not None:  # one legend line says what the dotted curves are
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="annotated (dotted)",
                                 line=dict(color="grey", dash="dot", width=1)), row=1, col=1)
    top = float(np.nanmax(table[list(lineage.LINEAGES) + ["total"]].to_numpy(float), initial=1.0))
    if truth is not None:
        top = max(top, float(np.nanmax(truth[list(lineage.LINEAGES)].sum(axis=1).to_numpy(float), initial=1.0)))
    ticks = [t for t in LOG_TICKS if t <= max(top, 2) * 2]
    if "stage_tp" in table and table["stage_tp"].notna().any():
        fig.add_trace(go.Scatter(x=table["frame"], y=table["stage_tp_hi"], mode="lines", line=dict(width=0),
                                 showlegend=False, hoverinfo="skip"), row=2, col=1)
        fig.add_trace(go.Scatter(x=table["frame"], y=table["stage_tp_lo"], mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor="rgba(60,60,60,0.2)", name="stage 90 % band"),
                      row=2, col=1)
        fig.add_trace(go.Scatter(x=table["frame"], y=table["stage_tp"], name="stage", mode="lines",
                                 line=dict(color="rgb(60,60,60)", width=2)), row=2, col=1)
    fig.add_vline(x=frame, line_color="grey", line_dash="dash")
    fig.update_yaxes(title_text="cells (log scale)", type="log", tickvals=ticks, ticktext=[str(t) for t in ticks],
                     row=1, col=1)
    fig.update_yaxes(title_text="time points after 4 cells", row=2, col=1)
    fig.update_xaxes(title_text="frame (first frame = 1)" if table["frame"].iloc[0] == 1 else
                     "frame (numbers from the file names)", row=2, col=1)
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    return fig


def _truth_for(movie: str, bundled: dict) -> str | None:
    """The bundled populations of a bundled movie: ``<stem>_populations.csv``, else ``populations.csv``."""
    own = f"{Path(movie).stem}_populations.csv"
    if own in bundled:
        return own
    return "populations.csv" if "populations.csv" in bundled and movie == "timelapse.mp4" else None


# ----------------------------------------------------------------------------- inputs

models = [m["name"] for m in ui_cache.models_table("lineage")]
if not models:
    st.error("No lineage model found. Train one with `python -m devocore train lineage`.", icon=":material/error:")
    st.stop()

with st.sidebar:
    model_name = st.selectbox("Model", models, index=common.choice_index(models, common.param("lin_model", models[0])),
                              key="lin_model")
    default_method = lineage.LineageConfig().method
    method = st.selectbox("Method", lineage.METHODS,
                          index=common.choice_index(list(lineage.METHODS), common.param("lin_method", default_method)),
                          key="lin_method",
                          help=f"{default_method} (default, the best on training data): one developmental time "
                               "line (offset and rate) fitted to the whole video; stage: each frame on its own; "
                               "net: the network's seven outputs as they are")
    monotone = st.checkbox("Counts never decrease", value=common.param("lin_monotone", False, bool),
                           key="lin_monotone")
    smooth = st.slider("Smoothing (frames)", 1, 15, common.param("lin_smooth", 1, int), step=2, key="lin_smooth")
    interval = st.number_input("Frame interval (seconds, 0 = unknown)", 0.0, 3600.0,
                               common.param("lin_interval", 0.0, float), key="lin_interval")
    channels = ["auto", "1", "2", "3", "4"]
    channel = st.selectbox("Nucleus channel", channels,
                           index=common.choice_index(channels, common.param("lin_channel", "auto")), key="lin_channel",
                           help="The channel that shows the nuclei. auto: green in a colour video, unless red or "
                                "blue shows nuclei in clearly more frames; in a TIFF of 2 or more microscope "
                                "channels, the one that shows nuclei in the most frames (the page says which it "
                                "took).")
    lay = st.checkbox("Turn the embryo to lie left to right", value=common.param("lin_turn", True, bool),
                      key="lin_turn",
                      help="The model learnt from movies whose embryo lies left to right. An embryo lying further "
                           "off than 10 degrees is turned to lie so before counting (the page says by how much); "
                           "the pictures shown are not turned. Off: the frames are counted as they are.")
    largest = st.checkbox("Count the largest embryo only", value=common.param("lin_largest", True, bool),
                          key="lin_largest",
                          help="Where the field shows several embryos apart from each other, only the largest is "
                               "counted (the page says which), and bright spots apart from the embryo (debris) are "
                               "left out. Off: the whole field is counted as one embryo.")
    for key, value in (("lin_model", model_name), ("lin_method", method), ("lin_monotone", monotone),
                       ("lin_smooth", smooth), ("lin_interval", interval), ("lin_channel", channel),
                       ("lin_turn", lay), ("lin_largest", largest)):
        common.set_param(key, value)

bundled = common.examples("lineage")
examples = {k: v for k, v in bundled.items() if not k.endswith(".csv")}  # movies; populations.csv is their truth
choices = [EXAMPLE, *examples, "Upload"]
source_choice = st.radio("Input", choices, index=common.choice_index(choices, common.param("lin_src", EXAMPLE)),
                         horizontal=True, key="lin_source")
common.set_param("lin_src", source_choice)
uploads, truth = None, None
if source_choice == "Upload":
    uploads = st.file_uploader("A video (MOV, MP4, AVI), an image, several frames, or a ZIP of frames",
                               type=io.upload_types("video", "image", "zip", "microscope", "picture"),
                               accept_multiple_files=True, key="lin_upload")
    if not uploads:
        st.info("Upload a time-lapse to begin, or pick the example.")
        st.stop()
with st.expander("Compare with your own annotation (optional)"):
    annotation = st.file_uploader("Annotation CSV (frame, A, E, M, P, C, D, Z; frame 1 = first frame, or the "
                                  "numbers in the frames' file names)",
                                  type=["csv"], key="lin_labels")
common.limits_caption("video", "stack", "table")

cfg = lineage.LineageConfig(model=model_name, method=method, monotone=monotone, smooth=smooth, channel=channel,
                            frame_interval_s=interval or None, keep_previews=True, angle=None if lay else 0.0,
                            embryos="largest" if largest else "all")
with common.guard("loading the model"):
    net = ui_cache.model(model_name)
    curves = lineage.StageCurves.from_model(net).curves if method != "net" else None

with common.guard("reading the input"):
    about, known = None, None  # what the input is; what its own true populations are (None: it has none)
    if source_choice == EXAMPLE:
        frames, example_truth = ui_cache.lineage_example(0, 48, lineage.StageCurves.from_model(net).curves, model_name)
        source, key = frames, f"example-{model_name}"
        truth = example_truth
        about, known = "A simulated embryo rendered like an EPIC histone-GFP movie", "its true populations"
    elif source_choice == "Upload":
        source = _source_from_uploads(uploads)
        key = str(source)
    else:
        source, key = examples[source_choice], str(examples[source_choice])
        truth_name = _truth_for(source_choice, bundled)
        if truth_name is not None:
            truth = lineage.read_populations(bundled[truth_name].read_bytes(), truth_name)
        if source_choice == "embryo_timelapse.mov":
            about = ("A real EPIC histone-GFP time-lapse (embryo 20071217_ceh-432x3, 389 frames; DevoLearn's MIT "
                     "sample movie)")
            known = "its exact populations for frames 4-210 (frame n shows time point n of its lineage tracing)" \
                if truth is not None else None
        elif truth is not None:
            about, known = "A bundled simulated time-lapse", f"its true populations (`{truth_name}`)"
    if annotation is not None:
        truth = lineage.read_populations(annotation.getvalue(), annotation.name)
        # the dotted curves are the user's annotation now, whatever the input came with
        dotted = f"drawn dotted: your annotation (`{annotation.name}`)" + (f", not {known}" if known else "")
    else:
        dotted = f"{known} are drawn dotted" if known else None
    words = "; ".join(w for w in (about, dotted) if w)
    if words:
        st.caption(f"{words[0].upper()}{words[1:]}." + (" For display only: it was never used to train or choose "
                                                        "anything." if source_choice == "embryo_timelapse.mov" else ""))

run_key = (key, cfg)
if st.session_state.get("lin_result_key") != run_key:
    slot = st.empty()  # the progress bar goes once the run is done
    with common.guard("running the model"), slot.container(), ui_cache.job():
        report = common.progress_bar("Reading frames and estimating populations...")
        result = lineage.predict(source, net, cfg, report)
    slot.empty()
    st.session_state["lin_result"] = result
    st.session_state["lin_result_key"] = run_key
result: lineage.LineageResult = st.session_state["lin_result"]
table = result.table
n = len(table)
numbers = table["frame"].to_numpy()  # the numbers the page shows: from 1, or from the frames' file names
for warning in (getattr(result, "unfit", None), lineage.no_embryo_warning(table, result.timeline is not None)):
    if warning:  # (a result kept in the session from before a restart may lack ``unfit``)
        st.warning(common.as_uploaded(warning), icon=":material/warning:")
for note in getattr(result, "notes", []):  # the channel taken as the nuclei, a projection, burned-in marks
    st.info(common.as_uploaded(note), icon=":material/info:")

# ----------------------------------------------------------------------------- results

by_position = bool(numbers[0] == 1 and numbers[-1] == n)  # else numbered by the file names of a folder of frames
first, last = int(numbers[0]), int(numbers[-1])
chosen = st.slider("Frame", first, last, min(max(common.param("lin_frame", first, int), first), last),
                   key="lin_frame") if n > 1 else first
frame = int(np.abs(numbers - chosen).argmin()) + 1  # position of the nearest frame (numbers may have gaps)
number = int(numbers[frame - 1])
common.set_param("lin_frame", number)
st.plotly_chart(curves_figure(table, truth, number), width="stretch", key="lin_chart")
st.caption(f"{n} frames, numbered from 1 (frame 1 = the first frame of the movie); the dashed line marks frame "
           f"{number}." if by_position else
           f"{n} frames, numbered {numbers[0]}-{numbers[-1]} by their file names (missing numbers are gaps in "
           f"time); the dashed line marks frame {number}.")
common.measured_accuracy(model_name)
row = table.iloc[frame - 1]
left, right = st.columns([3, 2])
with left:
    if result.previews:
        counted = "; the amber box marks the embryo counted" if getattr(result, "region", None) else ""
        st.image(result.previews[frame - 1], caption=(f"frame {frame} of {n}" if by_position else
                                                      f"frame {number} ({frame} of {n})") + counted,
                 clamp=True, width="stretch")
with right:
    st.metric("Total cells", int(row["total"]))
    if np.isfinite(row["stage_tp"]):
        st.metric("Stage: time points after 4 cells", f"{row['stage_tp']:.0f}",
                  help=f"90 % band {row['stage_tp_lo']:.0f} to {row['stage_tp_hi']:.0f} (reference time points: "
                       "one per time point of the median EPIC embryo)")
        st.caption(f"90 % band: {row['stage_tp_lo']:.0f} to {row['stage_tp_hi']:.0f}")
    if "stage_min" in table and np.isfinite(row["stage_min"]):
        st.metric("Minutes after the 4-cell stage", f"{row['stage_min']:.0f}",
                  help=f"90 % band {row['stage_min_lo']:.0f} to {row['stage_min_hi']:.0f} min")
    elif not interval:
        st.caption("Give the frame interval in the sidebar to see minutes after the 4-cell stage.")
    counts = pd.DataFrame({"lineage": [style.lineage_label(k) for k in lineage.LINEAGES],
                           "cells": [int(row[k]) for k in lineage.LINEAGES]})
    st.dataframe(counts, hide_index=True, width="stretch")
if result.timeline is not None:
    # the line in the stage's own units (time points after 4 cells), so that it gives the stage shown above; the
    # model's reference clock starts earlier, at its first reference step, and reaches 4 cells at step `zero`
    zero = lineage.StageCurves.from_model(net).four_cell
    offset, rate = round(result.timeline[0] - zero, 1) + 0.0, result.timeline[1]
    x = "frame" if first == 1 else f"(frame - {first - 1})"
    ignored = numbers[np.asarray(result.weights) == 0]
    st.caption(f"Fitted time line: stage = {offset:.1f} + {rate:.3f} x {x}, in time points after the 4-cell stage "
               f"as in the Stage figure above (so frame {first} is at {offset + rate:.1f}); the movie advances "
               f"{rate:.3f} reference time points per frame. "
               + (f"Frame{'s' if len(ignored) > 1 else ''} {lineage.frame_list(ignored)} had no signal and "
                  f"{'were' if len(ignored) > 1 else 'was'} left out of the fit." if len(ignored) else
                  "Every frame was used for the fit."))

if truth is not None:
    with common.guard("comparing with the annotation"):
        scores = lineage.evaluate(table, truth)
    errors = pd.DataFrame({"lineage": [style.lineage_label(k) for k in lineage.LINEAGES],
                           "max annotated": [scores["max_count"][k] for k in lineage.LINEAGES],
                           "MAE (cells)": [round(scores["mae"][k], 2) for k in lineage.LINEAGES],
                           "MAE / max": [round(scores["nmae_per"][k], 3) for k in lineage.LINEAGES]})
    # the image-blind baseline: the model's reference (median EPIC) curve read at the frame index
    with common.guard("computing the baseline"):
        reference = lineage.StageCurves.from_model(net)
        blind = pd.DataFrame(reference.at(lineage.frame_steps(n, numbers) - 1), columns=list(lineage.LINEAGES))
        blind.insert(0, "frame", table["frame"].to_numpy())
        base = lineage.evaluate(blind, truth)
    errors["baseline MAE / max"] = [round(base["nmae_per"][k], 3) for k in lineage.LINEAGES]
    st.subheader(f"Error against the annotation: nMAE {scores['nmae']:.3f} over {scores['frames']} frames "
                 f"(baseline {base['nmae']:.3f})")
    st.caption(f"Method {method}; nMAE = mean over lineages of the mean absolute error divided by the lineage's "
               "largest annotated count (lower is better). Baseline: image-blind, the reference (median EPIC) "
               "curve read at the frame index; the model is only useful below it.")
    st.dataframe(errors, hide_index=True, width="stretch")

st.download_button("Download populations (CSV)", table.to_csv(index=False).encode(), "lineage_populations.csv",
                   "text/csv", key="lin_download")
