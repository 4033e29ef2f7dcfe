"""Process settings for the cloud deploy profile (see :func:`devocore.config.profile`).

A Streamlit server runs every browser session's script in its own thread. With glibc's defaults each
thread may get its own malloc arena, and freed blocks below the (self-raising, up to 32 MB) mmap threshold
stay in the process: after a few sessions have run a model, the resident memory holds the sum of every
session's high-water mark. In a container of 690 MB-2.7 GB that is what makes an app fall over, so the
cloud profile bounds the arenas, returns large blocks to the system as soon as they are freed, trims the
heap after each script run, and gives torch only the cores the container really has.

It also runs one heavy job at a time (:func:`heavy_job`): a model run, a training, a batch. Three visitors
who each start one would otherwise hold three jobs' working memory at once, on the same two cores.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import logging
import sys
import threading
import time
from typing import Callable, Iterator

from devocore import config

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc mallopt parameters
ARENAS = 2
# blocks of 256 kB and more (images, tensors, a grey video frame) are mapped and unmapped on their own: a Batch
# video job peaked 15 MB lower than with 1 MB, a training 10-15 MB lower and left 20 MB less behind, for about
# 8 % more time on a video (the page faults of fresh mappings; docs/deploy.md)
MMAP_THRESHOLD = 256 << 10
TRIM_THRESHOLD = 8 << 20


@functools.lru_cache(maxsize=1)
def _libc():
    # found once: ctypes.util.find_library runs ldconfig in a child process, and a fork of a server of 1 GB
    # and more after every script run costs time and, for a moment, counts the server's memory twice
    for name in ("libc.so.6", None):
        try:
            libc = ctypes.CDLL(name or ctypes.util.find_library("c"))
        except (OSError, TypeError):
            continue
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None  # glibc only
    return None


def tune_malloc() -> bool:
    """Bound glibc's arenas and its mmap and trim thresholds; False where the C library is not glibc."""
    libc = _libc()
    if libc is None:
        return False
    done = [libc.mallopt(M_ARENA_MAX, ARENAS), libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)]
    return all(value == 1 for value in done)


def trim() -> bool:
    """Give the heap's free memory back to the system (glibc ``malloc_trim``); False where unavailable."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


_DONE: dict[str, object] = {}


def block_triton() -> bool:
    """Keep torch from importing triton, the GPU kernel compiler; True when done (torch not imported yet).

    The cloud profile runs on the CPU, where triton is never used, and the CPU build of torch does not
    install it; the CUDA build imports it as torchvision loads (about 75 MB resident). ``import triton``
    then raises ImportError, which torch takes as "no triton", as on the CPU build.
    """
    if "torch" in sys.modules:
        return False
    sys.modules.setdefault("triton", None)
    return sys.modules["triton"] is None


#: Libraries looked up later with ``ctypes.util.find_library``, which runs ``ldconfig`` in a child process: trio
#: asks for pthread when timm is first imported (with the first segmentation model), CUDA's path finder for dl.
EARLY_LIBRARIES = ("c", "pthread", "dl")


def settle_child_processes() -> None:
    """Make, once and while the process is still small, the lookups that libraries would otherwise make later
    in a child process of the grown server (a fork of a 1 GB server counts, for a moment, twice in the memory
    the container sees): library names are looked up once and remembered, and joblib's count of physical
    cores (``lscpu``, at scikit-learn's first gradient-boosting fit) is made now."""
    import ctypes.util

    if not hasattr(ctypes.util.find_library, "cache_info"):
        ctypes.util.find_library = functools.lru_cache(maxsize=64)(ctypes.util.find_library)
    for name in EARLY_LIBRARIES:
        ctypes.util.find_library(name)
    try:
        from joblib.externals.loky import cpu_count
    except ImportError:
        return
    cpu_count(only_physical_cores=True)


def setup_process() -> dict[str, object]:
    """Apply the cloud profile's process settings once per process (nothing under the local profile);
    returns what was done."""
    if not config.is_cloud():
        return {}
    if not _DONE:
        without_triton = block_triton()
        settle_child_processes()
        import torch

        threads = config.container_cpus()
        torch.set_num_threads(threads)
        _DONE.update(malloc_tuned=tune_malloc(), torch_threads=threads, without_triton=without_triton)
        log.info("cloud profile process settings: %s", _DONE)
    return dict(_DONE)


#: What a visitor whose job waits for another's is told (the pages show it while they wait).
WAIT_LINE = "Another visitor's job is running; yours starts when it ends."
_JOB_GATE = threading.RLock()  # re-entrant: a job may start a smaller one (a model run inside a training)
WAIT_POLL_S = 0.5


@contextlib.contextmanager
def heavy_job(on_wait: Callable[[float], None] | None = None) -> Iterator[bool]:
    """Run the ``with`` block as the process's only heavy job under the cloud profile (nothing locally).

    Under the cloud profile a process-wide lock lets one job (model run, training, batch) run at a time;
    while another holds it, ``on_wait(seconds waited)`` is called every :data:`WAIT_POLL_S` seconds (a page
    shows :data:`WAIT_LINE`; a Streamlit script also stops there when its visitor leaves). After the job, and
    before the next may start, the freed memory goes back to the system (:func:`trim`). Yields whether the job
    had to wait.

    Example:
        >>> with heavy_job() as waited:
        ...     pass
        >>> waited
        False
    """
    if not config.is_cloud():
        yield False
        return
    waited = False
    started = time.monotonic()
    while not _JOB_GATE.acquire(timeout=WAIT_POLL_S if waited else 0):
        waited = True
        if on_wait is not None:
            on_wait(time.monotonic() - started)
    try:
        yield waited
    finally:
        try:  # what the job freed goes back to the system before the next job may start
            gc.collect()
            trim()
        finally:
            _JOB_GATE.release()
