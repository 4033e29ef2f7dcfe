"""Augmentation of (image, target) pairs for segmentation training.

Geometric changes (flips, quarter turns, elastic warps) move image and target
together; photometric ones (gamma, contrast, blur, noise) touch the image only.
Images are float32 in 0..1, targets float32 or integer masks of the same Y x X.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def flip_rotate(rng: np.random.Generator, image: np.ndarray, target: np.ndarray):
    """A random flip and quarter turn applied to both arrays.

    Example:
        >>> img = np.arange(4.0).reshape(2, 2)
        >>> a, b = flip_rotate(np.random.default_rng(0), img, img.copy())
        >>> bool((a == b).all())
        True
    """
    k = int(rng.integers(4))
    image, target = np.rot90(image, k), np.rot90(target, k)
    if rng.random() < 0.5:
        image, target = image[:, ::-1], target[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(target)


def elastic(rng: np.random.Generator, image: np.ndarray, target: np.ndarray, alpha: float = 6.0,
            sigma: float = 12.0):
    """A smooth random warp (displacements up to about ``alpha`` pixels).

    The target is warped with nearest-neighbour sampling so labels stay labels.
    """
    shape = image.shape
    dy = ndi.gaussian_filter(rng.standard_normal(shape), sigma) * alpha * sigma
    dx = ndi.gaussian_filter(rng.standard_normal(shape), sigma) * alpha * sigma
    yy, xx = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    coords = np.stack([yy + dy, xx + dx])
    warped = ndi.map_coordinates(image, coords, order=1, mode="reflect").astype(np.float32)
    warped_target = ndi.map_coordinates(target, coords, order=0, mode="reflect")
    return warped, warped_target


def photometric(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Random gamma, contrast, blur and noise on a 0..1 image (returns 0..1 float32)."""
    out = np.clip(image, 0, 1) ** float(np.exp(rng.uniform(-0.35, 0.35)))
    out = out * rng.uniform(0.8, 1.2) + rng.uniform(-0.05, 0.05)
    if rng.random() < 0.3:
        out = ndi.gaussian_filter(out, rng.uniform(0.3, 1.2))
    if rng.random() < 0.5:
        out = out + rng.normal(0, rng.uniform(0.005, 0.05), out.shape)
    return np.clip(out, 0, 1).astype(np.float32)


def augment(rng: np.random.Generator, image: np.ndarray, target: np.ndarray, p_elastic: float = 0.3):
    """All of the above: flip/rotate, sometimes elastic, then photometric."""
    image, target = flip_rotate(rng, image, target)
    if rng.random() < p_elastic:
        image, target = elastic(rng, image, target)
    return photometric(rng, image), target
