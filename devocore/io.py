"""Files in, numpy arrays and DataFrames out, with errors a biologist can read.

* :func:`read_image` reads PNG, JPEG and TIFF (8/16/32-bit, grey or RGB,
  multi-page, z-stacks, time series) and reports the axes.
* :func:`open_frames` streams frames one at a time from a video (MOV, MP4, AVI),
  a folder of images or a TIFF time series, never loading the whole thing.
* :func:`read_table` and :func:`read_epic` read CSV tables with schema checks.

Sources are paths, or raw bytes (an upload) with a ``name`` used only to
describe the file in messages and guess its format, never as a path.
"""
from __future__ import annotations

import io as _io
import logging
import os
import re
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence, Union

import numpy as np
import pandas as pd

from devocore.config import LIMITS, Limits
from devocore.errors import (
    EmptyFileError,
    EmptyTableError,
    MissingColumnsError,
    NoFramesError,
    NonNumericError,
    TooLargeError,
    UnreadableFileError,
    UnsupportedFormatError,
)

log = logging.getLogger(__name__)

Source = Union[str, os.PathLike, bytes, bytearray, BinaryIO]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mov", ".mp4", ".avi", ".m4v", ".mkv")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
#: The file kinds a page's uploader names (see :func:`upload_types`).
UPLOAD_KINDS = {"image": IMAGE_SUFFIXES, "video": VIDEO_SUFFIXES, "table": TABLE_SUFFIXES, "zip": (".zip",)}


def upload_types(*kinds: str) -> list[str]:
    """The extensions (without dots) of the given kinds, for ``st.file_uploader(type=...)``.

    Example:
        >>> upload_types("video", "zip")
        ['mov', 'mp4', 'avi', 'm4v', 'mkv', 'zip']
    """
    return [suffix.lstrip(".") for kind in kinds for suffix in UPLOAD_KINDS[kind]]

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
)


# ----------------------------------------------------------------------------- helpers

def _describe(source: Source, name: str | None) -> str:
    if name:
        return f"'{name}'"
    if isinstance(source, (str, os.PathLike)):
        return f"'{Path(source).name}'"
    return "the uploaded file"


def _read_bytes(source: Source, what: str, limits: Limits) -> bytes:
    """All bytes of ``source``; refuses files over the upload limit."""
    cap = limits.upload_mb * 1024 * 1024
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise UnreadableFileError(f"{what} does not exist.")
        if path.is_dir():
            raise UnsupportedFormatError(f"{what} is a folder, not a file.")
        size = path.stat().st_size
        if size > cap:
            raise TooLargeError(f"{what} is {size / 2**20:.0f} MB; the limit is {limits.upload_mb} MB.")
        data = path.read_bytes()
    else:
        data = source.read(cap + 1)
    if len(data) == 0:
        raise EmptyFileError(f"{what} is empty (0 bytes).")
    if len(data) > cap:
        raise TooLargeError(f"{what} is larger than the {limits.upload_mb} MB limit.")
    return data


def sniff_format(head: bytes) -> str | None:
    """Image format from the first bytes of a file: 'png', 'jpeg', 'tiff' or None.

    Example:
        >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n....")
        'png'
        >>> sniff_format(b"hello") is None
        True
    """
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    return bool(sample) and all(32 <= b < 127 or b in (9, 10, 13) for b in sample)


def _check_plane(height: int, width: int, what: str, limits: Limits) -> None:
    if height * width > limits.max_pixels:
        raise TooLargeError(
            f"{what} is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:.0f} megapixels per image.")


def _check_decoded(nbytes: int, what: str, limits: Limits, kind: str = "stack") -> None:
    """Refuse an image (one plane) or a stack whose decoded pixels would pass the limit, from its header."""
    cap = min(limits.max_image_mb, limits.max_decoded_mb) if kind == "image" else limits.max_decoded_mb
    if nbytes > cap * 2**20:
        shown = f"{nbytes / 2**20:,.0f} MB" + (" per plane" if kind == "image" else "")
        raise TooLargeError(f"{what} would take {shown} of memory once decoded; the limit is {cap:,} MB per "
                            f"{'image (plane)' if kind == 'image' else 'stack'}.")


# ----------------------------------------------------------------------------- images

class ImageData:
    """An image as stored, with its axes.

    A TIFF stack is read lazily: its headers are checked when it is opened, and :meth:`planes` decodes one
    plane at a time, so streaming a stack holds one plane in memory, not the stack. ``data`` decodes the whole
    image (for single images, and for callers that need every plane at once).

    Attributes:
        data: the pixels in their native dtype (uint8, uint16, float32, ...).
        axes: one letter per dimension of ``data``: Y, X, C (channels), Z, T, e.g.
            "YX", "YXC", "ZYX", "TYX", "TZYX".
        name: the file's display name.
        shape, dtype: those of ``data``, known without decoding it.
    """

    def __init__(self, data: np.ndarray | None = None, axes: str = "", name: str = "",
                 lazy: "_TiffPlanes | None" = None):
        if data is None and lazy is None:
            raise ValueError("ImageData needs pixels or a lazy reader")
        self._data = data
        self._lazy = lazy
        self.axes = axes
        self.name = name

    def __repr__(self) -> str:
        return f"ImageData(shape={self.shape}, dtype={self.dtype}, axes={self.axes!r}, name={self.name!r})"

    @property
    def data(self) -> np.ndarray:
        if self._data is None:
            self._data = self._lazy.whole()
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._data, self._lazy = value, None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape) if self._data is not None else self._lazy.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype if self._data is not None else self._lazy.dtype

    @property
    def is_stack(self) -> bool:
        """True when there is a Z or T axis."""
        return "Z" in self.axes or "T" in self.axes

    def planes(self) -> Iterator[np.ndarray]:
        """Each 2-D plane (Y x X, or Y x X x C) in order over the Z/T axes (decoded one at a time when lazy)."""
        if self._data is None:
            yield from self._lazy.planes()
            return
        lead = [i for i, a in enumerate(self.axes) if a in "TZ"]
        if not lead:
            yield self._data
            return
        flat = self._data.reshape((-1,) + self._data.shape[len(lead):])
        yield from flat

    @property
    def n_planes(self) -> int:
        """How many 2-D planes :meth:`planes` yields."""
        return int(np.prod([s for s, a in zip(self.shape, self.axes) if a in "TZ"], dtype=np.int64))


def read_image(source: Source, name: str | None = None, limits: Limits = LIMITS) -> ImageData:
    """Read a PNG, JPEG or TIFF into an :class:`ImageData`.

    Args:
        source: a path, or the bytes of an upload.
        name: display name for messages (and a format hint); never used as a path.
        limits: size limits; see :class:`devocore.config.Limits`.

    Raises:
        EmptyFileError, UnreadableFileError, UnsupportedFormatError, TooLargeError.

    Example:
        >>> import numpy as np, io
        >>> from PIL import Image
        >>> buf = io.BytesIO(); Image.fromarray(np.zeros((4, 6), np.uint8)).save(buf, "PNG")
        >>> img = read_image(buf.getvalue(), name="x.png")
        >>> img.data.shape, img.axes
        ((4, 6), 'YX')
    """
    what = _describe(source, name)
    display = name or (Path(source).name if isinstance(source, (str, os.PathLike)) else "")
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file() and 0 < Path(source).stat().st_size \
            <= limits.upload_mb * 2**20:
        with open(source, "rb") as handle:
            head = handle.read(16)
        if sniff_format(head) == "tiff":  # read page by page from the file, never whole
            return _read_tiff(None, what, display, limits, path=Path(source))
    data = _read_bytes(source, what, limits)
    fmt = sniff_format(data[:16])
    if fmt is None:
        if _looks_like_text(data):
            raise UnsupportedFormatError(f"{what} is not an image: it holds text.")
        raise UnsupportedFormatError(
            f"{what} is not a PNG, JPEG or TIFF image (its first bytes match none of them).")
    if fmt == "tiff":
        return _read_tiff(data, what, display, limits)
    return _read_pil(data, fmt, what, display, limits)


def _read_pil(data: bytes, fmt: str, what: str, name: str, limits: Limits) -> ImageData:
    from PIL import Image, UnidentifiedImageError

    if fmt == "png" and len(data) >= 24:  # the size is in the header: refuse bombs before PIL sees them
        _check_plane(int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big"), what, limits)
    try:
        with Image.open(_io.BytesIO(data)) as im:
            width, height = im.size
            _check_plane(height, width, what, limits)
            _check_decoded(width * height * len(im.getbands()) * (2 if im.mode.startswith("I;16") else
                                                                  4 if im.mode in ("I", "F") else 1), what, limits,
                           "image")
            im.load()
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif mode == "1":
                im = im.convert("L")
            elif mode == "CMYK":
                im = im.convert("RGB")
            array = np.array(im)
    except Image.DecompressionBombError as exc:
        raise TooLargeError(f"{what} declares an image too large to open safely ({exc}).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableFileError(
            f"{what} looks like a {fmt.upper()} file but cannot be decoded; it may be truncated or corrupt "
            f"({exc}).") from exc
    if array.ndim == 3 and array.shape[2] in (2, 4):  # drop alpha
        array = array[..., : array.shape[2] - 1]
        if array.shape[2] == 1:
            array = array[..., 0]
    if array.dtype == np.int32:  # PIL's "I" mode for 16-bit PNGs
        array = array.astype(np.uint16) if array.min() >= 0 and array.max() < 65536 else array
    return ImageData(array, "YX" if array.ndim == 2 else "YXC", name)


class _LibraryLog(logging.Filter):
    """Keeps a library's log records (tifffile's ERROR lines on damaged files) off the terminal while a
    reader in this thread collects them; devocore turns them into one clear message instead."""

    def __init__(self):
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        messages = getattr(self.local, "messages", None)
        if messages is None:
            return True
        messages.append(record.getMessage())
        log.debug("%s: %s", record.name, record.getMessage())
        return False

    @contextmanager
    def collect(self) -> Iterator[list[str]]:
        self.local.messages = messages = []
        try:
            yield messages
        finally:
            self.local.messages = None


_TIFFFILE_LOG = _LibraryLog()
logging.getLogger("tifffile").addFilter(_TIFFFILE_LOG)


def _declared_planes(tif) -> int | None:
    """Planes an ImageJ TIFF says it holds (its 'images=' entry), or None."""
    try:
        meta = tif.imagej_metadata if tif.is_imagej else None
    except Exception:  # damaged metadata: nothing declared
        return None
    images = (meta or {}).get("images")
    return int(images) if isinstance(images, (int, float)) and images > 0 else None


_TIFF_AXES = {"S": "C", "C": "C", "Z": "Z", "T": "T", "I": "T", "Q": "T", "Y": "Y", "X": "X"}


def _read_tiff(data: bytes | None, what: str, name: str, limits: Limits, path: Path | None = None) -> ImageData:
    """A TIFF from its bytes, or from ``path`` (then the file is read page by page, never whole)."""
    import tifffile

    def opener():
        return tifffile.TiffFile(str(path)) if data is None else tifffile.TiffFile(_io.BytesIO(data))

    try:
        with _TIFFFILE_LOG.collect() as complaints, opener() as tif:
            if not tif.series:
                raise NoFramesError(f"{what} is a TIFF with no images in it.")
            series = tif.series[0]
            shape, axes = tuple(series.shape), series.axes
            height = shape[axes.index("Y")] if "Y" in axes else shape[-2]
            width = shape[axes.index("X")] if "X" in axes else shape[-1]
            _check_plane(height, width, what, limits)
            # everything below comes from the headers: refuse before decoding a single plane
            planes = int(np.prod([s for s, a in zip(shape, axes) if _TIFF_AXES.get(a, "T") in "TZ"],
                                 dtype=np.int64))
            if planes > limits.max_frames:
                raise TooLargeError(f"{what} holds {planes:,} planes (frames or slices); the limit is "
                                    f"{limits.max_frames:,}.")
            total = int(np.prod(shape, dtype=np.int64))
            if total > limits.max_total_pixels:
                raise TooLargeError(
                    f"{what} holds {total / 1e9:.1f} gigapixels; the limit is "
                    f"{limits.max_total_pixels / 1e9:.0f} gigapixels per stack.")
            itemsize = 4 if series.dtype == np.float64 else series.dtype.itemsize  # float64 is kept as float32
            _check_decoded(total // max(1, planes) * itemsize, what, limits, "image")
            _check_decoded(total * itemsize, what, limits)
            declared = _declared_planes(tif)  # ImageJ counts every 2-D image, channels included
            images = int(np.prod([s for s, a in zip(shape, axes) if a not in "YXS"], dtype=np.int64))
            broken = [m for m in complaints if "invalid page offset" in m]  # the chain of pages breaks off
            if (declared and images < declared) or broken:
                raise UnreadableFileError(
                    f"{what} is truncated or damaged: only {images:,} of its {declared:,} planes could be read."
                    if declared and images < declared else
                    f"{what} is truncated or damaged: {images:,} plane(s) could be read, then the file breaks off.")
            lazy = _TiffPlanes.plan(series, what, opener)
            if lazy is None:  # pages that do not map onto planes one to one: decode the series at once
                return _tiff_array(series.asarray(), axes, shape, what, name)
    except (NoFramesError, TooLargeError, UnreadableFileError, UnsupportedFormatError):
        raise
    except Exception as exc:  # tifffile raises many kinds on damaged files
        raise UnreadableFileError(f"{what} is a TIFF that cannot be decoded; it may be truncated or corrupt "
                                  f"({type(exc).__name__}: {exc}).") from exc
    image = ImageData(None, lazy.axes, name, lazy=lazy)
    if not image.is_stack:  # a single image: decode it now, as before
        image.data = image.data
    return image


def _tiff_letters(shape: Sequence[int], axes: str, what: str) -> str:
    letters = "".join(_TIFF_AXES.get(a, "T") for a in axes)
    kept = "".join(a for s, a in zip(shape, letters) if s > 1 or a in "YX")
    if kept.count("T") > 1 or kept.count("C") > 1:
        raise UnsupportedFormatError(
            f"{what} has axes {axes} (shape {tuple(shape)}); Devoscope reads TIFFs with at most "
            "time, z, y, x and channel axes, one each.")
    return letters


def _tiff_order(array: np.ndarray, letters: str) -> tuple[np.ndarray, str]:
    """``array`` with size-1 axes other than Y and X dropped and the rest in T, Z, Y, X order, channels last."""
    keep = [i for i, (s, a) in enumerate(zip(array.shape, letters)) if s > 1 or a in "YX"]
    array = array.reshape([array.shape[i] for i in keep])
    letters = "".join(letters[i] for i in keep)
    order = sorted((i for i, a in enumerate(letters) if a != "C"), key=lambda i: "TZYX".index(letters[i]))
    order += [i for i, a in enumerate(letters) if a == "C"]
    return np.transpose(array, order), "".join(letters[i] for i in order)


def _clean_pixels(array: np.ndarray, what: str, warned: list | None = None) -> np.ndarray:
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        if warned is None or not warned:
            log.warning("%s has NaN or infinite pixels; they are set to 0", what)
            if warned is not None:
                warned.append(True)
        array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    return array


def _tiff_array(array: np.ndarray, axes: str, shape: Sequence[int], what: str, name: str) -> ImageData:
    array, letters = _tiff_order(array, _tiff_letters(shape, axes, what))
    return ImageData(_clean_pixels(array, what), letters, name)


class _TiffPlanes:
    """The planes of a TIFF series, each decoded from its own page(s) when asked for.

    ``index`` holds, for each plane in T, Z order, the series pages that make it (one, or one per channel
    when an ImageJ hyperstack stores channels as pages). The file is reopened for each pass over the planes.
    """

    def __init__(self, opener, what: str, index: np.ndarray, lead_shape: tuple[int, ...], lead_axes: str,
                 page_shape: tuple[int, ...], page_letters: str, dtype: np.dtype):
        self.opener, self.what, self.index = opener, what, index
        self.page_shape, self.page_letters = page_shape, page_letters
        sample, letters = _tiff_order(np.empty(page_shape, np.uint8), page_letters)
        self.plane_shape = sample.shape + ((index.shape[1],) if index.shape[1] > 1 else ())
        self.axes = lead_axes + letters + ("C" if index.shape[1] > 1 else "")
        self.lead_shape = lead_shape
        self.shape = tuple(lead_shape) + self.plane_shape
        self.dtype = np.dtype(np.float32) if dtype == np.float64 else np.dtype(dtype)
        self.decoded = 0  # pages decoded so far (tests count them)

    @classmethod
    def plan(cls, series, what: str, opener) -> "_TiffPlanes | None":
        shape, axes = tuple(series.shape), series.axes
        page_shape = tuple(series.keyframe.shape)
        n_page = len(page_shape)
        if n_page > len(shape) or shape[len(shape) - n_page:] != page_shape:
            return None
        letters = _tiff_letters(shape, axes, what)
        lead_shape, lead_letters = shape[:len(shape) - n_page], letters[:len(shape) - n_page]
        page_letters = letters[len(shape) - n_page:]
        if set(page_letters) - set("YXC") or "Y" not in page_letters or "X" not in page_letters:
            return None
        count = int(np.prod(lead_shape, dtype=np.int64))
        if len(series.pages) != count:
            return None
        if "C" in lead_letters and "C" in "".join(a for s, a in zip(page_shape, page_letters) if s > 1):
            return None
        index, order = _tiff_order(np.arange(count).reshape(lead_shape + (1, 1)), lead_letters + "YX")
        order = order.replace("YX", "")
        channels = index.shape[-1] if order.endswith("C") else 1
        stack_shape = index.shape[:len(order) - order.endswith("C")]
        return cls(opener, what, np.ascontiguousarray(index).reshape(-1, channels), tuple(stack_shape),
                   order.replace("C", ""), page_shape, page_letters, series.dtype)

    def planes(self) -> Iterator[np.ndarray]:
        total, warned = len(self.index), []
        with _TIFFFILE_LOG.collect(), self.opener() as tif:
            pages = tif.series[0].pages
            for number, row in enumerate(self.index, start=1):
                parts = []
                for page in row:
                    try:
                        pixels = pages[int(page)].asarray()
                    except Exception as exc:  # a damaged page
                        raise UnreadableFileError(
                            f"{self.what} is a TIFF whose plane {number} of {total} cannot be decoded; it may be "
                            f"truncated or corrupt ({type(exc).__name__}: {exc}).") from exc
                    self.decoded += 1
                    parts.append(_tiff_order(pixels.reshape(self.page_shape), self.page_letters)[0])
                plane = parts[0] if len(parts) == 1 else np.stack(parts, axis=-1)
                del parts, pixels
                yield _clean_pixels(plane, self.what, warned)
                del plane  # not held while the next plane is decoded

    def whole(self) -> np.ndarray:
        out = np.empty((len(self.index),) + self.plane_shape, self.dtype)
        for i, plane in enumerate(self.planes()):
            out[i] = plane
        return out.reshape(self.shape)


# ----------------------------------------------------------------------------- pixel conversions

def to_gray(image: np.ndarray, channel: str | int = "mean") -> np.ndarray:
    """A 2-D (or stack of 2-D) grey image from Y x X [x C] pixels.

    Args:
        image: ... x Y x X or ... x Y x X x C (C = 3 means RGB).
        channel: "mean" for the channel mean, "green" for histone-GFP movies,
            or a channel index.

    Example:
        >>> int(to_gray(np.ones((2, 2, 3), np.uint8) * [0, 9, 3], "green")[0, 0])
        9
    """
    if image.ndim >= 3 and image.shape[-1] in (2, 3, 4):
        if channel == "mean":
            if image.shape[-1] == 3 and image.dtype in (np.uint8, np.uint16):
                # the rounded mean of three integers, (sum + 1) // 3 (a third is never a half), 15x faster
                # (3 x 65535 + 1 fits in 32 bits, 3 x 255 + 1 in 16: half the memory traffic for 8-bit)
                total = image[..., 0].astype(np.uint16 if image.dtype == np.uint8 else np.uint32)
                total += image[..., 1]
                total += image[..., 2]
                total += 1
                total //= 3
                return total.astype(image.dtype)
            return image.mean(axis=-1).astype(np.float32) if image.dtype.kind == "f" else \
                image.mean(axis=-1).round().astype(image.dtype)
        index = {"red": 0, "green": 1, "blue": 2}.get(channel, channel)
        return image[..., int(index)]
    return image


def normalize(image: np.ndarray, low: float = 1.0, high: float = 99.8) -> np.ndarray:
    """Float32 pixels in 0..1, stretched between two percentiles.

    Works the same for 8-, 16- and 32-bit inputs, so models see one range.

    Example:
        >>> out = normalize(np.arange(100, dtype=np.uint16).reshape(10, 10), 0, 100)
        >>> float(out.min()), float(out.max())
        (0.0, 1.0)
    """
    image = np.asarray(image)
    if image.size and image.dtype in (np.uint8, np.uint16):
        # 8- and 16-bit pixels: the same percentiles from a histogram, and the stretch as a lookup table
        lo, hi = integer_percentiles(image, (low, high))
        if hi <= lo:
            hi = lo + 1.0
        levels = np.arange(256 if image.dtype == np.uint8 else 65536, dtype=np.float64)
        table = np.clip((levels - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
        if image.dtype == np.uint8:
            import cv2  # its table lookup is 4x faster than numpy's indexing, with the same values

            return cv2.LUT(np.ascontiguousarray(image).reshape(-1, 1), table).reshape(image.shape)
        return table[image]
    array = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(array, [low, high]) if array.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return np.clip((array - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def integer_percentiles(image: np.ndarray, percents: Sequence[float]) -> list[float]:
    """``np.percentile(image, percents)`` (linear interpolation) of 8- or 16-bit pixels, from their histogram.

    Example:
        >>> integer_percentiles(np.array([0, 10, 20, 30], np.uint8), [0, 50, 100])
        [0.0, 15.0, 30.0]
    """
    if image.dtype == np.uint8:
        import cv2  # the same counts as np.bincount, 2x faster (float32 holds counts exactly up to 2**24)

        flat = np.ascontiguousarray(image).reshape(-1, 1)
        counts = cv2.calcHist([flat], [0], None, [256], [0, 256]).ravel().astype(np.int64) \
            if flat.shape[0] < 2 ** 24 else np.bincount(flat.ravel(), minlength=256)
    else:
        counts = np.bincount(image.ravel())
    cumulative = np.cumsum(counts)
    n = image.size
    values = []
    for percent in percents:
        rank = (n - 1) * percent / 100.0
        below = int(np.floor(rank))
        # the value at sorted position k is the first level whose cumulative count exceeds k
        a, b = np.searchsorted(cumulative, [below, min(below + 1, n - 1)], side="right")
        values.append(float(a + (rank - below) * (b - a)))
    return values


def to_uint8(image: np.ndarray) -> np.ndarray:
    """8-bit pixels for display: 8-bit input unchanged, anything else stretched.

    Example:
        >>> to_uint8(np.array([[0, 65535]], np.uint16)).tolist()
        [[0, 255]]
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16 and image.size:
        # the same stretch as a 65536-entry lookup table of 8-bit values: no float copy of a huge image
        lo, hi = integer_percentiles(image, (0.0, 100.0))
        if hi <= lo:
            hi = lo + 1.0
        levels = np.arange(65536, dtype=np.float64)
        table = np.clip((levels - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
        return (table * 255).round().astype(np.uint8)[image]
    return (normalize(image, 0.0, 100.0) * 255).round().astype(np.uint8)


# ----------------------------------------------------------------------------- frames

def _check_video_pixels(frames: int, shape: Sequence[int], what: str, limits: Limits) -> None:
    """Refuse a video or frame folder of more than ``max_video_pixels`` pixels (frames x frame size)."""
    total = int(frames) * int(shape[0]) * int(shape[1])
    if total > limits.max_video_pixels:
        raise TooLargeError(f"{what} holds {frames:,} frames of {shape[1]} x {shape[0]} pixels, "
                            f"{total / 1e9:,.1f} gigapixels in all; the limit is "
                            f"{limits.max_video_pixels / 1e9:,.0f} gigapixels per video (frames x pixels).")


class FrameSource:
    """Frames streamed one at a time, with what is known about them up front.

    Attributes:
        frame_count: number of frames announced by the file (may be an estimate
            for videos; :attr:`frames_read` tells how many were decoded).
        fps: frames per second, or None when the file does not say.
        shape: (height, width) of a frame.
        name: display name.
        frame_numbers: the number of each frame in order: from the file names when every name
            carries one (``00700.png`` is frame 700; gaps stay gaps), else the position (0, 1, ...).
            None means positions (videos, stacks).
        numbering: how frames are numbered, in words (``"file names"`` or ``"position"``).

    Iterating yields frames as Y x X x 3 uint8 RGB (videos) or as stored
    (image folders, TIFF series). Use as a context manager to release the file.
    """

    frame_count: int
    fps: float | None
    shape: tuple[int, int]
    name: str
    frames_read: int = 0
    frame_numbers: list[int] | None = None
    numbering: str = "position"

    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.frame_count


class VideoFrames(FrameSource):
    """A MOV/MP4/AVI file read through OpenCV, one frame at a time."""

    def __init__(self, path: str | os.PathLike, limits: Limits = LIMITS, name: str | None = None):
        import cv2

        self.path = Path(path)
        self.name = name or self.path.name
        what = f"'{self.name}'"
        if not self.path.exists():
            raise UnreadableFileError(f"{what} does not exist.")
        if self.path.stat().st_size == 0:
            raise EmptyFileError(f"{what} is empty (0 bytes).")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise UnreadableFileError(f"{what} cannot be opened as a video; it may be corrupt or in a format "
                                      "OpenCV does not decode (try MP4 with H.264, or AVI with MJPG).")
        self.frame_count = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 1000 else None
        self.shape = (int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
        if self.shape[0] * self.shape[1] == 0 or self.frame_count == 0:
            self.close()
            raise NoFramesError(f"{what} holds no frames.")
        try:
            _check_plane(*self.shape, what, limits)
            _check_decoded(self.shape[0] * self.shape[1] * 3, what, limits, "image")
            if self.frame_count > limits.max_frames:
                raise TooLargeError(f"{what} has {self.frame_count:,} frames; the limit is {limits.max_frames:,}.")
            _check_video_pixels(self.frame_count, self.shape, what, limits)
        except TooLargeError:
            self.close()
            raise
        self.frames_read = 0
        self.truncated = False

    def __iter__(self) -> Iterator[np.ndarray]:
        import cv2

        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self.frames_read = 0
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                break
            self.frames_read += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        if self.frames_read == 0:
            raise NoFramesError(f"'{self.name}' holds no frame that could be decoded.")
        if self.frames_read < self.frame_count:
            self.truncated = True
            log.warning("'%s': decoded %d of %d announced frames; the rest could not be read",
                        self.name, self.frames_read, self.frame_count)

    def close(self) -> None:
        if getattr(self, "_cap", None) is not None:
            self._cap.release()
            self._cap = None


class FolderFrames(FrameSource):
    """A folder of image files, in natural name order (frame2 before frame10)."""

    def __init__(self, folder: str | os.PathLike, limits: Limits = LIMITS):
        self.folder = Path(folder)
        self.name = self.folder.name
        self.limits = limits
        self.files = sorted((p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                            key=natural_key)
        if not self.files:
            raise NoFramesError(f"Folder '{self.name}' has no PNG, JPEG or TIFF images.")
        if len(self.files) > limits.max_frames:
            raise TooLargeError(f"Folder '{self.name}' has {len(self.files):,} images; "
                                f"the limit is {limits.max_frames:,}.")
        self.frame_count = len(self.files)
        self.fps = None
        numbers = numbers_from_names(self.files)
        self.frame_numbers = numbers if numbers is not None else list(range(len(self.files)))
        self.numbering = "file names" if numbers is not None else "position"
        if numbers is None:
            log.info("'%s': the file names do not number the frames; frames are numbered by position", self.name)
        first = read_image(self.files[0], limits=limits)
        self.shape = first.shape[:2]
        _check_video_pixels(self.frame_count, self.shape, f"Folder '{self.name}'", limits)

    def __iter__(self) -> Iterator[np.ndarray]:
        self.frames_read = 0
        for path in self.files:
            image = read_image(path, limits=self.limits)
            if image.is_stack:
                raise UnsupportedFormatError(f"'{path.name}' in '{self.name}' is a stack; a frame folder "
                                             "must hold single images.")
            self.frames_read += 1
            yield image.data


class StackFrames(FrameSource):
    """The planes of a multi-page TIFF (time series or z-stack) as frames."""

    def __init__(self, image: ImageData):
        self.image = image
        self.name = image.name
        self.frame_count = image.n_planes
        self.fps = None
        shape = image.shape  # from the header: a lazy stack is not decoded here
        self.shape = shape[-3:-1] if image.axes.endswith("C") else shape[-2:]

    def __iter__(self) -> Iterator[np.ndarray]:
        self.frames_read = 0
        for plane in self.image.planes():
            self.frames_read += 1
            yield plane
            del plane  # not held while the next plane is decoded


def natural_key(path: Path) -> list:
    """Sort key that orders 'f2.png' before 'f10.png'.

    Example:
        >>> [p.name for p in sorted([Path("f10.png"), Path("f2.png")], key=natural_key)]
        ['f2.png', 'f10.png']
    """
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


#: Frame numbers taken from file names may skip at most this many frames in all (a guard against names that
#: hold dates or other large numbers rather than frame numbers).
MAX_NUMBERING_SPAN = 10_000_000


def numbers_from_names(paths: Sequence[str | os.PathLike]) -> list[int] | None:
    """Frame numbers read from file names: the last run of digits in each name's stem.

    Returns None (number by position) unless every name carries a number and the numbers rise strictly in the
    given order and span at most :data:`MAX_NUMBERING_SPAN`.

    Example:
        >>> numbers_from_names(["00700.png", "00701.png", "00705.png"])
        [700, 701, 705]
        >>> numbers_from_names(["worm_a.png", "worm_b.png"]) is None
        True
    """
    numbers = []
    for path in paths:
        digits = re.findall(r"\d+", Path(path).stem)
        if not digits:
            return None
        numbers.append(int(digits[-1]))
    if any(b <= a for a, b in zip(numbers, numbers[1:])):
        return None
    if numbers and numbers[-1] - numbers[0] > MAX_NUMBERING_SPAN:
        return None
    return numbers


def open_frames(source: str | os.PathLike, limits: Limits = LIMITS) -> FrameSource:
    """Open a video file, a folder of frames, or an image/TIFF stack for streaming.

    Raises:
        UnsupportedFormatError for anything else; the reader's errors otherwise.
    """
    path = Path(source)
    if path.is_dir():
        return FolderFrames(path, limits)
    if not path.exists():
        raise UnreadableFileError(f"'{path.name}' does not exist.")
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return VideoFrames(path, limits)
    if suffix in IMAGE_SUFFIXES:
        return StackFrames(read_image(path, limits=limits))
    raise UnsupportedFormatError(
        f"'{path.name}' is not a video ({', '.join(VIDEO_SUFFIXES)}), an image ({', '.join(IMAGE_SUFFIXES)}) "
        "or a folder of images.")


def remove_stale_folders(parent: str | os.PathLike, prefix: str, older_than_s: float) -> list[Path]:
    """Delete the folders ``parent/<prefix>*`` in which nothing changed for ``older_than_s`` seconds.

    For temporary session folders whose session is long gone; returns the folders removed.

    Example:
        >>> import tempfile
        >>> remove_stale_folders(tempfile.mkdtemp(), "devoscope-session-", 86400)
        []
    """
    import shutil
    import time

    removed = []
    now = time.time()
    for folder in Path(parent).glob(f"{prefix}*"):
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            newest = max([folder.stat().st_mtime] + [p.lstat().st_mtime for p in folder.rglob("*")])
        except OSError:  # removed meanwhile by another process
            continue
        if now - newest > older_than_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def clean_suffix(suffix: str) -> str:
    """A file extension safe to use in a generated name: letters and digits only, at most 8, lower case.

    Example:
        >>> clean_suffix(".MP4"), clean_suffix("../x/.t i f"), clean_suffix("")
        ('.mp4', '.xtif', '')
    """
    return "." + re.sub(r"[^A-Za-z0-9]", "", suffix)[:8].lower() if suffix else ""


def save_upload(data: bytes, suffix: str, folder: str | os.PathLike | None = None) -> Path:
    """Write uploaded bytes to a new file with a generated name (never the user's).

    Args:
        data: the upload's bytes.
        suffix: the extension to keep (".mp4"); anything but letters and digits is dropped.
        folder: where to write; a fresh temporary folder when None.
    """
    clean = clean_suffix(suffix)
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="devoscope-"))
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=clean, dir=folder)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return Path(name)


# ----------------------------------------------------------------------------- tables

EPIC_COLUMNS = ("cell", "time", "x", "y", "z", "size")


def read_table(source: Source, name: str | None = None, required: Sequence[str] = (),
               numeric: Sequence[str] = (), limits: Limits = LIMITS) -> pd.DataFrame:
    """Read a CSV (or TSV) table and check its columns.

    Args:
        source: a path or the bytes of an upload.
        name: display name for messages.
        required: columns that must be present.
        numeric: columns that must hold numbers (empty cells are allowed and become NaN).
        limits: ``max_rows`` caps the rows read, ``max_columns`` the columns (counted in the header).

    Raises:
        EmptyFileError, UnreadableFileError, EmptyTableError, MissingColumnsError,
        NonNumericError, TooLargeError.

    Example:
        >>> read_table(b"a,b\\n1,2\\n", required=["a"], numeric=["b"]).shape
        (1, 2)
    """
    what = _describe(source, name)
    data = _read_bytes(source, what, limits)
    if b"\x00" in data[:4096] or sniff_format(data[:16]):
        raise UnreadableFileError(f"{what} is not a text table (it holds binary data).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        log.warning("%s is not UTF-8; read it as Latin-1", what)
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "")
    if text.count("\n") > limits.max_rows + 1:  # refuse before parsing: counting lines is cheap
        raise TooLargeError(f"{what} has more than {limits.max_rows:,} rows, the limit per table.")
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    sep = "\t" if label.lower().endswith(".tsv") or ("\t" in header and "," not in header) else \
        ";" if (";" in header and "," not in header) else ","
    if header.count(sep) + 1 > limits.max_columns:  # refuse before parsing: a wide header takes pandas ages
        raise TooLargeError(f"{what} has {header.count(sep) + 1:,} columns; the limit is {limits.max_columns:,} "
                            "per table.")
    try:
        frame = pd.read_csv(_io.StringIO(text), sep=sep, nrows=limits.max_rows + 1)
    except pd.errors.EmptyDataError as exc:
        raise EmptyTableError(f"{what} is empty: it has no header and no rows.") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise UnreadableFileError(f"{what} cannot be read as a CSV table ({exc}).") from exc
    if len(frame) > limits.max_rows:
        raise TooLargeError(f"{what} has more than {limits.max_rows:,} rows, the limit per table.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return check_columns(frame, what, required, numeric, first_row=2)


def check_columns(frame: pd.DataFrame, what: str, required: Sequence[str] = (), numeric: Sequence[str] = (),
                  first_row: int = 1) -> pd.DataFrame:
    """Check a table's columns; numeric ones are converted in place (empty cells become NaN).

    Args:
        what: how messages name the table ("'cells.csv'").
        first_row: the number a message gives the first data row (2 for a CSV line under its header).

    Raises:
        MissingColumnsError, EmptyTableError, NonNumericError.
    """
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{what} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"it has {', '.join(map(str, frame.columns[:20]))}{' ...' if len(frame.columns) > 20 else ''}.")
    if frame.empty:
        raise EmptyTableError(f"{what} has a header but no rows.")
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise NonNumericError(f"{what}: column '{column}' must hold numbers, but row {row + first_row} holds "
                                  f"'{frame[column].iloc[row]}'.")
        frame[column] = values
    return frame


def read_epic(source: Source, name: str | None = None, z_scale: float = 1.0,
              limits: Limits = LIMITS) -> pd.DataFrame:
    """Read an EPIC-style cell table: one row per nucleus per time point.

    Required columns are ``cell, time, x, y, z, size``; others (``cellTime``,
    reporter intensities, ...) are kept. Rows with a missing position are
    dropped with a warning.

    Args:
        z_scale: multiplies ``z`` (focal plane index) to bring it into the x/y units.

    Example:
        >>> t = read_epic(b"cell,time,x,y,z,size\\nAB,1,10,20,3.5,40\\n", z_scale=2)
        >>> float(t.loc[0, "z"])
        7.0
    """
    frame = read_table(source, name, required=EPIC_COLUMNS, numeric=EPIC_COLUMNS[1:], limits=limits)
    frame["cell"] = frame["cell"].astype(str).str.strip()
    before = len(frame)
    frame = frame.dropna(subset=list(EPIC_COLUMNS[1:])).reset_index(drop=True)
    if frame.empty:
        raise EmptyTableError(f"{_describe(source, name)} has no row with a complete position.")
    if len(frame) < before:
        log.warning("dropped %d rows with missing time, position or size", before - len(frame))
    frame["z"] = frame["z"] * z_scale
    return frame


# ----------------------------------------------------------------------------- archives

def extract_zip(source: Source, dest: str | os.PathLike, name: str | None = None, limits: Limits = LIMITS,
                max_files: int = 20_000, max_ratio: float = 200.0) -> list[Path]:
    """Extract a ZIP upload safely into ``dest``; returns the files written.

    Refuses entries that would land outside ``dest`` (``../x``, absolute paths,
    links), archives that inflate beyond the upload limit or by more than
    ``max_ratio`` (ZIP bombs), and archives with more than ``max_files`` entries.
    Nothing is written unless the whole archive passes these checks, and extraction is all or
    nothing: entries go to a hidden folder beside ``dest`` first and are moved into place only when
    every one was read whole (an entry larger than it declares, or damaged, leaves nothing behind).

    Raises:
        UnsafePathError, TooLargeError, UnreadableFileError.
    """
    import shutil
    import stat
    import zipfile

    from devocore.errors import UnsafePathError

    what = _describe(source, name)
    data = _read_bytes(source, what, limits)
    dest = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(_io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError(f"{what} is not a readable ZIP archive ({exc}).") from exc
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > max_files:
            raise TooLargeError(f"{what} holds {len(entries):,} files; the limit is {max_files:,}.")
        total = sum(e.file_size for e in entries)
        cap = limits.upload_mb * 1024 * 1024
        if total > cap or total > max_ratio * max(len(data), 1):
            raise TooLargeError(f"{what} would expand to {total / 2**20:.0f} MB from {len(data) / 2**20:.1f} MB; "
                                "it looks like a ZIP bomb and was not extracted.")
        targets = []
        for entry in entries:
            target = (dest / entry.filename).resolve()
            mode = entry.external_attr >> 16
            if dest not in target.parents or stat.S_ISLNK(mode):
                raise UnsafePathError(f"{what} has an entry '{entry.filename}' that points outside the folder "
                                      "it is extracted to; the archive was refused.")
            targets.append((entry, target))
        folders = {parent for _, target in targets for parent in target.parents}
        clash = next((entry.filename for entry, target in targets if target in folders), None)
        if clash is not None:
            raise UnreadableFileError(f"{what} holds both a file and a folder named '{clash}'; "
                                      "the archive was refused.")
        for entry, target in targets:  # a file already where a folder must go: say so before writing
            blocked = next((p for p in [target, *target.parents] if p != dest and dest in p.parents
                            and p.exists() and (p.is_dir() == (p == target))), None)
            if blocked is not None:
                raise UnreadableFileError(f"{what}: entry '{entry.filename}' could not be extracted ('{blocked.name}' "
                                          "already exists there as a file or folder); nothing was extracted.")
        # all or nothing: everything goes to a hidden folder beside dest first, and is moved into place
        # only when every entry was read whole (a lying or damaged entry leaves nothing behind)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-unzip-", dir=dest.parent))
        created, written = not dest.exists(), []
        try:
            for entry, target in targets:
                staged = staging / target.relative_to(dest)
                try:
                    staged.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(entry) as src, open(staged, "wb") as out:
                        remaining = entry.file_size + 1
                        while chunk := src.read(min(1 << 20, remaining)):
                            remaining -= len(chunk)
                            if remaining <= 0:  # the header lied about the size
                                raise TooLargeError(f"{what}: entry '{entry.filename}' is larger than it "
                                                    "declares; nothing was extracted.")
                            out.write(chunk)
                except (OSError, zipfile.BadZipFile) as exc:
                    raise UnreadableFileError(
                        f"{what}: entry '{entry.filename}' could not be extracted "
                        f"({exc.strerror if isinstance(exc, OSError) else exc}); nothing was extracted.") from exc
            for entry, target in targets:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / target.relative_to(dest), target)
                except OSError as exc:
                    raise UnreadableFileError(f"{what}: entry '{entry.filename}' could not be extracted "
                                              f"({exc.strerror}); nothing was extracted.") from exc
                written.append(target)
        except BaseException:
            for target in written:  # a move failed half way (a full disk, a folder in the way)
                target.unlink(missing_ok=True)
            if created:
                shutil.rmtree(dest, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return written


def extract_zip_frames(source: Source, folder: str | os.PathLike, name: str | None = None,
                       limits: Limits = LIMITS) -> Path:
    """Extract a ZIP of images safely (see :func:`extract_zip`) and lay its images out flat as frames.

    The images (from any sub-folder) are renamed ``frame000000.png``, ... in natural
    order of their paths in the archive, so :func:`open_frames` reads them as a time series.

    Raises:
        NoFramesError when the archive holds no image; the errors of :func:`extract_zip`.
    """
    import shutil

    folder = Path(folder)
    unpacked = Path(tempfile.mkdtemp(prefix="zip-", dir=_ensure_dir(folder.parent)))
    try:
        written = extract_zip(source, unpacked, name=name, limits=limits)
        images = sorted((p for p in written if p.suffix.lower() in IMAGE_SUFFIXES
                         and not p.name.startswith(".")),
                        key=lambda p: [int(t) if t.isdigit() else t.lower()
                                       for t in re.split(r"(\d+)", p.relative_to(unpacked).as_posix())])
        if not images:
            raise NoFramesError(f"{_describe(source, name)} holds no PNG, JPEG or TIFF images.")
        folder.mkdir(parents=True, exist_ok=True)
        for index, path in enumerate(images):
            path.replace(folder / f"frame{index:06d}{path.suffix.lower()}")
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    return folder


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
