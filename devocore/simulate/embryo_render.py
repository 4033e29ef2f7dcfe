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
from typing import Iterator

import cv2
import numpy as np

from devocore.errors import DevocoreError
from devocore.simulate.embryo_model import (MITOSIS_FRACTION, NUC_DIAM_4CELL_UM, NUC_SHRINK_PER_GEN, SHELL_UM,
                                             cell_radius, relax)

log = logging.getLogger(__name__)

KINDS = ("timelapse", "nuclei", "membrane")


@dataclass(frozen=True)
class Appearance:
    """How a simulated image looks.

    Attributes:
        pixel_um: micrometres per pixel of a 256-pixel image (the 50 um embryo spans
            50/pixel_um pixels there); other sizes scale it so the framing stays the same.
        blur_px: Gaussian blur sigma (optics), in pixels of a 256-pixel image (scaled like pixel_um).
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

    pixel_um: float = 0.26
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
    "timelapse": Appearance(pixel_um=0.27, blur_px=1.2, noise=0.015, photons=80.0, brightness=0.85,
                            brightness_spread=0.3, background=0.01, haze=0.01, speckle=0.001,
                            depth_falloff=0.025, red=0.6),
    "nuclei": Appearance(),
    "membrane": Appearance(pixel_um=0.25, blur_px=1.2, noise=0.02, photons=50.0, brightness=0.55,
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
        return Appearance(pixel_um=u(0.22, 0.34), blur_px=u(0.6, 2.0), noise=u(0.005, 0.04),
                          photons=logu(20, 300), brightness=u(0.3, 0.95), brightness_spread=u(0.1, 0.4),
                          background=u(0.0, 0.06), haze=u(0.0, 0.08), speckle=u(0.0, 0.01),
                          stretch_y=1.0, depth_falloff=u(0.0, 0.04), red=u(0.0, 0.9) * (u() < 0.7),
                          frame_interval_s=u(50.0, 100.0), bit_depth=8)
    if kind == "nuclei":
        return Appearance(pixel_um=u(0.17, 0.34), blur_px=u(0.5, 2.2), noise=u(0.005, 0.06),
                          photons=logu(8, 200), brightness=u(0.3, 0.9), brightness_spread=u(0.1, 0.45),
                          background=u(0.0, 0.15), haze=u(0.0, 0.12), speckle=logu(0.0005, 0.04),
                          stretch_y=u(1.0, 3.0) if u() < 0.6 else 1.0, depth_falloff=0.0,
                          bit_depth=16 if u() < 0.2 else 8)
    return Appearance(pixel_um=u(0.2, 0.34), blur_px=u(0.6, 2.0), noise=u(0.005, 0.05),
                      photons=logu(5, 200), brightness=u(0.3, 0.9), brightness_spread=u(0.05, 0.3),
                      background=u(0.0, 0.1), haze=u(0.0, 0.1), speckle=logu(0.0005, 0.02),
                      stretch_y=1.0, bit_depth=16 if u() < 0.2 else 8)


# ---------------------------------------------------------------- helpers


def _scaled(app: Appearance, side: int) -> Appearance:
    """``app`` with ``pixel_um`` and ``blur_px`` converted from their 256-pixel reference to ``side`` pixels."""
    k = max(int(side), 1) / 256.0
    return app.replace(pixel_um=app.pixel_um / k, blur_px=app.blur_px * k)


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in keys])


def _stretched_normal(rng: np.random.Generator, shape: tuple[int, int], stretch: float) -> np.ndarray:
    """Standard normal noise, stretched vertically (as in resampled, anisotropic stacks)."""
    h, w = shape
    rows = max(1, int(round(h / max(stretch, 1.0))))
    field = rng.standard_normal((rows, w), dtype=np.float32)
    if rows != h:
        field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
        field /= max(float(field.std()), 1e-6)
    return field


def _speckle(rng: np.random.Generator, shape: tuple[int, int], fraction: float, stretch: float) -> np.ndarray:
    """Sparse bright salt noise in [0, 1], stretched vertically like the rest of the noise."""
    h, w = shape
    rows = max(1, int(round(h / max(stretch, 1.0))))
    hits = (rng.random((rows, w), dtype=np.float32) < fraction) * rng.random((rows, w), dtype=np.float32)
    if rows != h:
        hits = cv2.resize(hits, (w, h), interpolation=cv2.INTER_NEAREST)
    return hits


def _camera(signal: np.ndarray, app: Appearance, rng: np.random.Generator, inside: np.ndarray | None = None
            ) -> np.ndarray:
    """Blur, background, shot and read noise, speckle; float image in [0, 1]."""
    img = signal
    if app.blur_px > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), app.blur_px)
    shape = img.shape
    img = img + app.background
    # shot (Poisson-like, grows with the signal) and read noise share one normal field
    sd = np.sqrt(np.clip(img, 0, None) * np.float32(1.0 / max(app.photons, 1e-3)) + np.float32(app.noise ** 2))
    img = img + sd * _stretched_normal(rng, shape, app.stretch_y)
    if app.speckle > 0:
        salt = _speckle(rng, shape, app.speckle, app.stretch_y)
        if inside is not None:  # out-of-focus light makes speckle denser inside the embryo
            salt = np.maximum(salt, _speckle(rng, shape, 3 * app.speckle, app.stretch_y) * inside)
        img = img + salt * (0.3 + app.brightness)
    return np.clip(img, 0.0, 1.0)


def _to_dtype(img: np.ndarray, bit_depth: int) -> np.ndarray:
    if bit_depth == 16:
        return np.round(img * 65535.0).astype(np.uint16)
    return np.round(img * 255.0).astype(np.uint8)


def _keep_largest_parts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each instance keeps only its largest 4-connected part; ids become 1..K in order.

    Returns the new uint16 labels and, for new ids 1..K, the original id each came from.
    """
    from skimage.measure import label as cc_label

    parts = cc_label(labels, background=0, connectivity=1)
    if parts.max() == 0:
        return np.zeros(labels.shape, dtype=np.uint16), np.zeros(0, dtype=np.int64)
    area = np.bincount(parts.ravel())
    owner = np.zeros(len(area), dtype=np.int64)
    owner[parts.ravel()] = labels.ravel()
    best: dict[int, int] = {}
    for part in range(1, len(area)):
        o = int(owner[part])
        if o and (o not in best or area[part] > area[best[o]]):
            best[o] = part
    lut = np.zeros(len(area), dtype=np.uint16)
    originals = sorted(best)
    for new_id, o in enumerate(originals, start=1):
        lut[best[o]] = new_id
    return lut[parts], np.array(originals, dtype=np.int64)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    field = rng.standard_normal(shape, dtype=np.float32)
    field = cv2.GaussianBlur(field, (0, 0), sigma)
    return field / max(float(field.std()), 1e-6)


# ------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Scene:
    """Nuclei of one moment: centres (um), nucleus and cell radii (um), brightness, mitosis flag."""

    xyz: np.ndarray
    nuc_r: np.ndarray
    cell_r: np.ndarray
    bright: np.ndarray
    mitotic: np.ndarray
    shell: np.ndarray


def _scene_from_history(history, t: int, rng: np.random.Generator) -> _Scene:
    fs = history.frame(t)
    gen = history.cells["generation"].to_numpy()[fs.ids].astype(float)
    per_cell = _rng(history.seed, 7).lognormal(0.0, 0.25, len(history.cells)).astype(np.float32)
    return _Scene(xyz=fs.xyz.astype(np.float64), nuc_r=fs.diameter / 2.0,
                  cell_r=cell_radius(gen, history.shell), bright=per_cell[fs.ids],
                  mitotic=fs.phase > 1.0 - MITOSIS_FRACTION, shell=np.array(history.shell))


def _random_scene(rng: np.random.Generator, n_cells: int | None = None) -> _Scene:
    """A quick embryo at a random stage: nuclei packed in the shell by the same mechanics."""
    n = int(n_cells) if n_cells else int(round(np.exp(rng.uniform(np.log(4), np.log(400)))))
    shell = np.array(SHELL_UM) * rng.uniform(0.9, 1.1)
    # generations spread over about one doubling, as in a real, asynchronous embryo
    gen = np.clip(2.0 + np.log2(n / 4.0) + rng.uniform(-0.6, 0.6, n), 1.0, None)
    cell_r = cell_radius(gen, tuple(shell))
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    xyz = u * rng.random((n, 1)) ** (1 / 3) * (shell - 0.8 * cell_r[:, None]).clip(0.5)
    xyz = relax(xyz, cell_r, shell, rng, iterations=12 if n > 1 else 1, jitter_um=0.0)
    nuc_r = 0.5 * NUC_DIAM_4CELL_UM * NUC_SHRINK_PER_GEN ** (gen - 2.0) * rng.lognormal(0, 0.08, n)
    return _Scene(xyz=xyz, nuc_r=nuc_r, cell_r=cell_r, bright=rng.lognormal(0.0, 0.25, n),
                  mitotic=rng.random(n) < 0.03, shell=shell)


def _pose(rng: np.random.Generator, scene: _Scene, shape: tuple[int, int], app: Appearance,
          spin: bool = True):
    """In-plane rotation, flip and centre offset (x, y pixels) of the embryo in an image."""
    angle = rng.uniform(0, 2 * np.pi) if spin else rng.normal(0, 0.08)
    flip = rng.random() < 0.5
    half_len = scene.shell[0] / app.pixel_um
    centre = np.array([shape[1] / 2.0, shape[0] / 2.0])
    slack = np.clip(centre - 0.8 * half_len, 0.0, None)
    offset = rng.uniform(-0.3, 0.3, 2) * slack + centre
    return angle, flip, offset


def _project(xy: np.ndarray, angle: float, flip: bool, offset: np.ndarray, pixel_um: float) -> np.ndarray:
    x, y = xy[:, 0], (-xy[:, 1] if flip else xy[:, 1])
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * x - s * y, s * x + c * y], axis=1) / pixel_um + offset


def _shell_mask(shape, semi_um, angle, flip, offset, pixel_um, scale=1.0) -> np.ndarray:
    """Filled ellipse of the eggshell cross-section (semi-axes in um) as float32 0/1."""
    mask = np.zeros(shape, np.uint8)
    if semi_um[0] > 0 and semi_um[1] > 0:
        axes = (max(1, int(round(semi_um[0] / pixel_um * scale))), max(1, int(round(semi_um[1] / pixel_um * scale))))
        cv2.ellipse(mask, (int(round(offset[0])), int(round(offset[1]))), axes, np.degrees(angle), 0, 360, 1, -1)
    return mask.astype(np.float32)


# ------------------------------------------------------------- time-lapse


def render_timelapse_frame(history, t: int, size: int | tuple[int, int] = 256,
                           appearance: Appearance | None = None, seed: int = 0) -> np.ndarray:
    """One time-lapse frame: max projection of the nuclei of frame ``t``.

    Green = histone-GFP nuclei (deeper nuclei dimmer, condensed chromosomes brighter),
    red = the simulated reporter plus its camera noise, blue = faint noise; blur, background,
    shot and read noise as in ``appearance`` (default: EPIC-like).

    Args:
        history: an :class:`~devocore.simulate.embryo.EmbryoHistory`.
        t: frame index (0-based).
        size: output side in pixels, or ``(height, width)``.
        appearance: how it looks; ``None`` = ``DEFAULTS["timelapse"]``.
        seed: noise seed (with the history's seed and ``t``).

    Returns:
        H x W x 3 uint8 RGB image.
    """
    h, w = (size, size) if np.isscalar(size) else (int(size[0]), int(size[1]))
    app = _scaled(appearance or DEFAULTS["timelapse"], max(h, w))
    rng = _rng(history.seed, seed, t, 11)
    scene = _scene_from_history(history, t, rng)
    fs = history.frame(t)
    centre = np.array([w / 2.0, h / 2.0])
    xy = scene.xyz[:, :2] / app.pixel_um + centre
    depth = scene.xyz[:, 2] + scene.shell[2]  # um below the top of the shell
    # histone-GFP accumulates: early embryos are dimmer than late ones
    maturity = 0.65 + 0.35 * min(1.0, len(fs.ids) / 200.0)
    value = (app.brightness * maturity * (1 + app.brightness_spread * (scene.bright - 1))
             * np.exp(-app.depth_falloff * depth))
    r_px = scene.nuc_r / app.pixel_um
    green = np.zeros((h, w), np.float32)
    red = np.zeros((h, w), np.float32)
    theta = _rng(history.seed, 13).uniform(0, 180, len(history.cells))[fs.ids]
    mitotic = scene.mitotic
    value = np.where(mitotic, np.minimum(1.0, 1.5 * value), value)
    # painting discs from dim to bright equals a max projection of flat discs (and is ~30x faster)
    fx = np.round(xy * 16).astype(int).tolist()  # fixed point, 4 fractional bits
    fr = np.round(r_px * 16).astype(int).tolist()
    values = value.tolist()
    for i in np.argsort(value, kind="stable").tolist():
        if mitotic[i]:  # condensed chromosomes: a small bright plate
            axes = (int(0.75 * fr[i]), int(0.34 * fr[i]))
            cv2.ellipse(green, fx[i], axes, float(theta[i]), 0, 360, values[i], -1, cv2.LINE_8, 4)
        else:  # a domed nucleus: dimmer rim, so touching nuclei stay apart after the blur
            cv2.circle(green, fx[i], fr[i], 0.72 * values[i], -1, cv2.LINE_8, 4)
            cv2.circle(green, fx[i], int(0.72 * fr[i]), values[i], -1, cv2.LINE_8, 4)
    if app.red > 0:
        red_value = app.red * fs.reporter * np.exp(-0.5 * app.depth_falloff * depth)
        for i in np.argsort(red_value, kind="stable").tolist():
            if red_value[i] > 0:
                cv2.circle(red, fx[i], fr[i], float(red_value[i]), -1, cv2.LINE_8, 4)
    inside = _shell_mask((h, w), scene.shell[:2], 0.0, False, centre, app.pixel_um, 0.95)
    green += app.haze * inside
    green = _camera(green, app, rng)
    red_app = app.replace(background=app.background * 0.5, photons=app.photons * 0.5)
    dark = np.abs(rng.standard_normal((h, w), dtype=np.float32))
    red = _camera(red, red_app, rng) if app.red > 0 else np.clip(app.noise * dark, 0, 1)
    blue = np.clip(0.3 * app.noise * dark[::-1] + 0.2 * app.noise * green, 0, 1)
    return np.round(np.stack([red, green, blue], axis=-1) * 255.0).astype(np.uint8)


def timelapse(history, size: int | tuple[int, int] = 256, appearance: Appearance | None = None,
              seed: int = 0) -> Iterator[np.ndarray]:
    """Yield :func:`render_timelapse_frame` for every frame of ``history``."""
    for t in range(history.n_frames):
        yield render_timelapse_frame(history, t, size=size, appearance=appearance, seed=seed)


# ------------------------------------------------------------- nucleus slices


def nucleus_slice(seed: int, size: int = 256, appearance: Appearance | None = None, history=None,
                  t: int | None = None, n_cells: int | None = None, z_um: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One noisy confocal slice through an embryo's nuclei, with instance masks.

    Nuclei cut by the plane become labelled discs (slightly elongated, granular texture);
    nuclei just above or below glow without a label, as out-of-focus light does; the
    cytoplasm adds haze and speckle inside the eggshell.

    Args:
        seed: random seed (stage, pose, plane, noise).
        size: output side in pixels.
        appearance: how it looks; ``None`` = drawn by :func:`sample_appearance` from ``seed``.
        history, t: take the nuclei of frame ``t`` of a simulated embryo instead of a random stage.
        n_cells: number of nuclei for a random stage (default: 4 to 400, log-uniform).
        z_um: height of the plane from the embryo's centre (default: random).

    Returns:
        ``(image, labels)``: H x W uint8 (or uint16 if ``appearance.bit_depth == 16``) and
        H x W uint16 instance ids 1..K, 0 = background; every id is one connected region.
    """
    rng = _rng(seed, 21)
    app = _scaled(appearance or sample_appearance(_rng(seed, 22), "nuclei"), size)
    if history is not None:
        scene = _scene_from_history(history, int(t or 0), rng)
    else:
        scene = _random_scene(rng, n_cells)
    z0 = float(z_um) if z_um is not None else rng.uniform(-0.75, 0.75) * scene.shell[2]
    # anisotropic stacks (like the resized CTC slices) are rendered squat, then stretched
    stretch = max(1.0, app.stretch_y)
    rows = max(8, int(round(size / stretch)))
    shape = (rows, size)
    angle, flip, offset = _pose(rng, scene, shape, app)
    xy = _project(scene.xyz[:, :2], angle, flip, offset, app.pixel_um)
    dz = scene.xyz[:, 2] - z0
    r_cut = np.sqrt(np.clip(scene.nuc_r ** 2 - dz ** 2, 0.0, None)) / app.pixel_um
    n = len(xy)
    elong = rng.uniform(1.0, 1.25, n)
    theta = rng.uniform(0, 180, n)
    bright = app.brightness * np.clip(1 + app.brightness_spread * (scene.bright - 1), 0.3, None)
    labels = np.zeros(shape, np.int32)
    glow = np.zeros(shape, np.float32)
    # far nuclei first so nearer ones win where cut discs overlap
    for i in np.argsort(-np.abs(dz)):
        cx, cy = float(xy[i, 0]), float(xy[i, 1])
        if not (-20 < cx < size + 20 and -20 < cy < rows + 20):
            continue
        # a thin cap of a nucleus holds little chromatin in the optical section: leave it to the glow
        if r_cut[i] >= 1.5 and r_cut[i] * app.pixel_um >= 0.35 * scene.nuc_r[i]:
            axes = (max(1, int(round(r_cut[i] * elong[i]))), max(1, int(round(r_cut[i] / elong[i]))))
            cv2.ellipse(labels, (int(round(cx)), int(round(cy))), axes, float(theta[i]), 0, 360, int(i + 1), -1)
        elif abs(dz[i]) < scene.nuc_r[i] + 3.0:  # just out of focus: a dim glow, no label
            r_glow = max(2.0, scene.nuc_r[i] / app.pixel_um)
            fade = 0.35 * np.exp(-max(0.0, abs(dz[i]) - scene.nuc_r[i]) / 1.5)
            cv2.circle(glow, (int(round(cx)), int(round(cy))), int(round(r_glow)), float(bright[i] * fade), -1)
    labels, source = _keep_largest_parts(labels)
    inst_bright = np.zeros(len(source) + 1, np.float32)
    # sections near a nucleus' pole are dimmer than through its middle
    cut_fraction = np.clip(r_cut * app.pixel_um / np.maximum(scene.nuc_r, 1e-6), 0.0, 1.0)
    inst_bright[1:] = bright[source - 1] * (0.55 + 0.45 * cut_fraction[source - 1])
    texture = 1.0 + 0.35 * _smooth_noise(rng, shape, 0.8)
    signal = inst_bright[labels] * np.clip(texture, 0.2, None)
    signal += cv2.GaussianBlur(glow, (0, 0), 2.0 + app.blur_px)
    semi = scene.shell[:2] * np.sqrt(max(0.0, 1 - (z0 / scene.shell[2]) ** 2))
    inside = _shell_mask(shape, semi, angle, flip, offset, app.pixel_um, 0.97)
    signal += app.haze * inside * np.clip(1 + 0.5 * _smooth_noise(rng, shape, 3.0), 0, None)
    image = _camera(signal.astype(np.float32), app.replace(stretch_y=1.0), rng, inside)
    if rows != size:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        labels = cv2.resize(labels, (size, size), interpolation=cv2.INTER_NEAREST)
    return _to_dtype(image, app.bit_depth), labels


# ------------------------------------------------------------- membranes


def _power_labels(scene: _Scene, z0: float, size: int, angle: float, flip: bool, offset: np.ndarray,
                  pixel_um: float) -> np.ndarray:
    """Power-diagram cell ids (index + 1) of the plane z = z0, 0 outside the eggshell."""
    keep = np.nonzero((scene.xyz[:, 2] - z0) ** 2 < 4.0 * scene.cell_r ** 2 + 4.0)[0]
    if len(keep) == 0:
        keep = np.array([int(np.argmin(np.abs(scene.xyz[:, 2] - z0)))])
    # pixel grid back into embryo um coordinates (inverse of _project)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    px, py = (xx - offset[0]) * pixel_um, (yy - offset[1]) * pixel_um
    c, s = np.cos(angle), np.sin(angle)
    ex, ey = c * px + s * py, -s * px + c * py
    if flip:
        ey = -ey
    centres = scene.xyz[keep].astype(np.float32)
    weight = (scene.cell_r[keep] ** 2 - (centres[:, 2] - z0) ** 2).astype(np.float32)
    best = np.full((size, size), np.inf, np.float32)
    owner = np.zeros((size, size), np.int32)
    for j in range(len(keep)):
        d = (ex - centres[j, 0]) ** 2 + (ey - centres[j, 1]) ** 2 - weight[j]
        better = d < best
        best[better] = d[better]
        owner[better] = keep[j] + 1
    semi = scene.shell * np.array([1, 1, 1])
    inside = (ex / semi[0]) ** 2 + (ey / semi[1]) ** 2 + (z0 / semi[2]) ** 2 <= 1.0
    owner[~inside] = 0
    return owner


def membrane_image(seed: int, size: int = 256, appearance: Appearance | None = None, history=None,
                   t: int | None = None, n_cells: int | None = None, z_um: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A membrane-marker slice: bright cell boundaries and eggshell, with cell instance masks.

    Cells are the power (Laguerre) diagram of the nuclei weighted by cell size, cut by the
    plane and clipped to the eggshell, so every cell is one convex, connected region.

    Args:
        seed: random seed.
        size: output side in pixels.
        appearance: ``None`` = drawn by :func:`sample_appearance` from ``seed``.
        history, t: cells of frame ``t`` of a simulated embryo instead of a random stage.
        n_cells: number of cells for a random stage (default 4 to 350, log-uniform).
        z_um: height of the plane from the embryo's centre (default: random, near the middle).

    Returns:
        ``(image, labels)``: H x W uint8 (or uint16) and H x W uint16 cell ids 1..K.
    """
    rng = _rng(seed, 31)
    app = _scaled(appearance or sample_appearance(_rng(seed, 32), "membrane"), size)
    if history is not None:
        scene = _scene_from_history(history, int(t or 0), rng)
    else:
        n = n_cells or int(round(np.exp(rng.uniform(np.log(4), np.log(350)))))
        scene = _random_scene(rng, n)
    z0 = float(z_um) if z_um is not None else rng.uniform(-0.5, 0.5) * scene.shell[2]
    angle, flip, offset = _pose(rng, scene, (size, size), app, spin=rng.random() < 0.5)
    owner = _power_labels(scene, z0, size, angle, flip, offset, app.pixel_um)
    labels, _ = _keep_largest_parts(owner)
    padded = np.pad(labels, 1, mode="edge")
    edge = ((padded[1:-1, 1:-1] != padded[:-2, 1:-1]) | (padded[1:-1, 1:-1] != padded[2:, 1:-1])
            | (padded[1:-1, 1:-1] != padded[1:-1, :-2]) | (padded[1:-1, 1:-1] != padded[1:-1, 2:]))
    lines = edge.astype(np.float32)
    width = max(1, int(round(0.35 / app.pixel_um)))
    if width > 1:
        lines = cv2.dilate(lines, np.ones((width, width), np.uint8))
    # membranes are beaded and uneven in brightness
    beads = np.clip(1.0 + 0.45 * _smooth_noise(rng, (size, size), 1.5), 0.2, None)
    signal = app.brightness * lines * beads
    inside = (labels > 0).astype(np.float32)
    signal += app.haze * inside * np.clip(1 + 0.5 * _smooth_noise(rng, (size, size), 2.0), 0, None)
    image = _camera(signal.astype(np.float32), app, rng, inside)
    return _to_dtype(image, app.bit_depth), labels


# ------------------------------------------------------------- one plane's truth, for multi-channel renderers


@dataclass(frozen=True)
class PlaneTruth:
    """The exact contents of one focal plane of a random embryo (for :mod:`devocore.simulate.hyperstack`).

    Attributes:
        nuclei: H x W uint16, nuclei cut by the plane, ids 1..K (one connected region each).
        cells: H x W uint16 cells (power diagram clipped to the eggshell); the cell holding nucleus k has id k,
            cells whose nucleus lies out of the plane get ids above K; 0 outside the embryo.
        glow: H x W float32, light of nuclei just out of focus (no label).
        shell: H x W float32 0/1, the eggshell's cross-section.
        brightness: (K + 1,) float32, relative label brightness of each nucleus (index 0 unused).
        pixel_um: micrometres per pixel.
    """

    nuclei: np.ndarray
    cells: np.ndarray
    glow: np.ndarray
    shell: np.ndarray
    brightness: np.ndarray
    pixel_um: float


def plane_truth(seed: int, size: int = 256, n_cells: int | None = None, z_um: float | None = None,
                pixel_um: float = 0.26) -> PlaneTruth:
    """Nuclei and cells of one plane through a random embryo (the geometry :func:`nucleus_slice` and
    :func:`membrane_image` draw, here shared so several channels show the very same cells).

    Example:
        >>> truth = plane_truth(seed=3, size=128, n_cells=20)
        >>> k = int(truth.nuclei.max()); k > 0 and bool((truth.cells[truth.nuclei == k] == k).mean() > 0.9)
        True
    """
    rng = _rng(seed, 41)
    pixel = pixel_um * 256.0 / max(int(size), 1)
    scene = _random_scene(rng, n_cells or int(round(np.exp(rng.uniform(np.log(4), np.log(200))))))
    z0 = float(z_um) if z_um is not None else rng.uniform(-0.5, 0.5) * scene.shell[2]
    app = Appearance(pixel_um=pixel)
    angle, flip, offset = _pose(rng, scene, (size, size), app)
    xy = _project(scene.xyz[:, :2], angle, flip, offset, pixel)
    dz = scene.xyz[:, 2] - z0
    r_cut = np.sqrt(np.clip(scene.nuc_r ** 2 - dz ** 2, 0.0, None)) / pixel
    labels = np.zeros((size, size), np.int32)
    glow = np.zeros((size, size), np.float32)
    for i in np.argsort(-np.abs(dz)):
        cx, cy = float(xy[i, 0]), float(xy[i, 1])
        if r_cut[i] >= 1.5 and r_cut[i] * pixel >= 0.35 * scene.nuc_r[i]:
            cv2.circle(labels, (int(round(cx)), int(round(cy))), int(round(r_cut[i])), int(i + 1), -1)
        elif abs(dz[i]) < scene.nuc_r[i] + 3.0:
            fade = 0.35 * np.exp(-max(0.0, abs(dz[i]) - scene.nuc_r[i]) / 1.5)
            cv2.circle(glow, (int(round(cx)), int(round(cy))), int(round(max(2.0, scene.nuc_r[i] / pixel))),
                       float(fade), -1)
    owner = _power_labels(scene, z0, size, angle, flip, offset, pixel)
    labels[owner != labels] *= (labels[owner != labels] == 0)  # a nucleus never crosses its cell's border
    nuclei, source = _keep_largest_parts(labels)
    lut = np.zeros(len(scene.xyz) + 1, np.int64)
    lut[source] = np.arange(1, len(source) + 1)
    others = np.setdiff1d(np.unique(owner), np.concatenate([[0], source]))
    lut[others] = np.arange(len(source) + 1, len(source) + 1 + len(others))
    cells, _ = _keep_largest_parts(lut[owner].astype(np.int32))  # keeps the order, so ids stay as set
    brightness = np.ones(len(source) + 1, np.float32)
    brightness[1:] = np.clip(scene.bright[source - 1], 0.4, 2.0)
    semi = scene.shell[:2] * np.sqrt(max(0.0, 1 - (z0 / scene.shell[2]) ** 2))
    shell = _shell_mask((size, size), semi, angle, flip, offset, pixel)
    return PlaneTruth(nuclei, cells, glow, shell, brightness, pixel)
