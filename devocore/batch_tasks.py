"""The batch tasks of the views: the same functions, and so the same files, as their CLI commands.

* ``nucleus``, ``membrane``: ``segment MODEL FILE --out DIR``; videos are split into
  frame ranges that are segmented in parallel and written in order.
* ``lineage``: ``lineage VIDEO --out preds.csv`` (written as ``populations.csv``).
* ``track``: ``track VIDEO --out track.csv``.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from devocore import io
from devocore.batch import BatchTask, register

IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def _frame_count(path: Path) -> int:
    with io.open_frames(path) as frames:
        return frames.frame_count


def _segmentation_task(name: str) -> BatchTask:
    from devocore import segmentation

    config = segmentation.SegmentConfig(model=name)

    def run_file(path: Path, out_dir: Path, model) -> dict:
        summary = segmentation.segment_path(path, model, config, out_dir)
        return {"frames": summary["planes"], "instances": summary["instances"]}

    def run_range(path: Path, start: int, stop: int, model) -> list:
        predictor = segmentation.Predictor(model)
        with io.open_frames(path) as source:
            fps = source.fps
            frames = itertools.islice(source, start, stop)
            results = [(start + i, frame, result) for i, frame, result in
                       segmentation.segment_frames(frames, None, config, predictor=predictor)]
        return [fps, _frame_count(path), results]

    def join(path: Path, out_dir: Path, parts: list) -> dict:
        fps, count = parts[0][0], parts[0][1]
        results = [item for part in parts for item in part[2]]
        middle = count // 2
        for i, frame, result in results:
            if i == middle:  # the same check picture the single-file command writes
                segmentation._save_png(out_dir / "overlay_middle.png", segmentation.overlay(frame, result.labels))
                segmentation._save_png(out_dir / "outlines_middle.png",
                                       segmentation.overlay(np.zeros_like(frame), result.labels))
        summary = segmentation.write_stream(iter(results), out_dir, fps=fps, video=True)
        return {"frames": summary["planes"], "instances": summary["instances"]}

    return BatchTask(name, IMAGES + io.VIDEO_SUFFIXES, run_file, model=name, run_range=run_range, join=join,
                     frame_count=_frame_count)


def _lineage_file(path: Path, out_dir: Path, model) -> dict:
    from devocore.lineage import LINEAGES, LineageConfig, predict

    result = predict(path, model, LineageConfig())
    result.table.to_csv(out_dir / "populations.csv", index=False)
    last = result.table.iloc[-1]
    return {"frames": len(result.table), **{f"final_{k}": int(last[k]) for k in LINEAGES},
            "final_total": int(last["total"]), "frames_without_embryo": int((~result.table["embryo"]).sum())}


def _track_file(path: Path, out_dir: Path, model) -> dict:
    from devocore.tracking import TrackConfig, track

    result = track(path, TrackConfig())
    result.table.to_csv(out_dir / "track.csv", index=False, float_format="%.3f")
    return {"frames": result.n_frames, "worms": int(result.table["worm"].nunique()) if len(result.table) else 0}


register(_segmentation_task("nucleus"))
register(_segmentation_task("membrane"))
register(BatchTask("lineage", io.VIDEO_SUFFIXES + (".tif", ".tiff"), _lineage_file, model="lineage"))
register(BatchTask("track", io.VIDEO_SUFFIXES, _track_file))
