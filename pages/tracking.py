"""Worm tracking: skeletons, head and tail, and behaviour over time from a video or a folder of frames."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from devocore.tracking import TrackConfig, track
from devocore.tracking.tracker import THIN_WORM, WIDE_WORM
from devocore import io, style, ui_cache
from devocore.tracking.draw import draw_frame, read_frame, write_overlay
from devocore.tracking.evaluate import midline_columns
from devocore.tracking.inputs import example_video
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

SOURCES = ["Example (simulated worms)", "Upload a video", "Upload a ZIP of frames"]
#: How the table's numbers are shown: (label, printf format) per column; units in the label.
FORMATS = {"frame": ("frame", "%d"), "time_s": ("time (s)", "%.2f"), "worm": ("worm", "%d"),
           "head_x": ("head x (px)", "%.1f"), "head_y": ("head y (px)", "%.1f"), "tail_x": ("tail x (px)", "%.1f"),
           "tail_y": ("tail y (px)", "%.1f"), "centroid_x": ("centroid x (px)", "%.1f"),
           "centroid_y": ("centroid y (px)", "%.1f"), "length_px": ("length (px)", "%.1f"),
           "head_tail_px": ("head-tail (px)", "%.1f"), "curvature_deg": ("curvature (°)", "%.1f"),
           "speed_px_s": ("speed (px/s)", "%.1f"), "head_confidence": ("head confidence (0-1)", "%.2f"),
           "length_mm": ("length (mm)", "%.3f"), "head_tail_mm": ("head-tail (mm)", "%.3f"),
           "speed_mm_s": ("speed (mm/s)", "%.3f")}
#: What the table shows in a cell without a value (a coiled or touching worm's midline measures).
MISSING = "–"
SUMMARY_COLUMNS = ["frame", "time_s", "worm", "status", "note", "head_x", "head_y", "tail_x", "tail_y", "centroid_x",
                   "centroid_y", "length_px", "head_tail_px", "curvature_deg", "speed_px_s", "direction",
                   "head_confidence", "length_mm", "head_tail_mm", "speed_mm_s"]


def frame_offset(result) -> int:
    """What to add to the engine's frame numbers to show them: 1 for position numbering (from 0), else 0.

    Frames numbered by their file names keep those numbers; frames numbered by position are shown from 1.
    """
    return 1 if result.numbering == "position" else 0


def shown_table(result) -> pd.DataFrame:
    """The result table as the user sees it (page and CSV): frames numbered from 1 when by position."""
    return result.table.assign(frame=result.table["frame"] + frame_offset(result))


@dataclass(frozen=True)
class PageInput:
    """What to track: a path on disk and a stable key for caching the result."""

    path: str
    key: str
    label: str


def choose_input() -> PageInput | None:
    source = st.radio("Input", SOURCES, index=common.choice_index(SOURCES, common.param("trk_source", SOURCES[0])),
                      horizontal=True, key="trk_source")
    common.set_param("trk_source", source)
    if source == SOURCES[0]:
        with common.guard("preparing the example"):
            path = example_video()
        st.caption(f"Example: `{path.name}`, worms crawling on a plate, made by the Devoscope worm simulator.")
        return PageInput(str(path), f"example:{path}", path.name)
    if source == SOURCES[1]:
        upload = st.file_uploader("Video (MP4, AVI, MOV) or TIFF stack of frames",
                                  type=io.upload_types("video", "microscope", "picture") + ["tif", "tiff"],
                                  key="trk_video")
        if upload is None:
            return None
        with common.guard("reading the file"):
            path = common.stage_upload(upload)
        return PageInput(str(path), path.stem, upload.name)
    upload = st.file_uploader("ZIP of frames (PNG, JPEG or TIFF; read in natural name order)", type=io.upload_types("zip"),
                              key="trk_zip")
    if upload is None:
        return None
    with common.guard("reading the ZIP"):
        folder = common.stage_upload(upload, kind="frames")
    return PageInput(str(folder), folder.name, upload.name)


def choose_config() -> TrackConfig:
    with st.expander("Settings", expanded=False):
        c1, c2, c3 = st.columns(3)
        scale = c1.number_input("Pixels per mm (0 = pixels only)", min_value=0.0, step=10.0,
                                value=common.param("trk_px_per_mm", 0.0, float), key="trk_px_per_mm")
        fps = c2.number_input("Frames per second (0 = from the file)", min_value=0.0, step=1.0,
                              value=common.param("trk_fps", 0.0, float), key="trk_fps")
        crops = c3.selectbox("Frames are crops around one worm", ["auto", "yes", "no"],
                             index=common.choice_index(["auto", "yes", "no"], common.param("trk_crops", "auto")),
                             key="trk_crops", help="auto: yes when the frames' sizes differ")
    common.set_param("trk_px_per_mm", scale)
    common.set_param("trk_fps", fps)
    common.set_param("trk_crops", crops)
    return TrackConfig(px_per_mm=scale or None, fps=fps or None, crops={"auto": None, "yes": True, "no": False}[crops])


def run_key(page_input: PageInput, config: TrackConfig) -> tuple:
    """What a result (and the overlay drawn from it) belongs to: the input and the settings."""
    return ("trk_result", page_input.key, config)


def run_tracking(page_input: PageInput, config: TrackConfig):
    """Track once per input and settings; keep the result for this session."""
    key = run_key(page_input, config)
    results = st.session_state.setdefault("_trk_results", {})
    if key not in results:
        slot = st.empty()  # the progress bar goes once tracking is done
        with common.guard("tracking"), slot.container(), ui_cache.job():
            report = common.progress_bar("Tracking worms...")
            results.clear()  # keep one result: tables can be large
            results[key] = track(page_input.path, config, progress=report)
        slot.empty()
    return results[key]


def numbering_caption(result) -> str:
    """How frames are numbered and how their numbers give times, as the page, the table and the CSV show them."""
    numbers = result.frame_numbers + frame_offset(result)
    first, last = int(numbers[0]), int(numbers[-1])
    if result.numbering == "file names":
        # time = file number / fps (frame 0 at 0 s), as in the CSV's time column: a frame named 00700 was taken
        # 700 frames after the recording began, and gaps in the numbering stay gaps in time
        return (f"Frames are numbered by their file names ({first}-{last}). Time counts from a frame 0: time = "
                f"frame number / {result.fps:g} fps, so the first frame, {first}, is at {first / result.fps:.2f} s, "
                "here and in the CSV. Gaps in the numbering stay gaps in the table and in time.")
    return (f"Frames are numbered from 1 ({first}-{last}; frame 1 = the first frame, at 0.00 s), here, in the table "
            "and in the CSV; worms from 1.")


def frame_view(page_input: PageInput, result, key: tuple) -> None:
    """The chosen frame with the tracking drawn on, and the overlay video of the input and settings ``key``."""
    table = result.table
    st.subheader("Frames with skeletons, heads and ids")
    offset = frame_offset(result)
    numbers = result.frame_numbers + offset  # as shown
    first, last = int(numbers[0]), int(numbers[-1])
    st.caption(numbering_caption(result))
    wanted = min(max(common.param("trk_frame", first, int), first), max(first, last))
    chosen = st.slider("Frame", first, max(first, last), value=wanted, key="trk_frame")
    common.set_param("trk_frame", chosen)
    # a number in a gap of the numbering shows the nearest frame that exists
    number = int(numbers[int(abs(numbers - chosen).argmin())])
    with common.guard("reading the frame"):
        frame = read_frame(page_input.path, number - offset)
    scale = 1 if max(frame.shape[:2]) >= 240 else 3
    gap = f" (there is no frame {chosen}: nearest shown)" if number != chosen else ""
    rows = table[table["frame"] == number - offset]
    seconds = float(rows["time_s"].iloc[0]) if len(rows) else (number - offset) / result.fps
    st.image(draw_frame(frame, rows, scale, result.levels),
             caption=f"Frame {number} ({seconds:.2f} s){gap}. Dot = head; coiled or touching worms "
                     "show their status instead of a skeleton.")
    # the overlay belongs to the input and settings it was drawn from: another input or other settings hide it
    owner = repr(key)
    if st.button("Render the overlay video", key="trk_render"):
        out = common.session_dir() / f"overlay-{hashlib.sha1(owner.encode()).hexdigest()[:12]}.mp4"
        slot = st.empty()
        with common.guard("rendering the overlay"), slot.container():
            write_overlay(page_input.path, table, out, fps=result.fps, progress=common.progress_bar("Rendering..."),
                          levels=result.levels)
        slot.empty()
        st.session_state["trk_overlay"] = {"owner": owner, "path": str(out)}
    overlay = st.session_state.get("trk_overlay")
    if isinstance(overlay, dict) and overlay.get("owner") == owner and Path(overlay["path"]).exists():
        st.download_button("Download the overlay video (MP4)", Path(overlay["path"]).read_bytes(),
                           file_name="overlay.mp4", mime="video/mp4", key="trk_overlay_dl")


def charts(result) -> None:
    table = result.table
    worms = sorted(table["worm"].unique().tolist())
    wanted = [int(w) for w in common.param("trk_worms", "").split(",") if w.strip().isdigit() and int(w) in worms]
    chosen = st.multiselect("Worms (numbered from 1)", worms, default=wanted or worms[:5], key="trk_worms")
    common.set_param("trk_worms", ",".join(str(w) for w in chosen))
    data = table[table["worm"].isin(chosen)].assign(worm=lambda d: d["worm"].astype(str))
    colours = {str(w): style.label_plotly(w) for w in worms}
    unit = "mm" if result.table.columns.str.endswith("_mm").any() else "px"
    measures = [(f"head_tail_{unit}", "Head-tail distance", f"head-tail distance ({unit})"),
                ("curvature_deg", "Curvature (mean bend)", "curvature (degrees)"),
                (f"speed_{unit}_s", "Speed", f"speed ({unit}/s)")]
    tabs = st.tabs([m[1] for m in measures] + ["Trajectories"])
    for tab, (column, title, axis) in zip(tabs, measures):
        with tab:
            fig = px.line(data, x="time_s", y=column, color="worm", color_discrete_map=colours,
                          labels={"time_s": "time (s)", column: axis}, title=title)
            st.plotly_chart(fig, key=f"trk_chart_{column}")
    with tabs[-1]:
        height, width = result.shape
        fig = px.line(data.dropna(subset=["centroid_x"]), x="centroid_x", y="centroid_y", color="worm",
                      color_discrete_map=colours, title="Centroid paths on the plate (pixels)",
                      labels={"centroid_x": "x (px)", "centroid_y": "y (px, down)"})
        fig.update_yaxes(range=[height, 0], scaleanchor="x")
        fig.update_xaxes(range=[0, width])
        if result.crops:
            st.info("The frames are crops that move with the worm, so there is no path on the plate.")
        st.plotly_chart(fig, key="trk_paths")


def main() -> None:
    st.title("Worm tracking")
    st.write("Find each worm in a video, its midline and which end is the head, and follow head-tail distance, "
             "curvature and speed over time. Coiled worms and worms touching each other are flagged, not measured.")
    page_input = choose_input()
    config = choose_config()
    common.limits_caption("video", "image")
    if page_input is None:
        st.info("Upload a file or pick the example.")
        return
    result = run_tracking(page_input, config)
    if result.fps_assumed:
        st.warning(f"No frame rate in these files: {result.fps:g} fps assumed; set it in Settings (Frames per "
                   "second). Times and speeds follow it.")
    table = result.table
    if table.empty:
        blank = result.blank_note(frame_offset(result))
        st.warning("No worm was found in these frames." + (f" {blank}" if blank else ""))
        return
    if warning := result.unfit:  # computed from the table
        st.warning(common.as_uploaded(warning))
    if note := result.still:  # tracks that stay in place: a time stamp's digits, debris, a paralysed worm
        st.info(note)
    if note := result.blank_note(frame_offset(result)):  # frames skipped: the camera's dark first frames, a flash
        st.info(note)
    counts = table["status"].value_counts()
    cols = st.columns(5)
    cols[0].metric("Frames", result.n_frames)
    cols[1].metric("Frame rate" + (" (assumed)" if result.fps_assumed else ""), f"{result.fps:g} fps",
                   help="Frames per second of the recording, from the settings or the file; times and speeds "
                        "follow it.")
    cols[2].metric("Worms", table["worm"].nunique())
    cols[3].metric("Rows with a midline", f"{int(table[midline_columns(table)[0][0]].notna().sum()):,}")
    cols[4].metric("Coiled / touching rows", f"{int(counts.get('coiled', 0))} / {int(counts.get('touching', 0))}")
    why = (f"frames over 5 megapixels, or worms wider than {WIDE_WORM} px, are tracked smaller" if result.scale < 1
           else f"worms thinner than {THIN_WORM:g} px are tracked enlarged")
    resized = (f" Tracked at {result.scale:.0%} of their size ({why}); positions, lengths and speeds are in the "
               "original pixels." if result.scale != 1 else "")
    st.caption(f"Processing speed: {result.frames_per_second:.0f} frames/s (how fast this computer tracked them)."
               + resized)
    frame_view(page_input, result, run_key(page_input, config))
    st.subheader("Behaviour over time")
    charts(result)
    st.subheader("Table")
    shown = shown_table(result)
    columns = [c for c in SUMMARY_COLUMNS if c in shown]
    empty = [c for c in columns if shown[c].isna().all() or (shown[c].astype(str).str.strip() == "").all()]
    columns = [c for c in columns if c not in empty]
    config = {c: st.column_config.NumberColumn(label, format=fmt) for c, (label, fmt) in FORMATS.items()
              if c in columns}
    st.dataframe(shown[columns], hide_index=True, key="trk_table", column_config=config, placeholder=MISSING)
    hidden = f" Columns with no value here are hidden: {', '.join(empty)}." if empty else ""
    scale = "" if unit_given(shown) else " Give pixels per mm in Settings to get lengths and speeds in mm too."
    frames = "frames numbered by their file names" if result.numbering == "file names" else "frames numbered from 1"
    missing = (f" {MISSING} = no value: coiled and touching worms have no midline, so no head, tail, length, "
               "head-tail distance or curvature (a touching worm's centroid is predicted from its motion)."
               if shown[columns].isna().to_numpy().any() else "")
    st.caption(f"Positions and lengths in pixels (0.1 px), speeds per second, curvature in degrees; {frames}, "
               f"worms from 1.{missing}{scale}{hidden}")
    st.download_button("Download the full table (CSV, with midlines and curvature profiles)",
                       shown.to_csv(index=False, float_format="%.3f").encode(), file_name="track.csv",
                       mime="text/csv", key="trk_csv")


def unit_given(table: pd.DataFrame) -> bool:
    return bool(table.columns.str.endswith("_mm").any())

main()
