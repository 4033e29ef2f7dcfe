"""Pictures and files of a segmentation: overlays, outlines, label TIFFs, tables, and whole files
(images, stacks, videos) segmented into an output folder."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from devocore import deploy, io, style
from devocore.errors import DevocoreError, UnsupportedFormatError
from devocore.progress import ProgressFn
from devocore.segmentation.cells import WORK_PIXELS, labels_3d, link_slices, resize, table_3d
from devocore.segmentation.config import Result, SegmentConfig
from devocore.segmentation.guess import channel_for, channel_kinds, field_note, marks_note, other_kind, unfit
from devocore.segmentation.predict import Predictor, segment, segment_frames


PALETTE = style.LABEL_PALETTE


def outlines(labels: np.ndarray) -> np.ndarray:
    """Y x X bool: the pixels on the border of each instance (a neighbour of the 8 holds another label).

    Compared with shifted views, so a huge plane needs no grey erosion and dilation copies of it."""
    edge = np.zeros(labels.shape, bool)
    if labels.size == 0 or not labels.any():
        return edge
    h, w = labels.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        here = (slice(0, h - dy), slice(max(0, -dx), w - max(0, dx)))  # each pixel and its neighbour
        there = (slice(dy, h), slice(max(0, dx), w - max(0, -dx)))  # at (dy, dx): both sides are marked
        differ = labels[here] != labels[there]
        edge[here] |= differ
        edge[there] |= differ
        del differ
    edge &= labels > 0
    return edge


def overlay(image: np.ndarray, labels: np.ndarray, centroids: bool = True) -> np.ndarray:
    """Y x X x 3 uint8 picture: the image in grey, each instance outlined in its colour, centroids as dots.

    Example:
        >>> lab = np.zeros((9, 9), np.uint16); lab[2:7, 2:7] = 1
        >>> overlay(np.zeros((9, 9), np.uint8), lab).shape
        (9, 9, 3)
    """
    grey = io.to_uint8(io.to_gray(np.asarray(image)))
    rgb = np.repeat(grey[..., None], 3, axis=2)
    edge = outlines(labels)
    rgb[edge] = PALETTE[(labels[edge].astype(np.int64) - 1) % len(PALETTE)]
    if centroids and labels.max() > 0:
        # the dots of a huge plane from every step-th pixel: scipy's centre of mass makes float64 copies of the plane
        step = max(1, int(np.ceil(np.sqrt(labels.size / 4_000_000))))
        sub = labels[::step, ::step]
        ids = np.arange(1, int(sub.max()) + 1)
        present = ids[np.bincount(sub.ravel(), minlength=len(ids) + 1)[1:] > 0]
        r = max(1, int(round(max(labels.shape) / 256)))
        for y, x in ndi.center_of_mass(sub > 0, sub, present) if len(present) else []:
            y, x = int(round(y * step)), int(round(x * step))
            rgb[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = (255, 255, 255)
    return rgb


def write_labels_tiff(path, labels: np.ndarray) -> None:
    """Save labels as a 16-bit ImageJ TIFF (Y x X; Z x Y x X as slices; T x Z x Y x X as a hyperstack)."""
    import tifffile

    if labels.size and labels.max() > np.iinfo(np.uint16).max:
        raise DevocoreError(f"Found {labels.max()} objects, more than a 16-bit label image holds.")
    target = path if hasattr(path, "write") else str(path)
    tifffile.imwrite(target, labels.astype(np.uint16, copy=False), imagej=True,
                     metadata={"axes": {2: "YX", 3: "ZYX", 4: "TZYX"}[labels.ndim]})


def save_png(path, array: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(array).save(str(path))


def _centroids(table: pd.DataFrame) -> pd.DataFrame:
    return table[[c for c in ("frame", "file", "t", "z", "id", "centroid_x", "centroid_y") if c in table.columns]]


def segment_path(path, model, cfg: SegmentConfig, out, labels_3d: bool = False, overlay_video: bool = True,
                 progress: ProgressFn | None = None) -> dict:
    """Segment a file (image, TIFF stack, video or folder of frames) and write the results into ``out``.

    Images give labels.tif, mask.png, overlay.png, table.csv, centroids.csv.
    Stacks and videos are streamed plane by plane: labels.tif gets one page per
    plane, table.csv and centroids.csv a ``frame`` column (and ``t`` and ``z`` for a
    stack of time points of z-slices), per_frame.csv one row per plane; videos also
    overlay.mp4; ``labels_3d`` adds labels_3d.tif and table_3d.csv for z-stacks, each
    time point's slices linked on their own.

    Raises:
        UnsupportedFormatError for ``labels_3d`` on a stack whose file names its planes time points.

    Returns:
        a summary dict: kind, planes, instances, files.
    """
    from pathlib import Path

    path, out = Path(path), Path(out)  # out is made once the input has been read: a refused input leaves none
    predictor = Predictor(model, zoom=cfg.zoom)
    notes: list[str] = []

    if cfg.channel is not None and predictor.recipe is not None:
        raise DevocoreError(f"The model '{cfg.model}' reads several channels by its own recipe; give the whole "
                            "image, without choosing a channel.")

    chosen: list[int | None] = []  # the channel taken when none is given, judged on the (middle) plane
    marked: list[str | None] = []  # white or grey marks on a colour plane, judged on the first plane picked

    def pick(plane: np.ndarray) -> np.ndarray:  # cfg.channel of a multi-channel plane, else the one that fits
        if not marked:
            marked.append(marks_note(plane, f"'{path.name}'"))
            notes.extend(marked if marked[0] else [])
        if cfg.channel is not None or predictor.recipe is not None or plane.ndim != 3:
            return io.pick_channel(plane, cfg.channel, f"'{path.name}'")
        if not chosen:
            channel, note = channel_choice(plane, path.name, predictor.task)
            chosen.append(channel)
            notes.extend([note] if note else [])
        return io.pick_channel(plane, chosen[0], f"'{path.name}'")

    def look(plane: np.ndarray) -> None:
        """A note when the plane is not a microscope image (as Batch skips it), else when it shows the other
        kind of structure than the model segments."""
        if warning := unfit(plane, f"'{path.name}'"):
            notes.append(warning)
        elif predictor.recipe is None and (other := other_kind([plane], predictor.task)):
            notes.append(other)
        elif wide := field_note(plane, predictor.task, f"'{path.name}'", cfg.zoom):
            notes.append(wide)

    is_video = path.is_dir() or path.suffix.lower() in io.VIDEO_SUFFIXES
    positions = None
    if not is_video:
        image = io.read_image(path)
        if labels_3d and image.stack_axes == "T" and image.time_named:
            raise UnsupportedFormatError(
                f"'{path.name}' is a time series: the file calls its {image.n_planes} planes time points, not "
                "z-slices, and 3-D labels link the z-slices of a stack. Leave out 3-D labels to segment each time "
                "point; if the planes are z-slices, set them so (Fiji: Image > Properties, Slices (z) = "
                f"{image.n_planes}, Frames (t) = 1) and save the stack again.")
        if labels_3d and not image.is_stack:
            notes.append(f"'{path.name}' is a single image: 3-D labels link the slices of a stack, so none were made.")
        if len(image.stack_axes) == 2:  # time points of z-slices: each plane's place goes into the tables
            positions = image.plane_positions()
        cfg, said = sizes_from_file(cfg, image)
        notes.extend([said] if said else [])
        if not image.is_stack:
            data = pick(image.data)
            look(data)
            result = segment(data, model, cfg.threshold, cfg.pixel_size, cfg.min_size, predictor)
            result.probability = None  # not written: let it go before the pictures are drawn
            out.mkdir(parents=True, exist_ok=True)
            write_labels_tiff(out / "labels.tif", result.labels)
            save_png(out / "mask.png", result.mask.astype(np.uint8) * np.uint8(255))
            save_png(out / "overlay.png", overlay(data, result.labels))
            save_png(out / "outlines.png", overlay(np.zeros_like(data), result.labels))
            result.table.to_csv(out / "table.csv", index=False)
            _centroids(result.table).to_csv(out / "centroids.csv", index=False)
            if progress:
                progress(1.0, "done")
            return {"kind": "image", "planes": 1, "instances": result.count, "notes": notes,
                    "files": ["labels.tif", "mask.png", "overlay.png", "outlines.png", "table.csv", "centroids.csv"]}
        source = io.StackFrames(image)
        kind = "stack"
    else:
        source = io.open_frames(path)
        kind = "video"
        if isinstance(source, io.FolderFrames):  # each row names the file it came from
            positions = {"file": [p.name for p in source.files]}
        if labels_3d:
            notes.append(f"'{path.name}' is a video: 3-D labels link the slices of a stack, so none were made.")
    middle = next(io.frames_at(source, [len(source) // 2], scan=False), None)
    if middle is not None:  # the channel is judged on the middle plane, as the page judges it (a stack's first
        pick(middle)  # slices often show little)
    summary = _segment_stream(source, kind, predictor, cfg, out, labels_3d and kind == "stack",
                              overlay_video and kind == "video", progress, pick, look, positions)
    return dict(summary, notes=notes)


def sizes_from_file(cfg: SegmentConfig, image: io.ImageData) -> tuple[SegmentConfig, str | None]:
    """``cfg`` with the pixel size and z step that ``image``'s metadata states where ``cfg`` gives none, and a note
    that says which were read (naming the options that override them)."""
    from dataclasses import replace

    read = {}
    if cfg.pixel_size is None and image.pixel_size_um:
        read["pixel_size"] = image.pixel_size_um
    if cfg.z_step is None and image.z_step_um and image.is_stack:
        read["z_step"] = image.z_step_um
    if not read:
        return cfg, None
    words = [f"{read['pixel_size']:g} um per pixel" if "pixel_size" in read else "",
             f"{read['z_step']:g} um between slices" if "z_step" in read else ""]
    options = ["--pixel-size" if "pixel_size" in read else "", "--z-step" if "z_step" in read else ""]
    units = "areas in um^2" + (" and volumes in um^3" if "z_step" in read else "")
    return replace(cfg, **read), (f"'{image.name}' states {' and '.join(w for w in words if w)} in its metadata; "
                                  f"the tables use it for {units} (give {' or '.join(o for o in options if o)} "
                                  "to use others).")


def channel_choice(plane: np.ndarray, name: str, task: str) -> tuple[int | None, str | None]:
    """The channel (from 1) of a multi-channel plane that shows what ``task`` segments when its channels differ
    (:func:`channel_for`; None: their mean), and a note that says which was taken (None for a grey plane).

    Raises:
        DevocoreError for more than 4 channels of which none shows what the task segments.
    """
    mixed = io.distinct_channels(plane) if plane.ndim == 3 else 0
    kinds = channel_kinds(plane) if mixed else []
    channel = channel_for(kinds, task) if mixed else None
    if channel is None and plane.ndim == 3 and plane.shape[-1] > 4:
        raise DevocoreError(f"'{name}' has {plane.shape[-1]} channels; choose the one to segment "
                            f"(--channel N, from 1 to {plane.shape[-1]}).")
    if not mixed:
        return None, None
    shown = ", ".join(f"{c}: {kind}" for c, kind in enumerate(kinds, 1))
    taken = "their mean was segmented" if channel is None else f"channel {channel + 1} was segmented"
    return (None if channel is None else channel + 1,
            f"'{name}' has {mixed} channels that differ ({shown}); {taken}. To segment another, choose it "
            "(--channel N, from 1).")


def _segment_stream(source, kind: str, predictor: Predictor, cfg: SegmentConfig, out, want_3d: bool,
                    want_video: bool, progress: ProgressFn | None, pick, look,
                    positions: dict[str, np.ndarray] | None = None) -> dict:
    """:func:`segment_path` for the planes of a stack or video; ``look`` is shown the middle plane;
    ``positions``: each plane's time point and slice (``t``, ``z``) when the stack has both, or the file of each
    frame of a folder (``file``)."""
    probs: list[np.ndarray] = []  # nucleus: probabilities for a 3-D watershed; membrane: 2-D cells to link
    middle = len(source) // 2

    def results():
        first = None
        with source:
            for i, frame, result in segment_frames(map(pick, source), None, cfg, len(source), progress, predictor):
                first = first or frame.shape[:2]
                if frame.shape[:2] != first:  # labels.tif, the overlay video and a 3-D stack hold one size
                    raise UnsupportedFormatError(
                        f"Frame {i + 1} of '{source.name}' is {frame.shape[1]} x {frame.shape[0]} px, the first is "
                        f"{first[1]} x {first[0]} px: the frames of a {kind} must all have one size. To segment "
                        "images of different sizes one by one, use `python -m devocore batch FOLDER --task "
                        f"{predictor.task} --out RESULTS` (or the Batch page).")
                if want_3d:
                    # nucleus: the maps for a 3-D watershed at the planes' size (a huge plane's is at work size)
                    probs.append(resize(result.probability, frame.shape[:2]) if predictor.task == "nucleus"
                                 else result.labels)
                if i == middle:  # a picture a person can check, and the outlines alone
                    look(frame)
                    save_png(out / "overlay_middle.png", overlay(frame, result.labels))
                    save_png(out / "outlines_middle.png", overlay(np.zeros_like(frame), result.labels))
                huge = frame.shape[0] * frame.shape[1] > WORK_PIXELS
                yield i, frame, result
                del frame, result  # not kept while the next plane is worked on
                if huge:
                    deploy.trim()  # the heap's free memory back to the system before the next huge plane

    summary = write_stream(results(), out, fps=source.fps, video=want_video, positions=positions)
    summary["kind"] = kind
    summary["files"] += ["overlay_middle.png", "outlines_middle.png"]
    if not summary["planes"]:
        raise DevocoreError(f"'{source.name}' gave no frames to segment.")
    if want_3d:
        times = int(positions["t"].max()) if positions else 1  # each time point's z-slices are linked on their own
        stacks = np.stack(probs).reshape((times, -1) + probs[0].shape)
        del probs[:]
        labels, tables, found = np.zeros(stacks.shape, np.uint32), [], 0
        for t, stack in enumerate(stacks):
            cells = labels_3d(stack, predictor.task, cfg.threshold) if predictor.task == "nucleus" \
                else link_slices(stack)
            labels[t] = np.where(cells > 0, cells.astype(np.uint32) + found, 0)  # ids stay unique over the whole file
            table = table_3d(labels[t], cfg.pixel_size, cfg.z_step)
            if positions:
                table.insert(0, "t", t + 1)
            tables.append(table)
            found += int(cells.max())
        write_labels_tiff(out / "labels_3d.tif", labels if positions else labels[0])
        pd.concat(tables, ignore_index=True).to_csv(out / "table_3d.csv", index=False)
        summary["instances_3d"] = found
        summary["files"] += ["labels_3d.tif", "table_3d.csv"]
    return summary


def write_stream(results: Iterable[tuple[int, np.ndarray, Result]], out, fps: float | None = None,
                 video: bool = False, positions: dict[str, np.ndarray] | None = None) -> dict:
    """Write per-plane results as they come (memory stays flat with the number of planes).

    Files: labels.tif (one 16-bit page per plane), table.csv and centroids.csv
    (with a ``frame`` column: the plane index + 1, so frames and slices count from 1), per_frame.csv,
    and overlay.mp4 when ``video``. ``positions`` (e.g. ``{"t": ..., "z": ...}`` from
    :meth:`devocore.io.ImageData.plane_positions`, or ``{"file": names}`` for a folder of frames) adds a column
    per key after ``frame`` in the three tables.

    Returns:
        a summary dict: planes, instances, files.
    """
    import cv2
    import tifffile
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = ["labels.tif", "table.csv", "centroids.csv", "per_frame.csv"]
    per_frame, total, writer = [], 0, None
    with tifffile.TiffWriter(str(out / "labels.tif"), imagej=True) as tif, \
            open(out / "table.csv", "w", newline="") as table_file, \
            open(out / "centroids.csv", "w", newline="") as centroid_file:
        for i, frame, result in results:
            tif.write(result.labels, contiguous=True)
            table = result.table.copy()
            table.insert(0, "frame", i + 1)  # frames and slices are numbered from 1, as on the pages
            place = {axis: numbers[i] if isinstance(numbers[i], str) else int(numbers[i])
                     for axis, numbers in (positions or {}).items()}
            for k, (axis, number) in enumerate(place.items()):
                table.insert(1 + k, axis, number)
            table.to_csv(table_file, index=False, header=not per_frame)
            _centroids(table).to_csv(centroid_file, index=False, header=not per_frame)
            per_frame.append({"frame": i + 1, **place, "instances": result.count,
                              "foreground_fraction": round(float(result.mask.mean()), 5),
                              "mean_area_px": round(float(table["area_px"].mean()), 2) if result.count else 0.0})
            total += result.count
            if video:
                picture = overlay(frame, result.labels)
                if writer is None:
                    writer = cv2.VideoWriter(str(out / "overlay.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                             float(fps or 10.0), (picture.shape[1], picture.shape[0]))
                writer.write(np.ascontiguousarray(picture[..., ::-1]))
                del picture
            del frame, result, table  # not kept while the next plane is worked on
    if writer is not None:
        writer.release()
        files.append("overlay.mp4")
    pd.DataFrame(per_frame, columns=["frame", *(positions or {}), "instances", "foreground_fraction",
                                     "mean_area_px"]).to_csv(out / "per_frame.csv", index=False)
    return {"planes": len(per_frame), "instances": total, "files": files}
