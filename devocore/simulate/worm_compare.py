"""How simulated worms compare with real ones: the same measurements on both.

Real data: ``eval/wormpose`` (frames of a dark worm on a light plate with Tierpsy
skeletons and widths) and ``eval/worm_curvature.csv`` (Wen lab body curvature).
These are for measuring only: nothing here feeds back into the simulator's
parameters.

Measurements (medians over frames):

* ``plate_grey``, ``worm_grey``: grey level of the plate (pixels farther than
  3 px from the body) and of the body along its midline; ``contrast`` =
  1 - worm / plate.
* ``noise_sd``: robust sd of the plate after removing its smooth part.
* ``length_over_width``: midline length / maximum body width.
* ``width_head``, ``width_tail``: width at 10% and 90% of the length, relative to the maximum.
* ``bend_rad_per_length``: sum of absolute turning angles along the midline (rad per body length).
* ``head_tail_over_length``: head-to-tail distance / length (10th percentile shows coiling).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from devocore.errors import DevocoreError
from devocore.simulate import worm

log = logging.getLogger(__name__)


def _bend(mid: np.ndarray) -> float:
    seg = np.diff(mid, axis=0)
    turn = np.diff(np.unwrap(np.arctan2(seg[:, 1], seg[:, 0])))
    return float(np.abs(turn).sum())


def measure(samples: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Median look and posture over ``(frame, midline, widths)`` samples.

    Args:
        samples: frame (H x W uint8 grey), midline (N x 2, x/y px, head first), body width at each midline point (N).
    """
    import cv2

    rows = []
    for frame, mid, widths in samples:
        frame = frame.astype(np.float32)
        length = float(np.hypot(*np.diff(mid, axis=0).T).sum())
        body = np.zeros(frame.shape, np.uint8)
        for (x, y), w in zip(mid, widths):
            cv2.circle(body, (int(round(x)), int(round(y))), max(1, int(round(w / 2))), 1, -1)
        away = cv2.distanceTransform(1 - body, cv2.DIST_L2, 3) > 3
        if away.sum() < 50:
            continue
        plate = float(np.median(frame[away]))
        cols = np.clip(np.round(mid[:, 0]).astype(int), 0, frame.shape[1] - 1)
        lines = np.clip(np.round(mid[:, 1]).astype(int), 0, frame.shape[0] - 1)
        on_body = float(np.median(frame[lines, cols]))
        residual = (frame - cv2.GaussianBlur(frame, (0, 0), 2.0))[away]
        u = np.linspace(0.0, 1.0, len(mid))
        rows.append({
            "plate_grey": plate, "worm_grey": on_body, "contrast": 1.0 - on_body / max(plate, 1e-6),
            # MAD -> sd; 1.03 makes up for the part of white noise that the smoothing removes
            "noise_sd": 1.4826 * 1.03 * float(np.median(np.abs(residual - np.median(residual)))),
            "length_over_width": length / float(np.max(widths)),
            "width_head": float(np.interp(0.1, u, widths) / np.max(widths)),
            "width_tail": float(np.interp(0.9, u, widths) / np.max(widths)),
            "bend_rad_per_length": _bend(mid),
            "head_tail_over_length": float(np.hypot(*(mid[0] - mid[-1])) / length),
        })
    if not rows:
        raise DevocoreError("No frame could be measured (is the body filling the whole frame?).")
    table = pd.DataFrame(rows)
    out = table.median().to_dict()
    out["head_tail_over_length_p10"] = float(table.head_tail_over_length.quantile(0.1))
    out["frames_measured"] = len(table)
    return out


def real_samples(data_dir: str | Path):
    """(frame, midline, widths) from ``eval/wormpose`` where Tierpsy found a skeleton."""
    import cv2

    folder = Path(data_dir) / "eval" / "wormpose"
    table_path = folder / "skeletons.csv"
    if not table_path.exists():
        raise DevocoreError(f"'{table_path}' not found; pass the folder that holds eval/wormpose "
                            "(e.g. ../shared/data).")
    skeletons = pd.read_csv(table_path).dropna()
    for frame_id, points in skeletons.groupby("frame"):
        image = cv2.imread(str(folder / "frames" / f"{int(frame_id):05d}.png"), cv2.IMREAD_GRAYSCALE)
        if image is None:
            continue
        points = points.sort_values("point")
        yield image, points[["x", "y"]].to_numpy(float), points.width.to_numpy(float)


def simulated_samples(seed: int = 0, n_frames: int = 1500, every: int = 5):
    """(frame, midline, widths) from a default simulated video (one worm, 640x480)."""
    video = worm.simulate_video(seed=seed, n_frames=n_frames, n_worms=1)
    mids, width = video.tracks.midlines[:, 0], float(video.tracks.widths[0])
    widths = width * worm.width_profile(np.linspace(0.0, 1.0, mids.shape[1]))
    for index in range(0, n_frames, every):
        if video.tracks.in_view[index, 0]:
            yield video.frame(index), mids[index], widths


def curvature_figures(data_dir: str | Path, seed: int = 0) -> dict[str, float]:
    """Mean absolute bending per body length: Wen-lab real worm versus :func:`worm.behaviour_series`.

    The real table holds curvature at 100 segments; read as turning angle per segment, its sum
    over segments is radians per body length.
    """
    path = Path(data_dir) / "eval" / "worm_curvature.csv"
    if not path.exists():
        raise DevocoreError(f"'{path}' not found.")
    real = pd.read_csv(path).drop(columns="time_s").to_numpy(float)
    series = worm.behaviour_series(seed=seed, n_steps=2000)
    return {"real_bend_rad_per_length": float(np.nanmean(np.nansum(np.abs(real), axis=1))),
            "sim_bend_rad_per_length": float(series.curvature.mean())}  # rad/mm for a 1 mm worm


def compare(data_dir: str | Path, seed: int = 0) -> pd.DataFrame:
    """Table of measurements: rows = measurement, columns ``real`` and ``simulated``."""
    real = measure(real_samples(data_dir))
    sim = measure(simulated_samples(seed))
    table = pd.DataFrame({"real": real, "simulated": sim})
    try:
        bend = curvature_figures(data_dir, seed)
        table.loc["bend_rad_per_length_wen_lab_vs_series"] = [bend["real_bend_rad_per_length"],
                                                              bend["sim_bend_rad_per_length"]]
    except DevocoreError as exc:
        log.warning("%s", exc)
    return table
