"""Multi-channel training pairs and a channel recipe (``train nucleus|membrane --channels``, ``train compare``).

:func:`load_dataset` reads image/mask pairs like :func:`devocore.train.user_data.load_dataset`, but keeps
every channel of the images (C x Y x X, each channel normalised to 0..1 on its own; see
:func:`devocore.subimages.read_channels` for the layouts read). :class:`ChannelSource` is the ``data`` hook of
:func:`devocore.train.segmentation.train`: it applies the recipe (:mod:`devocore.channels`) to every training
sample with the training generator (random parts drawn per sample, seeded), and deterministically (as at
inference) to the validation images.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devocore import channels
from devocore.progress import ProgressFn
from devocore.train.pairs import PairError, match_pairs, not_an_image
from devocore.train.user_data import Dataset, PairSource, group_of, split, truth_foreground

log = logging.getLogger(__name__)


def load_dataset(images_dir, masks_dir, task: str = "nucleus", binary: bool = True, group_pattern: str | None = None,
                 recipe: channels.Recipe | str | None = None, progress: ProgressFn | None = None) -> Dataset:
    """Pairs with C x Y x X float32 images (channels normalised one by one) and 2-D masks.

    Raises:
        PairError on unmatched names, size mismatches, non-binary masks when ``binary``, or images with
        fewer channels than ``recipe`` uses.
    """
    from devocore import subimages

    pairs = match_pairs(images_dir, masks_dir)
    recipe = channels.parse(recipe) if isinstance(recipe, str) else recipe
    images, masks = [], []
    for k, pair in enumerate(pairs):
        image = channels.normalized(subimages.read_channels(pair.image))
        mask = subimages.read_channels(pair.mask)[0]
        if mask.shape != image.shape[1:]:
            raise PairError(f"Mask '{pair.mask.name}' is {mask.shape[1]} x {mask.shape[0]} pixels but its image "
                            f"'{pair.image.name}' is {image.shape[2]} x {image.shape[1]}; they must match.")
        if problem := not_an_image(image.mean(axis=0), mask, pair.image.name, pair.mask.name):
            raise PairError(problem)
        if recipe is not None and channels.needed(recipe) > image.shape[0]:
            raise PairError(f"The recipe '{channels.text(recipe)}' uses channel {channels.needed(recipe) - 1}, but "
                            f"'{pair.image.name}' has {image.shape[0]} channel(s), numbered 0 to {image.shape[0] - 1}.")
        if binary and len(np.unique(mask)) > 2:
            raise PairError(f"Mask '{pair.mask.name}' has more than two values, but binary masks were chosen; "
                            "choose instance labels (--instance-masks) if each cell has its own number.")
        images.append(image)
        masks.append((mask > 0).astype(np.uint8) if binary else mask.astype(np.uint16))
        if progress:
            progress((k + 1) / len(pairs), f"read {pair.image.name}")
    if all(m.max() == 0 for m in masks):
        raise PairError("Every mask is empty (no foreground pixel): there is nothing to learn.")
    names = [p.image.name for p in pairs]
    return Dataset(images, masks, names, [group_of(n, group_pattern) for n in names], task,
                   f"{len(pairs)} multi-channel image/mask pairs from {Path(images_dir).name}/ and "
                   f"{Path(masks_dir).name}/", binary)


def _resize_channels(image: np.ndarray, size: int) -> np.ndarray:
    """Each channel resized to size x size as the Predictor resizes (area when shrinking, else linear)."""
    import cv2

    if image.shape[1:] == (size, size):
        return image.astype(np.float32)
    interp = cv2.INTER_AREA if image.shape[1] * image.shape[2] > size * size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(plane, (size, size), interpolation=interp) for plane in image]).astype(np.float32)


def augment(rng: np.random.Generator, image: np.ndarray, tgt: np.ndarray, strength: float = 1.0):
    """Flips and quarter turns, sometimes an affine warp (all channels alike), and intensity changes per
    channel; ``image`` is C x Y x X."""
    from devocore.train.augment import affine, flip_rotate, intensity

    hwc, tgt = flip_rotate(rng, np.moveaxis(image, 0, -1), tgt)
    if rng.random() < 0.5 * strength:
        warped = [affine(np.random.default_rng(seed), hwc[..., c], tgt, strength)
                  for seed in [int(rng.integers(2 ** 31))] for c in range(hwc.shape[-1])]
        hwc, tgt = np.stack([w for w, _ in warped], axis=-1), warped[0][1]
    out = np.stack([intensity(rng, hwc[..., c], strength) for c in range(hwc.shape[-1])])
    return out, np.ascontiguousarray(tgt)


@dataclass
class ChannelSource(PairSource):
    """The ``data`` hook of :func:`devocore.train.segmentation.train` for multi-channel pairs and a recipe."""

    recipe: channels.Recipe = field(default=None, kw_only=True)

    def _prepare(self, image: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        tgt = cv2.resize(tgt, (self.size, self.size), interpolation=cv2.INTER_NEAREST)
        return _resize_channels(image, self.size), tgt.astype(np.float32)

    def batch(self, rng: np.random.Generator):
        """(x, t): batch_size x len(recipe) x crop x crop and batch_size x 1 x crop x crop tensors."""
        import torch

        xs, ts = [], []
        for _ in range(self.batch_size):
            image, tgt = self._train[int(rng.integers(len(self._train)))]
            y0, x0 = rng.integers(0, self.size - self.crop + 1, 2)
            x = channels.apply(image[:, y0:y0 + self.crop, x0:x0 + self.crop], self.recipe, rng)
            xc, tc = augment(rng, x, tgt[y0:y0 + self.crop, x0:x0 + self.crop], self.strength)
            xs.append(xc)
            ts.append(tc)
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ts)[:, None].astype(np.float32))

    def validation(self):
        """(val_x, val_t): the whole validation images, recipe applied as at inference."""
        import torch

        return (torch.from_numpy(np.stack([channels.apply(x, self.recipe) for x, _ in self._val])),
                torch.from_numpy(np.stack([t for _, t in self._val])[:, None]))

    def describe(self) -> str:
        return (f"{self.train_set.source or 'user pairs'}: {len(self.train_set)} for training, "
                f"{len(self.val_set)} for validation; channel recipe '{channels.text(self.recipe)}'; "
                f"{self.crop}px crops of images resized to {self.size}px, augmentation strength {self.strength:g}")

    def card_fields(self) -> dict:
        return {"validation_files": list(self.val_set.names), "training_files": len(self.train_set),
                "channels": channels.text(self.recipe)}

    def validation_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(Y x X x C image, truth foreground) at the original size, as inference reads a multi-channel file."""
        ds = self.val_set
        return [(np.moveaxis(image, 0, -1), truth_foreground(ds.task, mask, ds.binary))
                for image, mask in zip(ds.images, ds.masks)]


def prepare(dataset: Dataset, cfg, recipe: channels.Recipe | str, val_fraction: float = 0.2,
            seed: int = 0) -> ChannelSource:
    """Split ``dataset`` (by group, seeded) and wrap it with ``recipe`` for training with ``cfg``."""
    recipe = channels.parse(recipe) if isinstance(recipe, str) else recipe
    train_idx, val_idx = split(dataset.groups, val_fraction, seed)
    return ChannelSource(dataset.subset(train_idx), dataset.subset(val_idx), cfg.size, min(cfg.crop, cfg.size),
                         cfg.batch, cfg.aug_strength, recipe=recipe)
