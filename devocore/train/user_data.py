"""Training data from the user's own image/mask pairs, split by file (or by embryo), never by pixel.

:func:`load_dataset` reads checked pairs (:mod:`devocore.train.pairs`) into
memory, resized to the model's input size exactly as
:class:`devocore.segmentation.Predictor` resizes at inference.
:func:`split` puts whole files (or whole groups of files: one embryo, one
video) on one side of the train/validation split, seeded.
:class:`PairSource` is the ``data`` hook of
:func:`devocore.train.segmentation.train`: augmented random crops for training,
whole validation images for validation.

:func:`example_dataset` writes a small labelled dataset from the simulator,
rendered with a *different* microscope (:func:`restyle`: heavy blur, Gaussian
read noise instead of photon noise, a background gradient) so that fine-tuning
visibly helps.

The user's files are only ever read.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from devocore.errors import DevocoreError
from devocore.progress import ProgressFn
from devocore.train.pairs import PairError, check_pairs, load_pair, match_pairs

log = logging.getLogger(__name__)


@dataclass
class Dataset:
    """The user's pairs in memory.

    Attributes:
        images: 2-D float32 images in 0..1, at their own size.
        masks: 2-D masks (uint8 0/1 when binary, else uint16 labels), same sizes.
        names: file names of the images.
        groups: the embryo/video each file belongs to (its own name when none is given).
        task: "nucleus" or "membrane".
        source: where the files came from (for the model card).
    """

    images: list[np.ndarray]
    masks: list[np.ndarray]
    names: list[str]
    groups: list[str]
    task: str
    source: str = ""
    binary: bool = True

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> "Dataset":
        index = list(index)
        return Dataset([self.images[i] for i in index], [self.masks[i] for i in index],
                       [self.names[i] for i in index], [self.groups[i] for i in index], self.task, self.source,
                       self.binary)


def group_of(name: str, pattern: str | None) -> str:
    """The group (embryo, video) of a file: the first bracket of ``pattern`` matched on its name.

    Example:
        >>> group_of("emb03_t012.png", r"^(emb\\d+)"), group_of("x.png", None)
        ('emb03', 'x.png')
    """
    if not pattern:
        return name
    found = re.search(pattern, name)
    if not found:
        return name
    return found.group(1) if found.groups() else found.group(0)


def load_dataset(images_dir, masks_dir, task: str = "nucleus", binary: bool = True,
                 group_pattern: str | None = None, progress: ProgressFn | None = None) -> Dataset:
    """Match, check and read the pairs of two folders.

    Raises:
        PairError with every mismatch named (see :func:`devocore.train.pairs.match_pairs`).
    """
    from devocore.train.segmentation import TASKS

    if task not in TASKS:
        raise DevocoreError(f"Unknown segmentation task '{task}'. Available options are: {list(TASKS)}")
    if group_pattern:
        try:
            re.compile(group_pattern)
        except re.error as exc:
            raise DevocoreError(f"The grouping pattern '{group_pattern}' is not a valid regular expression "
                                f"({exc}).") from exc
    pairs = match_pairs(images_dir, masks_dir)
    check_pairs(pairs, binary)
    images, masks = [], []
    for k, pair in enumerate(pairs):
        image, mask = load_pair(pair, binary)
        images.append(image)
        masks.append(mask)
        if progress:
            progress((k + 1) / len(pairs), f"read {pair.image.name}")
    names = [p.image.name for p in pairs]
    return Dataset(images, masks, names, [group_of(n, group_pattern) for n in names], task,
                   f"{len(pairs)} image/mask pairs from {Path(images_dir).name}/ and {Path(masks_dir).name}/",
                   binary)


def split(groups: list[str], val_fraction: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices (train, validation): whole groups go to one side, seeded; at least one on each side.

    Example:
        >>> groups = ["a", "a", "b", "b", "c"]
        >>> tr, va = split(groups, 0.34, seed=0)
        >>> sorted(tr + va), {groups[i] for i in tr} & {groups[i] for i in va}
        ([0, 1, 2, 3, 4], set())
    """
    names = sorted(set(groups))
    if len(names) < 2:
        raise PairError(f"Training needs at least 2 {'images' if len(groups) == len(names) else 'groups'} "
                        "(one to learn from, one to check on); found "
                        f"{len(names)}.")
    order = np.random.default_rng(seed).permutation(len(names))
    n_val = min(len(names) - 1, max(1, int(round(val_fraction * len(names)))))
    val_groups = {names[i] for i in order[:n_val]}
    train = [i for i, g in enumerate(groups) if g not in val_groups]
    val = [i for i, g in enumerate(groups) if g in val_groups]
    return train, val


def target(task: str, mask: np.ndarray, binary: bool) -> np.ndarray:
    """What the network learns (float32 0/1): nuclei, or membranes.

    For membranes a binary mask is taken as the membranes themselves; an
    instance-label mask as cells, whose borders (and background) are the target.

    Example:
        >>> lab = np.zeros((6, 6), np.uint16); lab[:, :3] = 1; lab[:, 3:] = 2
        >>> int(target("membrane", lab, binary=False).sum())
        12
    """
    if task == "nucleus":
        return (mask > 0).astype(np.float32)
    if binary:
        return (mask > 0).astype(np.float32)
    border = ndi.grey_erosion(mask, size=3) != ndi.grey_dilation(mask, size=3)
    return ((mask == 0) | border).astype(np.float32)


def truth_foreground(task: str, mask: np.ndarray, binary: bool) -> np.ndarray:
    """The foreground a segmentation is scored against: nuclei, or cells (grown over half the membrane)."""
    from skimage.segmentation import expand_labels

    from devocore import segmentation

    if task == "nucleus":
        return mask > 0
    if binary:
        return segmentation.enclosed_regions(mask > 0) > 0
    return expand_labels(mask.astype(np.int32), 2) > 0


def _resize_pair(image: np.ndarray, tgt: np.ndarray, size: int,
                 keep_aspect: bool = False) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    from devocore.segmentation import input_shape, resize

    height, width = input_shape(image.shape, size, keep_aspect)
    small = resize(image.astype(np.float32), (height, width))
    tsmall = cv2.resize(tgt, (width, height), interpolation=cv2.INTER_NEAREST)
    return small.astype(np.float32), tsmall.astype(np.float32)


@dataclass
class PairSource:
    """The ``data`` hook of :func:`devocore.train.segmentation.train` over a :class:`Dataset` split.

    Every image is resized to ``size`` x ``size`` (as the Predictor does at
    inference), or with ``keep_aspect`` to its short side at ``size`` and its long side in proportion
    (:func:`devocore.segmentation.input_shape`); training draws random ``crop`` x ``crop`` patches, augmented
    with :func:`devocore.train.augment.augment_pair` at ``strength``.
    """

    train_set: Dataset
    val_set: Dataset
    size: int = 256
    crop: int = 128
    batch_size: int = 8
    strength: float = 1.0
    keep_aspect: bool = False
    _train: list = field(default_factory=list, repr=False)
    _val: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.size % 32 or self.crop % 32 or self.crop > self.size:
            raise DevocoreError("The image size and crop must be multiples of 32, with the crop at most the size.")
        for ds, out in ((self.train_set, self._train), (self.val_set, self._val)):
            for image, mask in zip(ds.images, ds.masks):
                out.append(self._prepare(image, target(ds.task, mask, ds.binary)))

    def _prepare(self, image: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One (image, target) pair at the size the network will see it."""
        return _resize_pair(image, tgt, self.size, self.keep_aspect)

    def batch(self, rng: np.random.Generator):
        """(x, t): batch_size x 1 x crop x crop float32 tensors."""
        import torch

        from devocore.train.augment import augment_pair

        xs, ts = [], []
        for _ in range(self.batch_size):
            image, tgt = self._train[int(rng.integers(len(self._train)))]
            y0, x0 = (rng.integers(0, side - self.crop + 1) for side in image.shape[:2])
            xc, tc = augment_pair(rng, image[y0:y0 + self.crop, x0:x0 + self.crop],
                                  tgt[y0:y0 + self.crop, x0:x0 + self.crop], self.strength)
            xs.append(xc)
            ts.append(tc)
        return torch.from_numpy(np.stack(xs)[:, None]), torch.from_numpy(np.stack(ts)[:, None].astype(np.float32))

    def validation(self):
        """(val_x, val_t): N x 1 x H x W tensors of the whole validation images (images of another shape, with
        ``keep_aspect``, mirrored out to the largest)."""
        import torch

        height = max(x.shape[0] for x, _ in self._val)
        width = max(x.shape[1] for x, _ in self._val)
        def pad(a: np.ndarray) -> np.ndarray:
            return np.pad(a, ((0, height - a.shape[0]), (0, width - a.shape[1])), mode="symmetric")
        return (torch.from_numpy(np.stack([pad(x) for x, _ in self._val])[:, None]),
                torch.from_numpy(np.stack([pad(t) for _, t in self._val])[:, None]))

    def describe(self) -> str:
        return (f"{self.train_set.source or 'user pairs'}: {len(self.train_set)} for training, "
                f"{len(self.val_set)} for validation (split by "
                f"{'group' if self.train_set.groups != self.train_set.names else 'file'}); "
                f"{self.crop}px crops of images resized to {self.size}px"
                f"{' on their short side' if self.keep_aspect else ''}, augmentation strength {self.strength:g}")

    def card_fields(self) -> dict:
        return {"validation_files": list(self.val_set.names), "training_files": len(self.train_set)}

    def validation_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(image, truth foreground) at the original size, for :func:`devocore.train.compare.compare`."""
        ds = self.val_set
        return [(image, truth_foreground(ds.task, mask, ds.binary)) for image, mask in zip(ds.images, ds.masks)]


IMAGE_FOLDERS = ("images", "image", "imgs", "raw", "inputs", "input")
MASK_FOLDERS = ("masks", "mask", "labels", "label", "gt", "annotations", "targets")


def find_pair_folders(root) -> tuple[Path, Path]:
    """The image and mask folders inside ``root`` (an extracted ZIP): folders named like
    ``images/`` and ``masks/`` (or ``labels/``, ``gt/``), at any depth.

    Raises:
        PairError naming the folder names looked for.
    """
    root = Path(root)
    found: dict[str, Path] = {}
    for folder in sorted([root, *(p for p in root.rglob("*") if p.is_dir())], key=lambda p: len(p.parts)):
        name = folder.name.lower()
        if name in IMAGE_FOLDERS and "images" not in found:
            found["images"] = folder
        elif name in MASK_FOLDERS and "masks" not in found:
            found["masks"] = folder
    if len(found) < 2:
        raise PairError("The archive needs two folders, one of images (named images/, raw/ or imgs/) and one "
                        "of masks (named masks/, labels/ or gt/); found "
                        + (", ".join(f"{k}: {v.relative_to(root)}/" for k, v in found.items()) or "neither") + ".")
    return found["images"], found["masks"]


def prepare(dataset: Dataset, cfg, val_fraction: float = 0.2, seed: int = 0) -> PairSource:
    """Split ``dataset`` (by group, seeded) and wrap it for training with ``cfg``'s size, crop, batch
    and augmentation strength (a :class:`~devocore.train.segmentation.TrainConfig`)."""
    train_idx, val_idx = split(dataset.groups, val_fraction, seed)
    log.info("split: %d training and %d validation images", len(train_idx), len(val_idx))
    return PairSource(dataset.subset(train_idx), dataset.subset(val_idx), cfg.size, min(cfg.crop, cfg.size),
                      cfg.batch, cfg.aug_strength, cfg.keep_aspect)


def start_model(name: str | None, task: str):
    """The model to fine-tune (loaded on the CPU, its card attached), or None to train from scratch.

    Raises:
        ModelError when ``name`` is not a segmentation model (naming the valid ones).
    """
    if not name:
        return None
    from devocore import segmentation

    model = segmentation.load(name, "cpu")
    if segmentation.task_of(model) != task:
        log.warning("model '%s' was trained for %s, fine-tuning it for %s", name, segmentation.task_of(model), task)
    return model


# ----------------------------------------------------------------------------- example data

def restyle(labels: np.ndarray, rng: np.random.Generator, blur: float | None = None, noise: float = 0.12) -> np.ndarray:
    """A uint8 picture of nucleus ``labels`` as another microscope would show them.

    Flat dim nuclei on a bright sloping background, a wide blur, additive
    Gaussian read noise (no photon noise, no speckle): unlike every training
    image of :func:`devocore.simulate.slices.nucleus_sample`. ``blur`` (pixels)
    defaults to 1.5 per 128 pixels of image side.
    """
    h, w = labels.shape
    blur = 1.5 * max(h, w) / 128 if blur is None else blur
    fg = (labels > 0).astype(np.float32)
    levels = rng.uniform(0.45, 0.75, int(labels.max()) + 1)
    levels[0] = 0
    signal = levels[labels] * fg
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    background = 0.25 + 0.15 * (xx / w) + 0.1 * (yy / h)
    image = ndi.gaussian_filter(background + signal, blur) + rng.normal(0, noise, (h, w))
    return (np.clip(image / 1.3, 0, 1) * 255).astype(np.uint8)


def example_pairs(n: int = 12, size: int = 128, seed: int = 0, task: str = "nucleus",
                  other_microscope: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` simulated (image uint8, labels uint16) pairs; nuclei re-drawn by :func:`restyle` when asked."""
    from devocore.simulate.slices import sample

    out = []
    for i in range(n):
        image, labels = sample(task, 500_000 + seed * 1000 + i, size)
        if other_microscope and task == "nucleus":
            image = restyle(labels, np.random.default_rng(seed * 1000 + i))
        out.append((image, labels))
    return out


def example_dataset(folder, n: int = 12, size: int = 128, seed: int = 0, task: str = "nucleus") -> tuple[Path, Path]:
    """Write :func:`example_pairs` as ``folder/images/emb_XX.png`` and ``folder/masks/emb_XX_mask.png``
    (binary, 0/255); returns (images folder, masks folder)."""
    from PIL import Image

    folder = Path(folder)
    images, masks = folder / "images", folder / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for i, (image, labels) in enumerate(example_pairs(n, size, seed, task)):
        Image.fromarray(image).save(images / f"emb_{i:02d}.png")
        Image.fromarray(((labels > 0) * 255).astype(np.uint8)).save(masks / f"emb_{i:02d}_mask.png")
    return images, masks
