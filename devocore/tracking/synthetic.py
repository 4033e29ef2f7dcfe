"""Tiny drawn worms with known midlines, for tests and doctests of the tracker.

Each worm crawls forward along a sinusoidal path: its body is the last
``length`` pixels of the path behind the head, so the head leads, the bending
wave travels from head to tail, and every frame's true head, tail and midline
are known exactly. (The full simulator with realistic appearance is
:mod:`devocore.simulate.worm`.)
"""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from devocore.tracking.midline import resample


def body_profile(n: int) -> np.ndarray:
    """Relative half-width along a worm, head (index 0) blunt, tail pointed."""
    s = np.linspace(0.0, 1.0, n)
    return np.clip(np.minimum(np.sqrt(np.clip(s / 0.1, 0, 1)), np.clip((1 - s) / 0.35, 0, 1) ** 0.8), 0.2, 1)


def draw_worm(canvas: np.ndarray, points: np.ndarray, width: float = 8.0, value: float = 60.0) -> None:
    """Paint a worm of body ``width`` along N x 2 (x, y) ``points`` (head first) into a float canvas."""
    dense = resample(points, max(8, int(np.hypot(*np.diff(points, axis=0).T).sum() * 2)))
    radii = 0.5 * width * body_profile(len(dense))
    mask = np.zeros(canvas.shape[:2], np.uint8)
    scale = 4  # sub-pixel drawing
    for (x, y), r in zip(dense, radii):
        cv2.circle(mask, (int(round(x * scale)), int(round(y * scale))), int(round(r * scale)), 1, -1,
                   shift=2)
    canvas[mask > 0] = value


def path_points(start: tuple[float, float], heading: float, s: np.ndarray, amplitude: float = 6.0,
                wavelength: float = 50.0) -> np.ndarray:
    """Points (x, y) of a sinusoidal path at arc positions ``s`` from ``start`` in direction ``heading`` (rad)."""
    along, across = s, amplitude * np.sin(2 * np.pi * s / wavelength)
    c, d = np.cos(heading), np.sin(heading)
    return np.column_stack([start[0] + along * c - across * d, start[1] + along * d + across * c])


def worm_at(start, heading, head_s: float, length: float, n: int = 49, **wave) -> np.ndarray:
    """N x 2 midline (head first) of a worm whose head is at arc position ``head_s`` of its path."""
    s = np.linspace(head_s, head_s - length, n)
    return path_points(start, heading, s, **wave)


def clip(n_frames: int = 30, n_worms: int = 1, seed: int = 0, size: tuple[int, int] = (200, 260),
         length: float = 60.0, width: float = 7.0, speed: float = 2.0, plate: float = 200.0,
         worm_value: float = 70.0, noise: float = 3.0, starts=None, headings=None
         ) -> tuple[list[np.ndarray], pd.DataFrame]:
    """Frames (Y x X uint8) of worms crawling forward and the truth table.

    Truth columns: ``frame, worm, head_x, head_y, tail_x, tail_y, centroid_x, centroid_y, length_px``.

    Example:
        >>> frames, truth = clip(n_frames=3, n_worms=2)
        >>> len(frames), frames[0].shape, sorted(truth.worm.unique().tolist())
        (3, (200, 260), [1, 2])
    """
    rng = np.random.default_rng(seed)
    h, w = size
    if starts is None:
        starts = [(rng.uniform(0.25, 0.45) * w, rng.uniform(0.2, 0.8) * h) for _ in range(n_worms)]
    if headings is None:
        headings = [rng.uniform(-0.4, 0.4) + (np.pi if i % 2 else 0.0) for i in range(n_worms)]
    frames, rows = [], []
    for t in range(n_frames):
        canvas = np.full((h, w), plate, np.float32)
        for k in range(n_worms):
            points = worm_at(starts[k], headings[k], length + speed * t, length)
            draw_worm(canvas, points, width, worm_value)
            rows.append({"frame": t, "worm": k + 1, "head_x": points[0, 0], "head_y": points[0, 1],
                         "tail_x": points[-1, 0], "tail_y": points[-1, 1], "centroid_x": points[:, 0].mean(),
                         "centroid_y": points[:, 1].mean(), "length_px": length})
        canvas = cv2.GaussianBlur(canvas, (0, 0), 0.8) + rng.normal(0, noise, canvas.shape)
        frames.append(np.clip(canvas, 0, 255).astype(np.uint8))
    return frames, pd.DataFrame(rows)
