"""Segmentation view: nuclei or membranes in an image, stack or video -> instances, table, downloads."""
from __future__ import annotations

import hashlib
import io as _io
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from devocore import io, registry, segmentation, ui_cache
from devocore.errors import DevocoreError, ModelError
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

SIMULATED = {"Simulated nuclei (seed 1)": ("nucleus", 1), "Simulated membranes (seed 1)": ("membrane", 1),
             "Simulated nucleus stack (4 slices)": ("nucleus", 4)}


@ui_cache.data(heavy=True)  # a model run: one at a time under the cloud profile
def _probabilities(digest: str, model_name: str, device: str, start: int, stop: int,
                   _planes: np.ndarray) -> np.ndarray:
    """Probability maps (n x Y x X uint8, 0..255) of planes start..stop-1; cached so that moving the
    threshold or the slider never re-runs the network."""
    predictor = segmentation.Predictor(ui_cache.model(model_name))
    return np.stack([np.round(p * 255).astype(np.uint8) for p in predictor.probabilities(list(_planes[start:stop]))])


def _all_probabilities(digest: str, model_name: str, device: str, planes: np.ndarray) -> np.ndarray:
    """Every plane's probability map, computed in cached chunks with a progress bar for stacks and videos."""
    chunk = max(8, -(-len(planes) // 24))  # at most 24 chunks: they all stay in the cache
    bar = common.progress_bar("Segmenting...") if len(planes) > 1 else None
    parts = []
    for start in range(0, len(planes), chunk):
        stop = min(len(planes), start + chunk)
        parts.append(_probabilities(digest, model_name, device, start, stop, planes))
        if bar is not None:
            bar(stop / len(planes), f"segmented {stop} of {len(planes)} planes")
    if bar is not None:
        bar.done(f"All {len(planes)} planes segmented with {model_name}.")
    return np.concatenate(parts)


CHOSEN = "seg_model_chosen"  # {input digest: model the user picked for that input}
KINDS = {"nucleus": "nuclei", "membrane": "membranes"}


def _remember_choice(digest: str) -> None:
    st.session_state.setdefault(CHOSEN, {})[digest] = st.session_state["seg_model"]


def _model_menu(rows: list[dict], digest: str, image_task: str) -> str:
    """The model menu: the user's choice for this input if they made one, else the model fitting the input."""
    models = [row["name"] for row in rows]
    chosen = st.session_state.setdefault(CHOSEN, {})
    if "seg_model_from_url" not in st.session_state:  # a shared URL's model is a choice for the URL's input
        st.session_state["seg_model_from_url"] = common.param("seg_model", None)
        if st.session_state["seg_model_from_url"] in models:
            chosen.setdefault(digest, st.session_state["seg_model_from_url"])
    fitting = segmentation.model_for(image_task, rows) or models[0]
    # the menu follows the input: a remembered widget value must not carry one input's model to the next
    st.session_state["seg_model"] = chosen[digest] if chosen.get(digest) in models else fitting
    model_name = st.selectbox("Model", models, key="seg_model", on_change=_remember_choice, args=(digest,),
                              help="Picked to fit the input (nuclei or membranes) unless you choose one; "
                                   "your choice is remembered for this input.")
    common.set_param("seg_model", model_name)
    if segmentation.card_task(rows[models.index(model_name)]) == image_task:
        st.caption(f"This input looks like {KINDS[image_task]}; {model_name} segments {KINDS[image_task]}.")
    return model_name


def _figure(plane: np.ndarray, result: segmentation.Result) -> go.Figure:
    picture = segmentation.overlay(plane, result.labels, centroids=False)
    fig = go.Figure(go.Image(z=picture, hoverinfo="x+y"))
    if result.count:
        fig.add_trace(go.Scatter(x=result.table["centroid_x"], y=result.table["centroid_y"], mode="markers",
                                 marker=dict(size=6, color="white", line=dict(width=1, color="black")),
                                 text=[f"#{i}: {a} px" for i, a in zip(result.table["id"], result.table["area_px"])],
                                 hoverinfo="text", name="centroids"))
    fig.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=560, showlegend=False, dragmode="zoom")
    fig.update_yaxes(scaleanchor="x")
    return fig


def _table_view(table, pixel_size: float | None) -> None:
    """The per-instance table with units and sensible precision; the µm² column only with a pixel size."""
    shown = table if pixel_size else table.drop(columns=["area_um2"], errors="ignore")
    st.dataframe(shown, hide_index=True, key="seg_table", column_config=common.number_columns({
        "id": ("id", None, "instance number in the labels (1, 2, ...)"),
        "centroid_x": ("centroid x (px)", "%.1f"), "centroid_y": ("centroid y (px)", "%.1f"),
        "area_px": ("area (px)", "%d"), "area_um2": ("area (µm²)", "%.1f"),
        "mean_intensity": ("mean intensity", "%.1f"),
        "eccentricity": ("eccentricity", "%.2f", "0 = a circle, near 1 = elongated")}))
    if not pixel_size:
        st.caption("Set the pixel size (µm) to get areas in µm².")


def _tiff_bytes(labels: np.ndarray) -> bytes:
    buffer = _io.BytesIO()
    segmentation.write_labels_tiff(buffer, labels)
    return buffer.getvalue()


def _png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = _io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


st.title("Segmentation")
st.caption("Nuclei or cell membranes in an image, a TIFF stack or a video: instances, centroids and a table. "
           "The threshold re-draws the result without running the network again.")

model_rows = ui_cache.models_table("segmentation")
if not model_rows:
    st.warning("No segmentation model found. Train one with `python -m devocore train nucleus`.")
    st.stop()

left, right = st.columns([1, 3])
with left:
    source_kind = st.radio("Input", ["Example", "Upload"], key="seg_source", horizontal=True,
                           index=common.choice_index(["Example", "Upload"], common.param("seg_source", "Example")))
    common.set_param("seg_source", source_kind)
    examples = {k: v for k, v in common.examples("segmentation").items() if "_mask" not in k}
    if source_kind == "Upload":
        upload = st.file_uploader("Image, stack or video", key="seg_upload",
                                  type=io.upload_types("image", "video"))
        common.limits_caption()
        if upload is None:
            st.info("Upload a file, or choose Example.")
            st.stop()
        name, data = upload.name, upload.getvalue()
    else:
        options = list(examples) + list(SIMULATED)
        name = st.selectbox("Example", options, key="seg_example",
                            index=common.choice_index(options, common.param("seg_example", options[0])))
        common.set_param("seg_example", name)
        data = examples[name].read_bytes() if name in examples else None

with common.guard("reading the file"):
    if data is None:
        planes, fps = ui_cache.segmentation_samples(*SIMULATED[name]), None
        kind = "stack" if len(planes) > 1 else "image"
        digest = "simulated-{}-{}".format(*SIMULATED[name])
    else:
        digest = hashlib.sha256(data).hexdigest()
        planes, kind, fps = ui_cache.decode_planes(digest, name, data)
image_task = ui_cache.guess_task(digest, planes)

with left:
    model_name = _model_menu(model_rows, digest, image_task)
    threshold = st.slider("Threshold", 0.05, 0.95, common.param("seg_threshold", 0.5, float), 0.05,
                          key="seg_threshold", help="probability above which a pixel counts as nucleus / membrane")
    common.set_param("seg_threshold", threshold)
    pixel_size = st.number_input("Pixel size (µm, 0 = unknown)", 0.0, 100.0,
                                 min(100.0, max(0.0, common.param("seg_px", 0.0, float))), 0.01,
                                 key="seg_pixel_size", format="%.3f")
    common.set_param("seg_px", f"{pixel_size:g}")
    cfg = segmentation.SegmentConfig(model=model_name, threshold=threshold, pixel_size=pixel_size or None)
common.measured_accuracy(model_name)  # full width: the figures and commands must be readable

with common.guard("running the model"):
    try:
        device = ui_cache.device_choice().name
        model_planes, model_digest = planes, digest
        if data is not None and registry.find_model(model_name).card.get("channels"):
            # a multi-channel model (its card has a channel recipe) needs the planes' channels, not grey
            model_planes, model_digest = ui_cache.decode_planes(digest, name, data, channels=True)[0], digest + "-channels"
        probs = _all_probabilities(model_digest, model_name, device, model_planes)
    except ModelError:
        raise
    except RuntimeError as exc:  # torch errors on odd inputs become a readable message
        raise DevocoreError(f"the model could not run on this input ({exc}).") from exc

task = segmentation.task_of(ui_cache.model(model_name))
index = 0
with left:
    if len(planes) > 1:
        label = "Frame" if kind == "video" else "Slice"
        if st.session_state.get("seg_frame", 1) > len(planes):  # the previous input had more planes
            st.session_state.pop("seg_frame")
        number = st.slider(label, 1, len(planes), min(len(planes), max(1, common.param("seg_frame", 1, int))),
                           key="seg_frame")
        common.set_param("seg_frame", number)
        st.caption(f"{label}s are numbered from 1 to {len(planes)}, here and in the URL.")
        index = number - 1
plane = planes[index]
result = segmentation.postprocess(probs[index].astype(np.float32) / 255, plane, task, threshold, cfg.pixel_size)

with right:
    what = "nuclei" if task == "nucleus" else "cells"
    warning = segmentation.implausible(result, image_task)
    if warning is None and task != image_task:
        warning = (f"This input looks like {KINDS[image_task]}, but {model_name} segments {KINDS[task]}: "
                   f"the result may mean little; a {image_task} model fits this input.")
    if warning:
        st.warning(warning)
    place = "frame" if kind == "video" else "slice"
    st.subheader(f"{result.count} {what}" + (f" in {place} {index + 1} of {len(planes)}" if len(planes) > 1 else ""))
    st.plotly_chart(_figure(plane, result), key="seg_plot")
    _table_view(result.table, cfg.pixel_size)
    stem = Path(name).stem.replace(" ", "_")
    cols = st.columns(4)
    cols[0].download_button("Labels (16-bit TIFF)", _tiff_bytes(result.labels), f"{stem}_labels.tif",
                            "image/tiff", key="seg_dl_tif")
    cols[1].download_button("Mask (PNG)", _png_bytes((result.mask * 255).astype(np.uint8)), f"{stem}_mask.png",
                            "image/png", key="seg_dl_png")
    cols[2].download_button("Table (CSV)", result.table.to_csv(index=False), f"{stem}_table.csv", "text/csv",
                            key="seg_dl_csv")
    cols[3].download_button("Centroids (CSV)", result.table[["id", "centroid_x", "centroid_y"]].to_csv(index=False),
                            f"{stem}_centroids.csv", "text/csv", key="seg_dl_centroids")
    if len(planes) > 1 and st.button(f"Prepare downloads for all {len(planes)} planes", key="seg_all"):
        out = common.session_dir() / f"all-planes-{digest[:12]}"  # never the upload's name
        results = ((i, planes[i], segmentation.postprocess(probs[i].astype(np.float32) / 255, planes[i], task,
                                                            threshold, cfg.pixel_size))
                   for i in range(len(planes)))
        with st.spinner("Writing the results..."):
            summary = segmentation.write_stream(results, out, fps=fps, video=kind == "video")
        st.success(f"{summary['instances']} instances over {summary['planes']} planes.")
        for k, file in enumerate(summary["files"]):
            st.download_button(f"Download {file}", (out / file).read_bytes(), f"{stem}_{file}",
                               key=f"seg_dl_all_{k}")
