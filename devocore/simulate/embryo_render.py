"""Renderers for the simulated embryo, each with exact truth.

* :func:`render_timelapse_frame` / :func:`timelapse`: max projections of histone-GFP nuclei
  (green) with an optional reporter (red), like the EPIC movies;
* :func:`nucleus_slice`: one noisy confocal slice of nuclei with 16-bit instance masks,
  like the Cell Tracking Challenge Fluo-N3DH-CE slices;
* :func:`membrane_image`: a membrane-marker slice (cell boundaries from a power diagram of
  the nuclei, clipped to the eggshell) with 16-bit cell instance masks.

Appearance (pixel size, noise, blur, brightness, background) comes from an
:class:`Appearance`; :func:`sample_appearance` draws one over realistic ranges for training.

Example:
    >>> image, labels = nucleus_slice(seed=1, size=128)
    >>> image.shape, labels.dtype.name, int(labels.max()) > 0
    ((128, 128), 'uint16', True)
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from devocore.errors import DevocoreError

log = logging.getLogger(__name__)

KINDS = ("timelapse", "nuclei", "membrane")


@dataclass(frozen=True)
class Appearance:
    """How a simulated image looks.

    Attributes:
        pixel_um: micrometres per output pixel (the 50 um embryo spans 50/pixel_um pixels).
        blur_px: Gaussian blur sigma (optics), in output pixels.
        noise: read-noise standard deviation, as a fraction of full scale.
        photons: expected photons at full brightness (lower = grainier shot noise).
        brightness: nucleus (or membrane) brightness, fraction of full scale.
        brightness_spread: relative spread of brightness between nuclei.
        background: offset of the camera, fraction of full scale.
        haze: diffuse in-embryo signal (cytoplasm, out-of-focus light), fraction of full scale.
        speckle: fraction of pixels hit by bright salt noise.
        stretch_y: vertical stretch of the noise (anisotropic resampling), 1 = none.
        depth_falloff: relative dimming per um of depth (time-lapse only).
        red: reporter (red channel) intensity, 0 for none (time-lapse only).
        frame_interval_s: seconds between time-lapse frames.
        bit_depth: 8 or 16 (nucleus slices and membranes).
    """

    pixel_um: float = 0.22
    blur_px: float = 1.0
    noise: float = 0.02
    photons: float = 60.0
    brightness: float = 0.6
    brightness_spread: float = 0.25
    background: float = 0.05
    haze: float = 0.05
    speckle: float = 0.01
    stretch_y: float = 1.0
    depth_falloff: float = 0.02
    red: float = 0.0
    frame_interval_s: float = 75.0
    bit_depth: int = 8

    def replace(self, **changes) -> "Appearance":
        return dataclasses.replace(self, **changes)


DEFAULTS = {
    "timelapse": Appearance(pixel_um=0.25, blur_px=1.2, noise=0.015, photons=80.0, brightness=0.55,
                            brightness_spread=0.3, background=0.01, haze=0.03, speckle=0.002,
                            depth_falloff=0.025, red=0.6),
    "nuclei": Appearance(),
    "membrane": Appearance(pixel_um=0.18, blur_px=1.2, noise=0.02, photons=50.0, brightness=0.55,
                           background=0.02, haze=0.04, speckle=0.003),
}


def sample_appearance(rng: np.random.Generator | int | None, kind: str = "nuclei") -> Appearance:
    """Draw an :class:`Appearance` for ``kind`` (``timelapse``, ``nuclei``, ``membrane``).

    Ranges are wide on purpose (they cover the CTC, EPIC and CShaper images and more),
    so that models trained on samples meet real images inside their training range.
    """
    if kind not in KINDS:
        raise DevocoreError(f"Unknown appearance kind {kind!r}. Available options are: {list(KINDS)}")
    rng = np.random.default_rng(rng)
    u = rng.uniform

    def logu(lo, hi):
        return float(np.exp(u(np.log(lo), np.log(hi))))

    if kind == "timelapse":
        return Appearance(pixel_um=u(0.17, 0.3), blur_px=u(0.6, 2.0), noise=u(0.005, 0.04),
                          photons=logu(20, 300), brightness=u(0.3, 0.95), brightness_spread=u(0.1, 0.4),
                          background=u(0.0, 0.06), haze=u(0.0, 0.08), speckle=u(0.0, 0.01),
                          stretch_y=1.0, depth_falloff=u(0.0, 0.04), red=u(0.0, 0.9) * (u() < 0.7),
                          frame_interval_s=u(50.0, 100.0), bit_depth=8)
    if kind == "nuclei":
        return Appearance(pixel_um=u(0.17, 0.32), blur_px=u(0.5, 2.2), noise=u(0.005, 0.06),
                          photons=logu(4, 200), brightness=u(0.2, 0.9), brightness_spread=u(0.1, 0.45),
                          background=u(0.0, 0.15), haze=u(0.0, 0.12), speckle=logu(0.0005, 0.04),
                          stretch_y=u(1.0, 3.0) if u() < 0.6 else 1.0, depth_falloff=0.0,
                          bit_depth=16 if u() < 0.2 else 8)
    return Appearance(pixel_um=u(0.12, 0.3), blur_px=u(0.6, 2.0), noise=u(0.005, 0.05),
                      photons=logu(5, 200), brightness=u(0.3, 0.9), brightness_spread=u(0.05, 0.3),
                      background=u(0.0, 0.1), haze=u(0.0, 0.1), speckle=logu(0.0005, 0.02),
                      stretch_y=1.0, bit_depth=16 if u() < 0.2 else 8)


def render_timelapse_frame(history, t: int, size: int = 256, appearance: Appearance | None = None,
                           seed: int = 0) -> np.ndarray:
    raise NotImplementedError


def timelapse(history, size: int = 256, appearance: Appearance | None = None, seed: int = 0) -> Iterator[np.ndarray]:
    raise NotImplementedError


def nucleus_slice(seed: int, size: int = 256, appearance: Appearance | None = None):
    raise NotImplementedError


def membrane_image(seed: int, size: int = 256, appearance: Appearance | None = None):
    raise NotImplementedError


def write_examples(out_dir: Path) -> list[Path]:
    raise NotImplementedError
