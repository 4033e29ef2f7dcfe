"""Running the lineage model over a movie (frames read and batched on a background thread) and turning its
outputs into populations and stages per frame; clips of a movie."""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import replace
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from devocore import io
from devocore.io import frame_list  # re-exported by devocore.lineage
from devocore.errors import DevocoreError
from devocore.lineage.config import LINEAGES, MAX_COUNT, METHODS, MIN_TIMELINE_FRAMES, LineageConfig, LineageResult
from devocore.lineage.pixels import (STRUCTURE_MIN, choose_channel, crops_embryo, movie_angle, nucleus_channel,
                                     preprocess, signal_weights, structure)
from devocore.lineage.timeline import monotone, running_median, StageCurves, to_counts
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

#: Below this median :func:`~devocore.io.blob_ratio` (0 for lines, 1 for round blobs) of the frames a quarter,
#: half and three quarters in, a movie shows membranes, not nuclei. On those frames: the training EPIC movie
#: 0.28-0.37, Devoscope's simulated EPIC-like movies (the page's example) from 0.23, simulated membranes 0.13-0.23,
#: the CShaper training slices at most 0.195; measured afterwards on the evaluation files: the EPIC movie 0.29-0.64,
#: the CShaper stacks and DevoLearn's membrane video 0.08-0.11. Lower than the single-plane guess's
#: :data:`devocore.io.MEMBRANE_BLOB_RATIO` (0.24), which would call the page's own example (0.233) membranes.
MEMBRANE_MOVIE_RATIO = 0.2


def _batches(frames: Iterable[np.ndarray], size: int, channel: str, batch_size: int, keep_previews: bool,
             crop: bool = False, angle: float = 0.0, region: tuple[int, int, int, int] | None = None
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, list]]:
    """Preprocess frames in a background thread; yield (B x size x size, contrasts, structures, previews)."""
    out: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def work() -> None:
        try:
            xs, cs, ss, ps = [], [], [], []
            for frame in frames:
                if stop.is_set():
                    return
                plane = nucleus_channel(frame, channel)  # once for both
                x, c = preprocess(plane, size, crop=crop, angle=angle, region=region)
                xs.append(x)
                cs.append(c)
                ss.append(structure(plane if region is None else plane[region[0]:region[1], region[2]:region[3]]))
                if keep_previews:  # colour as it is; a microscope's channels as the nuclei's
                    ps.append(_preview(frame if np.ndim(frame) == 2 or np.shape(frame)[-1] in (3, 4) else plane,
                                       region=region))
                if len(xs) == batch_size:
                    out.put((np.stack(xs), np.array(cs), np.array(ss), ps))
                    xs, cs, ss, ps = [], [], [], []
            if xs:
                out.put((np.stack(xs), np.array(cs), np.array(ss), ps))
            out.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            out.put(exc)

    thread = threading.Thread(target=work, name="lineage-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # drain so the worker can finish
            try:
                out.get(timeout=0.1)
            except queue.Empty:
                pass


#: Colour of the box drawn on the previews around the embryo counted, where the field shows more (amber).
REGION_COLOUR = (255, 191, 0)


def _preview(frame: np.ndarray, longest: int = 256, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A small uint8 copy of ``frame`` for the page, with ``region`` (the embryo counted) drawn as a box.

    Example:
        >>> small = _preview(np.zeros((512, 1024), np.uint8), region=(0, 512, 0, 512))
        >>> small.shape, small[64, 1].tolist(), small[64, 200].tolist()
        ((128, 256, 3), [255, 191, 0], [0, 0, 0])
    """
    import cv2

    from devocore.io import to_uint8

    image = to_uint8(np.asarray(frame))
    h, w = image.shape[:2]
    scale = min(1.0, longest / max(h, w))
    if scale < 1:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    if region is not None:
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        image = np.ascontiguousarray(image[..., :3])
        y0, y1, x0, x1 = (round(v * scale) for v in region)
        cv2.rectangle(image, (x0 + 1, y0 + 1), (max(x0 + 1, x1 - 2), max(y0 + 1, y1 - 2)), REGION_COLOUR, 2)
    return image


def run_network(net, frames: Iterable[np.ndarray], total: int | None = None, batch_size: int = 16,
                channel: str = "auto", keep_previews: bool = False,
                progress: ProgressFn | None = None, angle: float = 0.0,
                region: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Network outputs for a stream of frames, each cut to ``region`` and turned by ``angle`` degrees
    (:func:`preprocess`) first.

    Returns:
        (N x 7 float32 log(1 + count), N contrasts, N structures (see :func:`structure`), previews).
    """
    import torch

    from devocore.nets.inference import inference_copy, runnable

    crop = crops_embryo(net)
    size = int(net.card.get("input_size", 128)) if hasattr(net, "card") else 128
    first = next(net.parameters(), None)
    if first is None:  # nothing to fold
        net = runnable(net).eval()
        device, dtype = torch.device("cpu"), torch.float32
    else:  # batch norms folded into the convolutions (float32 where a server holds the model in float16)
        net = inference_copy(net, first.device, channels_last=True,
                             probe_shape=(1, getattr(net, "in_channels", 1), size, size))
        device, dtype = first.device, next(net.parameters()).dtype
    outputs, contrasts, structures, previews = [], [], [], []
    done = 0
    with torch.inference_mode():
        for x, c, s, p in _batches(frames, size, channel, batch_size, keep_previews, crop, angle, region):
            batch = torch.from_numpy(x[:, None]).to(device=device, dtype=dtype)
            batch = batch.contiguous(memory_format=torch.channels_last)
            outputs.append(net(batch).float().cpu().numpy())
            contrasts.append(c)
            structures.append(s)
            previews.extend(p)
            done += len(x)
            if progress is not None:
                progress(min(1.0, done / total) if total else 0.0, f"frame {done}" + (f" of {total}" if total else ""))
    if not outputs:
        raise DevocoreError("The input holds no frames.")
    return np.concatenate(outputs).astype(np.float32), np.concatenate(contrasts), np.concatenate(structures), previews


def frame_steps(n: int, numbers: Sequence[int] | None = None) -> np.ndarray:
    """Time of each of ``n`` frames in frame steps, the first at 1: from their numbers when given (gaps kept).

    Example:
        >>> frame_steps(3).tolist(), frame_steps(3, [700, 701, 705]).tolist()
        ([1.0, 2.0, 3.0], [1.0, 2.0, 6.0])
    """
    if numbers is None:
        return np.arange(1, n + 1, dtype=np.float64)
    numbers = np.asarray(numbers, dtype=np.float64)[:n]
    return numbers - numbers[0] + 1


def log_total_count(est: np.ndarray) -> np.ndarray:
    return np.log1p(np.expm1(np.clip(est, 0, np.log1p(MAX_COUNT))).sum(axis=1))


def populations(raw: np.ndarray, curves: StageCurves | None, method: str = "timeline", monotonic: bool = False,
                smooth: int = 1, weights: np.ndarray | None = None, frames: np.ndarray | None = None
                ) -> tuple[np.ndarray, tuple[float, float] | None]:
    """N x 7 float populations from network outputs (log(1 + count)).

    Args:
        raw: N x 7 network outputs, frames in time order.
        curves: the model's reference curves (needed by "timeline" and "stage").
        method: one of :data:`METHODS`.
        monotonic: make every lineage non-decreasing over the frames.
        smooth: running-median window (frames).
        weights: per-frame weights (0 = no signal).
        frames: the time of each frame in frame steps, first = 1 (default 1, 2, ..., N); a gap in a
            numbered folder of frames is a gap here, so the time line follows the numbers.

    Returns:
        (N x 7 populations, (offset, rate) for "timeline", else None).
    """
    if method not in METHODS:
        raise DevocoreError(f"Unknown method '{method}'. Available options are: {', '.join(METHODS)}.")
    raw = np.asarray(raw, dtype=np.float64)
    n = raw.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    est = running_median(raw, smooth) if smooth > 1 else raw
    if method != "net" and curves is None:
        raise DevocoreError(f"Method '{method}' needs a model with reference curves; use method 'net'.")
    if method == "timeline" and n < MIN_TIMELINE_FRAMES:
        method = "stage"
    timeline = None
    if method == "net":
        counts = np.expm1(np.clip(est, 0, np.log1p(MAX_COUNT)))
        if monotonic:
            counts = np.stack([monotone(counts[:, k], w) for k in range(counts.shape[1])], axis=1)
        return counts, None
    log_total = log_total_count(est)
    if method == "timeline":
        frames = frame_steps(n, frames)
        timeline = curves.fit_timeline(frames, log_total, w)
        tau = timeline[0] + timeline[1] * frames
    else:
        if monotonic:
            log_total = monotone(log_total, w)
        tau = curves.tau_of(log_total)
    return curves.at(tau), timeline


def stage(raw: np.ndarray, curves: StageCurves, timeline: tuple[float, float] | None = None,
          weights: np.ndarray | None = None, smooth: int = 1, monotonic: bool = False,
          frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Developmental stage of every frame: reference time points after the 4-cell stage, with a 90 % band.

    With a fitted ``timeline`` the stage is the line and the band comes from
    :meth:`StageCurves.timeline_band`. Without one, each frame's stage is read
    from its estimated total (:meth:`StageCurves.tau_of`) and the band is that
    +- 1.645 robust standard deviations of the frame-to-frame scatter.

    Returns:
        (stage, low, high), three N float arrays (reference time points).
    """
    raw = np.asarray(raw, dtype=np.float64)
    n = raw.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    est = running_median(raw, smooth) if smooth > 1 else raw
    log_total = log_total_count(est)
    zero = curves.four_cell
    if timeline is not None:
        frames = frame_steps(n, frames)
        tau = timeline[0] + timeline[1] * frames
        lo, hi = curves.timeline_band(frames, log_total, w, timeline)
    else:
        if monotonic:
            log_total = monotone(log_total, w)
        tau = curves.tau_of(log_total)
        keep = w > 0
        scatter = tau[keep] - running_median(tau, 9)[keep] if keep.any() else np.zeros(1)
        half = 1.645 * 1.4826 * float(np.median(np.abs(scatter - np.median(scatter))))
        lo, hi = tau - half, tau + half
    return tau - zero, lo - zero, hi - zero


#: Frames under this many pixels on a side are refused: they cannot show an embryo's nuclei.
MIN_FRAME_SIDE = 16


def predict_frames(frames: Iterable[np.ndarray], net, config: LineageConfig = LineageConfig(),
                   total: int | None = None, progress: ProgressFn | None = None,
                   numbers: Sequence[int] | None = None) -> LineageResult:
    """Populations and stage for frames in time order (any iterable of Y x X [x C] arrays).

    ``numbers``: each frame's number (from its file name; rising, gaps allowed) for the ``frame`` column and the
    time line; default 1, 2, ... (frame 1 = the first frame).
    """
    count = total or 1
    middle, problems, ratios, marks, saturated = count // 2, [], [], [], []
    judged = {count // 4, middle, (3 * count) // 4}

    def looked_at(stream: Iterable[np.ndarray]) -> Iterator[np.ndarray]:  # a few frames' content is judged
        for i, frame in enumerate(stream):
            io.check_min_side(np.shape(frame), f"Frame {i + 1} is", "Lineage", MIN_FRAME_SIDE)
            if i in judged:
                plane = nucleus_channel(frame, config.channel)
                if i == middle:
                    problems.append(io.content_problem(plane))
                saturated.append(io.saturated_share(plane))
                # over-exposed nuclei merge into plateaus whose edges look like membranes: not judged so
                ratios.append(io.blob_ratio(plane) if saturated[-1] < io.SATURATED_SHARE else float("nan"))
                marks.append(io.burned_in_marks(np.asarray(frame)))
            yield frame

    raw, contrast, structures, previews = run_network(net, looked_at(frames), total, config.batch_size,
                                                      config.channel, config.keep_previews, progress,
                                                      config.angle or 0.0, config.region)
    steps = frame_steps(len(raw), numbers)
    embryo = (structures >= STRUCTURE_MIN) & (contrast > 0)
    weights = signal_weights(contrast)
    if embryo.any():  # frames without an embryo do not steer the timeline
        weights = weights * embryo
    try:
        curves = StageCurves.from_model(net)
    except DevocoreError:
        if config.method != "net":
            raise
        curves = None  # "net" needs no reference curves; the stage is then unknown
    values, timeline = populations(raw, curves, config.method, config.monotone, config.smooth, weights, steps)
    counts = to_counts(values)
    table = pd.DataFrame(counts, columns=list(LINEAGES))
    first = 1 if numbers is None else int(numbers[0])
    table.insert(0, "frame", (steps + first - 1).astype(np.int32))
    table["total"] = counts.sum(axis=1).astype(np.int32)
    if curves is not None:
        tp, lo, hi = stage(raw, curves, timeline, weights, config.smooth, config.monotone, steps)
    else:
        tp = lo = hi = np.full(len(table), np.nan)
    table["stage_tp"], table["stage_tp_lo"], table["stage_tp_hi"] = (np.round(v, 1) for v in (tp, lo, hi))
    if config.frame_interval_s:
        # minutes of this movie: reference steps / (steps per frame) x seconds per frame
        per_frame = timeline[1] if timeline is not None else 1.0
        scale = config.frame_interval_s / 60.0 / max(per_frame, 1e-6)
        for suffix, v in (("", tp), ("_lo", lo), ("_hi", hi)):
            table[f"stage_min{suffix}"] = np.round(v * scale, 1)
    table["embryo"] = embryo
    if not embryo.all():
        log.info("%d of %d frames show no embryo (black, empty or pure noise); their counts mean nothing",
                 int((~embryo).sum()), len(embryo))
    # a mask, a label image, bright field or membranes show "structure" as an embryo does (frames with none are
    # named apart)
    problem = None
    if middle < len(embryo) and embryo[middle]:
        problem = (problems[0] if problems else None) or membranes_problem(ratios)
    unfit = (f"The {'movie' if len(table) > 1 else 'image'} does not look like fluorescence of an embryo's nuclei: "
             f"{problem}. Its cell counts likely mean nothing.") if problem else None
    result = LineageResult(table, raw, weights, timeline, previews, unfit, region=config.region)
    if saturated and np.median(saturated) >= io.SATURATED_SHARE:
        result.notes.append(
            f"The nuclei are over-exposed: in the frames looked at, {np.median(saturated):.0%} of the bright pixels "
            "sit at the top level of the recording, so touching nuclei merge into flat patches. The counts hold up "
            "to a point (the training movie at 2 to 6 times its brightness, 60-86 % of its bright pixels at the "
            "top: nMAE 0.047-0.051 against 0.039), but record with a shorter exposure or a lower gain if you can.")
    if max(marks, default=0) >= io.OVERLAY_MIN_PIXELS:
        result.notes.append(
            f"The frames carry white or grey marks on their colour (about {max(marks):,} pixels): a time stamp or "
            "scale bar burned in? They are read as part of the picture and can move the counts a lot (drawn into the "
            "training movie, they raised its error from 0.04 to 0.23). Export the movie without them, or crop them "
            "away; if the nuclei themselves are shown in grey, this does not apply.")
    return result


def membranes_problem(ratios: Sequence[float]) -> str | None:
    """Why frames look like cell membranes, not nuclei, given the blob ratios of their bright structures
    (:func:`~devocore.io.blob_ratio` of the frames a quarter, half and three quarters in); None
    when their median is at least :data:`MEMBRANE_MOVIE_RATIO` or nothing could be judged.

        >>> membranes_problem([0.08, 0.11, float("nan")])[:49]
        'thin bright lines around dark cells, as membranes'
        >>> membranes_problem([0.31, 0.29, 0.33]) is None
        True
    """
    ratios = [r for r in ratios if not np.isnan(r)]
    if not ratios or np.median(ratios) >= MEMBRANE_MOVIE_RATIO:
        return None
    return ("thin bright lines around dark cells, as membranes look (this task counts nuclei: choose the channel "
            "that shows them)")


def no_embryo_warning(table: pd.DataFrame, fitted: bool = False) -> str | None:
    """A warning naming the frames (by the table's ``frame`` numbers) that show no embryo, else None.

    ``fitted``: the result has a time line, which was fitted without those frames.

    Example:
        >>> t = pd.DataFrame({"frame": [1, 2, 3, 4], "embryo": [True, False, False, True]})
        >>> no_embryo_warning(t)[:58]
        'Frames 2-3 (2 of 4) show no embryo: the picture is black, '
    """
    if "embryo" not in table:
        return None
    embryo = table["embryo"].astype(bool).to_numpy()
    if embryo.all():
        return None
    if not embryo.any():
        return ("No frame shows an embryo: every picture is black, empty or only noise, so the cell counts mean "
                "nothing. Check that this is the right movie and that the nuclei are visible in it.")
    empty = table["frame"].to_numpy()[~embryo]
    which = f"Frame {frame_list(empty)} shows" if len(empty) == 1 else \
        f"Frames {frame_list(empty)} ({len(empty)} of {len(table)}) show"
    return (f"{which} no embryo: the picture is black, empty or only noise, so the cell counts there mean nothing"
            + (" and the time line is fitted without them" if fitted else "") + ". In the CSV "
            + ("this frame reads" if len(empty) == 1 else "these frames read") + " False in the 'embryo' column.")


def predict(source, net, config: LineageConfig = LineageConfig(), progress: ProgressFn | None = None
            ) -> LineageResult:
    """Populations for every frame of a video, a folder of frames or an image/stack.

    Args:
        source: a path (video, folder, image, TIFF stack) or a numpy array
            (Y x X [x C] for one frame, T x Y x X [x C] for several).
        net: a loaded lineage model (``registry.load_model("lineage")``).

    Example::

        result = predict("embryo.mov", registry.load_model("lineage"))
        result.table.to_csv("populations.csv", index=False)
    """
    if isinstance(source, np.ndarray):
        frames = [source] if source.ndim == 2 or (source.ndim == 3 and source.shape[-1] in (1, 3, 4)) \
            else list(source)
        if frames:
            io.check_min_side(frames[0].shape, "The frames are", "Lineage", MIN_FRAME_SIDE)
        config, notes = judged(frames, config)
        result = predict_frames(frames, net, config, len(frames), progress)
        result.notes += notes
        return result
    from devocore.io import open_frames

    with open_frames(source, time_lapse=True, project=True) as stream:
        io.check_min_side(stream.shape, f"The frames of '{stream.name}' are", "Lineage", MIN_FRAME_SIDE)
        config, notes = judged(stream, config)
        result = predict_frames(stream, net, config, stream.frame_count, progress, numbered(stream))
    result.notes += [n for n in (projection_note(stream), *notes) if n]
    return result


def projection_note(stream) -> str | None:
    """What was done to a hyperstack's slices (:class:`devocore.io.ProjectedFrames`) or to a folder of z-stacks
    (:class:`devocore.io.FolderFrames` with ``slices``); None for other inputs."""
    if isinstance(stream, io.ProjectedFrames):
        held = f"'{stream.name}' holds {stream.times} time points of {stream.slices} z-slices each"
    elif isinstance(stream, io.FolderFrames) and stream.slices:
        held = f"each file of '{stream.name}' is a stack of {stream.slices} z-slices, one file per time point"
    else:
        return None
    return (f"{held}: each time point is the maximum projection of its slices, as in the EPIC movies the model "
            "learnt from.")


#: Frames, spread over a movie of a microscope's channels, whose structure chooses the nucleus channel.
CHANNEL_FRAMES = 10


def with_nucleus_channel(stream: io.FrameSource | Sequence[np.ndarray], config: LineageConfig
                         ) -> tuple[LineageConfig, str | None]:
    """``config`` with the nucleus channel chosen (:func:`~devocore.lineage.pixels.choose_channel`) when it says
    "auto" and the frames hold 2, or 5 and more, channels, or are in colour with the nuclei not in green, and a
    note that names the choice."""
    if config.channel != "auto":
        return config, None
    chosen = choose_channel(io.sample_frames(stream, CHANNEL_FRAMES))  # grey or colour: None at the first frame
    if chosen is None:
        return config, None
    number, scores = chosen
    if len(scores) == 3:  # a colour movie (RGB or RGBA: a microscope's channels are 2, or 5 and more)
        colours = ("red", "green", "blue")
        shown = ", ".join(f"{name} {v:.2f}" for name, v in zip(colours, scores))
        note = (f"The frames are in colour and {colours[number - 1]} shows nuclei in more frames than green "
                f"(structure 0-1, {shown}), so {colours[number - 1]} (channel {number}) was taken as the nuclei. "
                "If green holds the nuclei, choose it (Nucleus channel 2, or --channel 2).")
    else:
        shown = ", ".join(f"channel {k}: {v:.2f}" for k, v in enumerate(scores, 1))
        note = (f"The frames have {len(scores)} channels; channel {number} was taken as the nuclei, the one that "
                f"shows nuclei in the most frames (structure 0-1, {shown}). If another channel holds the nuclei, "
                "choose it (Nucleus channel, or --channel N).")
    return replace(config, channel=str(number)), note


def _unmarked_nuclei(frame: np.ndarray, channel: str) -> np.ndarray:
    """The nucleus plane of ``frame`` with white or grey marks burned into its colour (a time stamp, a scale bar:
    :func:`devocore.io.marks_mask`, widened by a pixel) set to its median, so they do not tilt the embryo's axis."""
    import cv2

    plane = nucleus_channel(frame, channel)
    marks = io.marks_mask(frame)
    if marks is None or np.count_nonzero(marks) < io.OVERLAY_MIN_PIXELS:
        return plane
    marks = cv2.dilate(marks.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    plane = np.array(plane)  # a copy in its own dtype
    plane[marks] = np.median(plane[::4, ::4])
    return plane


#: The frames a movie is judged on (its nucleus channel, where its embryo is and how it lies) are shrunk to at most
#: this many pixels a side first: a frame of 8000 x 8000 px held whole, with its marks looked for, took 300 MB.
LOOK_SIDE = 1024


def looked_frames(stream: io.FrameSource | Sequence[np.ndarray]) -> tuple[list[np.ndarray], tuple[int, int] | None]:
    """About :data:`CHANNEL_FRAMES` frames spread over ``stream``, each at most :data:`LOOK_SIDE` pixels a side
    (every channel, in its own dtype where OpenCV can shrink it), and the frames' (height, width); read once for
    :func:`judged`.

    Example:
        >>> frames, full = looked_frames([np.zeros((3000, 2000, 3), np.uint8)] * 3)
        >>> len(frames), frames[0].shape, full
        (3, (1024, 683, 3), (3000, 2000))
    """
    small, full = [], None
    for frame in io.sample_frames(stream, CHANNEL_FRAMES):
        full = full or tuple(np.shape(frame)[:2])
        small.append(io.at_most(frame, LOOK_SIDE))
    return small, full


def judged(stream: io.FrameSource | Sequence[np.ndarray], config: LineageConfig) -> tuple[LineageConfig, list[str]]:
    """``config`` with the nucleus channel (:func:`with_nucleus_channel`) and the embryo's place
    (:func:`with_placement`) found from frames spread over ``stream`` (read once: :func:`looked_frames`), and the
    notes that say what was found."""
    frames, full = looked_frames(stream)
    config, channel = with_nucleus_channel(frames, config)
    config, placed = with_placement(frames, config, full)
    return config, [note for note in (channel, placed) if note]


def with_placement(stream: io.FrameSource | Sequence[np.ndarray], config: LineageConfig,
                   full: tuple[int, int] | None = None) -> tuple[LineageConfig, str | None]:
    """``config`` with where the embryo is and how it lies, found from the nucleus planes of frames spread over
    ``stream``, and a note that says what was done (None when nothing was).

    Where ``config.embryos`` is "largest" and the field shows several embryos apart from each other, or bright
    spots apart from the embryo (:func:`devocore.io.embryo_region`), ``region`` keeps the largest embryo; where
    ``angle`` is None, it becomes the turn that lays that embryo along the x axis
    (:func:`~devocore.lineage.pixels.movie_angle`). Judged on copies at most 256 px a side; ``full``: the
    (height, width) of the movie's frames where ``stream`` holds smaller copies of them (:func:`looked_frames`).
    """
    if config.angle is not None and (config.region is not None or config.embryos == "all"):
        return config, None
    planes = []  # small copies (one frame of 8000 x 8000 px is 64 MB)
    for frame in io.sample_frames(stream, CHANNEL_FRAMES):
        plane = _unmarked_nuclei(np.asarray(frame), config.channel)
        full = full or np.shape(plane)
        planes.append(io.at_most(plane, 256).astype(np.float32))
    if not planes:
        return config, None
    fy, fx = full[0] / np.shape(planes[0])[0], full[1] / np.shape(planes[0])[1]
    notes = []
    if config.region is None and config.embryos == "largest":
        found = io.embryo_region(planes)
        if found is not None:
            count, (y0, y1, x0, x1) = found
            region = (int(y0 * fy), min(full[0], int(np.ceil(y1 * fy))), int(x0 * fx),
                      min(full[1], int(np.ceil(x1 * fx))))
            config = replace(config, region=region)
            where = f"x {region[2]}-{region[3]}, y {region[0]}-{region[1]} px"
            notes.append((f"The field shows {count} embryos apart from each other; only the largest was counted, "
                          f"{_where(region, *full)} ({where}). To count another, crop the movie to it; "
                          if count > 1 else
                          f"Bright spots apart from the embryo (debris, a bead?) were left out; only the embryo was "
                          f"counted ({where}). ") + "To count the whole field, switch off Count the largest embryo "
                         "only (--embryos all).")
    if config.angle is None:
        if config.region is not None:  # the embryo counted, on the small copies
            y0, y1, x0, x1 = config.region
            planes = [p[int(y0 / fy):int(np.ceil(y1 / fy)), int(x0 / fx):int(np.ceil(x1 / fx))] for p in planes]
        angle = movie_angle(planes)
        config = replace(config, angle=angle)
        if angle:
            notes.append(f"The embryo's long axis is tilted {abs(angle):.0f} degrees "
                         f"{'clockwise' if angle > 0 else 'anticlockwise'} from the horizontal, so each frame was "
                         "turned back by as much before counting, to lie as in the movies the model learnt from "
                         "(the pictures shown are not turned).")
    return config, " ".join(notes) or None


def _where(region: tuple[int, int, int, int], height: int, width: int) -> str:
    """Where ``region`` lies in a field of ``height`` x ``width`` in words ("on the left", "at the top right").

    Example:
        >>> _where((0, 100, 0, 300), 100, 1000), _where((0, 40, 600, 1000), 100, 1000)
        ('on the left', 'at the top right')
    """
    y, x = (region[0] + region[1]) / 2 / height, (region[2] + region[3]) / 2 / width
    row = "top" if y < 1 / 3 else "bottom" if y > 2 / 3 else ""
    column = "left" if x < 1 / 3 else "right" if x > 2 / 3 else ""
    if row and column:
        return f"at the {row} {column}"
    if row or column:
        return f"{'at' if row else 'on'} the {row or column}"
    return "in the middle"


def timeline_formula(timeline: tuple[float, float], first_frame: int = 1) -> str:
    """The fitted time line in words, for a table whose first frame is ``first_frame`` (the line's frame 1).

    Example:
        >>> timeline_formula((36.17, 0.6857)), timeline_formula((36.17, 0.6857), 150)
        ('reference time = 36.2 + 0.686 x frame', 'reference time = 36.2 + 0.686 x (frame - 149)')
    """
    x = "frame" if first_frame == 1 else f"(frame - {first_frame - 1})"
    return f"reference time = {timeline[0]:.1f} + {timeline[1]:.3f} x {x}"


def numbered(stream) -> list[int] | None:
    """The frame numbers a stream's file names carry (``00700.png`` is frame 700), else None (by position).

    Names that count from 0 (``frame000000.png``, an export by position) are moved up by one, so that their
    first frame is frame 1, as in a video.
    """
    if getattr(stream, "numbering", "position") != "file names" or not stream.frame_numbers:
        return None
    numbers = list(stream.frame_numbers)
    return [n + 1 for n in numbers] if numbers[0] == 0 else numbers


def parse_clip(spec: str, n_frames: int) -> np.ndarray:
    """0-based indices of the frames ``A:B[:S]`` (1-based, A..B inclusive, every S-th) of an n-frame movie.

    B past the movie's end stops at its last frame.

    Example:
        >>> parse_clip("2:9:3", 20).tolist()
        [1, 4, 7]
        >>> parse_clip("5:100", 7).tolist()
        [4, 5, 6]
    """
    parts = str(spec).split(":")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3) or numbers[0] < 1 or numbers[1] < numbers[0] or \
            (len(numbers) == 3 and numbers[2] < 1):
        raise DevocoreError(f"Frames '{spec}' are not A:B or A:B:S with 1 <= A <= B and S >= 1 "
                            "(1-based, B included; e.g. 1:100 or 1:389:2).")
    first, last = numbers[0], min(numbers[1], n_frames)
    if first > n_frames:
        raise DevocoreError(f"Frames '{spec}' start after the movie's last frame ({n_frames}).")
    return np.arange(first - 1, last, numbers[2] if len(numbers) == 3 else 1)


def select_frames(frames: Iterable[np.ndarray], indices: Sequence[int]) -> Iterator[np.ndarray]:
    """The frames at these 0-based positions of a stream, in order (the rest are decoded and dropped)."""
    wanted = set(int(i) for i in indices)
    last = max(wanted) if wanted else -1
    for i, frame in enumerate(frames):
        if i > last:
            return
        if i in wanted:
            yield frame
