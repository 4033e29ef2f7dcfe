"""Training tiles cut from a large multi-channel micrograph: one per cell, plus cell-free negatives.

:func:`read_channels` reads a PNG or TIFF as C x Y x X (TIFF axes from ImageJ/OME metadata when the file has
them; otherwise a 3-D array with a short first axis is C x Y x X and one with a short last axis Y x X x C).
:func:`cut` centres one ``size`` x ``size`` tile (all channels) on every cell of a label image (shifted
inward at the image border), and draws cell-free negative tiles whose window holds no cell pixel at all.
:func:`write` saves them as ``images/`` (C x Y x X ImageJ TIFFs), ``masks/`` (uint16 instance labels, the
cells inside the tile renumbered from 1) and ``index.csv``.

Example:
    >>> labels = np.zeros((300, 300), np.uint16); labels[40:60, 40:60] = 1; labels[200:220, 150:170] = 2
    >>> tiles = cut(np.zeros((2, 300, 300), np.uint8), labels, size=64, negatives=0.5, seed=0)
    >>> [(t.cell, t.negative) for t in tiles]
    [(1, False), (2, False), (0, True)]
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from devocore.errors import DevocoreError, UnreadableFileError, UnsupportedFormatError

log = logging.getLogger(__name__)

INDEX_COLUMNS = ["file", "source", "y", "x", "centre_y", "centre_x", "cell_id", "negative"]
_SHORT = 8  # an axis this short or shorter is taken for channels when the file does not say


def read_channels(path) -> np.ndarray:
    """The pixels of a 2-D image with channels as C x Y x X (native dtype; C = 1 for grey).

    Raises:
        UnreadableFileError, UnsupportedFormatError (a stack with Z or T, or an unknown layout).
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(f"'{path}' is not a file.")
    if path.suffix.lower() in (".tif", ".tiff"):
        return _read_tiff(path)
    from devocore import io

    image = io.read_image(path)
    if image.is_stack:
        raise UnsupportedFormatError(f"'{path.name}' is a stack; tiles are cut from one 2-D image.")
    return image.data[None] if image.data.ndim == 2 else np.moveaxis(image.data, -1, 0)


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    from devocore.config import LIMITS
    from devocore.errors import TooLargeError
    from devocore.io.images import check_pixel_type

    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.series:
                raise UnreadableFileError(f"'{path.name}' is a TIFF with no images in it.")
            series = tif.series[0]
            axes = series.axes
            shape = tuple(series.shape)
            check_pixel_type(series.dtype, f"'{path.name}'")
            # from the headers, before decoding anything: refuse what would not fit
            plane = int(np.prod([n for n, a in zip(shape, axes) if a in "YX"], dtype=np.int64))
            total = int(np.prod(shape, dtype=np.int64))
            if plane > LIMITS.max_pixels or total > LIMITS.max_total_pixels \
                    or total * series.dtype.itemsize > LIMITS.max_decoded_mb * 2 ** 20:
                raise TooLargeError(f"'{path.name}' holds {total / 1e6:.0f} megapixels ({shape}); the limits are "
                                    f"{LIMITS.max_pixels / 1e6:.0f} megapixels per plane and "
                                    f"{LIMITS.max_decoded_mb} MB decoded.")
            array = series.asarray()
    except (UnreadableFileError, UnsupportedFormatError, TooLargeError):
        raise
    except Exception as exc:  # tifffile raises many kinds on damaged files
        raise UnreadableFileError(f"'{path.name}' is a TIFF that cannot be decoded ({type(exc).__name__}: "
                                  f"{exc}).") from exc
    keep = [i for i, (s, a) in enumerate(zip(array.shape, axes)) if s > 1 or a in "YX"]
    array = array.reshape([array.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    named = axes.replace("S", "C")
    if set(named) <= set("CYX") and "Y" in named and "X" in named and named.count("C") <= 1:
        if "C" not in named:
            return array[None]
        return np.transpose(array, [named.index(a) for a in "CYX"])
    if any(a in axes for a in "ZT") and not any(a in axes for a in "QI"):
        raise UnsupportedFormatError(f"'{path.name}' has axes {axes} (shape {array.shape}); tiles are cut from "
                                     "one 2-D image with channels, not a z-stack or time-lapse.")
    if array.ndim == 3 and array.shape[0] <= _SHORT:  # no metadata: a short first axis is channels
        return array
    if array.ndim == 3 and array.shape[-1] <= _SHORT:
        return np.moveaxis(array, -1, 0)
    raise UnsupportedFormatError(f"'{path.name}' has shape {array.shape} and axes {axes}; expected Y x X, "
                                 "C x Y x X or Y x X x C (at most 8 channels).")


def read_labels(path) -> np.ndarray:
    """Instance labels (Y x X int32) from a mask file: labels kept as they are (grey numbers, or one colour
    per cell), a binary mask (or any JPEG, which holds only black and white) split into its connected
    components."""
    from scipy import ndimage as ndi

    from devocore.io.pixels import LOSSY_SUFFIXES, mask_values

    channels = read_channels(path)
    mask = mask_values(np.moveaxis(channels, 0, -1) if len(channels) > 1 else channels[0],
                       lossy=Path(path).suffix.lower() in LOSSY_SUFFIXES)
    values = np.unique(mask)
    if len(values) <= 2:  # black and white: every connected region is a cell
        labels, _ = ndi.label(mask > 0)
        return labels.astype(np.int32)
    return mask.astype(np.int32)


@dataclass
class Tile:
    """One tile: top-left ``(y, x)``, the cell it is centred on (0 for a negative) and its pixels."""

    y: int
    x: int
    cell: int
    negative: bool
    centre: tuple[float, float]
    image: np.ndarray  # C x size x size
    mask: np.ndarray  # size x size uint16, cells renumbered from 1


def _renumber(labels: np.ndarray) -> np.ndarray:
    from skimage.segmentation import relabel_sequential

    return relabel_sequential(labels.astype(np.int32))[0].astype(np.uint16)


def cut(image: np.ndarray, labels: np.ndarray, size: int = 128, negatives: float = 0.3, seed: int = 0,
        tries: int = 200) -> list[Tile]:
    """One tile centred on every cell of ``labels``, then ``round(negatives x cells)`` cell-free tiles.

    Args:
        image: C x Y x X.
        labels: Y x X instance labels (0 = background).
        size: tile side in pixels.
        negatives: number of negative tiles as a share of the number of cell tiles (0.3: 3 per 10 cells).
        seed: seeds the positions of the negatives.
        tries: random positions tried per negative before giving up (fewer are written, with a warning).

    Raises:
        DevocoreError when the image is smaller than a tile or does not match the labels.
    """
    from scipy import ndimage as ndi

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[1:] != labels.shape:
        raise DevocoreError(f"The mask is {labels.shape[1]} x {labels.shape[0]} pixels but the image is "
                            f"{image.shape[-1]} x {image.shape[-2]}; they must match.")
    h, w = labels.shape
    if size < 8 or size > min(h, w):
        raise DevocoreError(f"--size {size} must be at least 8 and at most the image's shorter side ({min(h, w)} px).")
    if negatives < 0:
        raise DevocoreError("--negatives is a share (0.3: 3 negative tiles per 10 cell tiles); it cannot be negative.")
    tiles = []
    ids = [int(i) for i in np.unique(labels) if i]
    centres = ndi.center_of_mass(np.ones_like(labels), labels, ids) if ids else []
    for cell, (cy, cx) in zip(ids, centres):
        y = int(np.clip(round(cy - size / 2), 0, h - size))
        x = int(np.clip(round(cx - size / 2), 0, w - size))
        tiles.append(Tile(y, x, cell, False, (float(cy), float(cx)), image[:, y:y + size, x:x + size].copy(),
                          _renumber(labels[y:y + size, x:x + size])))
    wanted = int(round(negatives * len(ids)))
    if wanted:
        # summed-area table of cell pixels: a window is free when its sum is 0
        occupied = np.pad((labels > 0).astype(np.int64), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        rng = np.random.default_rng(seed)
        taken = np.zeros((h, w), bool)
        for _ in range(wanted):
            for _ in range(tries):
                y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
                cells = occupied[y + size, x + size] - occupied[y, x + size] - occupied[y + size, x] + occupied[y, x]
                if cells == 0 and not taken[y:y + size, x:x + size].any():
                    taken[y:y + size, x:x + size] = True
                    tiles.append(Tile(y, x, 0, True, (y + size / 2, x + size / 2),
                                      image[:, y:y + size, x:x + size].copy(), np.zeros((size, size), np.uint16)))
                    break
            else:
                log.warning("only %d of %d cell-free tiles found: the image has little empty space",
                            sum(t.negative for t in tiles), wanted)
                break
    return tiles


def write(tiles: list[Tile], out, source: str = "image") -> pd.DataFrame:
    """Save tiles as ``out/images/<source>_cellNNNN.tif`` (C x Y x X, ImageJ axes CYX) and
    ``out/masks/<same name>`` (uint16), negatives as ``..._negNNNN.tif``; returns and writes ``out/index.csv``."""
    import tifffile

    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    rows, n_neg = [], 0
    stem = Path(source).stem
    for tile in tiles:
        if tile.negative:
            n_neg += 1
            name = f"{stem}_neg{n_neg:04d}.tif"
        else:
            name = f"{stem}_cell{tile.cell:04d}.tif"
        tifffile.imwrite(out / "images" / name, tile.image, imagej=True, metadata={"axes": "CYX"})
        tifffile.imwrite(out / "masks" / name, tile.mask)
        rows.append({"file": name, "source": Path(source).name, "y": tile.y, "x": tile.x,
                     "centre_y": round(tile.centre[0], 1), "centre_x": round(tile.centre[1], 1),
                     "cell_id": tile.cell, "negative": tile.negative})
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    index.to_csv(out / "index.csv", index=False)
    return index


def cells_from_model(image: np.ndarray, model: str = "nucleus", channel: int = 0) -> np.ndarray:
    """Instance labels found by a shipped (or user) segmentation model on one channel of a C x Y x X image."""
    from devocore import segmentation

    if channel >= image.shape[0]:
        raise DevocoreError(f"--model-channel {channel} does not exist: the image has {image.shape[0]} channel(s), "
                            f"numbered 0 to {image.shape[0] - 1}.")
    net = segmentation.load(model, "cpu")
    return segmentation.segment(image[channel], net).labels.astype(np.int32)
