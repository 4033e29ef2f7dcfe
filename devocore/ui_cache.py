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
from typing import Any, Callable, Hashable

import numpy as np
import streamlit as st

from devocore import registry
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


# Every cache is bounded, so a long-running server's memory stays bounded: models by count (the shipped
# ones and a few of the user's), data by bytes, count and age (ByteBudgetCache below).
@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def model(name: str):
    """A model by name, loaded once per server process on :func:`device_choice`'s device, in eval mode."""
    device = device_choice().name
    LOAD_COUNTS[name] = LOAD_COUNTS.get(name, 0) + 1
    log.info("%s %s on %s (load %d in this process)", LOAD_LOG_PREFIX, name, device, LOAD_COUNTS[name])
    return registry.load_model(name, device)


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

    Values are kept pickled, as ``st.cache_data`` keeps them: every hit returns a fresh copy (a page may change
    what it got without changing the cache), and the size of an entry is exactly its pickle's length. Adding
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
        self._entries: OrderedDict[Hashable, tuple[bytes, float]] = OrderedDict()
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
            blob, stored = entry
            if self.ttl is not None and self.clock() - stored > self.ttl:
                self._drop(key)
                return False, None
            self._entries.move_to_end(key)
        return True, pickle.loads(blob)

    def put(self, key: Hashable, value: Any) -> bool:
        """Keep ``value`` under ``key``, evicting the least recently used entries beyond the budget.

        Returns False when the value alone is larger than the budget (it is not kept)."""
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if len(blob) > self.budget_bytes:
                return False
            while self._entries and (self.nbytes + len(blob) > self.budget_bytes or
                                     (self.max_entries is not None and len(self._entries) >= self.max_entries)):
                self._drop(next(iter(self._entries)))
                self.evictions += 1
            self._entries[key] = (blob, self.clock())
            self.nbytes += len(blob)
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.nbytes = 0

    def _drop(self, key: Hashable) -> None:
        blob, _ = self._entries.pop(key)
        self.nbytes -= len(blob)


#: Bytes the page caches of data may hold in all, shared by every session (``DEVOCORE_CACHE_MB``, default 512).
CACHE_MB = int(os.environ.get("DEVOCORE_CACHE_MB") or 512)
DATA_CACHE = ByteBudgetCache(CACHE_MB * 2**20, max_entries=64, ttl=3600)


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


def data(func=None, *, cache: ByteBudgetCache | None = None):
    """A cache for engine functions that return data (arrays, tables), bounded by memory.

    Like ``st.cache_data``: shared by every session, a fresh copy on each hit, and arguments whose names start
    with ``_`` are not part of the key (pass a digest of them instead). Unlike it, the cache holds at most
    :data:`CACHE_MB` megabytes in all (least recently used entries go first), 64 entries and one hour.
    """
    if func is None:
        return functools.partial(data, cache=cache)
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
        value = func(*args, **kwargs)
        store.put(key, value)
        return value

    cached.cache = cache
    return cached


def resource(func):
    """``st.cache_resource`` for engine objects shared by every session."""
    return st.cache_resource(show_spinner=False, max_entries=16)(func)
