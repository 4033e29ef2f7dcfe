"""Frames streamed from a video, a folder of images or a TIFF stack, one at a time (FrameSource)."""
from __future__ import annotations

import itertools
import logging
import os
import re
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from devocore.config import LIMITS, Limits
from devocore.errors import EmptyFileError, NoFramesError, TooLargeError, UnreadableFileError, UnsupportedFormatError
from devocore.io.images import check_decoded, check_plane, ImageData, read_image
from devocore.io.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES, refuse_unread_format

log = logging.getLogger(__name__)


def _check_video_pixels(frames: int, shape: Sequence[int], what: str, limits: Limits) -> None:
    """Refuse a video or frame folder of more than ``max_video_pixels`` pixels (frames x frame size)."""
    total = int(frames) * int(shape[0]) * int(shape[1])
    if total > limits.max_video_pixels:
        raise TooLargeError(f"{what} holds {frames:,} frames of {shape[1]} x {shape[0]} pixels, "
                            f"{total / 1e9:,.1f} gigapixels in all; the limit is "
                            f"{limits.max_video_pixels / 1e9:,.0f} gigapixels per video (frames x pixels).")


def read_video_frame(path: str | os.PathLike, index: int) -> np.ndarray | None:
    """Frame ``index`` (from 0) of a video as OpenCV decodes it (B, G, R), or None where it cannot be read."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
    finally:
        capture.release()
    return frame if ok else None


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
            check_plane(*self.shape, what, limits)
            check_decoded(self.shape[0] * self.shape[1] * 3, what, limits, "image")
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


def _max_projection(planes: Iterable[np.ndarray]) -> np.ndarray:
    """The pixel-wise maximum of ``planes``, decoded one at a time."""
    out = None
    for plane in planes:
        out = plane.copy() if out is None else np.maximum(out, plane, out=out)
    return out


def _inner_images(folder: Path, look: int = 5000) -> str:
    """Where a folder without images of its own holds some in its subfolders, in words ("; its subfolder 'day 1'
    holds images: give that folder, ..."), or ""; only the first ``look`` entries below it are looked at."""
    inner = sorted({path.parent.relative_to(folder).as_posix()
                    for path in itertools.islice(folder.rglob("*"), look)
                    if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")})
    if not inner:
        return ""
    more = f" (and {len(inner) - 1} other subfolder{'s' if len(inner) > 2 else ''})" if len(inner) > 1 else ""
    return f"; its subfolder '{inner[0]}'{more} holds images: give that folder, or use Batch for every subfolder"


class FolderFrames(FrameSource):
    """A folder of image files, in natural name order (frame2 before frame10).

    ``project``: a folder of z-stacks, one per time point (as microscopes save a 4-D embryo recording), gives each
    stack's maximum projection as its frame (``slices`` is then the first stack's number of slices); without it,
    a stack in the folder is refused.
    """

    def __init__(self, folder: str | os.PathLike, limits: Limits = LIMITS, project: bool = False):
        self.folder = Path(folder)
        self.name = self.folder.name
        self.limits = limits
        self.project = project
        # hidden files are skipped: a Mac's '._name.png' companions are not images
        self.files = sorted((p for p in self.folder.iterdir()
                             if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")), key=natural_key)
        if not self.files:
            raise NoFramesError(f"Folder '{self.name}' has no PNG, JPEG or TIFF images{_inner_images(self.folder)}.")
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
        first = self._check(read_image(self.files[0], limits=limits), self.files[0])
        self.slices = first.n_planes if first.is_stack else None
        self.shape = (first.shape[1:3] if first.is_stack else first.shape[:2])
        self.dtype = first.dtype  # the first image's: judges the folder's bit depth
        _check_video_pixels(self.frame_count, self.shape, f"Folder '{self.name}'", limits)

    def _check(self, image: ImageData, path: Path) -> ImageData:
        """``image`` when the folder can take it as a frame: a single image, or a z-stack when projecting."""
        if image.is_stack and not (self.project and len(image.stack_shape) == 1 and not image.time_named):
            planes = " x ".join(str(n) for n in image.stack_shape)
            raise UnsupportedFormatError(
                f"'{path.name}' in '{self.name}' is a stack ({planes} planes); a folder of frames must hold single "
                "images. A folder of stacks is run stack by stack on the Batch page or with `python -m devocore "
                "batch`.")
        return image

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (from 0): the image of its file, or the maximum projection of its z-stack."""
        path = self.files[index]
        image = self._check(read_image(path, limits=self.limits), path)
        return _max_projection(image.planes()) if image.is_stack else image.data

    def __iter__(self) -> Iterator[np.ndarray]:
        self.frames_read = 0
        for index in range(len(self.files)):
            frame = self.frame(index)
            self.frames_read += 1
            yield frame


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


def sample_frames(source: FrameSource, count: int) -> Iterator[np.ndarray]:
    """About ``count`` frames spread evenly over ``source``, first and last included (:func:`frames_at`)."""
    total = max(1, len(source))
    yield from frames_at(source, np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(int)))


def frames_at(source: FrameSource, picks: Sequence[int], scan: bool = True) -> Iterator[np.ndarray]:
    """Frames ``picks`` (from 0, rising) of ``source``, decoding only those where the source allows (a video is
    sought, a folder's files and a stack's planes are read one by one); a video none of whose picks could be
    sought is read through to them when ``scan``, else gives nothing."""
    if isinstance(source, VideoFrames):
        import cv2

        cap = cv2.VideoCapture(str(source.path))
        found = 0
        try:
            for i in picks:
                cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
                ok, frame = cap.read()
                if ok:
                    found += 1
                    yield frame[..., ::-1]
        finally:
            cap.release()
        if found or not scan:
            return
    if isinstance(source, FolderFrames):
        for i in picks:
            yield source.frame(int(i))
        return
    if isinstance(source, ProjectedFrames):
        for i in picks:
            yield source.project(int(i))
        return
    if isinstance(source, StackFrames):  # a lazily read TIFF decodes only the planes asked for
        for i in picks:
            yield from source.image.planes(int(i), int(i) + 1)
        return
    wanted = {int(i) for i in picks}
    yield from (f for i, f in enumerate(source) if i in wanted)


class ProjectedFrames(StackFrames):
    """The time points of a hyperstack (time points of z-slices), each the maximum projection of its slices, as a
    time-lapse of nuclei shows them (EPIC movies are such projections); slices are decoded one at a time.

    Example:
        >>> stack = ImageData(np.arange(12).reshape(2, 3, 1, 2), "TZYX")  # 2 time points of 3 slices
        >>> [frame.tolist() for frame in ProjectedFrames(stack)]
        [[[4, 5]], [[10, 11]]]
    """

    def __init__(self, image: ImageData):
        super().__init__(image)
        self.times, self.slices = image.stack_shape
        self.frame_count = self.times

    def project(self, time: int) -> np.ndarray:
        """Time point ``time`` (from 0): the maximum over its slices."""
        return _max_projection(self.image.planes(time * self.slices, (time + 1) * self.slices))

    def __iter__(self) -> Iterator[np.ndarray]:
        self.frames_read = 0
        for time in range(self.times):
            self.frames_read += 1
            yield self.project(time)


class PlaneReader:
    """The planes of a stack or video, each decoded when it is asked for (never the whole input at once).

    For pages that show one plane of a large input at a time (issue #31): ``reader[i]`` is plane i in grey;
    :meth:`plane` with ``channels=True`` gives it as stored (colour or several channels); :meth:`each` streams
    every plane once, in order. A video is read from ``path`` (plane i by seeking to it), a stack from its
    lazily read :class:`ImageData`.

    Example:
        >>> import numpy as np
        >>> reader = PlaneReader("stack", 3, None, image=ImageData(np.arange(12).reshape(3, 2, 2), "ZYX"))
        >>> len(reader), reader[1].tolist(), len(list(reader.each()))
        (3, [[4, 5], [6, 7]], 3)
        >>> two = PlaneReader("stack", 2, None, image=ImageData(np.arange(16).reshape(2, 2, 2, 2), "ZYXC"))
        >>> two[1].tolist(), two.pick(1)[1].tolist(), [p.tolist() for p in two.pick(0).each()][0]
        ([[8, 10], [12, 14]], [[9, 11], [13, 15]], [[0, 2], [4, 6]])
    """

    def __init__(self, kind: str, count: int, fps: float | None, image: ImageData | None = None,
                 path: str | os.PathLike | None = None, channel: int | None = None):
        self.kind, self.count, self.fps, self.image = kind, int(count), fps, image
        self.path = None if path is None else Path(path)
        self.channel = channel  # from 0: the grey planes are this channel, not the channels' mean

    def pick(self, channel: int | None) -> "PlaneReader":
        """The same planes, grey as ``channel`` (from 0; None: the mean of the channels)."""
        return PlaneReader(self.kind, self.count, self.fps, self.image, self.path, channel)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        return self.plane(index)

    def _grey(self, raw: np.ndarray, channels: bool) -> np.ndarray:
        from devocore.io.pixels import pick_channel, to_gray

        if channels or raw.ndim == 2:
            return raw
        return to_gray(raw) if self.channel is None else pick_channel(raw, self.channel + 1, f"The {self.kind}")

    def plane(self, index: int, channels: bool = False) -> np.ndarray:
        """Plane ``index`` (from 0), grey unless ``channels``."""
        if not 0 <= int(index) < self.count:
            raise IndexError(f"plane {index} of {self.count}")
        if self.image is not None:
            raw = next(self.image.planes(int(index), int(index) + 1))
        else:
            import cv2

            frame = read_video_frame(self.path, int(index))
            if frame is None:
                raise UnreadableFileError(f"Frame {index + 1} of {self.count} of '{self.path.name}' could not be "
                                          "decoded.")
            if not channels and self.channel is None:  # the mean is the same in BGR order: no RGB copy
                return self._grey(frame, False)
            raw = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return self._grey(raw, channels)

    def each(self, channels: bool = False) -> Iterator[np.ndarray]:
        """Every plane in order, decoded one at a time (grey unless ``channels``)."""
        if self.image is not None:
            for raw in self.image.planes():
                yield self._grey(raw, channels)
            return
        with VideoFrames(self.path) as source:
            for raw in source:
                yield self._grey(raw, channels)


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
    """Frame numbers read from file names: the run of digits that changes from name to name, else the last one.

    Microscope software writes more numbers than the time point into a name (``img_t0700_c1.tif``,
    ``img_channel000_position000_time000000700_z000.tif``): when every stem has the same number of digit runs and
    exactly one of them changes across the names, that one is the frame number; otherwise the last run of digits
    in each stem is. Returns None (number by position) unless every name carries a number and the numbers rise
    strictly in the given order and span at most :data:`MAX_NUMBERING_SPAN`.

    Example:
        >>> numbers_from_names(["00700.png", "00701.png", "00705.png"])
        [700, 701, 705]
        >>> numbers_from_names(["img_t0700_c1.tif", "img_t0701_c1.tif"])
        [700, 701]
        >>> numbers_from_names(["worm_a.png", "worm_b.png"]) is None
        True
    """
    runs = [re.findall(r"\d+", Path(path).stem) for path in paths]
    if not all(runs):
        return None
    column = -1
    if len({len(r) for r in runs}) == 1:
        changing = [k for k in range(len(runs[0])) if len({r[k] for r in runs}) > 1]
        if len(changing) == 1:
            column = changing[0]
    numbers = [int(r[column]) for r in runs]
    if any(b <= a for a, b in zip(numbers, numbers[1:])):
        return None
    if numbers and numbers[-1] - numbers[0] > MAX_NUMBERING_SPAN:
        return None
    return numbers


def flat_frame_names(names: Sequence[str | os.PathLike]) -> list[str]:
    """Names for images laid out flat as a time series, in the given order.

    When every original name carries a number (see :func:`numbers_from_names`) the new names keep it
    (``frame000700.png``), so a folder numbered 700-999 is still numbered 700-999 once staged. Otherwise the
    new names hold letters only (``frame_aaaa.png``, ``frame_aaab.png``, ...): they sort in the given order and
    carry no number, so the frames are numbered by position, as the originals were.

    Example:
        >>> flat_frame_names(["run/00700.PNG", "run/00702.png"])
        ['frame000700.png', 'frame000702.png']
        >>> flat_frame_names(["worm_a.png", "worm_b.tif"])
        ['frame_aaaa.png', 'frame_aaab.tif']
    """
    numbers = numbers_from_names(names)
    if numbers is not None:
        return [f"frame{n:06d}{Path(name).suffix.lower()}" for n, name in zip(numbers, names)]
    width = max(4, int(np.ceil(np.log(max(len(names), 2)) / np.log(26))))

    def letters(i: int) -> str:
        return "".join(chr(97 + (i // 26 ** k) % 26) for k in reversed(range(width)))

    return [f"frame_{letters(i)}{Path(name).suffix.lower()}" for i, name in enumerate(names)]


def open_frames(source: str | os.PathLike, limits: Limits = LIMITS, time_lapse: bool = False,
                project: bool = False) -> FrameSource:
    """Open a video file, a folder of frames, or an image/TIFF stack for streaming.

    ``time_lapse``: the caller reads one picture per time point, so a stack with both time points and
    z-slices is refused (its planes would be taken for time points), or, with ``project``, read as the maximum
    projection of each time point's slices (:class:`ProjectedFrames`). A stack with one of the two is read
    either way: Fiji often saves a time-lapse's frames as slices. A folder of z-stacks (one per time point) is
    refused, or, with ``time_lapse`` and ``project``, read as each stack's maximum projection.

    Raises:
        UnsupportedFormatError for anything else; the reader's errors otherwise.
    """
    path = Path(source)
    if path.is_dir():
        return FolderFrames(path, limits, project=time_lapse and project)
    if not path.exists():
        raise UnreadableFileError(f"'{path.name}' does not exist.")
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return VideoFrames(path, limits)
    if suffix in IMAGE_SUFFIXES:
        image = read_image(path, limits=limits)
        sizes = dict(zip(image.axes, image.shape))
        if time_lapse and project and sizes.get("T", 1) > 1 and sizes.get("Z", 1) > 1:
            return ProjectedFrames(image)
        if time_lapse and sizes.get("T", 1) > 1 and sizes.get("Z", 1) > 1:
            raise UnsupportedFormatError(
                f"'{path.name}' holds {sizes['T']} time points of {sizes['Z']} z-slices each; this view reads one "
                "picture per time point. Project the slices first (in Fiji: Image > Stacks > Z Project, Max "
                "Intensity) and open the projected time-lapse.")
        return StackFrames(image)
    refuse_unread_format(f"'{path.name}'", path.name)
    raise UnsupportedFormatError(
        f"'{path.name}' is not a video ({', '.join(VIDEO_SUFFIXES)}), an image ({', '.join(IMAGE_SUFFIXES)}) "
        "or a folder of images.")
