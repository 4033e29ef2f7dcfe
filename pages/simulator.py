"""Simulator: generate a synthetic embryo or crawling worms with exact ground truth, look, download."""
from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from devocore import style, ui_cache
from devocore.simulate import embryo
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

REPORTERS = ["E", "MS", "C", "D", "ABa", "ABp", "none"]


@dataclass(frozen=True)
class EmbryoConfig:
    """What the user asked for (hashable: it keys the cache)."""

    seed: int = 0
    n_frames: int = 200
    max_cells: int = 400
    size: int = 256
    reporter: str = "E"


def _history(cfg: EmbryoConfig) -> embryo.EmbryoHistory:
    return ui_cache.embryo_history(cfg.seed, cfg.n_frames, cfg.max_cells,
                                   None if cfg.reporter == "none" else cfg.reporter)


def _png(image: np.ndarray) -> bytes:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", image)
    return buf.tobytes()


def _color_labels(labels: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    lut = np.vstack([[0, 0, 0], rng.integers(70, 256, (int(labels.max()) + 1, 3))]).astype(np.uint8)
    return lut[np.where(labels > 0, labels.astype(np.int64) + 1, 0)]


def _to8(image: np.ndarray) -> np.ndarray:
    return image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)


def _embryo_config() -> EmbryoConfig:
    c1, c2, c3, c4, c5 = st.columns(5)
    seed = c1.number_input("Seed", 0, 1_000_000, common.param("sim_seed", 0, int), key="sim_seed")
    n_frames = c2.slider("Frames (75 s apart)", 10, 300, common.param("sim_frames", 200, int), 10,
                         key="sim_frames", help="200 frames reach about 330 cells, 240 about 380")
    max_cells = c3.slider("Most cells", 4, 450, common.param("sim_cells", 400, int), key="sim_cells")
    sizes = [128, 256, 384, 512]
    size = c4.selectbox("Image size (px)", sizes, common.choice_index(sizes, common.param("sim_size", 256, int), 1),
                        key="sim_size")
    reporter = c5.selectbox("Red reporter in", REPORTERS,
                            common.choice_index(REPORTERS, common.param("sim_reporter", "E")), key="sim_reporter",
                            help="descendants of this cell express a red reporter")
    for key, value in (("sim_seed", seed), ("sim_frames", n_frames), ("sim_cells", max_cells),
                       ("sim_size", size), ("sim_reporter", reporter)):
        common.set_param(key, value)
    return EmbryoConfig(int(seed), int(n_frames), int(max_cells), int(size), str(reporter))


def _populations_plot(pops: pd.DataFrame, frame: int) -> go.Figure:
    long = pops.melt(id_vars="frame", var_name="lineage", value_name="cells")
    fig = px.line(long, x="frame", y="cells", color="lineage", color_discrete_map=style.LINEAGE_COLOURS,
                  title="Cells per lineage")
    fig.add_vline(x=frame + 1, line_dash="dot")
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _positions_plot(history: embryo.EmbryoHistory, t: int) -> go.Figure:
    fs = history.frame(t)
    names = history.names(t)
    groups = history.cells["group"].to_numpy()[fs.ids]
    fig = go.Figure()
    for g in sorted(set(groups)):
        m = groups == g
        fig.add_trace(go.Scatter3d(x=fs.xyz[m, 0], y=fs.xyz[m, 1], z=fs.xyz[m, 2], mode="markers", name=g,
                                   text=[n for n, k in zip(names, m) if k],
                                   marker=dict(size=np.clip(fs.diameter[m] * 1.5, 2, 12), color=style.LINEAGE_COLOURS[g])))
    a, b, c = history.shell
    fig.update_layout(title=f"Nuclei in 3D (um), frame {t + 1}", height=330, margin=dict(l=0, r=0, t=40, b=0),
                      scene=dict(xaxis=dict(range=[-a, a]), yaxis=dict(range=[-b, b]), zaxis=dict(range=[-c, c]),
                                 aspectmode="data"))
    return fig


def _zip_of(cfg: EmbryoConfig, history: embryo.EmbryoHistory) -> bytes:
    with tempfile.TemporaryDirectory(prefix="devoscope-embryo-") as tmp:
        bar = common.progress_bar("Writing the files...")
        embryo.write_embryo(tmp, size=cfg.size, seed=cfg.seed, slices=8, history=history, progress=bar)
        bar.done()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(tmp).as_posix())
        return buf.getvalue()


def embryo_view() -> None:
    st.subheader("Embryo")
    st.caption("The real C. elegans lineage (Sulston names; cell cycles calibrated on EPIC tables), nuclei "
               "pushed apart inside a 50 x 30 x 30 um eggshell. Every picture comes with its exact truth.")
    cfg = _embryo_config()
    with common.guard("simulating the embryo"), st.spinner("Growing the embryo..."):
        history = _history(cfg)
    pops = history.populations()
    t = st.slider("Frame", 1, history.n_frames, min(common.param("sim_t", history.n_frames, int), history.n_frames),
                  key="sim_t") - 1
    common.set_param("sim_t", t + 1)
    st.caption(f"Frames are numbered from 1 to {history.n_frames}, here, in the charts, the file names and the URL.")
    frame = embryo.render_timelapse_frame(history, t, size=cfg.size)
    left, right = st.columns([1, 1])
    left.image(frame, caption=f"Time-lapse frame {t + 1}: {len(history.frame(t).ids)} nuclei "
                              f"({t * history.frame_interval_s / 60:.0f} min)", width="stretch")
    left.download_button("Frame (PNG)", _png(frame), f"embryo_s{cfg.seed}_frame{t + 1:03d}.png", "image/png",
                         key="sim_dl_frame")
    with right:
        tab_pop, tab_3d = st.tabs(["Populations", "3D positions"])
        tab_pop.plotly_chart(_populations_plot(pops, t), key="sim_pop_chart")
        tab_3d.plotly_chart(_positions_plot(history, t), key="sim_3d_chart")

    a, b = history.shell[2], 0.0
    z = st.slider("Slice height (µm from the middle)", -float(round(a)), float(round(a)),
                  min(float(round(a)), max(-float(round(a)), common.param("sim_z", b, float))), 0.5, key="sim_z")
    common.set_param("sim_z", f"{z:g}")
    nuc, nuc_labels = embryo.nucleus_slice(cfg.seed, size=cfg.size, history=history, t=t, z_um=z,
                                           appearance=embryo.DEFAULTS["nuclei"])
    mem, mem_labels = embryo.membrane_image(cfg.seed, size=cfg.size, history=history, t=t, z_um=z,
                                            appearance=embryo.DEFAULTS["membrane"])
    cols = st.columns(4)
    cols[0].image(_to8(nuc), caption="Nuclei slice", width="stretch")
    cols[1].image(_color_labels(nuc_labels), caption=f"Nucleus masks ({int(nuc_labels.max())})", width="stretch")
    cols[2].image(_to8(mem), caption="Membrane slice", width="stretch")
    cols[3].image(_color_labels(mem_labels), caption=f"Cell masks ({int(mem_labels.max())})", width="stretch")
    cols[0].download_button("Nuclei (PNG)", _png(nuc), "nuclei.png", "image/png", key="sim_dl_nuc")
    cols[1].download_button("Nucleus masks (16-bit PNG)", _png(nuc_labels), "nuclei_mask.png", "image/png",
                            key="sim_dl_nuc_mask")
    cols[2].download_button("Membrane (PNG)", _png(mem), "membrane.png", "image/png", key="sim_dl_mem")
    cols[3].download_button("Cell masks (16-bit PNG)", _png(mem_labels), "membrane_mask.png", "image/png",
                            key="sim_dl_mem_mask")

    d1, d2, d3 = st.columns(3)
    d1.download_button("Cell table (EPIC CSV)", history.cells_table().to_csv(index=False).encode(),
                       f"embryo_s{cfg.seed}_cells.csv", "text/csv", key="sim_dl_cells")
    d2.download_button("Populations (CSV)", pops.to_csv(index=False).encode(), f"embryo_s{cfg.seed}_populations.csv",
                       "text/csv", key="sim_dl_pops")
    if d3.button("Prepare everything as a ZIP", key="sim_zip_go",
                 help="time-lapse video, tables and 8 nucleus/membrane image-mask pairs"):
        st.session_state["sim_zip"] = (cfg, _zip_of(cfg, history))
    ready = st.session_state.get("sim_zip")
    if ready and ready[0] == cfg:
        d3.download_button("Download the ZIP", ready[1], f"embryo_s{cfg.seed}.zip", "application/zip",
                           key="sim_dl_zip")


# ---------------------------------------------------------------- worms (devocore.simulate.worm)


@dataclass(frozen=True)
class WormConfig:
    seed: int = 0
    n_worms: int = 2
    n_frames: int = 75
    height: int = 240
    width: int = 320


def _worm_video(cfg: WormConfig):
    return ui_cache.worm_video(cfg.seed, cfg.n_frames, cfg.n_worms, (cfg.height, cfg.width))


def worm_view() -> None:
    from devocore.simulate import worm

    st.subheader("Crawling worms")
    st.caption("Worms with a tapered body and a travelling wave: forward runs, reversals, turns, pauses; "
               "truth per frame and worm: head, tail, centroid, midline, length, in view.")
    c1, c2, c3 = st.columns(3)
    seed = c1.number_input("Seed", 0, 1_000_000, common.param("simw_seed", 0, int), key="simw_seed")
    n_worms = c2.slider("Worms", 1, 6, common.param("simw_worms", 2, int), key="simw_worms")
    n_frames = c3.slider("Frames (25 fps)", 10, 300, common.param("simw_frames", 75, int), 5, key="simw_frames")
    for key, value in (("simw_seed", seed), ("simw_worms", n_worms), ("simw_frames", n_frames)):
        common.set_param(key, value)
    cfg = WormConfig(int(seed), int(n_worms), int(n_frames))
    with common.guard("simulating the worms"), st.spinner("Simulating the worms..."):
        video = _worm_video(cfg)
    t = st.slider("Frame", 1, len(video), min(len(video), max(1, common.param("simw_t", 1, int))), key="simw_t") - 1
    common.set_param("simw_t", t + 1)
    truth = video.truth
    rows = truth[truth["frame"] == truth["frame"].unique()[t]]
    left, right = st.columns(2)
    left.image(video.frame(t), caption=f"Frame {t + 1}", width="stretch")
    # draw_truth writes each worm's number as the table holds it (from 0, as on the command line): from 1 here
    right.image(cv2.cvtColor(worm.draw_truth(video.frame(t), rows.assign(worm=rows["worm"] + 1)), cv2.COLOR_BGR2RGB),
                caption="Truth: midline, head (red), tail (blue), worm number (from 1)", width="stretch")
    shown = rows[worm.TRUTH_COLUMNS].assign(frame=rows["frame"] + 1, worm=rows["worm"] + 1)
    px_column = {c: st.column_config.NumberColumn(c.replace("_px_s", " (px/s)").replace("_px", " (px)")
                                                  .replace("_x", " x (px)").replace("_y", " y (px)"), format="%.1f")
                 for c in worm.TRUTH_COLUMNS if c.endswith(("_x", "_y", "_px", "_px_s"))}
    st.dataframe(shown, hide_index=True, key="simw_truth", column_config=px_column)
    st.caption(f"Frames and worms are numbered from 1 here and in the Truth CSV (frame {t + 1} of {len(video)}), "
               "as on the Tracking page; the command line (`simulate worm`, `track`) numbers them from 0.")
    d1, d2 = st.columns(2)
    numbered = truth.assign(frame=truth["frame"] + 1, worm=truth["worm"] + 1)
    d1.download_button("Truth (CSV)", numbered.to_csv(index=False, float_format="%.3f").encode(),
                       f"worms_s{cfg.seed}_truth.csv", "text/csv", key="simw_dl_truth")
    if d2.button("Prepare the video", key="simw_video_go"):
        with tempfile.TemporaryDirectory(prefix="devoscope-worms-") as tmp:
            path = worm.write_video(video, Path(tmp) / "worms.mp4")
            st.session_state["simw_video"] = (cfg, path.name, path.read_bytes())
    ready = st.session_state.get("simw_video")
    if ready and ready[0] == cfg:
        d2.download_button(f"Download {ready[1]}", ready[2], ready[1], key="simw_dl_video")


st.title("Simulator")
st.write("Synthetic microscopy with exact ground truth: what Devoscope's models are trained and tested on.")
kind = st.segmented_control("What to simulate", ["Embryo", "Worms"], default=common.param("sim_kind", "Embryo"),
                            key="sim_kind") or "Embryo"
common.set_param("sim_kind", kind)
if kind == "Embryo":
    embryo_view()
else:
    worm_view()
