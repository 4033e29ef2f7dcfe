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


# ----------------------------------------------------------------------------- user data (Train view)

def affine(rng: np.random.Generator, image: np.ndarray, target: np.ndarray, strength: float = 1.0):
    """A random rotation (up to 30 degrees), scale (0.85..1.15), shear and shift, on both arrays alike.

    The target uses nearest-neighbour sampling, so labels stay labels.
    """
    import cv2

    h, w = image.shape[:2]
    angle = rng.uniform(-30, 30) * strength
    scale = float(np.exp(rng.uniform(-0.15, 0.15) * strength))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[0, 1] += rng.uniform(-0.1, 0.1) * strength
    matrix[:, 2] += rng.uniform(-0.05, 0.05, 2) * strength * np.array([w, h])
    flags = dict(borderMode=cv2.BORDER_REFLECT_101)
    warped = cv2.warpAffine(image.astype(np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR, **flags)
    warped_target = cv2.warpAffine(target, matrix, (w, h), flags=cv2.INTER_NEAREST, **flags)
    return warped, warped_target


def intensity(rng: np.random.Generator, image: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Brightness, contrast, gamma, blur, Gaussian and Poisson noise, and channel dropout (Y x X x C input).

    ``strength`` 0 leaves the image as it is; 1 is the default range.
    """
    out = np.clip(image.astype(np.float32), 0, 1)
    if strength <= 0:
        return out
    out = out ** float(np.exp(rng.uniform(-0.4, 0.4) * strength))
    out = (out - 0.5) * float(np.exp(rng.uniform(-0.3, 0.3) * strength)) + 0.5 + rng.uniform(-0.1, 0.1) * strength
    if rng.random() < 0.4 * strength:
        sigma = rng.uniform(0.3, 1.5) * strength
        out = ndi.gaussian_filter(out, (sigma, sigma, 0) if out.ndim == 3 else sigma)
    if rng.random() < 0.4 * strength:
        out = out + rng.normal(0, rng.uniform(0.005, 0.06) * strength, out.shape)
    if rng.random() < 0.3 * strength:  # photon-limited: fewer photons = more noise
        photons = float(np.exp(rng.uniform(np.log(20), np.log(300))))
        out = rng.poisson(np.clip(out, 0, 1) * photons) / photons
    if out.ndim == 3 and out.shape[2] > 1 and rng.random() < 0.3 * strength:
        out[..., int(rng.integers(out.shape[2]))] = 0
    return np.clip(out, 0, 1).astype(np.float32)


def augment_pair(rng: np.random.Generator, image: np.ndarray, target: np.ndarray, strength: float = 1.0):
    """Augmentation for the user's pairs: flips and quarter turns always; affine, elastic and
    intensity changes with probability and size scaled by ``strength`` (0..1).

    Example:
        >>> img = np.random.default_rng(1).random((32, 32)).astype(np.float32)
        >>> a, b = augment_pair(np.random.default_rng(0), img, (img > 0.5).astype(np.float32))
        >>> a.shape, sorted(np.unique(b).tolist())
        ((32, 32), [0.0, 1.0])
    """
    image, target = flip_rotate(rng, image, target)
    if rng.random() < 0.5 * strength:
        image, target = affine(rng, image, target, strength)
    if rng.random() < 0.25 * strength:
        image, target = elastic(rng, image, target, alpha=6.0 * strength)
    return intensity(rng, image, strength), np.ascontiguousarray(target)


def preview(image: np.ndarray, mask: np.ndarray, n: int = 8, strength: float = 1.0, seed: int = 0,
            columns: int = 4) -> np.ndarray:
    """A grid (uint8 RGB) of ``n`` augmented versions of one pair, the mask's outline drawn in red,
    so a user sees that image and mask move together.

    Example:
        >>> img = np.zeros((16, 16), np.float32); m = np.zeros((16, 16)); m[4:9, 4:9] = 1
        >>> preview(img, m, n=4, columns=2).shape
        (34, 34, 3)
    """
    rng = np.random.default_rng(seed)
    tiles = []
    for _ in range(n):
        a, b = augment_pair(rng, image.astype(np.float32), mask.astype(np.float32), strength)
        grey = (np.clip(a if a.ndim == 2 else a.mean(axis=2), 0, 1) * 255).astype(np.uint8)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        edge = (b > 0) & ~ndi.binary_erosion(b > 0)
        rgb[edge] = (255, 40, 40)
        tiles.append(rgb)
    rows = -(-n // columns)
    h, w = tiles[0].shape[:2]
    grid = np.full((rows * (h + 2) - 2, columns * (w + 2) - 2, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        grid[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = tile
    return grid
