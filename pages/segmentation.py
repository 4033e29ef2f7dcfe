"""Segmentation view: nuclei or membranes in an image, stack or video -> instances, table, downloads."""
from __future__ import annotations

import contextlib
import hashlib
import io as _io
import threading
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from devocore import config, deploy, io, registry, segmentation, ui_cache
from devocore.errors import DevocoreError, ModelError
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

SIMULATED = {"Simulated nuclei (seed 1)": ("nucleus", 1), "Simulated membranes (seed 1)": ("membrane", 1),
             "Simulated nucleus stack (4 slices)": ("nucleus", 4)}


@ui_cache.data(heavy=True)  # a model run: one at a time under the cloud profile
def _probabilities(digest: str, model_name: str, device: str, start: int, stop: int,
                   _planes: np.ndarray, zoom: float = 1.0) -> np.ndarray:
    """Probability maps (n x Y x X uint8, 0..255) of planes start..stop-1; cached so that moving the
    threshold or the slider never re-runs the network."""
    predictor = segmentation.Predictor(ui_cache.model(model_name), zoom=zoom)
    return np.stack([np.round(p * 255).astype(np.uint8) for p in predictor.probabilities(list(_planes[start:stop]))])


def _all_probabilities(digest: str, model_name: str, device: str, planes: np.ndarray,
                       zoom: float = 1.0) -> np.ndarray:
    """Every plane's probability map, computed in cached chunks with a progress bar for stacks and videos."""
    chunk = max(8, -(-len(planes) // 24))  # at most 24 chunks: they all stay in the cache
    bar = common.progress_bar("Segmenting...") if len(planes) > 1 else None
    parts = []
    for start in range(0, len(planes), chunk):
        stop = min(len(planes), start + chunk)
        parts.append(_probabilities(digest, model_name, device, start, stop, planes, zoom))
        if bar is not None:
            bar(stop / len(planes), f"segmented {stop} of {len(planes)} planes")
    if bar is not None:
        bar.done(f"All {len(planes)} planes segmented with {model_name}.")
    return np.concatenate(parts)


#: Pictures of planes larger than this (pixels) are shown subsampled: no browser needs 64 megapixels.
DISPLAY_PIXELS = 4_000_000


def _header(name: str, data: bytes) -> tuple[int, int]:
    """``(pixels of one plane, pages)`` of an image or TIFF upload, from its header ((0, 1) when the header
    cannot tell: the reader then says what is wrong)."""
    try:
        if Path(name).suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(_io.BytesIO(data)) as tif:
                page = tif.pages[0]
                return int(page.imagelength) * int(page.imagewidth), len(tif.pages)
        from PIL import Image

        with Image.open(_io.BytesIO(data)) as im:  # the header only
            return int(im.size[0]) * int(im.size[1]), 1
    except Exception:  # noqa: BLE001 - any unreadable header: decoding reports it clearly
        return 0, 1


def _large_input(digest: str, name: str, data: bytes) -> tuple[io.PlaneReader | None, bool]:
    """``(reader, huge)``: the upload as a :class:`io.PlaneReader` when it is a stack or video over
    ``config.PAGE_WHOLE_MB`` once decoded (sizes from the headers), else None (it is decoded whole, as small
    inputs always were); ``huge``: its planes are over the segmentation work size. Kept per session."""
    known = st.session_state.get("_seg_large")
    if known is not None and known[0] == digest:
        return known[1], known[2]
    suffix = Path(name).suffix.lower()
    large = None
    if suffix in io.VIDEO_SUFFIXES:
        path = common.remember_upload(common.session_dir() / f"upload-{digest[:24]}{io.clean_suffix(suffix)}", name)
        if not path.exists():
            io.save_upload(data, suffix, common.session_dir()).rename(path)
        with io.open_frames(path) as source:
            count, fps, (height, width) = len(source), source.fps, source.shape[:2]
        pixels = height * width
        if count * pixels > config.PAGE_WHOLE_MB * 2**20:
            large = io.PlaneReader("video", count, fps, path=path)
        else:
            path.unlink(missing_ok=True)
    else:
        pixels, pages = _header(name, data)
        if pages > 1:
            image = io.read_image(data, name=name)  # a stack: its headers only
            nbytes = int(np.prod(image.shape, dtype=np.int64)) * image.dtype.itemsize
            if image.is_stack and nbytes > config.PAGE_WHOLE_MB * 2**20:
                large = io.PlaneReader("stack", image.n_planes, None, image=image)
    huge = pixels > segmentation.WORK_PIXELS
    st.session_state["_seg_large"] = (digest, large, huge)
    return large, huge


@ui_cache.data
def _guess_large(digest: str, _planes: io.PlaneReader) -> str:
    """What a large input looks like, from the same evenly spaced planes as a small one's, decoded one at a time."""
    return segmentation.guess_from_planes(_planes[i] for i in segmentation.voting_planes(len(_planes)))


@ui_cache.resource
def _heavy_lock() -> threading.RLock:
    """One huge plane worked at a time in this server, whatever the sessions (issue #31)."""
    return threading.RLock()


@contextlib.contextmanager
def _heavy_if(huge: bool):
    """The server's lock for huge planes when ``huge`` (the heap's free memory is given back to the system when
    it is let go); nothing otherwise."""
    if not huge:
        yield
        return
    with _heavy_lock():
        try:
            yield
        finally:
            deploy.trim()


def _heavy(plane: np.ndarray):
    """The lock for a plane over the segmentation work size; nothing for smaller ones."""
    return _heavy_if(plane.shape[0] * plane.shape[1] > segmentation.WORK_PIXELS)


def _probability_of(model_name: str, plane: np.ndarray, zoom: float = 1.0) -> np.ndarray:
    """One plane's probability map (uint8, 0..255; at the work size for a huge plane)."""
    predictor = segmentation.Predictor(ui_cache.model(model_name), zoom=zoom)
    return np.round(predictor.probability(plane) * 255).astype(np.uint8)


@ui_cache.data
def _plane_probability(digest: str, model_name: str, device: str, index: int, _plane: np.ndarray,
                       zoom: float = 1.0) -> np.ndarray:
    """The shown plane's probability map, cached so that moving the threshold never re-runs the network."""
    return _probability_of(model_name, _plane, zoom)


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
    # a plane over DISPLAY_PIXELS is drawn from every step-th pixel; the axes stay in the plane's pixels
    step = max(1, int(np.ceil(np.sqrt(plane.shape[0] * plane.shape[1] / DISPLAY_PIXELS))))
    picture = segmentation.overlay(plane[::step, ::step], result.labels[::step, ::step], centroids=False)
    fig = go.Figure(go.Image(z=picture, hoverinfo="x+y", dx=step, dy=step))
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


def _channel_menu(kinds: list[str]) -> int | None:
    """For an input whose channels differ (``kinds``: what each shows), the channel to segment (from 0), or None
    for their mean; by default the one that shows nuclei (green first in colour), else membranes."""
    if not kinds:
        return None
    options = [str(k) for k in range(1, len(kinds) + 1)] + ["mean"]
    fitting = segmentation.channel_for(kinds)
    default = "mean" if fitting is None else str(fitting + 1)
    colours = ("red", "green", "blue") if len(kinds) == 3 else None
    with left:
        choice = st.selectbox(
            "Channel", options, index=common.choice_index(options, common.param("seg_channel", default)),
            key="seg_channel", help="the channel that shows what you want segmented: nuclei or membranes",
            format_func=lambda o: "mean of the channels" if o == "mean" else
            f"channel {o}" + (f" ({colours[int(o) - 1]})" if colours else "") + f": {kinds[int(o) - 1]}")
        common.set_param("seg_channel", choice)
        if choice == "mean":
            st.caption(f"This input has {len(kinds)} channels that differ; their mean is segmented. Choose the "
                       "channel that shows the nuclei or the membranes.")
    return None if choice == "mean" else int(choice) - 1


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
                                  type=io.upload_types("image", "video", "microscope", "picture"))
        common.limits_caption("image", "stack", "video")
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

marked = None  # a note on white or grey marks burned into a colour upload
with common.guard("reading the file"):
    if data is None:
        planes, fps = ui_cache.segmentation_samples(*SIMULATED[name]), None
        kind, huge = ("stack" if len(planes) > 1 else "image"), False
        digest = "simulated-{}-{}".format(*SIMULATED[name])
    else:
        digest = hashlib.sha256(data).hexdigest()
        large, huge = _large_input(digest, name, data)
        with _heavy_if(huge):
            channel = _channel_menu(ui_cache.channel_kinds(digest, name, data))  # from 0; None: their mean
            marked = ui_cache.marks_note(digest, name, data)  # a time stamp or scale bar burned in
        if large is None:
            with _heavy_if(huge):  # three sessions do not decode a huge image at once
                planes, kind, fps = ui_cache.decode_planes(digest, name, data, channel=channel)
        else:  # plane by plane: never the whole stack or video in memory
            large = large.pick(channel)
            planes, kind, fps = large, large.kind, large.fps
        if channel is not None:  # the planes (and all that is cached from them) are this channel's
            digest = f"{digest}-channel{channel + 1}"
    large = planes if isinstance(planes, io.PlaneReader) else None
    with _heavy_if(huge):
        image_task = ui_cache.guess_task(digest, planes) if large is None else _guess_large(digest, large)

with left:
    model_name = _model_menu(model_rows, digest, image_task)
    threshold = st.slider("Threshold", 0.05, 0.95, common.param("seg_threshold", 0.5, float), 0.05,
                          key="seg_threshold", help="probability above which a pixel counts as nucleus / membrane")
    common.set_param("seg_threshold", threshold)
    pixel_size = st.number_input("Pixel size (µm, 0 = unknown)", 0.0, 100.0,
                                 min(100.0, max(0.0, common.param("seg_px", 0.0, float))), 0.01,
                                 key="seg_pixel_size", format="%.3f")
    common.set_param("seg_px", f"{pixel_size:g}")
    zoom = st.number_input("Zoom", 0.5, 8.0, min(8.0, max(0.5, common.param("seg_zoom", 1.0, float))), 0.5,
                           key="seg_zoom", help="The model sees the image at this many times its usual 256 px. "
                                                "For an embryo small in a wide field, about the image's width over "
                                                "the embryo's; 1 for an image the embryo fills.")
    common.set_param("seg_zoom", f"{zoom:g}")
    # a hyperstack's planes are named by time point and slice; a calibrated TIFF's pixel size is used
    positions, stated = ui_cache.tiff_facts(digest, name, data) if data is not None else (None, None)
    if not pixel_size and stated:
        pixel_size = stated
        st.caption(f"The file states {stated:g} µm per pixel; areas use it (enter another size to override).")
    cfg = segmentation.SegmentConfig(model=model_name, threshold=threshold, pixel_size=pixel_size or None,
                                     zoom=float(zoom))
common.measured_accuracy(model_name)  # full width: the figures and commands must be readable

with common.guard("running the model"):
    try:
        device = ui_cache.device_choice().name
        model_planes, model_digest = planes, digest
        recipe = data is not None and bool(registry.find_model(model_name).card.get("channels"))
        if recipe:
            # a multi-channel model (its card has a channel recipe) needs the planes' channels, not grey
            model_digest = digest + "-channels"
            if large is None:
                model_planes = ui_cache.decode_planes(digest, name, data, channels=True)[0]
        if large is None:
            with _heavy(planes[0]):
                probs = _all_probabilities(model_digest, model_name, device, model_planes, cfg.zoom)
        else:
            probs = None
    except ModelError:
        raise
    except RuntimeError as exc:  # torch errors on odd inputs become a readable message
        raise DevocoreError(f"the model could not run on this input ({exc}).") from exc

task = segmentation.task_of(ui_cache.model(model_name))
index = 0
with left:
    if len(planes) > 1:
        label = "Frame" if kind == "video" else "Plane" if positions else "Slice"
        if st.session_state.get("seg_frame", 1) > len(planes):  # the previous input had more planes
            st.session_state.pop("seg_frame")
        number = st.slider(label, 1, len(planes), min(len(planes), max(1, common.param("seg_frame", 1, int))),
                           key="seg_frame")
        common.set_param("seg_frame", number)
        index = number - 1
        if positions:
            st.caption(f"Plane {number} is time point {positions['t'][index]}, slice {positions['z'][index]} "
                       f"({positions['t'].max()} time points of {positions['z'].max()} slices). Planes are "
                       f"numbered from 1 to {len(planes)}, here and in the URL; the tables for all planes give "
                       "each one's time point and slice (t, z).")
        else:
            st.caption(f"{label}s are numbered from 1 to {len(planes)}, here and in the URL.")
        if large is not None:
            st.caption(f"This {kind} is large: each {'frame' if kind == 'video' else 'slice'} is read and segmented "
                       "when it is shown; the downloads for all planes are prepared on request.")
if large is None:
    plane = planes[index]
    with _heavy(plane):
        result = segmentation.postprocess(probs[index].astype(np.float32) / 255, plane, task, threshold,
                                          cfg.pixel_size)
else:
    with common.guard("running the model"):
        try:
            with _heavy_if(huge):  # one huge plane at a time in this server, from decoding to its result
                raw = large.plane(index, channels=recipe)
                plane = raw if not recipe or raw.ndim == 2 else io.to_gray(raw)
                prob = _plane_probability(model_digest, model_name, device, index, raw, cfg.zoom)
                del raw
                result = segmentation.postprocess(prob.astype(np.float32) / 255, plane, task, threshold,
                                                  cfg.pixel_size)
                del prob
        except RuntimeError as exc:
            raise DevocoreError(f"the model could not run on this input ({exc}).") from exc

with right:
    what = "nuclei" if task == "nucleus" else "cells"
    place = "frame" if kind == "video" else "plane" if positions else "slice"
    warning = (segmentation.unfit(plane, f"This {'image' if len(planes) == 1 else place}")
               or segmentation.implausible(result, image_task))
    if warning is None and task != image_task:
        warning = (f"This input looks like {KINDS[image_task]}, but {model_name} segments {KINDS[task]}: "
                   f"the result may mean little; a {image_task} model fits this input.")
    if warning is None:  # an embryo small in a wide field (none once zoomed)
        warning = segmentation.field_note(plane, task, f"This {'image' if len(planes) == 1 else place}", cfg.zoom)
    if warning:
        st.warning(warning)
    if marked:
        st.info(marked, icon=":material/info:")
    where = (f" in time point {positions['t'][index]}, slice {positions['z'][index]}" if positions
             else f" in {place} {index + 1} of {len(planes)}" if len(planes) > 1 else "")
    st.subheader(f"{result.count} {what}{where}")
    with _heavy(plane):
        st.plotly_chart(_figure(plane, result), key="seg_plot")
    _table_view(result.table, cfg.pixel_size)
    stem = Path(name).stem.replace(" ", "_")
    cols = st.columns(4)
    labels = result.labels
    if labels.size > segmentation.WORK_PIXELS:  # a huge plane's files are made when they are asked for
        tif_data = lambda labels=labels: _tiff_bytes(labels)  # noqa: E731
        png_data = lambda labels=labels: _png_bytes((labels > 0).astype(np.uint8) * 255)  # noqa: E731
    else:
        tif_data, png_data = _tiff_bytes(labels), _png_bytes((result.mask * 255).astype(np.uint8))
    cols[0].download_button("Labels (16-bit TIFF)", tif_data, f"{stem}_labels.tif", "image/tiff", key="seg_dl_tif")
    cols[1].download_button("Mask (PNG)", png_data, f"{stem}_mask.png", "image/png", key="seg_dl_png")
    cols[2].download_button("Table (CSV)", result.table.to_csv(index=False), f"{stem}_table.csv", "text/csv",
                            key="seg_dl_csv")
    cols[3].download_button("Centroids (CSV)", result.table[["id", "centroid_x", "centroid_y"]].to_csv(index=False),
                            f"{stem}_centroids.csv", "text/csv", key="seg_dl_centroids")
    if len(planes) > 1 and st.button(f"Prepare downloads for all {len(planes)} planes", key="seg_all"):
        out = common.session_dir() / f"all-planes-{digest[:12]}"  # never the upload's name
        if large is None:
            results = ((i, planes[i], segmentation.postprocess(probs[i].astype(np.float32) / 255, planes[i], task,
                                                                threshold, cfg.pixel_size))
                       for i in range(len(planes)))
        else:
            del plane, result, labels  # the shown plane is not held while every plane is streamed

            def results():
                """Each plane decoded, segmented and written in turn (a huge one holding the server's lock)."""
                for i, raw in enumerate(large.each(channels=recipe)):
                    grey = raw if not recipe or raw.ndim == 2 else io.to_gray(raw)
                    with _heavy_if(huge):
                        prob = _probability_of(model_name, raw, cfg.zoom)
                        del raw
                        found = segmentation.postprocess(prob.astype(np.float32) / 255, grey, task, threshold,
                                                         cfg.pixel_size)
                        del prob
                    yield i, grey, found
                    del grey, found

            results = results()
        with st.spinner("Writing the results..."), common.guard("writing the results"):
            summary = segmentation.write_stream(results, out, fps=fps, video=kind == "video", positions=positions)
        st.success(f"{summary['instances']} instances over {summary['planes']} planes.")
        too_large = []
        for k, file in enumerate(summary["files"]):
            size = (out / file).stat().st_size
            if size > config.PAGE_DOWNLOAD_MB * 2**20:  # a download is held whole in the server's memory
                too_large.append(f"{file} ({size / 2**30:.1f} GB)" if size >= 2**30
                                 else f"{file} ({size / 2**20:.0f} MB)")
                continue
            # a large input's files are read when they are asked for, not held by every rerun
            content = (lambda path=out / file: path.read_bytes()) if large is not None else (out / file).read_bytes()
            st.download_button(f"Download {file}", content, f"{stem}_{file}", key=f"seg_dl_all_{k}")
        if too_large:
            zoom_option = f" --zoom {cfg.zoom:g}" if cfg.zoom != 1 else ""
            st.warning(f"Too large to download through the browser (over {config.PAGE_DOWNLOAD_MB} MB): "
                       f"{', '.join(too_large)}. On your own computer, `python -m devocore segment "
                       f"{model_name} {name} --out results/{zoom_option}` writes every file to disk.")
