"""Labelled image/mask pairs from the user's folders, checked before any training.

Pairs are matched by file name (``embryo_01.png`` with ``embryo_01.png``,
``embryo_01_mask.png``, Cellpose's ``embryo_01_cp_masks.png`` or ``embryo_01.tif``); everything that would make
training meaningless is reported at once, in one message. The user's files are
only ever read.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devocore import io
from devocore.errors import DevocoreError
from devocore.io.pixels import LOSSY_SUFFIXES, mask_values

log = logging.getLogger(__name__)

# ends of mask names: ``_mask``, ``_labels``, ..., and Cellpose's ``_cp_masks`` (its GUI saves masks so)
_MASK_SUFFIX = re.compile(r"([_\-. ](cp_masks|mask|masks|label|labels|seg|gt))$", re.IGNORECASE)


class PairError(DevocoreError):
    """The image and mask folders do not form usable training pairs."""


@dataclass(frozen=True)
class Pair:
    """One training example: an image file and its mask file."""

    key: str
    image: Path
    mask: Path


def _key(path: Path) -> str:
    return _MASK_SUFFIX.sub("", path.stem).lower()


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise PairError(f"'{folder}' is not a folder.")
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in io.IMAGE_SUFFIXES),
                  key=io.natural_key)


def match_pairs(images_dir: str | Path, masks_dir: str | Path) -> list[Pair]:
    """Match images to masks by name.

    Raises:
        PairError listing unmatched names (up to 10 of each) or an empty folder.

    Example:
        >>> _key(Path("emb_01_mask.png")), _key(Path("emb_01.tif")), _key(Path("emb_01_cp_masks.png"))
        ('emb_01', 'emb_01', 'emb_01')
    """
    images, masks = _images(Path(images_dir)), _images(Path(masks_dir))
    if not images:
        raise PairError(f"The image folder '{Path(images_dir).name}' has no PNG, JPEG or TIFF files.")
    if not masks:
        raise PairError(f"The mask folder '{Path(masks_dir).name}' has no PNG, JPEG or TIFF files.")
    by_key = {}
    for mask in masks:
        if _key(mask) in by_key:
            raise PairError(f"Two masks match the same image name: '{by_key[_key(mask)].name}' and '{mask.name}'.")
        by_key[_key(mask)] = mask
    pairs, lonely = [], []
    for image in images:
        mask = by_key.pop(_key(image), None)
        if mask is None:
            lonely.append(image.name)
        else:
            pairs.append(Pair(_key(image), image, mask))
    problems = []
    if lonely:
        problems.append(f"{len(lonely)} image(s) have no mask: {', '.join(lonely[:10])}")
    if by_key:
        names = sorted(m.name for m in by_key.values())
        problems.append(f"{len(names)} mask(s) have no image: {', '.join(names[:10])}")
    if problems:
        raise PairError("Images and masks are matched by file name (a mask may end in _mask, _label or Cellpose's _cp_masks). "
                        + "; ".join(problems) + ".")
    return pairs


@dataclass(frozen=True)
class PairReport:
    """What :func:`check_pairs` found: counts and sizes, for the page's data check."""

    n_pairs: int
    sizes: list[tuple[int, int]]
    foreground_fraction: float
    max_labels: int


def not_an_image(image: np.ndarray, mask: np.ndarray, image_name: str, mask_name: str) -> str | None:
    """Why the image of an image/mask pair is not a microscope image (a mask or label image), naming swapped
    folders when its mask looks like one; None when it is one. An image of one value passes: with an empty
    mask it is a fair example of background.

    Example:
        >>> labels = np.repeat(np.repeat(np.arange(16).reshape(4, 4), 16, 0), 16, 1).astype(np.uint16)
        >>> noisy = np.random.default_rng(0).poisson(20, (64, 64))
        >>> not_an_image(labels, noisy, "a.png", "b.png").endswith("are the image and mask folders swapped?")
        True
        >>> not_an_image(noisy, labels, "a.png", "b.png") is None
        True
    """
    grey = io.to_gray(image)
    if grey.min() == grey.max():
        return None
    problem = io.content_problem(grey, fluorescence=False)
    if problem is None:
        return None
    swapped = io.content_problem(mask, fluorescence=False) is None
    return (f"Image '{image_name}' is not a microscope image: {problem}."
            + (f" Its mask '{mask_name}' looks like one: are the image and mask folders swapped?" if swapped else ""))


def load_pair(pair: Pair, binary: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Image (2-D float32 in 0..1) and mask (uint8 0/1 when ``binary``, else uint16 labels) of one pair."""
    image = io.read_image(pair.image)
    mask = io.read_image(pair.mask)
    if image.is_stack or mask.is_stack:
        raise PairError(f"'{pair.image.name}' or its mask is a stack; training takes single 2-D images.")
    if problem := not_an_image(image.data, mask.data, pair.image.name, pair.mask.name):
        raise PairError(problem)
    pixels = io.normalize(io.to_gray(image.data))
    lossy = pair.mask.suffix.lower() in LOSSY_SUFFIXES
    if lossy and not binary:
        raise PairError(f"Mask '{pair.mask.name}' is a JPEG, which cannot keep each cell's own number (the "
                        "compression changes the values at every edge); save instance labels as PNG or TIFF.")
    labels = mask_values(mask.data, lossy)  # one number per colour in a colour label image
    if labels.shape != pixels.shape:
        raise PairError(f"Mask '{pair.mask.name}' is {labels.shape[1]} x {labels.shape[0]} pixels but its image "
                        f"'{pair.image.name}' is {pixels.shape[1]} x {pixels.shape[0]}; they must match.")
    if binary:
        values = np.unique(labels)
        if len(values) > 2:
            raise PairError(
                f"Mask '{pair.mask.name}' has {len(values)} different values, but a binary mask (background "
                "and foreground) was chosen. Choose 'instance labels' if each cell has its own number, or save "
                "the masks as black and white.")
        return pixels, (labels > 0).astype(np.uint8)
    return pixels, labels.astype(np.uint16)


def check_pairs(pairs: list[Pair], binary: bool = True) -> PairReport:
    """Load every pair once and report; raises :class:`PairError` on the first unusable one."""
    sizes, foreground, max_labels = [], [], 0
    for pair in pairs:
        image, mask = load_pair(pair, binary)
        sizes.append(image.shape)
        foreground.append(float((mask > 0).mean()))
        max_labels = max(max_labels, int(len(np.unique(mask)) - 1))
    if foreground and max(foreground) == 0:
        raise PairError("Every mask is empty (no foreground pixel): there is nothing to learn.")
    return PairReport(len(pairs), sizes, float(np.mean(foreground)), max_labels)
