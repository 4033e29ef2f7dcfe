"""Hyper-labelled simulated stacks: one embryo plane shown in four channels, with one set of masks.

The same nuclei and cells (:func:`devocore.simulate.embryo_render.plane_truth`) are drawn as

* channel 0, ``nuclear``: a histone-like nuclear label (bright nuclei, out-of-focus glow, haze);
* channel 1, ``membrane``: a membrane label (bright, beaded cell borders);
* channel 2, ``cytoplasm``: a cytoplasmic label (cells filled unevenly, nuclei left dark);
* channel 3, ``label-free``: a transmitted-light (DIC-like) picture: the relief of the optical path
  (yolk granules, nuclei of lower density, cell borders) seen as a directional gradient on a grey
  background, low contrast and no fluorescence at all.

Each channel has its own camera noise, blur and brightness, drawn per image from seeded ranges, so a model
that sees one channel must cope with the same spread as on real data. The masks (nuclei and cells, uint16
instance labels) are exact and shared by all channels, so recipes (:mod:`devocore.channels`) can be compared
against the very same truth.

Example:
    >>> image, nuclei, cells = render(seed=2, size=128)
    >>> image.shape, image.dtype.name, int(nuclei.max()) > 0, bool((cells[nuclei > 0] > 0).all())
    ((4, 128, 128), 'uint8', True, True)
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from devocore.simulate.embryo_render import plane_truth

log = logging.getLogger(__name__)

CHANNELS = ("nuclear", "membrane", "cytoplasm", "label-free")


def _smooth(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    field = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return field / max(float(field.std()), 1e-6)


def _camera(rng: np.random.Generator, signal: np.ndarray, blur: float, background: float, photons: float,
            read_noise: float) -> np.ndarray:
    """Blur, offset, shot and read noise; float32 in 0..1."""
    image = cv2.GaussianBlur(signal.astype(np.float32), (0, 0), blur) + background
    sd = np.sqrt(np.clip(image, 0, None) / photons + read_noise ** 2)
    return np.clip(image + sd * rng.standard_normal(image.shape).astype(np.float32), 0, 1)


def _borders(labels: np.ndarray, width: int) -> np.ndarray:
    padded = np.pad(labels, 1, mode="edge")
    edge = ((padded[1:-1, 1:-1] != padded[:-2, 1:-1]) | (padded[1:-1, 1:-1] != padded[2:, 1:-1])
            | (padded[1:-1, 1:-1] != padded[1:-1, :-2]) | (padded[1:-1, 1:-1] != padded[1:-1, 2:]))
    lines = edge.astype(np.float32)
    return cv2.dilate(lines, np.ones((width, width), np.uint8)) if width > 1 else lines


def render(seed: int, size: int = 256, n_cells: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One plane in the four channels of :data:`CHANNELS`.

    Args:
        seed: random seed (embryo stage, pose, plane, appearance, noise).
        size: side in pixels (the field is about 51 um wide whatever the size).
        n_cells: cells in the embryo (default 30 to 150, log-uniform).

    Returns:
        ``(image, nuclei, cells)``: 4 x H x W uint8 (channels first), H x W uint16 nucleus labels 1..K and
        H x W uint16 cell labels (the cell of nucleus k has id k).
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 51])
    n = n_cells or int(round(np.exp(rng.uniform(np.log(30), np.log(150)))))
    truth = plane_truth(int(rng.integers(2 ** 31)), size, n, pixel_um=0.2)
    k = size / 256.0
    shape = (size, size)
    inside = (truth.cells > 0).astype(np.float32)
    nuclei = truth.nuclei
    fg = (nuclei > 0).astype(np.float32)
    u = rng.uniform

    # 0: nuclear label
    texture = np.clip(1 + 0.3 * _smooth(rng, shape, 0.8 * k), 0.2, None)
    signal = u(0.4, 0.9) * truth.brightness[nuclei] * fg * texture
    signal += u(0.4, 0.9) * cv2.GaussianBlur(truth.glow, (0, 0), 2.0 * k)
    signal += u(0.0, 0.1) * inside
    nuclear = _camera(rng, signal, u(0.6, 1.6) * k, u(0.0, 0.08), float(np.exp(u(np.log(15), np.log(150)))),
                      u(0.005, 0.04))

    # 1: membrane label (borders between cells and with the outside)
    lines = _borders(truth.cells, max(1, int(round(0.3 / truth.pixel_um))))
    beads = np.clip(1 + 0.45 * _smooth(rng, shape, 1.5 * k), 0.2, None)
    signal = u(0.4, 0.9) * lines * beads + u(0.0, 0.1) * inside
    membrane = _camera(rng, signal, u(0.6, 1.6) * k, u(0.0, 0.08), float(np.exp(u(np.log(10), np.log(120)))),
                       u(0.005, 0.04))

    # 2: cytoplasmic label: each cell its own level, nuclei excluded (dim)
    level = rng.uniform(0.4, 1.0, int(truth.cells.max()) + 1).astype(np.float32)
    level[0] = 0
    grain = np.clip(1 + 0.25 * _smooth(rng, shape, 1.2 * k), 0.3, None)
    signal = u(0.35, 0.8) * level[truth.cells] * grain * (1 - 0.85 * fg)
    cytoplasm = _camera(rng, signal, u(0.6, 1.6) * k, u(0.0, 0.08), float(np.exp(u(np.log(15), np.log(150)))),
                        u(0.005, 0.04))

    # 3: label-free, DIC-like: the gradient of the optical path along a shear direction
    granules = np.clip(_smooth(rng, shape, 0.9 * k), -2.5, 2.5)
    path = 1.0 * truth.shell + 0.35 * inside * granules * (1 - fg) - u(0.4, 0.8) * cv2.GaussianBlur(fg, (0, 0), k)
    path += 0.3 * _borders(truth.cells, 1)
    path = cv2.GaussianBlur(path.astype(np.float32), (0, 0), u(0.8, 1.6) * k)
    angle = u(0, 2 * np.pi)
    gy, gx = np.gradient(path)
    relief = np.cos(angle) * gx + np.sin(angle) * gy
    signal = 0.5 + u(0.8, 1.6) * relief / k - 0.5 + u(0.35, 0.55) + u(-0.05, 0.05) * truth.shell
    label_free = np.clip(signal + u(0.01, 0.04) * rng.standard_normal(shape).astype(np.float32), 0, 1)

    image = np.stack([nuclear, membrane, cytoplasm, label_free])
    return np.round(image * 255).astype(np.uint8), nuclei.astype(np.uint16), truth.cells.astype(np.uint16)


def write_set(folder, n: int = 40, size: int = 256, seed: int = 0) -> dict:
    """Write ``n`` hyper-labelled planes: ``images/hyper_NNN.tif`` (4 x H x W, ImageJ axes CYX),
    ``masks/hyper_NNN.tif`` (nuclei) and ``cells/hyper_NNN.tif`` (cells), both uint16 instance labels.

    Returns:
        the folders written and the number of nuclei.
    """
    import tifffile

    folder = Path(folder)
    paths = {name: folder / name for name in ("images", "masks", "cells")}
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(n):
        image, nuclei, cells = render(seed * 100_003 + i, size)
        name = f"hyper_{i + 1:03d}.tif"
        tifffile.imwrite(paths["images"] / name, image, imagej=True, metadata={"axes": "CYX",
                                                                                "Labels": list(CHANNELS)})
        tifffile.imwrite(paths["masks"] / name, nuclei)
        tifffile.imwrite(paths["cells"] / name, cells)
        total += int(nuclei.max())
    return {"images": str(paths["images"]), "masks": str(paths["masks"]), "cells": str(paths["cells"]),
            "planes": n, "nuclei": total}
