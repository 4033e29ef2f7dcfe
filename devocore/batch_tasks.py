"""The batch tasks of the views: the same functions, and so the same files, as their CLI commands.

* ``nucleus``, ``membrane``: ``segment MODEL FILE --out DIR``; videos are split into
  frame ranges that are segmented in parallel and written in order.
* ``lineage``: ``lineage VIDEO --out preds.csv`` (written as ``populations.csv``).
* ``track``: ``track VIDEO --out track.csv``.

Files that do not fit a task are skipped with a reason (see :func:`devocore.io.content_problem`): a label or
mask image, an image with one value, and, for the fluorescence tasks, a bright-field picture.
"""
from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np

from devocore import io
from devocore.batch import BatchTask, register


def _middle_plane(path: Path) -> np.ndarray:
    image = io.read_image(path)
    planes = list(image.planes())
    plane = planes[len(planes) // 2]
    return io.to_gray(plane)


def _sample_frames(path: Path, n: int = 5) -> list[np.ndarray]:
    """Up to ``n`` grey frames (channel mean) evenly spaced through a video."""
    with io.open_frames(path) as source:
        return [io.to_gray(frame) for frame in io.sample_frames(source, n)]


def check_microscopy(path: Path, fluorescence: bool = True) -> str | None:
    """A reason to skip ``path`` for a task on fluorescence images or videos, or None.

    Images: the middle plane must look like a microscope image (:func:`devocore.io.content_problem`). Videos
    (never label images; compression blurs flat regions): the median of 5 frames' background level must be
    dark when ``fluorescence``, and the frames must not all be one value.
    """
    if path.suffix.lower() not in io.VIDEO_SUFFIXES:
        return io.content_problem(_middle_plane(path), fluorescence)
    frames = _sample_frames(path)
    if not frames:
        return None  # the run reports why it cannot be read
    if all(f.min() == f.max() == frames[0].min() for f in frames):
        return f"one value ({frames[0].min()}) in every pixel of the sampled frames: an empty video"
    if fluorescence and np.median([io.light_background(f) for f in frames]) > io.LIGHT_BACKGROUND:
        return ("a video with a light background and dark objects (bright field, e.g. worms); this task expects "
                "fluorescence (bright nuclei or membranes on a dark background)")
    return None


def _check_video(path: Path) -> str | None:
    """For tracking: only an empty video is refused (worms may be dark on light or light on dark)."""
    return check_microscopy(path, fluorescence=False)


def _frame_count(path: Path) -> int:
    with io.open_frames(path) as frames:
        return frames.frame_count


def kind_note(path: Path, task: str, zoom: float = 1.0) -> str:
    """A note when ``path`` looks like the other kind of image than ``task`` ("nucleus" or "membrane"), or shows
    the embryo small in a wide field (:func:`devocore.segmentation.field_note`; not when segmented at another
    ``zoom``, as `segment` does), else "".

    The same guess as the Segmentation page's (:func:`devocore.segmentation.guess_task`), on the middle plane
    of an image or stack, or on 5 frames of a video.
    """
    from devocore import segmentation

    planes = _sample_frames(path) if path.suffix.lower() in io.VIDEO_SUFFIXES else [_middle_plane(path)]
    if not planes:
        return ""
    return (segmentation.other_kind(planes, task)
            or segmentation.field_note(planes[len(planes) // 2], task, f"'{path.name}'", zoom) or "")


def _segmentation_task(name: str) -> BatchTask:
    from devocore import segmentation

    config = segmentation.SegmentConfig(model=name)

    def run_file(path: Path, out_dir: Path, model, zoom: float = config.zoom) -> dict:
        summary = segmentation.segment_path(path, model, dataclasses.replace(config, zoom=zoom), out_dir)
        # e.g. the other kind of image than the task's, or channels that differ, whose mean was segmented
        return {"frames": summary["planes"], "instances": summary["instances"], "note": "; ".join(summary["notes"])}

    def video_channel(path: Path, task: str) -> tuple[int | None, str | None]:
        """The channel `segment` takes for the whole video, judged on its middle frame as `segment` does."""
        with io.open_frames(path) as source:
            middle = next(io.frames_at(source, [len(source) // 2], scan=False), None)
        return (None, None) if middle is None else segmentation.channel_choice(middle, path.name, task)

    def run_range(path: Path, start: int, stop: int, model, zoom: float = config.zoom) -> list:
        predictor = segmentation.Predictor(model, zoom=zoom)
        channel, note = video_channel(path, predictor.task)
        with io.open_frames(path) as source:
            fps = source.fps
            frames = (io.pick_channel(frame, channel) for frame in itertools.islice(source, start, stop))
            results = [(start + i, frame, result) for i, frame, result in
                       segmentation.segment_frames(frames, None, config, predictor=predictor)]
        return [fps, _frame_count(path), results, note]

    def join(path: Path, out_dir: Path, parts: list, zoom: float = config.zoom) -> dict:
        fps, count, note = parts[0][0], parts[0][1], parts[0][3]  # every range judged the same middle frame
        results = [item for part in parts for item in part[2]]
        middle = count // 2
        for i, frame, result in results:
            if i == middle:  # the same check picture the single-file command writes
                segmentation.save_png(out_dir / "overlay_middle.png", segmentation.overlay(frame, result.labels))
                segmentation.save_png(out_dir / "outlines_middle.png",
                                       segmentation.overlay(np.zeros_like(frame), result.labels))
        summary = segmentation.write_stream(iter(results), out_dir, fps=fps, video=True)
        notes = [note, kind_note(path, name, zoom)]
        return {"frames": summary["planes"], "instances": summary["instances"], "note": "; ".join(filter(None, notes))}

    return BatchTask(name, io.IMAGE_SUFFIXES + io.VIDEO_SUFFIXES, run_file, model=name, run_range=run_range, join=join,
                     frame_count=_frame_count, takes="fluorescence images, TIFF stacks and videos",
                     check=check_microscopy, options={"zoom": config.zoom})


def _lineage_file(path: Path, out_dir: Path, model) -> dict:
    from devocore.lineage import LINEAGES, LineageConfig, predict

    result = predict(path, model, LineageConfig())
    result.table.to_csv(out_dir / "populations.csv", index=False)
    last = result.table.iloc[-1]
    return {"frames": len(result.table), **{f"final_{k}": int(last[k]) for k in LINEAGES},
            "final_total": int(last["total"]), "frames_without_embryo": int((~result.table["embryo"]).sum()),
            "note": " ".join(filter(None, [result.unfit, *result.notes]))}  # e.g. which channel shows the nuclei


def _track_file(path: Path, out_dir: Path, model) -> dict:
    from devocore.tracking import TrackConfig, track

    result = track(path, TrackConfig())
    result.table.to_csv(out_dir / "track.csv", index=False, float_format="%.3f")
    return {"frames": result.n_frames, "worms": int(result.table["worm"].nunique()) if len(result.table) else 0,
            "note": " ".join(filter(None, [result.unfit, result.still, result.blank]))}


register(_segmentation_task("nucleus"))
register(_segmentation_task("membrane"))
register(BatchTask("lineage", io.VIDEO_SUFFIXES + (".tif", ".tiff"), _lineage_file, model="lineage",
                   takes="fluorescence time-lapse videos and TIFF stacks", check=check_microscopy))
register(BatchTask("track", io.VIDEO_SUFFIXES, _track_file, takes="videos of worms", check=_check_video))
