"""Simulated microscope slices for segmentation, with exact labels: nuclei and cell membranes.

Quick procedural slices (:func:`nucleus_sample`, :func:`membrane_sample`), the same drawn larger and
shrunk (:func:`resampled`), and slices of the embryo simulator (:mod:`devocore.simulate.embryo`);
:func:`sample` picks among them. Training pre-trains on them, tests and examples use them.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi


def _embryo_shape(rng: np.random.Generator, size: int):
    """A soft-edged ellipse (the embryo) with random centre, axes and angle."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = size / 2 + rng.normal(0, size * 0.04, 2)
    ay, ax = size * rng.uniform(0.26, 0.40), size * rng.uniform(0.32, 0.46)
    theta = rng.uniform(0, math.pi)
    c, s = math.cos(theta), math.sin(theta)
    u = ((xx - cx) * c + (yy - cy) * s) / ax
    v = (-(xx - cx) * s + (yy - cy) * c) / ay
    r = np.sqrt(u * u + v * v)
    return r, (cy, cx, ay, ax, theta)



def _smooth_noise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random texture."""
    field = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return field / (field.std() + 1e-6)



def _camera(rng: np.random.Generator, signal: np.ndarray, background: float) -> np.ndarray:
    """Shot noise, read noise, hot-pixel speckle and 8-bit quantisation (0..255 in, uint8 out)."""
    gain = float(np.exp(rng.uniform(np.log(0.15), np.log(3.0))))  # photons per grey level
    image = rng.poisson(np.clip(signal + background, 0, None) * gain) / gain
    image = image + rng.normal(0, rng.uniform(0.5, 5.0), signal.shape)
    if rng.random() < 0.7:  # isolated bright pixels, as in the CTC confocal slices
        speckle = rng.random(signal.shape) < rng.uniform(0.0005, 0.012)
        image[speckle] += rng.uniform(20, 230, int(speckle.sum()))
    return np.clip(image, 0, 255).astype(np.uint8)



def nucleus_sample(rng: np.random.Generator, size: int = 256):
    """A confocal-like slice of histone-labelled nuclei and its instance labels.

    Nuclei are spheres at random depths: those the focal plane cuts near their
    middle are drawn sharp and labelled; those it only grazes or misses are drawn
    dim and blurred and left unlabelled, as in silver-truth annotations.

    Returns:
        (image Y x X uint8, labels Y x X uint16; 0 is background).

    Example:
        >>> img, lab = nucleus_sample(np.random.default_rng(0), 64)
        >>> img.dtype, lab.dtype, img.shape
        (dtype('uint8'), dtype('uint16'), (64, 64))
    """
    scale = size / 256
    r_embryo, (cy, cx, ay, ax, theta) = _embryo_shape(rng, size)
    inside = r_embryo < 1
    count = int(np.exp(rng.uniform(np.log(2), np.log(130))))
    radius = rng.uniform(6.0, 13.0) * (1.1 - 0.2 * math.log(count) / math.log(130)) * scale
    packing = rng.uniform(0.65, 0.95)  # late embryos pack nuclei tightly, touching in the slice
    brightness = rng.uniform(25, 190)
    aspect = rng.uniform(0.75, 1.25)  # the CTC slices are resized with distorted aspect
    sharp = np.zeros((size, size), np.float32)
    haze = np.zeros((size, size), np.float32)
    labels = np.zeros((size, size), np.uint16)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    placed: list[tuple[float, float, float]] = []
    next_id = 1
    for _ in range(count * 8):
        if len(placed) >= count:
            break
        # uniform inside the embryo ellipse
        rr, aa = math.sqrt(rng.random()) * 0.92, rng.uniform(0, 2 * math.pi)
        u, v = rr * math.cos(aa) * ax, rr * math.sin(aa) * ay
        x = cx + u * math.cos(theta) - v * math.sin(theta)
        y = cy + u * math.sin(theta) + v * math.cos(theta)
        r = radius * rng.uniform(0.8, 1.2)
        if any((x - px) ** 2 + (y - py) ** 2 < (packing * (r + pr)) ** 2 for px, py, pr in placed):
            continue
        placed.append((x, y, r))
        dz = abs(rng.uniform(-1.7, 1.7))  # focal-plane offset in radii
        ry, rx = r * math.sqrt(aspect), r / math.sqrt(aspect)
        phi = rng.uniform(0, math.pi)
        c, s = math.cos(phi), math.sin(phi)
        du, dv = (xx - x) * c + (yy - y) * s, -(xx - x) * s + (yy - y) * c
        d2 = (du / rx) ** 2 + (dv / ry) ** 2
        level = brightness * rng.uniform(0.55, 1.45)
        if dz < 0.8:
            cut = math.sqrt(1 - dz * dz)
            disk = d2 < cut * cut
            if disk.sum() < 6:
                continue
            # dome-shaped nuclei: the rim is dimmer than the core but still nucleus (as 3-D masks have it)
            profile = np.clip(1 - d2[disk] / (cut * cut), 0, 1) ** rng.uniform(0.0, 0.7)
            sharp[disk] = level * (1 - 0.45 * dz * dz) * (0.15 + 0.85 * profile)
            labels[disk] = next_id
            next_id += 1
        elif dz < 1.1:  # grazed: visible but dim and small, unlabelled
            haze += level * rng.uniform(0.2, 0.45) * np.exp(-d2 / 0.35)
        else:  # out of focus: a faint halo
            haze += level * rng.uniform(0.08, 0.25) * np.exp(-d2 / 0.8)
    texture = 1 + rng.uniform(0.1, 0.45) * _smooth_noise(rng, (size, size), rng.uniform(0.7, 2.0))
    signal = sharp * texture
    signal = ndi.gaussian_filter(signal, rng.uniform(0.4, 1.8) * scale + 0.2)
    signal += ndi.gaussian_filter(haze, rng.uniform(1.5, 4.0) * scale)
    glow = rng.uniform(0.0, 0.18) * brightness * np.clip(1.2 - r_embryo, 0, 1).clip(0, 1)
    glow *= 1 + 0.5 * _smooth_noise(rng, (size, size), rng.uniform(2, 8))
    signal += ndi.gaussian_filter(glow * inside + glow * (~inside) * 0.3, 2.0)
    image = _camera(rng, signal, rng.uniform(12, 32))
    return image, labels



def membrane_sample(rng: np.random.Generator, size: int = 256):
    """A confocal-like slice of membrane-labelled cells and its cell labels.

    Cells are a jittered Voronoi tiling of the embryo ellipse; membranes are the
    borders between cells and the embryo outline.

    Returns:
        (image Y x X uint8, cell labels Y x X uint16 with 0 outside the embryo
        and on membranes).
    """
    scale = size / 256
    r_embryo, (cy, cx, ay, ax, theta) = _embryo_shape(rng, size)
    r_embryo = r_embryo + 0.04 * _smooth_noise(rng, (size, size), 10 * scale)
    inside = r_embryo < 1
    count = int(np.exp(rng.uniform(np.log(2), np.log(70))))
    seeds = []
    for _ in range(count * 20):
        if len(seeds) >= count:
            break
        rr, aa = math.sqrt(rng.random()) * 0.9, rng.uniform(0, 2 * math.pi)
        u, v = rr * math.cos(aa) * ax, rr * math.sin(aa) * ay
        p = (cy + u * math.sin(theta) + v * math.cos(theta), cx + u * math.cos(theta) - v * math.sin(theta))
        spacing = 0.55 * math.sqrt(math.pi * ax * ay / count)
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 > spacing ** 2 for q in seeds):
            seeds.append(p)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    warp = 3 * scale * _smooth_noise(rng, (size, size), 12 * scale)
    dist = np.stack([np.hypot(yy - y, xx - x) * w + warp for (y, x), w in
                     zip(seeds, rng.uniform(0.85, 1.15, len(seeds)))])
    cells = (np.argmin(dist, axis=0) + 1).astype(np.uint16)
    cells[~inside] = 0
    edges = np.zeros_like(inside)
    edges[:-1] |= cells[:-1] != cells[1:]
    edges[:, :-1] |= cells[:, :-1] != cells[:, 1:]
    width = rng.uniform(0.6, 1.8) * scale
    membrane = ndi.distance_transform_edt(~edges) < max(width, 0.6)
    brightness = rng.uniform(40, 200)
    strength = rng.uniform(0.5, 1.3, int(cells.max()) + 1)[ndi.grey_dilation(cells, size=3)]
    signal = membrane * brightness * strength
    signal *= 1 + rng.uniform(0.1, 0.5) * _smooth_noise(rng, (size, size), rng.uniform(0.7, 2.5))
    cytoplasm = rng.uniform(0.03, 0.2) * brightness * inside
    cytoplasm *= 1 + 0.5 * _smooth_noise(rng, (size, size), rng.uniform(1, 5))
    signal = signal + cytoplasm
    if rng.random() < 0.5:  # a few bright vesicles inside cells
        spots = (rng.random((size, size)) < 0.0008) & inside & ~membrane
        signal += ndi.gaussian_filter(spots * brightness * 6.0, 1.2)
    signal = ndi.gaussian_filter(signal, rng.uniform(0.5, 1.6) * scale)
    image = _camera(rng, signal, rng.uniform(2, 25))
    labels = cells.copy()
    labels[membrane] = 0
    return image, labels



def _simulator():
    """The embryo simulator module when it is installed, else None."""
    try:
        from devocore.simulate import embryo
    except ImportError:
        return None
    return embryo if hasattr(embryo, "nucleus_slice") and hasattr(embryo, "membrane_image") else None


RESAMPLE_FACTORS = (1.0, 3.0)  # drawn log-uniformly: rendered this many times larger, then shrunk



def resampled(render, rng: np.random.Generator, size: int, factors=RESAMPLE_FACTORS):
    """``render(side)`` drawn at a random larger side, then shrunk to ``size`` (area averaging; labels nearest).

    Real slices are often resized from a larger camera frame (the CTC slices from 512 x 708 to 256 x 256):
    the shrink averages the camera's pixel noise and speckle, so nuclei stand out of a cleaner,
    smoother background than a frame recorded at ``size`` directly.

    Example:
        >>> from devocore.simulate.slices import nucleus_sample
        >>> img, lab = resampled(lambda side: nucleus_sample(np.random.default_rng(0), side),
        ...                      np.random.default_rng(1), 64)
        >>> img.shape, lab.shape, img.dtype, lab.dtype
        ((64, 64), (64, 64), dtype('uint8'), dtype('uint16'))
    """
    import cv2

    factor = float(np.exp(rng.uniform(np.log(factors[0]), np.log(factors[1]))))
    image, labels = render(int(round(size * factor)))
    if image.shape[0] == size:
        return image, labels
    return (cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA),
            cv2.resize(labels, (size, size), interpolation=cv2.INTER_NEAREST))



def sample(task: str, seed: int, size: int = 256, simulator_share: float = 0.0, resample_share: float = 0.0):
    """One simulated training pair ``(image uint8, labels uint16)`` for ``task``.

    With ``simulator_share`` > 0 and the embryo simulator installed, that share
    of samples comes from :mod:`devocore.simulate.embryo` instead. With
    ``resample_share`` > 0, that share of the nucleus slices is drawn larger and
    shrunk to ``size`` (:func:`resampled`).
    """
    if task == "nucleus" and resample_share > 0:
        pick = np.random.default_rng([seed, 7])  # its own stream: the other samples stay as they were
        if pick.random() < resample_share:
            return resampled(lambda side: sample(task, seed, side, simulator_share), pick, size)
    rng = np.random.default_rng(seed)
    sim = _simulator()
    if sim is not None and rng.random() < simulator_share:
        maker = sim.nucleus_slice if task == "nucleus" else sim.membrane_image
        image, labels = maker(int(rng.integers(2 ** 31)), size=size)
        from devocore import io

        image = io.to_uint8(io.to_gray(np.asarray(image)))
        labels = np.asarray(labels).astype(np.uint16)
        if task == "membrane":  # the simulator labels whole cells: carve their borders out
            labels = labels * (ndi.grey_erosion(labels, size=3) == ndi.grey_dilation(labels, size=3))
        return image, labels
    return (nucleus_sample if task == "nucleus" else membrane_sample)(rng, size)
