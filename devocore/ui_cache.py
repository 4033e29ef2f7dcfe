"""The one module of devocore that imports streamlit: cached loaders for pages.

Cached functions take hashable names; pages never build models themselves.

One rule for models: a page asks for a model by name only, ``ui_cache.model(name)``, and gets the one copy
this server keeps, on the server's device (:func:`device_choice`: ``DEVOCORE_DEVICE``, else the best one
available; the CPU on the cloud profile). The device is never part of the key, so one model never sits in
memory twice. Engine code follows the model's device (``Predictor``, ``find_lr``, the lineage reader), and
code that trains deep-copies the model first (``train``, ``tune``, ``find_lr``), so the shared copy is never
changed.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import inspect
import logging
import os
import pickle
import sys
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterator

import numpy as np
import pandas as pd
import streamlit as st

from devocore import config, deploy, registry
from devocore.device import choose_device

#: How many times each model was actually loaded (not served from the cache);
#: the load test reads it to prove models are shared between sessions.
LOAD_COUNTS: dict[str, int] = {}

#: One line per real model load goes to the server's stderr (the load test counts them).
LOAD_LOG_PREFIX = "devocore model load:"
log = logging.getLogger(__name__)
if not log.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


#: Tasks whose engine code widens a model it is given to float32 for its own run (segmentation's ``Predictor``,
#: the lineage reader: ``nets.inference``), so that the cloud profile may hold them in float16.
HALF_TASKS = ("segmentation", "lineage")


# Every cache is bounded, so a long-running server's memory stays bounded: models by count (the shipped
# ones and a few of the user's), data by bytes, count and age (ByteBudgetCache below).
@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def model(name: str):
    """A model by name, loaded once per server process on :func:`device_choice`'s device, in eval mode; under
    the cloud profile a :data:`HALF_TASKS` model whose weights file is float16 is held in float16."""
    device = device_choice().name
    LOAD_COUNTS[name] = LOAD_COUNTS.get(name, 0) + 1
    log.info("%s %s on %s (load %d in this process)", LOAD_LOG_PREFIX, name, device, LOAD_COUNTS[name])
    module = registry.load_model(name, device)
    if config.is_cloud() and device == "cpu" and module.card.get("weights_dtype") == "float16" \
            and module.card.get("task") in HALF_TASKS:
        from devocore.nets.inference import keep_half

        keep_half(module)  # float16 as on disk: half the memory; each run makes its float32 copy
    return module


@st.cache_resource
def device_choice():
    """The torch device this server uses, chosen once."""
    return choose_device()


@st.cache_data(show_spinner=False, max_entries=16, ttl=60)
def models_table(task: str | None = None) -> list[dict]:
    """Rows describing the models found, for the sidebar and menus."""
    return [{"name": m.name, "task": m.task, "target": m.card.get("target"), "source": m.source,
             "version": m.card.get("version", "?")}
            for m in registry.list_models(task)]


class ByteBudgetCache:
    """A least-recently-used cache bounded by the bytes it holds (and by entries and age).

    Values are kept as deep copies: every hit returns a fresh copy (a page may change what it got without
    changing the cache), as ``st.cache_data`` does, but nothing is ever pickled and unpickled. The size of an
    entry is :func:`size_of` its value (arrays and tables by their data, containers summed). Adding
    an entry evicts the least recently used ones until the total fits ``budget_bytes``; a value larger than
    the whole budget is not kept. Thread-safe (sessions run in threads of one server).

    Example:
        >>> cache = ByteBudgetCache(budget_bytes=10_000)
        >>> cache.put("a", b"x" * 6000), cache.put("b", b"y" * 6000)
        (True, True)
        >>> cache.get("a")[0], cache.get("b")[0], cache.nbytes <= 10_000
        (False, True, True)
    """

    def __init__(self, budget_bytes: int, max_entries: int | None = None, ttl: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.budget_bytes, self.max_entries, self.ttl, self.clock = int(budget_bytes), max_entries, ttl, clock
        self._entries: OrderedDict[Hashable, tuple[Any, int, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, a copy of the value)`` when cached and fresh, else ``(False, None)``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            value, _, stored = entry
            if self.ttl is not None and self.clock() - stored > self.ttl:
                self._drop(key)
                return False, None
            self._entries.move_to_end(key)
        return True, copy.deepcopy(value)

    def put(self, key: Hashable, value: Any) -> bool:
        """Keep ``value`` under ``key``, evicting the least recently used entries beyond the budget.

        Returns False when the value alone is larger than the budget (it is not kept)."""
        size = size_of(value)
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if size > self.budget_bytes:
                return False
            while self._entries and (self.nbytes + size > self.budget_bytes or
                                     (self.max_entries is not None and len(self._entries) >= self.max_entries)):
                self._drop(next(iter(self._entries)))
                self.evictions += 1
            self._entries[key] = (copy.deepcopy(value), size, self.clock())
            self.nbytes += size
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.nbytes = 0

    def _drop(self, key: Hashable) -> None:
        _, size, _ = self._entries.pop(key)
        self.nbytes -= size


def size_of(value: Any, _seen: set | None = None) -> int:
    """Bytes a value holds: arrays, tables, bytes and strings with their data (``sys.getsizeof``), containers
    and plain objects with everything they hold (each object counted once).

    Example:
        >>> size_of(np.zeros(1000, np.uint8)) > 1000, size_of((b"x" * 500, b"y" * 500)) > 1000
        (True, True)
    """
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        size += sum(size_of(item, seen) for item in value)
    elif isinstance(value, dict):
        size += sum(size_of(k, seen) + size_of(v, seen) for k, v in value.items())
    elif hasattr(value, "__dict__") and not isinstance(value, (np.ndarray, pd.DataFrame, pd.Series, type)):
        size += size_of(vars(value), seen)
    return size


#: Bytes the page caches of data may hold in all, shared by every session (``DEVOCORE_CACHE_MB``; default 512,
#: 32 under the cloud profile, whose whole container may have 690 MB).
CACHE_MB = int(os.environ.get("DEVOCORE_CACHE_MB") or (config.CLOUD_CACHE_MB if config.is_cloud() else 512))
DATA_CACHE = ByteBudgetCache(CACHE_MB * 2**20, max_entries=64, ttl=3600)


@contextlib.contextmanager
def job() -> Iterator[bool]:
    """A page's heavy job (model run, training, batch): one at a time under the cloud profile.

    While another visitor's job runs, the page shows :data:`devocore.deploy.WAIT_LINE` with the seconds waited;
    the line goes once this job starts. Nothing changes locally. See :func:`devocore.deploy.heavy_job`.
    """
    slot = None

    def waiting(seconds: float) -> None:
        nonlocal slot
        if slot is None:
            slot = st.empty()
        slot.info(f"{deploy.WAIT_LINE} Waiting for {seconds:.0f} s.", icon=":material/hourglass_top:")

    with deploy.heavy_job(waiting) as waited:
        if slot is not None:
            slot.empty()
        yield waited


def _arg_key(value: Any) -> Hashable:
    """A digest of an argument, so that a key never holds on to large arguments (uploads, tables)."""
    if isinstance(value, (int, float, bool, type(None))) or (isinstance(value, str) and len(value) < 256):
        return value
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, str(value.dtype), hashlib.sha1(np.ascontiguousarray(value).data).hexdigest())
    try:
        return ("pickle", hashlib.sha1(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest())
    except Exception:  # not picklable: its identity
        return ("id", type(value).__qualname__, id(value))


def data(func=None, *, cache: ByteBudgetCache | None = None, heavy: bool = False):
    """A cache for engine functions that return data (arrays, tables), bounded by memory.

    Like ``st.cache_data``: shared by every session, a fresh copy on each hit, and arguments whose names start
    with ``_`` are not part of the key (pass a digest of them instead). Unlike it, the cache holds at most
    :data:`CACHE_MB` megabytes in all (least recently used entries go first), 64 entries and one hour.
    ``heavy=True`` (a model run): a miss is computed as a :func:`job` (one at a time under the cloud
    profile); hits never wait.
    """
    if func is None:
        return functools.partial(data, cache=cache, heavy=heavy)
    signature = inspect.signature(func)
    name = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def cached(*args, **kwargs):
        store = cache if cache is not None else DATA_CACHE
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        key = (name,) + tuple((k, _arg_key(v)) for k, v in bound.arguments.items() if not k.startswith("_"))
        hit, value = store.get(key)
        if hit:
            return value
        with job() if heavy else contextlib.nullcontext():
            if heavy:  # another session may have computed it while this one waited
                hit, value = store.get(key)
                if hit:
                    return value
            value = func(*args, **kwargs)
            store.put(key, value)
        return value

    cached.cache = cache
    return cached


def resource(func):
    """``st.cache_resource`` for engine objects shared by every session."""
    return st.cache_resource(show_spinner=False, max_entries=16)(func)


# ----------------------------------------------------------------------------- named cached loaders
# Plain engine calls the pages cache; page-specific glue (widgets, layout) stays in the pages.

@data
def decode_planes(digest: str, name: str, _data: bytes, channels: bool = False,
                  channel: int | None = None) -> tuple[np.ndarray, str, float | None]:
    """Planes (N x Y x X grey uint8/uint16) of an uploaded image, stack or video, its kind and fps.

    ``digest`` identifies ``_data`` (which is not hashed again). ``channels=True`` keeps colour/multi-channel
    planes as they are, for a model whose card has a channel recipe (the Predictor applies it); else each plane
    is the mean of its channels, or its channel ``channel`` (from 0) when given."""
    from pathlib import Path

    from devocore import io

    def grey(plane: np.ndarray) -> np.ndarray:
        if channels or plane.ndim == 2:
            return plane
        return io.to_gray(plane) if channel is None else io.pick_channel(plane, channel + 1, f"'{name}'")

    suffix = Path(name).suffix.lower()
    if suffix in io.VIDEO_SUFFIXES:
        path = io.save_upload(_data, suffix)
        with io.open_frames(path) as source:
            planes = np.stack([grey(frame) for frame in source])
            fps = source.fps
        path.unlink(missing_ok=True)
        return planes, "video", fps
    image = io.read_image(_data, name=name)
    return np.stack([grey(p) for p in image.planes()]), ("stack" if image.is_stack else "image"), None


@data
def middle_plane(digest: str, name: str, _data: bytes) -> np.ndarray | None:
    """The middle plane of the upload identified by ``digest``, as stored (colour or channels kept), as `segment`
    judges it; one plane is decoded. None for a video none of whose frames could be sought."""
    from pathlib import Path

    from devocore import io

    if Path(name).suffix.lower() in io.VIDEO_SUFFIXES:
        path = io.save_upload(_data, Path(name).suffix.lower())
        try:
            with io.open_frames(path) as source:
                return next(io.frames_at(source, [len(source) // 2], scan=False), None)
        finally:
            path.unlink(missing_ok=True)
    image = io.read_image(_data, name=name)
    middle = image.n_planes // 2
    return next(image.planes(middle, middle + 1)) if image.is_stack else image.data


@data
def channel_kinds(digest: str, name: str, _data: bytes) -> list[str]:
    """What each channel of the upload identified by ``digest`` shows ("nuclei", "membranes", "little"; see
    :func:`devocore.segmentation.channel_kinds`), judged on its middle plane; [] when its channels do not differ
    (grey, or grey stored as colour)."""
    from devocore import io, segmentation

    plane = middle_plane(digest, name, _data)
    if plane is None or not io.distinct_channels(plane):
        return []
    return segmentation.channel_kinds(plane)


@data
def marks_note(digest: str, name: str, _data: bytes) -> str | None:
    """:func:`devocore.segmentation.marks_note` on the middle plane of the upload identified by ``digest``: white or
    grey marks (a time stamp, scale bar or text) burned into a colour picture."""
    from devocore import segmentation

    plane = middle_plane(digest, name, _data)
    return None if plane is None else segmentation.marks_note(plane, f"'{name}'")


@data
def tiff_facts(digest: str, name: str, _data: bytes) -> tuple[dict[str, np.ndarray] | None, float | None]:
    """What the headers of the TIFF identified by ``digest`` say: each plane's time point and slice
    (``{"t": ..., "z": ...}``, from 1) when it is a stack of time points of z-slices (an ImageJ hyperstack), and
    the micrometres per pixel its metadata states; (None, None) for other files."""
    from pathlib import Path

    from devocore import io

    if Path(name).suffix.lower() not in (".tif", ".tiff"):
        return None, None
    image = io.read_image(_data, name=name)
    return (image.plane_positions() if len(image.stack_axes) == 2 else None), image.pixel_size_um


@data
def segmentation_samples(kind: str, planes: int) -> np.ndarray:
    """N x Y x X uint8 simulated ``kind`` planes (seeds 1..N)."""
    from devocore.simulate.examples import example

    return np.stack([example(kind, seed)[0] for seed in range(1, planes + 1)])


@data
def guess_task(digest: str, _planes: np.ndarray) -> str:
    """"nucleus" or "membrane": what the planes identified by ``digest`` look like."""
    from devocore import segmentation

    return segmentation.guess_task(_planes)


@data
def read_table(data: bytes, name: str):
    """A table (CSV, TSV) read from uploaded bytes."""
    from devocore import io

    return io.read_table(data, name=name)


@data(heavy=True)
def gan_samples(model_name: str, n: int, seed: int, truncation: float) -> np.ndarray:
    """``n`` images drawn by the GAN ``model_name`` from ``seed``."""
    from devocore import gan

    return gan.sample(model(model_name), n, seed=seed, truncation=truncation)


@data(heavy=True)
def gan_interpolation(model_name: str, seed_a: int, seed_b: int, steps: int, truncation: float) -> np.ndarray:
    """``steps`` images walking the GAN's latent space from ``seed_a`` to ``seed_b``."""
    from devocore import gan

    return gan.interpolate(model(model_name), seed_a, seed_b, steps=steps, truncation=truncation)


@data(heavy=True)
def gan_populations(model_name: str, n: int, seed: int, truncation: float, lineage_model: str):
    """The lineage populations ``lineage_model`` reads on the samples of :func:`gan_samples`."""
    from devocore import gan

    return gan.predict_populations(gan_samples(model_name, n, seed, truncation), model(lineage_model))


@data
def embryo_frames(n: int, size: int) -> np.ndarray:
    """``n`` simulated histone-GFP frames, ``size`` px (the GAN view's example training set)."""
    from devocore.simulate.examples import example

    return example("embryo-frames", n=n, size=size)


@data
def embryo_history(seed: int, n_frames: int, max_cells: int, reporter: str | None):
    """One simulated embryo (:func:`devocore.simulate.embryo.simulate`)."""
    from devocore.simulate import embryo

    return embryo.simulate(seed=seed, n_frames=n_frames, max_cells=max_cells, reporter=reporter)


@data
def worm_video(seed: int, n_frames: int, n_worms: int, size: tuple[int, int]):
    """One simulated worm video and its truth (:func:`devocore.simulate.worm.simulate_video`)."""
    from devocore.simulate import worm

    return worm.simulate_video(seed=seed, n_frames=n_frames, n_worms=n_worms, size=size)


@data
def lineage_example(seed: int, n_frames: int, _curves: np.ndarray, model_name: str):
    """A simulated EPIC-like movie (frames stacked) and its true populations; ``model_name`` stands for
    ``_curves`` (the stage curves of that lineage model) in the key."""
    from devocore.simulate.examples import example

    frames, truth = example("lineage", seed, n_frames=n_frames, curves=_curves)
    return np.stack(frames), truth


@data
def simulated_series(kind: str, seed: int):
    """A simulated time series (:func:`devocore.forecast.simulated_series`)."""
    from devocore import forecast

    return forecast.simulated_series(kind, seed=seed)


@data
def load_series(data: bytes, name: str, worm: str | None):
    """An uploaded series (:func:`devocore.forecast.load_series`): its frame, time column, notes, and which values
    were missing and filled in (never scored)."""
    from devocore import forecast

    return forecast.load_series(data, name=name, worm=worm)


@data
def embryo_tables(files: tuple[tuple[bytes, str], ...], z_scale: float):
    """Embryo tables (bytes, name) for the PCA view (:func:`devocore.embedding.explore.load_embryos`)."""
    from devocore.embedding import explore

    return explore.load_embryos(list(files), z_scale)


@data
def feature_table(data: bytes, name: str) -> tuple:
    """(frame, feature columns, label column) of an uploaded feature table."""
    from devocore.embedding import explore

    table = explore.load_features(data, name)
    return table.frame, table.features, table.labels


@data(heavy=True)
def projection(frame, cfg):
    """The PCA/UMAP projection of a table (:func:`devocore.embedding.explore.project`)."""
    from devocore.embedding import explore

    return explore.project(frame, cfg)
