"""Embryo time-lapse movies for the lineage view, with exact populations per frame.

Nuclei at each time point (:class:`Snapshot`) come from real EPIC cell tables
(:func:`epic_snapshots`), the embryo simulator (:func:`simulated_snapshots`) or
reference curves (:func:`toy_snapshots`); :func:`render` draws one as a
histone-GFP maximum projection with a random look (:class:`MovieLook`, the
lineage model's training renderer). :func:`simulated_movie` uses the embryo
simulator's own renderer instead, and :func:`example_movie` is the page's example.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from devocore.style import LINEAGES, POPULATION_COLUMNS as COLUMNS


CANVAS = (256, 376)  # half of the EPIC microscope frame (512 x 752), Y x X



def lineage_of(name: str) -> str | None:
    """Lineage letter of a Sulston cell name (EMS counts as E, P0..P4 as P).

    Example:
        >>> [lineage_of(n) for n in ["ABala", "MSp", "Ea", "EMS", "Cpa", "D", "P4", "Z2", "polar"]]
        ['A', 'M', 'E', 'E', 'C', 'D', 'P', 'Z', None]
    """
    if name.startswith("AB"):
        return "A"
    if name.startswith("MS"):
        return "M"
    if name.startswith("E"):
        return "E"
    if name.startswith("Z"):
        return "Z"
    if name[:1] in ("C", "D", "P"):
        return name[0]
    return None



@dataclass
class Snapshot:
    """Nuclei at one time point: positions (EPIC pixels), diameters, lineage letters."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    size: np.ndarray
    counts: np.ndarray  # 7 populations



def epic_snapshots(table: pd.DataFrame) -> list[Snapshot]:
    """One :class:`Snapshot` per time point of an EPIC cell table, in time order."""
    table = table.copy()
    table["lineage"] = table["cell"].astype(str).map(lineage_of)
    shots = []
    for _, g in table.sort_values("time").groupby("time"):
        counts = np.array([(g["lineage"] == k).sum() for k in LINEAGES], dtype=np.float32)
        shots.append(Snapshot(g["x"].to_numpy(float), g["y"].to_numpy(float), g["z"].to_numpy(float),
                              g["size"].to_numpy(float), counts))
    return shots



def simulated_snapshots(seed: int, n_frames: int = 240, max_cells: int = 450) -> list[Snapshot]:
    """Snapshots from the embryo simulator (if it is installed), in EPIC format."""
    from devocore.simulate import embryo  # optional: present once the simulator lands

    history = embryo.simulate(seed=seed, n_frames=n_frames, frame_interval_s=60.0, max_cells=max_cells)
    cells = history.cells_table()
    return epic_snapshots(cells)



@dataclass(frozen=True)
class MovieLook:
    """How one rendered movie looks (all randomised for training)."""

    scale: float = 1.0          # magnification relative to EPIC's
    angle: float = 0.0          # degrees
    mirror: bool = False
    shift: tuple = (0.0, 0.0)   # fraction of the canvas
    radius: float = 0.5         # nucleus radius as a fraction of EPIC's size column
    edge: float = 0.15          # soft edge, fraction of the radius
    brightness: float = 220.0   # peak grey level before saturation
    depth_fade: float = 0.5     # relative loss of brightness from top to bottom plane
    jitter: float = 0.2         # per-nucleus brightness spread
    blur: float = 0.8           # PSF sigma in canvas pixels
    noise: float = 4.0          # grey levels
    background: float = 3.0
    red: float = 0.0            # reporter channel strength (0 = none)



def random_look(rng: np.random.Generator) -> MovieLook:
    """A random :class:`MovieLook` covering microscopes like EPIC's and beyond."""
    return MovieLook(
        scale=float(rng.uniform(0.8, 1.2)),
        angle=float(rng.choice([0.0, 180.0]) + rng.normal(0, 12)),
        mirror=bool(rng.random() < 0.5),
        shift=(float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.08, 0.08))),
        radius=float(rng.uniform(0.38, 0.6)),
        edge=float(rng.uniform(0.05, 0.35)),
        brightness=float(np.exp(rng.uniform(np.log(90), np.log(500)))),
        depth_fade=float(rng.uniform(0.0, 0.8)),
        jitter=float(rng.uniform(0.05, 0.35)),
        blur=float(rng.uniform(0.0, 2.0)),
        noise=float(np.exp(rng.uniform(np.log(0.5), np.log(12)))),
        background=float(rng.uniform(0, 25)),
        red=float(rng.choice([0.0, rng.uniform(20, 200)])),
    )



def render(shot: Snapshot, look: MovieLook, rng: np.random.Generator, canvas: tuple = CANVAS) -> np.ndarray:
    """A Y x X x 3 uint8 frame: green nuclei (maximum projection), optional red reporter.

    Example:
        >>> s = Snapshot(np.array([376.0]), np.array([256.0]), np.array([10.0]), np.array([60.0]),
        ...              np.zeros(7, np.float32))
        >>> frame = render(s, MovieLook(noise=0, background=0), np.random.default_rng(0))
        >>> frame.shape, int(frame[128, 188, 1]) > 100, int(frame[5, 5, 1])
        ((256, 376, 3), True, 0)
    """
    import cv2

    h, w = canvas
    green = np.zeros(canvas, np.float32)
    red = np.zeros(canvas, np.float32)
    if len(shot.x):
        f = w / 752.0 * look.scale  # EPIC pixels (752 x 512 frames) -> canvas pixels
        cx, cy = np.median(shot.x), np.median(shot.y)
        theta = np.deg2rad(look.angle)
        dx, dy = shot.x - cx, shot.y - cy
        if look.mirror:
            dy = -dy
        px = w / 2 + look.shift[0] * w + f * (np.cos(theta) * dx - np.sin(theta) * dy)
        py = h / 2 + look.shift[1] * h + f * (np.sin(theta) * dx + np.cos(theta) * dy)
        radius = np.maximum(f * look.radius * shot.size * rng.uniform(0.9, 1.1, len(shot.x)), 0.8)
        zspan = max(float(np.ptp(shot.z)), 1e-6)
        depth = (shot.z - shot.z.min()) / zspan
        if rng.random() < 0.5:
            depth = 1 - depth
        peak = look.brightness * (1 - look.depth_fade * depth) * np.exp(rng.normal(0, look.jitter, len(shot.x)))
        reporter = rng.random(len(shot.x)) < rng.uniform(0.05, 0.3)
        order = np.argsort(peak)  # brighter nuclei drawn last; np.maximum makes order irrelevant anyway
        for i in order:
            r = radius[i]
            x0, x1 = int(max(0, px[i] - r - 3)), int(min(w, px[i] + r + 4))
            y0, y1 = int(max(0, py[i] - r - 3)), int(min(h, py[i] + r + 4))
            if x1 <= x0 or y1 <= y0:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1]
            dist = np.hypot(xx - px[i], yy - py[i])
            blob = peak[i] / (1 + np.exp((dist - r) / max(look.edge * r, 0.3)))
            np.maximum(green[y0:y1, x0:x1], blob, out=green[y0:y1, x0:x1])
            if look.red > 0 and reporter[i]:
                np.maximum(red[y0:y1, x0:x1], blob * look.red / max(look.brightness, 1), out=red[y0:y1, x0:x1])
        # nuclear texture: low-frequency multiplicative noise
        texture = cv2.resize(rng.normal(1, 0.12, (h // 8, w // 8)).astype(np.float32), (w, h))
        green *= texture
    if look.blur > 0.1:
        green = cv2.GaussianBlur(green, (0, 0), look.blur)
        red = cv2.GaussianBlur(red, (0, 0), look.blur)
    green += look.background + rng.normal(0, look.noise, canvas).astype(np.float32)
    red += look.background * 0.5 + rng.normal(0, look.noise, canvas).astype(np.float32)
    frame = np.zeros((h, w, 3), np.uint8)
    frame[..., 1] = np.clip(green, 0, 255).astype(np.uint8)
    frame[..., 0] = np.clip(red, 0, 255).astype(np.uint8)
    return frame



def render_movie(shots: list[Snapshot], seed: int = 0, look: MovieLook | None = None) -> list[np.ndarray]:
    """Every snapshot rendered with one appearance (a time-lapse)."""
    rng = np.random.default_rng(seed)
    look = look or random_look(rng)
    return [render(s, look, rng) for s in shots]



def movie_truth(shots: list[Snapshot]) -> pd.DataFrame:
    """The populations of a snapshot list as an annotation table (frame 1 = first)."""
    table = pd.DataFrame(np.array([s.counts for s in shots]), columns=list(LINEAGES)).astype(int)
    table.insert(0, "frame", np.arange(1, len(table) + 1))
    return table



def toy_snapshots(curves: np.ndarray, n_frames: int = 60, seed: int = 0, start: float = 0.0,
                  rate: float | None = None) -> list[Snapshot]:
    """A synthetic embryo whose populations follow reference ``curves`` (T x 8: total, A..Z).

    Nuclei are scattered in an ellipsoid the size of an EPIC embryo; used for the
    page's example when the embryo simulator is absent, and in tests.

    Example:
        >>> c = np.array([[2, 1, 1, 0, 0, 0, 0, 0], [8, 4, 1, 1, 1, 1, 0, 0]], float)
        >>> shots = toy_snapshots(c, n_frames=3)
        >>> [len(s.x) for s in shots], shots[-1].counts.tolist()
        ([2, 3, 8], [4.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    """
    rng = np.random.default_rng(seed)
    curves = np.asarray(curves, dtype=np.float64)
    rate = rate if rate is not None else (len(curves) - 1 - start) / max(n_frames - 1, 1)
    shots = []
    for t in range(n_frames):
        tau = min(start + rate * t, len(curves) - 1)
        row = np.array([np.interp(tau, np.arange(len(curves)), curves[:, k]) for k in range(curves.shape[1])])
        counts = np.rint(row[1:]).astype(np.float32)
        n = int(counts.sum())
        u = rng.normal(size=(n, 3))
        u /= np.linalg.norm(u, axis=1, keepdims=True) + 1e-9
        r = rng.random(n) ** (1 / 3) * 0.85
        x = 376 + 250 * r * u[:, 0]
        y = 256 + 160 * r * u[:, 1]
        z = 15 + 12 * r * u[:, 2]
        size = np.full(n, 55.0 * max(n, 1) ** -0.06) * rng.uniform(0.9, 1.1, n)
        shots.append(Snapshot(x, y, z, size, counts))
    return shots



def simulated_movie(seed: int, n_frames: int = 240, step: int = 1, render_seed: int = 0
                    ) -> tuple[list[np.ndarray], pd.DataFrame]:
    """A time-lapse from the embryo simulator, drawn by its own renderer (not the training one).

    Returns:
        (frames as 256 x 376 x 3 uint8, true populations ``frame, A..Z``, frame 1 = first).
    """
    from devocore.simulate import embryo

    history = embryo.simulate(seed=seed, n_frames=n_frames, frame_interval_s=75.0)
    times = list(range(0, history.n_frames, step))
    frames = [embryo.render_timelapse_frame(history, t, size=CANVAS, seed=render_seed) for t in times]
    truth = history.populations().iloc[times].reset_index(drop=True)
    truth["frame"] = np.arange(1, len(truth) + 1)
    return frames, truth[list(COLUMNS)]



def example_movie(curves: np.ndarray | None = None, n_frames: int = 60, seed: int = 0
                  ) -> tuple[list[np.ndarray], pd.DataFrame]:
    """An example time-lapse (frames, true populations): the embryo simulator's when installed,
    else a synthetic embryo following ``curves``."""
    try:
        return simulated_movie(seed, n_frames=n_frames * 4, step=4)
    except ImportError:
        if curves is None:
            raise
        shots = toy_snapshots(curves, n_frames=n_frames, seed=seed)
    return render_movie(shots, seed=seed, look=MovieLook(red=60.0)), movie_truth(shots)
