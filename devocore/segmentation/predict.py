"""Running a segmentation model: one image, or streams of frames in batches on worker threads."""
from __future__ import annotations

import contextlib
import queue
import threading
from typing import Iterable, Iterator, Sequence

import numpy as np

from devocore import config, io
from devocore.errors import ModelError
from devocore.progress import ProgressFn
from devocore.segmentation import cells
from devocore.segmentation.cells import input_shape, postprocess, resize, to_input, work_shape
from devocore.segmentation.config import Result, SegmentConfig
from devocore.segmentation.guess import task_of


#: Pixels in flight between the reader and the network (batches and read-ahead shrink for huge planes).
BATCH_PIXELS = 32_000_000


def _small_input(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """:func:`to_input` of ``plane`` resized to ``shape`` (height, width); a huge 8- or 16-bit plane is resized
    before it is stretched (with the full plane's percentiles), so that no float copy of it is made."""
    gray = io.to_gray(np.asarray(plane))
    if gray.ndim != 2 or gray.size <= cells.WORK_PIXELS or gray.dtype not in (np.uint8, np.uint16):
        return resize(to_input(plane), shape)
    lo, hi = io.integer_percentiles(gray, (1.0, 99.8))
    if hi <= lo:
        hi = lo + 1.0
    small = resize(gray, shape).astype(np.float32)
    return np.clip((small - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


class Predictor:
    """Probability maps from a loaded segmentation model, fast and batched.

    Args:
        model: a module from :func:`devocore.registry.load_model` (its card gives the input size).
        device: torch device; the model's own device by default.
        bf16: "auto" uses bfloat16 on CUDA or on CPUs with native bf16 (AMX/AVX512-BF16);
            True/False force it.
        channels_last: use the channels-last memory layout (faster convolutions on CPU).
        int8: run the model's 8-bit copy (:mod:`devocore.nets.quantized`) on the CPU where its card holds a
            calibration (``bf16`` then does not apply); False always runs the float model (as comparisons
            between a trained model and its start do).
        zoom: planes are seen at this many times the card's input size (an embryo small in a wide field).

    Example:
        >>> from devocore import nets
        >>> net = nets.build("fpn").eval(); net.card = {"input_size": 64, "target": "nucleus"}
        >>> Predictor(net, bf16=False).probability(np.zeros((50, 70), np.uint8)).shape
        (50, 70)
    """

    def __init__(self, model, device: str | None = None, bf16: bool | str = "auto", channels_last: bool = True,
                 int8: bool = True, zoom: float = 1.0):
        import torch

        from devocore import channels
        from devocore.device import cpu_has_bf16
        from devocore.nets.inference import inference_copy

        self.task = task_of(model)
        card = getattr(model, "card", {}) or {}
        # the input's side at the zoom asked for, a multiple of 32 (the network's coarsest stride)
        self.input_size = max(32, int(round(int(card.get("input_size", 256)) * zoom / 32)) * 32)
        self.keep_aspect = bool(card.get("keep_aspect", False))  # trained on images with their aspect kept
        self.recipe = channels.from_card(getattr(model, "card", None))  # multi-channel models (issue 30)
        param = next(model.parameters())
        self.device = torch.device(device) if device else param.device
        if bf16 == "auto":
            bf16 = self.device.type == "cuda" or (self.device.type == "cpu" and cpu_has_bf16())
        self.dtype = torch.bfloat16 if bf16 else torch.float32
        self.channels_last = channels_last
        # the model's 8-bit copy on the CPU where its card holds a calibration (devocore.nets.quantized);
        probe = (1, param.shape[1] if param.ndim == 4 else 1, 64, 64)
        self.int8_model = None
        if int8 and self.device.type == "cpu" and not config.is_cloud():  # the cloud's memory is the tighter bound
            from devocore.nets.quantized import int8_copy

            self.int8_model = int8_copy(model, torch.zeros(probe))
        # else a copy with batch norms folded into the convolutions (shared by Predictors of the same model and
        # device until its weights change); the caller's model is not changed
        self.model = self.int8_model if self.int8_model is not None else \
            inference_copy(model, self.device, channels_last, probe, bf16=self.dtype == torch.bfloat16)

    def input_shape(self, plane: np.ndarray) -> tuple[int, int]:
        """Height and width at which the network sees ``plane`` (:func:`~devocore.segmentation.input_shape`)."""
        return input_shape(np.shape(plane), self.input_size, self.keep_aspect)

    def inputs(self, planes: Sequence[np.ndarray]):
        """The network's input batch (N x C x H x W, float) for same-shaped ``planes``."""
        import torch

        shape = self.input_shape(planes[0])
        if self.recipe is not None:  # a model card's channel recipe, applied deterministically (devocore.channels)
            from devocore.channels import model_input

            batch = np.stack([[resize(c, shape) for c in model_input(p, self.recipe)] for p in planes])
        else:
            batch = np.stack([_small_input(p, shape) for p in planes])[:, None]
        x = torch.from_numpy(batch).to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def probabilities(self, planes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Probability maps for a batch of 2-D planes, each at its plane's own Y x X size, or for a plane over
        :data:`~devocore.segmentation.cells.WORK_PIXELS` at :func:`~devocore.segmentation.cells.work_shape`
        (where it is post-processed: the network's 256-px output holds no more detail, and a 64-megapixel float
        map would take 256 MB); :func:`postprocess` given the plane scales the labels back to it."""
        import torch

        if not planes:
            return []
        if self.keep_aspect and len({self.input_shape(p) for p in planes}) > 1:  # one batch per input shape
            return [self.probabilities([p])[0] for p in planes]
        x = self.inputs(planes)
        if self.int8_model is not None:  # float in and out: no autocast around its 8-bit kernels
            with torch.inference_mode():
                prob = torch.sigmoid(self.int8_model(x.float())).numpy()[:, 0]
        else:
            with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                        enabled=self.dtype == torch.bfloat16):
                prob = torch.sigmoid(self.model(x).float()).cpu().numpy()[:, 0]
        # a plane of one value (a stack's padding beyond the embryo, a dark frame) shows nothing: before, the membrane
        # model found 2 "cells" in each, which the 3-D labels linked into cells the size of the stack's padding
        shapes = [work_shape(plane.shape[:2]) for plane in planes]
        return [np.zeros(shape, np.float32) if _flat(plane) else resize(p, shape)
                for p, plane, shape in zip(prob, planes, shapes)]

    def probability(self, plane: np.ndarray) -> np.ndarray:
        """Probability map (Y x X float32) of one 2-D plane (at :func:`work_shape` for a huge one)."""
        return self.probabilities([plane])[0]


def _flat(plane: np.ndarray) -> bool:
    """Whether every pixel of ``plane`` (any channels) has one value."""
    plane = np.asarray(plane)
    return plane.size > 0 and bool(plane.min() == plane.max())


def segment(image: np.ndarray, model, threshold: float = 0.5, pixel_size: float | None = None,
            min_size: int = 0, predictor: Predictor | None = None) -> Result:
    """Segment one 2-D image (Y x X or Y x X x C, any dtype) with a loaded model.

    Returns:
        a :class:`Result`; keep ``result.probability`` and call :func:`postprocess`
        to change the threshold without running the network again.
    """
    predictor = predictor or Predictor(model)
    prob = predictor.probability(image)
    return postprocess(prob, image, predictor.task, threshold, pixel_size, min_size)


def _prefetch(frames: Iterable[np.ndarray], depth: int = 16) -> Iterator[np.ndarray]:
    """Decode ``frames`` on a separate thread, at most ``depth`` ahead (bounded memory)."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    failure: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        box.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            failure.append(exc)
        box.put(done)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is done:
                break
            yield item
    finally:
        stop.set()
        thread.join(timeout=1.0)
    if failure:
        raise failure[0]


def batched_probabilities(frames: Iterable[np.ndarray], predictor: Predictor, batch: int = 8,
                          prefetch: bool = True, workers: int | None = None
                          ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(frame, probability)`` for each frame in order, batching network calls, decoding ahead on a thread.

    On the CPU with several torch threads, the batches go to ``workers`` threads (default: one per torch
    thread, at most 4) that each run a whole batch (pixel conversion, network, resizing back) with the
    torch threads shared out among them, instead of splitting every operation of one batch across all
    threads: no thread waits for the others at the end of each operation, and one batch's conversion
    overlaps another's network. At most ``workers + 1`` batches are in flight, so memory stays flat. Under the
    cloud profile a batch has at most :data:`devocore.config.CLOUD_INFERENCE_BATCH` planes.
    """
    import itertools

    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        return
    frames = itertools.chain([first], frames)
    batch = config.inference_batch(batch)  # smaller under the cloud profile: less memory in flight
    pixels = int(np.prod(np.shape(first)[:2]))
    huge = pixels * batch > BATCH_PIXELS  # huge planes: fewer in flight, one batch at a time
    if huge:
        batch = max(1, BATCH_PIXELS // max(1, pixels))
    # huge planes are read in this thread when needed: decoding is quick next to the network and the
    # post-processing, and planes read ahead would each hold a plane's memory
    source = _prefetch(frames, depth=2 * batch) if prefetch and not huge else frames
    groups = _groups(source, batch)
    workers = 1 if huge else _cpu_workers(predictor) if workers is None else max(1, int(workers))
    if workers == 1:
        for planes in groups:
            pairs = list(zip(planes, predictor.probabilities(planes)))
            del planes  # each plane is then held by its pair only, and let go once handed out
            while pairs:
                yield pairs.pop(0)
        return
    yield from _in_workers(groups, predictor, workers)


def _groups(items: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    group: list[np.ndarray] = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _cpu_workers(predictor: Predictor) -> int:
    """How many batches to run side by side: one per torch thread (at most 4) on the CPU, else 1."""
    import torch

    return min(4, torch.get_num_threads()) if predictor.device.type == "cpu" else 1


def _in_workers(groups: Iterator[list[np.ndarray]], predictor: Predictor, workers: int
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`batched_probabilities` with ``workers`` batches computed side by side, yielded in order.

    torch's thread count is process-wide: it is divided among the workers while they run and restored
    afterwards (also when the consumer stops early).
    """
    import collections
    from concurrent.futures import ThreadPoolExecutor

    with _threads_divided(workers), ThreadPoolExecutor(workers, thread_name_prefix="devocore-segment") as pool:
        pending: collections.deque = collections.deque()
        try:
            for planes in groups:
                pending.append((planes, pool.submit(predictor.probabilities, planes)))
                if len(pending) > workers:
                    planes, done = pending.popleft()
                    yield from zip(planes, done.result())
            while pending:
                planes, done = pending.popleft()
                yield from zip(planes, done.result())
        finally:
            for _, future in pending:
                future.cancel()


_THREADS_LOCK = threading.Lock()
_THREADS_STATE = {"users": 0, "saved": 0}


@contextlib.contextmanager
def _threads_divided(workers: int):
    """torch's process-wide thread count divided by ``workers`` while any such run is active.

    Runs may overlap (two app sessions): the first saves the count, the last restores it.
    """
    import torch

    with _THREADS_LOCK:
        if _THREADS_STATE["users"] == 0:
            _THREADS_STATE["saved"] = torch.get_num_threads()
        _THREADS_STATE["users"] += 1
        torch.set_num_threads(max(1, _THREADS_STATE["saved"] // workers))
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_STATE["users"] -= 1
            if _THREADS_STATE["users"] == 0:
                torch.set_num_threads(_THREADS_STATE["saved"])


def segment_frames(frames: Iterable[np.ndarray], model, cfg: SegmentConfig = SegmentConfig(),
                   total: int | None = None, progress: ProgressFn | None = None,
                   predictor: Predictor | None = None) -> Iterator[tuple[int, np.ndarray, Result]]:
    """Segment a stream of frames (a video, a stack's planes) one by one, in bounded memory.

    Yields:
        (index, frame, Result) in order.
    """
    predictor = predictor or Predictor(model, zoom=cfg.zoom)
    for i, (frame, prob) in enumerate(batched_probabilities(frames, predictor, cfg.batch)):
        result = postprocess(prob, frame, predictor.task, cfg.threshold, cfg.pixel_size, cfg.min_size)
        del prob  # held by the result; nothing here keeps a plane while the next one is worked on
        yield i, frame, result
        del frame, result
        if progress is not None and total:
            progress(min(1.0, (i + 1) / total), f"frame {i + 1} of {total}")


def load(name: str, device: str | None = None):
    """A segmentation model by name, checked to be one (a :class:`ModelError` names the valid ones)."""
    from devocore import registry
    from devocore.device import choose_device

    info = registry.find_model(name)
    if info.task != "segmentation":
        options = ", ".join(m.name for m in registry.list_models("segmentation")) or "none"
        raise ModelError(f"Model '{name}' is a {info.task or 'unknown'} model, not a segmentation model. "
                         f"Segmentation models: {options}.")
    return registry.load_model(name, device or choose_device().name)
