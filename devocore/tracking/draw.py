"""Drawing tracking results onto frames: skeletons, head markers, ids, and an overlay video."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from devocore import style
from devocore.errors import DevocoreError
from devocore.io import open_frames, read_video_frame, to_uint8
from devocore.progress import ProgressFn
from devocore.tracking.evaluate import midline_columns

log = logging.getLogger(__name__)

#: RGB colours cycled over worm ids (the instance-label palette of devocore.style).
PALETTE = [tuple(style.LABEL_PALETTE[i].tolist()) for i in style.STRONG_ROWS]


def colour(worm: int) -> tuple[int, int, int]:
    """The RGB colour of a worm id."""
    return style.label_rgb(worm, light_background=True)


def to_rgb(frame: np.ndarray, levels=None) -> np.ndarray:
    """Any frame as Y x X x 3 uint8 RGB.

    ``levels`` (a tracking result's :class:`~devocore.tracking.segment.Levels`) maps 16-bit or float frames with
    the movie's one offset and gain, so a video's frames keep their brightness relative to each other; without
    it each such frame is stretched on its own.

    Example:
        >>> from devocore.tracking.segment import Levels
        >>> dim, bright = np.full((2, 2), 1000, np.uint16), np.full((2, 2), 3000, np.uint16)
        >>> levels = Levels.of([dim, bright])
        >>> int(to_rgb(dim, levels).max()), int(to_rgb(bright, levels).min())
        (0, 255)
    """
    frame = np.asarray(frame)
    if levels is not None and frame.dtype != np.uint8:
        frame = np.clip(levels(frame), 0, 255).astype(np.uint8)
    elif frame.dtype != np.uint8:
        frame = to_uint8(frame)
    if frame.ndim == 2:
        return np.dstack([frame] * 3)
    return np.ascontiguousarray(frame[..., :3])


def draw_frame(frame: np.ndarray, rows: pd.DataFrame, scale: int = 1, levels=None) -> np.ndarray:
    """A frame (upscaled ``scale`` times) with each worm's midline, head (filled dot) and id drawn.

    Coiled and touching worms get their id and status at the centroid. ``levels``: see :func:`to_rgb`.
    """
    image = to_rgb(frame, levels)
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    xs, ys = midline_columns(rows)
    thickness = max(1, scale // 2)
    for _, row in rows.iterrows():
        c = colour(row["worm"])
        label = str(int(row["worm"]))
        if xs and not np.isnan(row[xs[0]]):
            pts = np.column_stack([row[xs].to_numpy(float), row[ys].to_numpy(float)]) * scale + (scale - 1) / 2
            cv2.polylines(image, [np.round(pts).astype(np.int32)], False, c, thickness, cv2.LINE_AA)
            head = tuple(int(v) for v in np.round(pts[0]))
            cv2.circle(image, head, max(2, 2 * thickness), c, -1, cv2.LINE_AA)
            anchor = head
        elif not np.isnan(row.get("centroid_x", np.nan)):
            anchor = (int(row["centroid_x"] * scale), int(row["centroid_y"] * scale))
            label += f" {row['status']}"
        else:
            continue
        cv2.putText(image, label, (anchor[0] + 4, anchor[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * max(1, scale / 2),
                    c, thickness, cv2.LINE_AA)
    return image


def read_frame(path: str | Path, number: int) -> np.ndarray:
    """The frame numbered ``number`` of a video (by seeking), a folder or a stack.

    Frames of a folder whose file names carry numbers are found by those numbers (``00700.png`` is frame 700);
    otherwise ``number`` is the position from 0 (see :attr:`devocore.io.FrameSource.frame_numbers`).
    """
    from devocore.io import FolderFrames, VideoFrames, read_image

    with open_frames(path) as source:
        numbers = source.frame_numbers
        if numbers is not None:
            if number not in numbers:
                shown = f"{numbers[0]}-{numbers[-1]}" if numbers else "none"
                raise DevocoreError(f"'{Path(path).name}' has no frame {number} (frames numbered by "
                                    f"{source.numbering}: {shown}).")
            index = numbers.index(number)
        else:
            index = number
        if isinstance(source, FolderFrames) and 0 <= index < len(source.files):
            return read_image(source.files[index]).data
        if isinstance(source, VideoFrames):
            frame = read_video_frame(source.path, index)
            if frame is not None:
                return frame[..., ::-1].copy()
        for i, frame in enumerate(source):
            if i == index:
                return frame
    raise DevocoreError(f"Frame {number} is past the end of '{Path(path).name}'.")


def write_overlay(path: str | Path, table: pd.DataFrame, out: str | Path, fps: float = 25.0,
                  max_frames: int | None = None, progress: ProgressFn | None = None, levels=None) -> Path:
    """Write an MP4 of the input with the tracking drawn on (frames of varying size are padded).

    Rows are matched to frames by frame number, numbered as :func:`devocore.tracking.track` numbers them.
    ``levels``: the tracking result's grey-level map of a 16-bit or float movie (see :func:`to_rgb`), so the
    video does not flicker.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    by_frame = {f: g for f, g in table.groupby("frame")}
    empty = table.iloc[:0]
    writer = None
    size = None
    with open_frames(path) as source:
        total = len(source) if max_frames is None else min(len(source), max_frames)
        scale = 1 if max(source.shape) >= 240 else 3
        numbers = source.frame_numbers  # the table's frame numbers (None: positions)
        for i, frame in enumerate(source):
            if max_frames is not None and i >= max_frames:
                break
            image = draw_frame(frame, by_frame.get(i if numbers is None else numbers[i], empty), scale, levels)
            if writer is None:
                size = (image.shape[1] + image.shape[1] % 2, image.shape[0] + image.shape[0] % 2)
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
            canvas = np.zeros((size[1], size[0], 3), np.uint8)
            h, w = min(size[1], image.shape[0]), min(size[0], image.shape[1])
            canvas[:h, :w] = image[:h, :w]
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
            if progress is not None and total and i % 10 == 0:
                progress(min(1.0, (i + 1) / total), "drawing the overlay video")
    if writer is None:
        raise DevocoreError(f"'{Path(path).name}' gave no frame to draw.")
    writer.release()
    if not out.exists() or out.stat().st_size == 0:
        raise DevocoreError(f"Could not write the overlay video '{out.name}' (no MP4 encoder?).")
    if progress is not None:
        progress(1.0, "overlay written")
    return out
