"""Reading images and TIFF stacks (PNG, JPEG, TIFF incl. 16-bit, ImageJ/OME axes): limits checked from the
header before decoding, stacks read page by page."""
from __future__ import annotations

import io as _io
import logging
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from devocore.config import LIMITS, Limits
from devocore.errors import NoFramesError, TooLargeError, UnreadableFileError, UnsupportedFormatError
from devocore.io.sources import (describe_source, looks_like_text, read_bytes, refuse_microscope_format,
                                 refuse_unread_format, sniff_format, Source)

log = logging.getLogger(__name__)


def check_plane(height: int, width: int, what: str, limits: Limits) -> None:
    if height * width > limits.max_pixels:
        raise TooLargeError(
            f"{what} is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:.0f} megapixels per image.")


def check_min_side(shape: tuple[int, ...], what: str, task: str, minimum: int = 16) -> None:
    """Refuse frames (``shape`` Y x X [x C]) under ``minimum`` pixels on a side, which ``task`` cannot read.

    Example:
        >>> check_min_side((3, 20000), "The frames of 'thin.png' are", "tracking")
        Traceback (most recent call last):
        ...
        devocore.errors.UnsupportedFormatError: The frames of 'thin.png' are 20000 x 3 pixels; tracking needs frames \
of at least 16 x 16 pixels.
    """
    if min(shape[:2]) < minimum:
        raise UnsupportedFormatError(f"{what} {shape[1]} x {shape[0]} pixels; {task} needs frames of at least "
                                     f"{minimum} x {minimum} pixels.")


def check_decoded(nbytes: int, what: str, limits: Limits, kind: str = "stack") -> None:
    """Refuse an image (one plane) or a stack whose decoded pixels would pass the limit, from its header."""
    cap = min(limits.max_image_mb, limits.max_decoded_mb) if kind == "image" else limits.max_decoded_mb
    if nbytes > cap * 2**20:
        shown = f"{nbytes / 2**20:,.0f} MB" + (" per plane" if kind == "image" else "")
        raise TooLargeError(f"{what} would take {shown} of memory once decoded; the limit is {cap:,} MB per "
                            f"{'image (plane)' if kind == 'image' else 'stack'}.")


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
        time_named: the file names its T axis (ImageJ frames, OME T); pages of unknown meaning, as a plain
            multi-page TIFF holds them, are read as T too, with this False.
        pixel_size_um, z_step_um: micrometres per pixel and between slices, as a TIFF's ImageJ or OME metadata
            states them (:func:`physical_size`); None where it does not.
    """

    def __init__(self, data: np.ndarray | None = None, axes: str = "", name: str = "",
                 lazy: "_TiffPlanes | None" = None):
        if data is None and lazy is None:
            raise ValueError("ImageData needs pixels or a lazy reader")
        self._data = data
        self._lazy = lazy
        self.axes = axes
        self.name = name
        self.time_named = False  # the file itself calls its planes time points (not pages of unknown meaning)
        self.pixel_size_um: float | None = None  # from the file's metadata (ImageJ or OME), when it states them
        self.z_step_um: float | None = None

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

    def planes(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Each 2-D plane (Y x X, or Y x X x C) in order over the Z/T axes (decoded one at a time when lazy);
        ``start`` and ``stop`` pick planes start..stop-1 (only those are decoded)."""
        if self._data is None:
            yield from self._lazy.planes(start, stop)
            return
        lead = [i for i, a in enumerate(self.axes) if a in "TZ"]
        if not lead:
            yield from [self._data][start:stop]
            return
        flat = self._data.reshape((-1,) + self._data.shape[len(lead):])
        yield from flat[start:stop]

    @property
    def n_planes(self) -> int:
        """How many 2-D planes :meth:`planes` yields."""
        return int(np.prod(self.stack_shape, dtype=np.int64))

    @property
    def stack_axes(self) -> str:
        """The axes :meth:`planes` runs over, outer first: "TZ" (time points of z-slices), "Z", "T" or ""."""
        return "".join(a for a in self.axes if a in "TZ")

    @property
    def stack_shape(self) -> tuple[int, ...]:
        """The sizes of :attr:`stack_axes`."""
        return tuple(s for s, a in zip(self.shape, self.axes) if a in "TZ")

    def plane_positions(self) -> dict[str, np.ndarray]:
        """Each plane's place on every stack axis, numbered from 1, e.g. {"t": [1, 1, 2, 2], "z": [1, 2, 1, 2]}.

        Example:
            >>> pos = ImageData(np.zeros((2, 3, 4, 4)), "TZYX").plane_positions()
            >>> pos["t"].tolist(), pos["z"].tolist()
            ([1, 1, 1, 2, 2, 2], [1, 2, 3, 1, 2, 3])
        """
        if not self.stack_shape:
            return {}
        grid = np.indices(self.stack_shape).reshape(len(self.stack_shape), -1) + 1
        return {axis.lower(): numbers for axis, numbers in zip(self.stack_axes, grid)}


def _why_undecoded(exc: Exception) -> str:
    """Why tifffile could not decode a TIFF (or a page of it), in words: its compression, or damage."""
    if "imagecodecs" in str(exc):  # tifffile decodes LZW, JPEG, ... only through the imagecodecs package
        compression = re.search(r"COMPRESSION\.(\w+)", str(exc))
        return (f"it is compressed ({compression.group(1) if compression else 'by a codec'}) and the imagecodecs "
                "package that decodes it is not installed: `python -m pip install -r requirements.txt` installs "
                "it, or save the file uncompressed (in Fiji: File > Save As > Tiff...).")
    return f"it may be truncated or corrupt ({type(exc).__name__}: {exc})."


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
    what = describe_source(source, name)
    display = name or (Path(source).name if isinstance(source, (str, os.PathLike)) else "")
    refuse_microscope_format(what, display)  # by name: before a huge file is refused for its size
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file() and Path(source).stat().st_size > 0:
        with open(source, "rb") as handle:
            head = handle.read(16)
        sniffed = sniff_format(head)
        if sniffed is None:
            refuse_unread_format(what, display, head)
        elif sniffed == "tiff" and Path(source).stat().st_size <= limits.upload_mb * 2**20:
            return _read_tiff(None, what, display, limits, path=Path(source))  # page by page, never whole
    data = read_bytes(source, what, limits)
    fmt = sniff_format(data[:16])
    if fmt is None:
        refuse_unread_format(what, display, data[:16])
        if looks_like_text(data):
            raise UnsupportedFormatError(f"{what} is not an image: it holds text.")
        raise UnsupportedFormatError(
            f"{what} is not a PNG, JPEG or TIFF image (its first bytes match none of them).")
    if fmt == "tiff":
        return _read_tiff(data, what, display, limits)
    return _read_pil(data, fmt, what, display, limits)


def _read_pil(data: bytes, fmt: str, what: str, name: str, limits: Limits) -> ImageData:
    from PIL import Image, UnidentifiedImageError

    if fmt == "png" and len(data) >= 24:  # the size is in the header: refuse bombs before PIL sees them
        check_plane(int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big"), what, limits)
    try:
        with Image.open(_io.BytesIO(data)) as im:
            width, height = im.size
            check_plane(height, width, what, limits)
            check_decoded(width * height * len(im.getbands()) * (2 if im.mode.startswith("I;16") else
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
        detail = re.sub(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>", "", str(exc)).strip()  # no "<_io.BytesIO object at 0x..>"
        raise UnreadableFileError(
            f"{what} looks like a {fmt.upper()} file but cannot be decoded; it may be truncated or corrupt"
            + (f" ({detail})." if detail else ".")) from exc
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


def _plane_size(series) -> tuple[int, int]:
    shape, axes = tuple(series.shape), series.axes
    return (shape[axes.index("Y")] if "Y" in axes else shape[-2],
            shape[axes.index("X")] if "X" in axes else shape[-1])


def _written_plane_by_plane(series: Sequence) -> bool:
    """True for several one-page series of one shape and type in a file tifffile wrote: ``TiffWriter.write``
    called once per plane (a stack saved in a loop), which tifffile reads back as one series per call."""
    first = series[0]
    return len(series) > 1 and all(len(s.pages) == 1 and s.shape == first.shape and s.dtype == first.dtype
                                   for s in series)


def _check_one_series(series: Sequence, what: str) -> None:
    """Refuse a TIFF holding several images of full size (positions, embryos), of which only the first would be
    read; smaller series after the first (thumbnails, previews, as microscopes store them) are passed over."""
    area = np.prod(_plane_size(series[0]))
    full = [s for s in series[1:] if np.prod(_plane_size(s)) >= area]
    if full:
        shapes = ", ".join(str(tuple(s.shape)) for s in [series[0], *full][:4])
        raise UnsupportedFormatError(
            f"{what} holds {len(full) + 1} separate image series of full size (shapes {shapes}), e.g. several "
            "stage positions or embryos; Devoscope reads one series per file. Save each series as its own TIFF "
            "(Fiji: File > Import > Bio-Formats with 'Open all series', then save each window).")


def _read_tiff(data: bytes | None, what: str, name: str, limits: Limits, path: Path | None = None) -> ImageData:
    """A TIFF from its bytes, or from ``path`` (then the file is read page by page, never whole)."""
    import tifffile

    flat = False  # a stack written one plane at a time: its pages read as one series

    def opener():
        source = str(path) if data is None else _io.BytesIO(data)
        return tifffile.TiffFile(source, is_shaped=False) if flat else tifffile.TiffFile(source)

    try:
        with _TIFFFILE_LOG.collect(), opener() as tif:
            flat = _written_plane_by_plane(tif.series) if tif.is_shaped else False
            sizes = physical_size(tif)
        with _TIFFFILE_LOG.collect() as complaints, opener() as tif:
            if not tif.series:
                raise NoFramesError(f"{what} is a TIFF with no images in it.")
            series = tif.series[0]
            shape, axes = tuple(series.shape), series.axes
            height, width = _plane_size(series)
            _check_one_series(tif.series, what)
            check_plane(height, width, what, limits)
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
            check_decoded(total // max(1, planes) * itemsize, what, limits, "image")
            check_decoded(total * itemsize, what, limits)
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
                image = _tiff_array(series.asarray(), axes, shape, what, name)
                image.pixel_size_um, image.z_step_um = sizes
                return image
    except (NoFramesError, TooLargeError, UnreadableFileError, UnsupportedFormatError):
        raise
    except Exception as exc:  # tifffile raises many kinds on damaged files
        raise UnreadableFileError(f"{what} is a TIFF that cannot be decoded; {_why_undecoded(exc)}") from exc
    image = ImageData(None, lazy.axes, name, lazy=lazy)
    image.time_named = _time_named(shape, axes)
    image.pixel_size_um, image.z_step_um = sizes
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


def check_pixel_type(dtype, what: str) -> None:
    """Refuse pixels that are not light intensities: complex numbers (a Fourier transform)."""
    if np.dtype(dtype).kind == "c":
        raise UnsupportedFormatError(f"{what} holds complex numbers (a Fourier transform?), not the light intensities "
                                     "of a microscope image.")


def _clean_pixels(array: np.ndarray, what: str, warned: list | None = None) -> np.ndarray:
    check_pixel_type(array.dtype, what)
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
    image = ImageData(_clean_pixels(array, what), letters, name)
    image.time_named = _time_named(shape, axes)
    return image


#: Micrometres per unit of the length units microscope software writes.
_UNITS_UM = {"micron": 1.0, "microns": 1.0, "um": 1.0, "\u00b5m": 1.0, "\u03bcm": 1.0, "nm": 1e-3, "mm": 1e3}


def physical_size(tif) -> tuple[float | None, float | None]:
    """(micrometres per pixel, micrometres between slices) that an open TIFF's ImageJ or OME metadata states; None
    for what it does not state (or states in a unit that is not a length).

    Example:
        >>> import io, tifffile
        >>> buffer = io.BytesIO()
        >>> tifffile.imwrite(buffer, np.zeros((2, 4, 4), np.uint8), imagej=True, resolution=(1 / 0.09, 1 / 0.09),
        ...                  metadata={"unit": "um", "spacing": 0.42, "axes": "ZYX"})
        >>> _ = buffer.seek(0)
        >>> physical_size(tifffile.TiffFile(buffer))
        (0.09, 0.42)
    """
    try:
        if tif.is_ome:
            pixels = re.search(r"<Pixels\b[^>]*>", tif.ome_metadata or "")
            found = dict(re.findall(r'(\w+)="([^"]*)"', pixels.group(0))) if pixels else {}

            def ome(axis: str) -> float | None:
                value, unit = found.get(f"PhysicalSize{axis}"), found.get(f"PhysicalSize{axis}Unit", "\u00b5m")
                return round(float(value) * _UNITS_UM[unit], 6) if value and unit in _UNITS_UM else None
            return ome("X"), ome("Z")
        if tif.is_imagej:
            meta = tif.imagej_metadata or {}
            scale = _UNITS_UM.get(str(meta.get("unit", "")).strip().lower())
            if scale is None:
                return None, None
            tag = tif.pages[0].tags.get("XResolution")
            per_unit = tag.value[0] / tag.value[1] if tag is not None and tag.value[1] else 0.0
            xy = round(scale / per_unit, 6) if per_unit > 0 else None
            z = round(float(meta["spacing"]) * scale, 6) if meta.get("spacing") else None
            return xy, z
    except (ValueError, TypeError, KeyError, AttributeError, ZeroDivisionError):
        pass  # metadata that cannot be read states nothing
    return None, None


def _time_named(shape: Sequence[int], axes: str) -> bool:
    """True when the file's own axes hold time points (a T axis longer than 1)."""
    return any(a == "T" and s > 1 for s, a in zip(shape, axes))


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

    def planes(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        total, warned = len(self.index), []
        first = range(total)[start:stop]
        if not len(first):
            return
        with _TIFFFILE_LOG.collect(), self.opener() as tif:
            pages = tif.series[0].pages
            for number, row in zip(first, self.index[start:stop]):
                number += 1
                parts = []
                for page in row:
                    try:
                        pixels = pages[int(page)].asarray()
                    except Exception as exc:  # a damaged page
                        raise UnreadableFileError(
                            f"{self.what} is a TIFF whose plane {number} of {total} cannot be decoded; "
                            f"{_why_undecoded(exc)}") from exc
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
