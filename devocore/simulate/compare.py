"""How closely the embryo simulator matches real data (measuring only, nothing is fitted here).

Three comparisons, each returned as plain numbers and drawn as a PNG with OpenCV:

1. *Timing*: the frame at which the AB lineage reaches 4, 8, ..., 128 cells, simulated
   (75 s frames) versus the EPIC tables (``train/epic``, 75 s frames); the shape of the
   curve, ``(t_N - t_4) / (t_128 - t_4)``, is also compared with the 198 population curves
   and the eval movie's annotation, whose frame intervals are not known.
2. *Nucleus size*: EPIC ``size`` (diameter, pixels) at matching total cell counts; and the
   equivalent diameter of nuclei in nucleus slices versus the CTC slices' masks, at matching
   numbers of nuclei per slice.
3. *Intensity*: green-channel histograms of simulated versus real time-lapse frames
   (``eval/embryo_timelapse.mov``) at matching cell counts.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from devocore.errors import DevocoreError
from devocore.simulate import embryo
from devocore.simulate.embryo_render import DEFAULTS

log = logging.getLogger(__name__)

MILESTONES = (4, 8, 16, 32, 64, 128)
COUNT_BINS = ((3, 5), (6, 9), (12, 18), (24, 36), (48, 72), (96, 150), (180, 280), (300, 460))
SLICE_BINS = ((3, 7), (8, 15), (16, 25), (26, 45))
HIST_STAGES = (24, 100, 350)  # total cells at which frames are compared
COLORS = {"real": (60, 60, 230), "sim": (40, 170, 40), "curves": (200, 120, 30), "movie": (160, 60, 160)}


# ------------------------------------------------------------------ helpers


def _unwrap_uint8(a: np.ndarray) -> np.ndarray:
    """The population curves store counts modulo 256: add 256 at every wrap."""
    a = a.astype(np.int64)
    return a + 256 * np.cumsum(np.r_[0, np.diff(a) < -100])


def _milestones(frames: np.ndarray, counts: np.ndarray) -> dict[int, float]:
    return embryo.ab_milestones(pd.DataFrame({"frame": frames, "A": counts}), MILESTONES)


def _shape(hits: dict[int, float]) -> dict[int, float]:
    span = hits[128] - hits[4]
    return {n: (hits[n] - hits[4]) / span if span > 0 else float("nan") for n in MILESTONES}


def _median(dicts: list[dict[int, float]]) -> dict[int, float]:
    return {n: float(np.nanmedian([d[n] for d in dicts])) for n in MILESTONES}


def _equivalent_diameters(mask: np.ndarray, min_area: int = 20) -> np.ndarray:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    area = stats[1:, cv2.CC_STAT_AREA]
    area = area[area >= min_area]
    return 2.0 * np.sqrt(area / np.pi)


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise DevocoreError(f"{what} not found at {path}; give --real the folder holding train/ and eval/")
    return path


# ------------------------------------------------------------------ measurements


def timing(real: Path, sims: list[embryo.EmbryoHistory]) -> dict:
    """AB milestones (frames) of simulated embryos vs EPIC tables, curves and the eval movie."""
    tables = sorted(_require(real / "train" / "epic", "EPIC tables").glob("*.csv"))
    real_hits = []
    for path in tables:
        t = pd.read_csv(path, usecols=["cell", "time"])
        a = t[t["cell"].str.startswith("AB")].groupby("time").size()
        real_hits.append(_milestones(a.index.to_numpy(), a.to_numpy()))
    sim_hits = [embryo.ab_milestones(h.populations(), MILESTONES) for h in sims]
    out = {"epic_tables": _median(real_hits), "simulated": _median(sim_hits),
           "n_tables": len(real_hits), "n_simulated": len(sims)}
    out["relative_error"] = {n: (out["simulated"][n] - out["epic_tables"][n]) / out["epic_tables"][n]
                             for n in MILESTONES}
    out["within_10_percent"] = all(abs(v) <= 0.10 for v in out["relative_error"].values())
    shapes = {"simulated": _median([_shape(h) for h in sim_hits]), "epic_tables": _median([_shape(h) for h in real_hits])}
    curves_path = real / "train" / "epic_population_curves.csv"
    if curves_path.exists():
        curves = pd.read_csv(curves_path)
        seg = (curves["frame"].diff() != 1).cumsum()  # some embryos appear twice, one after the other
        curve_hits = [_milestones(g["frame"].to_numpy(), _unwrap_uint8(g["A"].to_numpy())) for _, g in curves.groupby(seg)]
        out["population_curves"] = _median(curve_hits)
        out["n_curves"] = len(curve_hits)
        shapes["population_curves"] = _median([_shape(h) for h in curve_hits])
    movie_pops = real / "eval" / "embryo_timelapse_populations.csv"
    if movie_pops.exists():
        m = pd.read_csv(movie_pops)
        hits = _milestones(m["frame"].to_numpy(), _unwrap_uint8(m["A"].to_numpy()))
        out["eval_movie"] = hits
        shapes["eval_movie"] = _shape(hits)
    out["shape"] = shapes
    return out


def nucleus_sizes(real: Path, sims: list[embryo.EmbryoHistory], n_slices: int = 80) -> dict:
    """Nucleus diameters (pixels) at matching cell counts: EPIC tables and CTC slices."""
    def binned(tables: list[pd.DataFrame]) -> dict[str, float]:
        rows = []
        for t in tables:
            n = t.groupby("time")["cell"].transform("size")
            rows.append(pd.DataFrame({"n": n.to_numpy(), "size": t["size"].to_numpy()}))
        allrows = pd.concat(rows)
        return {f"{lo}-{hi}": float(allrows.loc[allrows["n"].between(lo, hi), "size"].median())
                for lo, hi in COUNT_BINS}

    tables = [pd.read_csv(p, usecols=["cell", "time", "size"])
              for p in sorted(_require(real / "train" / "epic", "EPIC tables").glob("*.csv"))]
    out = {"epic_size_px": {"real": binned(tables), "simulated": binned([h.cells_table() for h in sims])}}
    ctc = real / "eval" / "ctc_nuclei"
    if (ctc / "index.csv").exists():
        index = pd.read_csv(ctc / "index.csv")
        real_rows, sim_rows = [], []
        for r in index.itertuples():
            mask = cv2.imread(str(ctc / r.mask), cv2.IMREAD_GRAYSCALE)
            if mask is None:
                continue
            d = _equivalent_diameters(mask > 8)
            real_rows += [(len(d), x) for x in d]
        for seed in range(n_slices):
            _, labels = embryo.nucleus_slice(10_000 + seed, size=256)
            d = _equivalent_diameters(labels > 0)
            sim_rows += [(len(d), x) for x in d]

        def per_bin(rows):
            a = np.array(rows, dtype=float).reshape(-1, 2)
            return {f"{lo}-{hi}": float(np.median(a[(a[:, 0] >= lo) & (a[:, 0] <= hi), 1]))
                    if ((a[:, 0] >= lo) & (a[:, 0] <= hi)).any() else float("nan") for lo, hi in SLICE_BINS}

        out["ctc_slice_diameter_px"] = {"real": per_bin(real_rows), "simulated": per_bin(sim_rows),
                                        "real_overall": float(np.median([x for _, x in real_rows])),
                                        "simulated_overall": float(np.median([x for _, x in sim_rows]))}
    return out


def intensities(real: Path, sims: list[embryo.EmbryoHistory]) -> dict:
    """Green-channel histograms (64 bins) of real and simulated frames at matching cell counts."""
    movie = _require(real / "eval" / "embryo_timelapse.mov", "the eval time-lapse")
    pops = pd.read_csv(_require(real / "eval" / "embryo_timelapse_populations.csv", "the movie's annotation"))
    total = pops[list("AEMPCDZ")].sum(axis=1).to_numpy()
    total = total + 256 * np.cumsum(np.r_[0, np.diff(pops["A"].to_numpy()) < -100])
    cap = cv2.VideoCapture(str(movie))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
    out = {"stages": {}}
    h = sims[0]
    counts = h.counts()
    for stage in HIST_STAGES:
        k = int(np.argmin(np.abs(total - stage)))
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(pops["frame"].iloc[k]) - 1)
        ok, bgr = cap.read()
        if not ok:
            continue
        t = int(np.argmin(np.abs(counts - stage)))
        sim = embryo.render_timelapse_frame(h, t, size=size, appearance=DEFAULTS["timelapse"])
        real_g, sim_g = bgr[..., 1], sim[..., 1]
        bins = np.linspace(0, 256, 65)
        hr = np.histogram(real_g, bins)[0] / real_g.size
        hs = np.histogram(sim_g, bins)[0] / sim_g.size
        out["stages"][stage] = {
            "real_frame": int(pops["frame"].iloc[k]), "sim_frame": t + 1,
            "real_cells": int(total[k]), "sim_cells": int(counts[t]),
            "real_hist": hr.round(5).tolist(), "sim_hist": hs.round(5).tolist(),
            "real_percentiles": np.percentile(real_g, [50, 90, 99]).tolist(),
            "sim_percentiles": np.percentile(sim_g, [50, 90, 99]).tolist(),
            "real_fraction_above_40": float((real_g > 40).mean()),
            "sim_fraction_above_40": float((sim_g > 40).mean()),
            "histogram_intersection": float(np.minimum(hr, hs).sum()),
        }
    cap.release()
    return out


# ------------------------------------------------------------------ figures (OpenCV, no matplotlib)


def _canvas(w: int, h: int, title: str) -> np.ndarray:
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.putText(img, title, (12, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def _line_plot(ax: tuple[int, int, int, int], img: np.ndarray, series: dict[str, list[float]],
               xlabels: list[str], ymax: float, ylabel: str, log_y: bool = False) -> None:
    x0, y0, w, h = ax
    cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), (0, 0, 0), 1)
    n = len(xlabels)
    xs = [x0 + int((i + 0.5) * w / n) for i in range(n)]
    for x, lab in zip(xs, xlabels):
        cv2.putText(img, lab, (x - 10, y0 + h + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (x0, y0 - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)

    def ypix(v):
        if log_y:
            v = np.log10(max(v, 1e-5)) + 5
            return y0 + h - int(h * v / (np.log10(ymax) + 5))
        return y0 + h - int(h * v / ymax)

    for k in range(5):
        v = ymax * k / 4
        cv2.putText(img, "" if log_y else f"{v:.0f}" if ymax > 5 else f"{v:.2f}", (x0 - 34, ypix(v) + 4), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35, (90, 90, 90), 1, cv2.LINE_AA)
    for j, (name, ys) in enumerate(series.items()):
        color = COLORS.get(name.split()[0], (0, 0, 0))
        pts = [(x, ypix(y)) for x, y in zip(xs, ys) if y == y]
        for p, q in zip(pts, pts[1:]):
            cv2.line(img, p, q, color, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, color, -1, cv2.LINE_AA)
        cv2.putText(img, name, (x0 + 8, y0 + 16 + 16 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)


def draw_figures(result: dict, out_dir: Path) -> dict[str, Path]:
    """Draw the timing, size and histogram figures as PNGs into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    tm = result["timing"]
    img = _canvas(900, 330, "Frame (75 s) at which the AB lineage reaches N cells")
    labels = [str(n) for n in MILESTONES]
    _line_plot((60, 60, 360, 230), img, {"real EPIC tables (median)": [tm["epic_tables"][n] for n in MILESTONES],
                                         "sim (median)": [tm["simulated"][n] for n in MILESTONES]},
               labels, 180, "frame")
    shape = {f"{k} ": [v[n] for n in MILESTONES] for k, v in tm["shape"].items()}
    shape = {("real tables" if k.startswith("epic") else "curves" if k.startswith("population")
              else "movie" if k.startswith("eval") else "sim"): v for k, v in shape.items()}
    _line_plot((500, 60, 360, 230), img, shape, labels, 1.0, "(t_N - t_4)/(t_128 - t_4)")
    paths["timing"] = out_dir / "simulator_timing.png"
    cv2.imwrite(str(paths["timing"]), img)

    sz = result["sizes"]
    img = _canvas(900, 330, "Nucleus diameter (pixels) at matching cell counts")
    e = sz["epic_size_px"]
    _line_plot((60, 60, 360, 230), img, {"real EPIC size": list(e["real"].values()),
                                         "sim EPIC size": list(e["simulated"].values())},
               [k.split("-")[0] for k in e["real"]], 100, "EPIC px, by total cells")
    if "ctc_slice_diameter_px" in sz:
        c = sz["ctc_slice_diameter_px"]
        _line_plot((500, 60, 360, 230), img, {"real CTC slices": list(c["real"].values()),
                                              "sim slices": list(c["simulated"].values())},
                   list(c["real"]), 40, "256-px slice px, by nuclei per slice")
    paths["sizes"] = out_dir / "simulator_sizes.png"
    cv2.imwrite(str(paths["sizes"]), img)

    if result.get("intensity", {}).get("stages"):
        stages = result["intensity"]["stages"]
        img = _canvas(300 * len(stages), 320, "Green-channel histograms (log scale): real movie vs simulated")
        for i, (stage, s) in enumerate(stages.items()):
            _line_plot((40 + 300 * i, 60, 240, 220), img,
                       {f"real {s['real_cells']} cells": s["real_hist"][::4],
                        f"sim {s['sim_cells']} cells": s["sim_hist"][::4]},
                       ["0", "", "", "", "64", "", "", "", "128", "", "", "", "192", "", "", ""][:16], 1.0,
                       "fraction of pixels", log_y=True)
        paths["intensity"] = out_dir / "simulator_histograms.png"
        cv2.imwrite(str(paths["intensity"]), img)
    return paths


def gallery(path: Path, seed: int = 0) -> Path:
    """A picture of what the simulator makes (simulated images only)."""
    h = embryo.simulate(seed=seed, n_frames=220, reporter="E")
    tiles = [embryo.render_timelapse_frame(h, t, size=256) for t in (5, 60, 130, 219)]
    for fn, kind in ((embryo.nucleus_slice, "nuclei"), (embryo.membrane_image, "membrane")):
        image, labels = fn(seed + 3, size=256, appearance=DEFAULTS[kind], history=h, t=100 if kind == "nuclei" else 30)
        gray = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
        tiles.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))
        rng = np.random.default_rng(0)
        lut = np.vstack([[0, 0, 0], rng.integers(60, 255, (int(labels.max()) + 1, 3))]).astype(np.uint8)
        tiles.append(lut[np.where(labels > 0, labels.astype(np.int64) + 1, 0)])
    grid = np.vstack([np.hstack(tiles[:4]), np.hstack(tiles[4:8])])
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    return path


def compare(real: str | Path, n_embryos: int = 8, n_frames: int = 240, figures: Path | None = None) -> dict:
    """Run every comparison; draw the figures into ``figures`` if given."""
    real = Path(real)
    if not real.is_dir():
        raise DevocoreError(f"{real} is not a folder; give the data folder holding train/ and eval/")
    sims = [embryo.simulate(seed=s, n_frames=n_frames) for s in range(n_embryos)]
    result = {"timing": timing(real, sims), "sizes": nucleus_sizes(real, sims)}
    if (real / "eval" / "embryo_timelapse.mov").exists():
        result["intensity"] = intensities(real, sims)
    if figures is not None:
        result["figures"] = {k: str(v) for k, v in draw_figures(result, figures).items()}
    return result
