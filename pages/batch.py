"""Batch: process a whole folder of images and videos on Dask."""
from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from devocore import batch, config, io as dio, ui_cache
from devocore.errors import UnsafePathError
from pages.common import (guard, limits_caption, param, progress_bar, route_through_app, session_dir, set_param,
                          stage_upload, zip_folder)

route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

TASKS = {
    "nucleus": "Nucleus segmentation (masks, labels, per-nucleus table)",
    "membrane": "Membrane segmentation (cells, per-cell table)",
    "lineage": "Lineage populations per frame",
    "track": "Worm tracking (skeletons, head-tail distance, curvature, speed)",
    "inventory": "Inventory only (sizes, frames, intensity range): a quick check before a long run",
}

st.title("Batch processing")
st.write("Run one analysis over every image and video in a folder, in parallel on a local Dask cluster. "
         "Outputs per file are the same as the single-file views; a summary table lists every file, and "
         "files that fail are reported without stopping the rest. For hundreds of files or a cluster, use "
         "the command line: `python -m devocore batch FOLDER --task nucleus --out RESULTS`.")
limits_caption("image", "stack", "video")
if config.is_cloud():
    st.caption("On this public demo the files are processed one after another inside the server (no Dask "
               "workers), and one visitor's batch runs at a time.")

SOURCES = ["The bundled examples", "Upload a ZIP of files", "A folder on this server"]
source = st.radio("Input", SOURCES, horizontal=True, key="batch_source",
                  index=SOURCES.index(param("batch_source", SOURCES[0])) if param("batch_source", SOURCES[0])
                  in SOURCES else 0)
set_param("batch_source", source)
input_dir: Path | None = None
if source == SOURCES[0]:
    input_dir = config.EXAMPLES_DIR
    if not input_dir.is_dir():
        st.info("No bundled examples are installed; upload a ZIP instead.")
        input_dir = None
elif source == SOURCES[1]:
    upload = st.file_uploader("ZIP with images (PNG, JPEG, TIFF) and videos (MP4, MOV, AVI)", type=dio.upload_types("zip"),
                              key="batch_zip")
    if upload is not None:
        with guard("reading the ZIP"):
            input_dir = stage_upload(upload, kind="zip")
else:
    root = config.data_root()
    typed = st.text_input(f"Folder (under {root})", value=param("batch_dir", ""), key="batch_dir")
    if typed:
        with guard("choosing the folder"):
            folder = config.server_folder(typed, root)
            if not folder.is_dir():
                raise UnsafePathError(f"'{typed}' is not a folder on this server.")
        set_param("batch_dir", typed)
        input_dir = folder

names = list(TASKS)
task = st.selectbox("Task", names, format_func=lambda n: TASKS[n], key="batch_task",
                    index=names.index(param("batch_task", "inventory")) if param("batch_task", "inventory")
                    in names else 0)
set_param("batch_task", task)
options = {}
if "zoom" in batch.get_task(task).options:  # nucleus, membrane
    options["zoom"] = st.number_input(
        "Zoom", 0.5, 8.0, min(8.0, max(0.5, param("batch_zoom", 1.0, float))), 0.5, key="batch_zoom",
        help="The model sees each image at this many times its usual 256 px. For embryos small in a wide field "
             "(the check column names such files and the zoom), about the image's width over the embryo's; 1 for "
             "images the embryo fills.")
    set_param("batch_zoom", f"{options['zoom']:g}")
# the container's cores, at most 8; the cloud profile runs the files one after another (devocore.batch.run_batch)
most = 1 if config.is_cloud() else config.max_workers()
workers = 1
if most > 1:
    workers = st.slider("Worker processes", 1, most, min(most, max(1, param("batch_workers", 1, int))),
                        key="batch_workers")
    set_param("batch_workers", workers)

if input_dir is not None:
    unfit: dict = {}
    with guard("looking at the folder"):
        files = batch.discover(input_dir, batch.get_task(task), unfit=unfit)
    st.write(f"{len(files)} file(s) to process" + (f"; {len(unfit)} of another kind will be skipped "
                                                     f"(the {task} task takes {batch.get_task(task).takes})."
                                                     if unfit else "."))
    if st.button("Start", type="primary", key="batch_start", disabled=not files):
        out_dir = session_dir() / "batch_output" / task
        report = progress_bar("Starting..." if config.is_cloud() else "Starting the Dask cluster...")
        with guard("running the batch"), ui_cache.job():
            result = batch.run_batch(input_dir, task, out_dir, workers=workers, progress=report, options=options,
                                     models=ui_cache.model)  # in-process runs share the page's models
        seconds = result.summary.loc[result.summary["status"] == "ok", "seconds"]
        report.done(f"Finished: {len(result.summary)} file(s), {len(seconds)} processed"
                    + (f" in {batch.format_seconds(seconds.sum())} of worker time." if len(seconds) else "."))
        st.session_state["batch_result"] = (str(out_dir), result.summary)

STATUS_COLOURS = {"failed": "background-color: #fde2e1", "skipped": "background-color: #f1f1f1"}


def _preview(out_dir: Path, summary, n: int = 3) -> None:
    """The first ``n`` processed files: their overlay pictures, else the first rows of their tables."""
    import json

    import pandas as pd

    done = summary[summary["status"] == "ok"].head(n)
    if done.empty:
        return
    st.subheader(f"Preview of the first {len(done)} result(s)")
    for column, (_, row) in zip(st.columns(len(done)), done.iterrows()):
        folder = Path(out_dir) / row["file"]
        with column:
            st.markdown(f"**{row['file']}**")
            pictures = sorted(folder.glob("overlay*.png"))
            tables = [folder / name for name in ("table.csv", "populations.csv", "track.csv")
                      if (folder / name).is_file()]
            if pictures:
                st.image(str(pictures[0]), caption=f"{pictures[0].name}: outlines on the image", width="stretch")
            if tables:
                st.dataframe(pd.read_csv(tables[0]).head(5), hide_index=True)
                st.caption(f"First rows of {tables[0].name}")
            elif (folder / "inventory.json").is_file():
                st.dataframe(inventory_rows(json.loads((folder / "inventory.json").read_text())), hide_index=True)


def inventory_rows(info: dict) -> list[dict]:
    """An inventory (``inventory.json``) as rows a person reads: size in px, frames, pixel type, intensities.

    Example:
        >>> inventory_rows({"frames": 3, "height": 48, "width": 64, "axes": "TYX", "dtype": "uint16",
        ...                 "min": 0.0, "max": 4095.0, "mean": 812.3456})[:2]
        [{'': 'size', 'value': '64 x 48 px'}, {'': 'frames / planes', 'value': '3'}]
    """
    return [{"": "size", "value": f"{info['width']} x {info['height']} px"},
            {"": "frames / planes", "value": f"{info['frames']:,}"},
            {"": "pixel type", "value": f"{info['dtype']} ({info['axes']})"},
            {"": "intensity range", "value": f"{info['min']:g} to {info['max']:g}"},
            {"": "mean intensity", "value": f"{info['mean']:.4g}"}]


def summary_view(summary):
    """The summary as shown: the task's own figures right after the status, the reason and error columns only
    when a file was skipped or failed, and the time last."""
    first = ["file", "task", "status"]
    tail = [c for c in ("reason", "error") if c in summary and summary[c].astype(str).str.len().any()]
    figures = [c for c in summary.columns if c not in first + ["reason", "error", "seconds", "note"]]
    notes = ["note"] if len(batch.noted(summary)) else []
    return summary[first + figures + notes + ["seconds"] + tail]


if "batch_result" in st.session_state:
    out_dir, summary = st.session_state["batch_result"]
    failed = int((summary["status"] == "failed").sum())
    skipped = summary[summary["status"] == "skipped"]
    already = int((skipped["reason"] == batch.ALREADY_DONE).sum()) if "reason" in skipped else len(skipped)
    (st.warning if failed or len(skipped) > already else st.success)(
        f"{len(summary)} files: {int((summary['status'] == 'ok').sum())} ok, {failed} failed, "
        f"{len(skipped)} skipped ({already} already done, {len(skipped) - already} not fitting the task).")
    notes = batch.noted(summary)
    if len(notes):
        st.warning(f"{len(notes)} file(s) need a look, so their results may be wrong: "
                   + "; ".join(f"{f}: {str(n).rstrip('.')}" for f, n in zip(notes["file"], notes["note"])) + ".",
                   icon=":material/warning:")
    shown = summary_view(summary).copy()
    shown["seconds"] = [batch.format_seconds(x) if status != "skipped" or x else ""
                        for x, status in zip(shown["seconds"], shown["status"])]
    st.dataframe(shown.style.apply(lambda row: [STATUS_COLOURS.get(row["status"], "") for _ in row], axis=1),
                 width="stretch", hide_index=True, key="batch_summary",
                 column_config={"seconds": st.column_config.TextColumn("time", help="time spent on the file"),
                                "height": st.column_config.NumberColumn("height (px)"),
                                "width": st.column_config.NumberColumn("width (px)"),
                                "note": st.column_config.TextColumn("check", width="large"),
                                "reason": st.column_config.TextColumn("reason skipped", width="large"),
                                "error": st.column_config.TextColumn("error", width="large")})
    st.caption("Skipped files were not processed: the reason column says why (a video for an image task, a "
               "mask or label image, an image with one value, a bright-field video for a fluorescence task, "
               "or outputs already complete from an earlier run). Frames are counted from 1.")
    _preview(Path(out_dir), summary)
    # made on the click: the outputs of a video are hundreds of MB (a ZIP of tens), too much to redo and hold
    # on every rerun of the page
    st.download_button("Download all outputs (ZIP)", functools.partial(zip_folder, out_dir),
                       file_name="devoscope-batch.zip", mime="application/zip", key="batch_download")
    st.download_button("Download summary (CSV)", summary.to_csv(index=False).encode(), file_name="summary.csv",
                       mime="text/csv", key="batch_summary_csv")
