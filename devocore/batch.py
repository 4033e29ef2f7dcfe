"""Batch processing of whole folders on Dask: one machine or a cluster.

Every supported file under the input folder is one task (long videos are split
into frame ranges, processed in parallel and joined in order). Outputs go to
``OUT/<relative path>/`` beside a ``done.json`` marker written last, so a
re-run skips files whose outputs are complete and a killed run loses only the
tasks in flight. A file that fails is reported in the summary; the rest goes on. A file that does not
fit the task (another kind of file, or content the task's ``check`` refuses: a mask, a flat image, a
bright-field video for a fluorescence task) is ``skipped`` with the reason, never processed.

Tasks are registered with :func:`register`; each view's engine provides the
functions (the same ones its CLI uses), so batch and CLI outputs are identical.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from devocore import deploy
from devocore.errors import DevocoreError, UnsupportedFormatError
from devocore.io import IMAGE_SUFFIXES, MICROSCOPE_STEP, VIDEO_SUFFIXES, microscope_format, picture_format
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

MARKER = "done.json"


@dataclass(frozen=True)
class BatchTask:
    """How one kind of batch job processes a file.

    Attributes:
        name: the task's name on the command line.
        suffixes: file endings it accepts (lower case, with the dot).
        model: registry name of the model each worker loads once, or None.
        run_file: ``(path, out_dir, model) -> dict`` writes the outputs for one file
            and returns its key results (flat values: numbers or strings).
        run_range: optional ``(path, start, stop, model) -> object`` for one frame range
            of a video; with it, long videos are split.
        join: ``(path, out_dir, parts) -> dict`` writes the outputs from the range
            results, in order; required with ``run_range``.
        frame_count: ``(path) -> int`` frames in a video, to plan the ranges.
        takes: what the task accepts, in words, for the reason a file of another kind is skipped.
        check: optional ``(path) -> str | None``, run on a worker before the work: a reason to skip a
            file whose content does not fit the task (a mask, a flat image, a bright-field video), or None.
        options: the options the task takes, with their defaults (e.g. ``{"zoom": 1.0}``); ``run_file``,
            ``run_range`` and ``join`` get those a run sets otherwise as keyword arguments.
    """

    name: str
    suffixes: tuple[str, ...]
    run_file: Callable
    model: str | None = None
    run_range: Callable | None = None
    join: Callable | None = None
    frame_count: Callable | None = None
    video_suffixes: tuple[str, ...] = VIDEO_SUFFIXES
    takes: str = "images and videos"
    check: Callable | None = None
    options: dict = field(default_factory=dict, hash=False)


ALREADY_DONE = "already done: the outputs of an earlier run are complete"


TASKS: dict[str, BatchTask] = {}
_PROVIDERS = {name: "devocore.batch_tasks" for name in ("nucleus", "membrane", "lineage", "track")}


def register(task: BatchTask) -> BatchTask:
    """Make ``task`` available to :func:`run_batch`."""
    TASKS[task.name] = task
    return task


def get_task(name: str) -> BatchTask:
    """The task called ``name``, importing its provider if needed."""
    if name not in TASKS and name in _PROVIDERS:
        import importlib

        importlib.import_module(_PROVIDERS[name])
    if name not in TASKS:
        raise UnsupportedFormatError(f"Unknown batch task '{name}'. Available options are: "
                                     f"{sorted(set(TASKS) | set(_PROVIDERS))}")
    return TASKS[name]


def task_options(task: BatchTask, given: dict | None) -> dict:
    """The options of a run that differ from ``task``'s defaults (None: the default); an option the task does
    not take is refused.

    Example:
        >>> seg = BatchTask("nucleus", (".png",), print, options={"zoom": 1.0})
        >>> task_options(seg, {"zoom": 2.0}), task_options(seg, {"zoom": 1.0}), task_options(seg, {"zoom": None})
        ({'zoom': 2.0}, {}, {})
    """
    chosen = {}
    for name, value in (given or {}).items():
        if value is None:
            continue
        if name not in task.options:
            takers = sorted(n for n in set(TASKS) | set(_PROVIDERS) if name in get_task(n).options)
            raise DevocoreError(f"The {task.name} task takes no {name} option"
                                + (f" (the {' and '.join(takers)} tasks do)." if takers else "."))
        if value != task.options[name]:
            chosen[name] = value
    return chosen


# ----------------------------------------------------------------------------- planning

def kind_reason(path: Path, task: BatchTask) -> str | None:
    """Why ``task`` does not take a file of this kind (a video for an image task, ...), or None."""
    suffix = path.suffix.lower()
    if suffix in task.suffixes:
        return None
    if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:  # other kinds pass unnamed, except microscope and picture files
        kind = microscope_format(path.name)
        if kind:
            return f"{kind}, which Devoscope does not read. {MICROSCOPE_STEP}"
        picture = picture_format(path.name)
        return picture and (f"{picture}, which Devoscope does not read: save it as PNG or TIFF (in Fiji: File > "
                            "Save As > PNG... or Tiff...)")
    what = "a video" if suffix in VIDEO_SUFFIXES else "an image"
    return f"{what}; the {task.name} task takes {task.takes}"


def discover(input_dir: str | os.PathLike, task: BatchTask, outside: list[Path] | None = None,
             unfit: dict[Path, str] | None = None) -> list[Path]:
    """Every file under ``input_dir`` (recursively) that ``task`` accepts, sorted.

    Links that lead out of ``input_dir`` are not followed; they are appended to ``outside`` when given.
    Images and videos of a kind the task does not take go into ``unfit`` (path -> reason) when given.
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise UnsupportedFormatError(f"'{root}' is not a folder.")
    real = root.resolve()
    found = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(root).parts):
            continue
        if p.suffix.lower() not in task.suffixes:
            reason = kind_reason(p, task)
            if reason and unfit is not None and p.resolve().is_relative_to(real):
                unfit[p] = reason
            continue
        if not p.resolve().is_relative_to(real):
            log.warning("'%s' is a link to '%s', outside the input folder; not followed", p, p.resolve())
            if outside is not None:
                outside.append(p)
            continue
        found.append(p)
    return found


def output_dir(input_dir: Path, path: Path, out_root: Path) -> Path:
    """Where a file's outputs go: its relative path under ``out_root`` (suffix kept, so a.png and a.tif differ)."""
    return out_root / path.relative_to(input_dir)


def fingerprint(path: Path) -> str:
    """Cheap identity of an input file: size and modification time."""
    stat = path.stat()
    return hashlib.sha1(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def is_complete(path: Path, out_dir: Path, options: dict | None = None) -> bool:
    """True when ``out_dir`` holds a marker for this very input, made with these ``options`` (those that differ
    from the task's defaults), and every file the marker lists."""
    marker = out_dir / MARKER
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    if info.get("input_fingerprint") != fingerprint(path) or info.get("status") != "ok":
        return False
    if info.get("options", {}) != (options or {}):  # e.g. segmented at another zoom: redone
        return False
    return all((out_dir / name).is_file() and (out_dir / name).stat().st_size == size
               for name, size in info.get("outputs", {}).items())


def _write_marker(path: Path, out_dir: Path, row: dict, options: dict | None = None) -> None:
    outputs = {p.relative_to(out_dir).as_posix(): p.stat().st_size
               for p in sorted(out_dir.rglob("*")) if p.is_file() and p.name != MARKER}
    info = {"input": str(path), "input_fingerprint": fingerprint(path), "status": row["status"],
            "outputs": outputs, "options": options or {},
            "results": {k: v for k, v in row.items() if k not in ("file",)}}
    tmp = out_dir / (MARKER + ".tmp")
    tmp.write_text(json.dumps(info, indent=1, default=str))
    tmp.replace(out_dir / MARKER)  # atomic: a killed run never leaves a half-written marker


@dataclass
class Plan:
    """What a batch run will do."""

    files: list[Path]
    skipped: list[Path] = field(default_factory=list)
    ranges: dict[Path, list[tuple[int, int]]] = field(default_factory=dict)
    outside: list[Path] = field(default_factory=list)  # links out of the input folder, not followed
    unfit: dict[Path, str] = field(default_factory=dict)  # files of a kind the task does not take -> reason


def plan(input_dir: Path, out_root: Path, task: BatchTask, chunk_frames: int, force: bool = False,
         options: dict | None = None) -> Plan:
    """Files to process, files already complete (with the same ``options``), and frame ranges for long videos."""
    todo, skipped, ranges, outside, unfit = [], [], {}, [], {}
    for path in discover(input_dir, task, outside, unfit):
        if not force and is_complete(path, output_dir(input_dir, path, out_root), options):
            skipped.append(path)
            continue
        todo.append(path)
        if task.run_range and path.suffix.lower() in task.video_suffixes and chunk_frames > 0:
            try:
                count = task.frame_count(path)
            except DevocoreError:
                count = 0  # it will fail, alone, when processed whole
            if count > chunk_frames:
                ranges[path] = [(s, min(s + chunk_frames, count)) for s in range(0, count, chunk_frames)]
    return Plan(todo, skipped, ranges, outside, unfit)


# ----------------------------------------------------------------------------- workers

_WORKER_MODELS: dict[str, object] = {}
_WORKER_MODELS_LOCK = threading.Lock()  # thread workers (cloud profile) share one process
MODEL_LOADS = {"count": 0}


def worker_model(name: str | None):
    """The model ``name``, loaded once per worker process (not once per task)."""
    if name is None:
        return None
    with _WORKER_MODELS_LOCK:
        return _worker_model(name)


def _worker_model(name: str):
    if name not in _WORKER_MODELS:
        from devocore import registry
        from devocore.device import choose_device

        _WORKER_MODELS[name] = registry.load_model(name, choose_device().name)
        MODEL_LOADS["count"] += 1
        log.info("worker %d loaded model %s", os.getpid(), name)
    return _WORKER_MODELS[name]


def _failure(path: Path, task: str, start: float, exc: BaseException) -> dict:
    message = str(exc) if isinstance(exc, DevocoreError) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, DevocoreError):
        log.error("unexpected failure on %s:\n%s", path, traceback.format_exc())
    return {"file": str(path), "task": task, "status": "failed", "frames": 0,
            "seconds": round(time.time() - start, 3), "error": message}


def skipped_row(path: Path, task: str, reason: str, seconds: float = 0.0) -> dict:
    """The summary row of a file that was not processed, and why."""
    return {"file": str(path), "task": task, "status": "skipped", "reason": reason, "frames": 0,
            "seconds": round(seconds, 3), "error": ""}


def check_file(path: Path, task_name: str) -> str | None:
    """The task's content check on one file: a reason to skip it, or None (unreadable files fail later)."""
    task = get_task(task_name)
    if task.check is None:
        return None
    try:
        return task.check(path)
    except Exception as exc:  # the run itself reports an unreadable file as failed, with its message
        log.info("check of %s raised %s; the file is processed and will report it", path, exc)
        return None


def process_file(path: Path, out_dir: Path, task_name: str,
                 models: Callable[[str], object] | None = None, options: dict | None = None) -> dict:
    """Run a whole file; returns its summary row (never raises).

    ``models`` gives the task's model by name (the caller's shared copy); None loads it once per worker
    process (:func:`worker_model`). ``options``: the task's options that differ from its defaults
    (:func:`task_options`); they go into the row and the marker.
    """
    start = time.time()
    task = get_task(task_name)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        model = (models or worker_model)(task.model) if task.model else None
        results = task.run_file(path, out_dir, model, **(options or {}))
        row = {"file": str(path), "task": task_name, "status": "ok", "frames": results.pop("frames", 1),
               "seconds": round(time.time() - start, 3), "error": "", **results, **(options or {})}
        _write_marker(path, out_dir, row, options)
        return row
    except Exception as exc:  # one bad file must not stop the batch
        return _failure(path, task_name, start, exc)


def process_range(path: Path, start_frame: int, stop_frame: int, task_name: str, options: dict | None = None):
    """Run one frame range of a video; returns ``("ok", part, seconds)`` or ``("failed", message, seconds)``."""
    start = time.time()
    task = get_task(task_name)
    try:
        part = task.run_range(path, start_frame, stop_frame, worker_model(task.model), **(options or {}))
        return "ok", part, time.time() - start
    except Exception as exc:
        return "failed", _failure(path, task_name, start, exc)["error"], time.time() - start


def join_ranges(path: Path, out_dir: Path, task_name: str, parts: list, options: dict | None = None) -> dict:
    """Join the range results of one video, in order, into the CLI's outputs."""
    start = time.time()
    task = get_task(task_name)
    failed = [p[1] for p in parts if p[0] != "ok"]
    if failed:
        return _failure(path, task_name, start, RuntimeError(failed[0]))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        results = task.join(path, out_dir, [p[1] for p in parts], **(options or {}))
        row = {"file": str(path), "task": task_name, "status": "ok", "frames": results.pop("frames", 0),
               "seconds": round(sum(p[2] for p in parts) + time.time() - start, 3), "error": "", **results,
               **(options or {})}
        _write_marker(path, out_dir, row, options)
        return row
    except Exception as exc:
        return _failure(path, task_name, start, exc)


# ----------------------------------------------------------------------------- driver

@dataclass
class BatchResult:
    """What a run did: the summary table and where things are."""

    summary: pd.DataFrame
    skipped: int
    dashboard: str | None
    out_dir: Path
    outside_links: list[str] = field(default_factory=list)  # relative paths of links not followed
    unfit: int = 0  # files skipped because they do not fit the task (``skipped`` counts those already done)


def _client(scheduler: str | None, workers: int | None):
    from distributed import Client, LocalCluster

    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core",
                 "distributed.http.proxy", "distributed.worker"):
        logging.getLogger(name).setLevel(logging.WARNING)  # the summary and progress bar say what matters
    if scheduler:
        return Client(scheduler), None
    from devocore import config

    n = workers or config.max_workers()
    cloud = config.is_cloud()
    if cloud:  # a public demo never starts more workers than its container can run
        n = min(n, config.max_workers())
    # Under the cloud profile the workers are threads of the server process: a worker process would
    # import torch again (200-500 MB each) in a container of 690 MB-2.7 GB shared by every session.
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=not cloud, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _run_serial(work: Plan, input_dir: Path, out_root: Path, task_name: str, progress: ProgressFn | None,
                on_row: Callable[[dict, int, int, int], None] | None,
                models: Callable[[str], object] | None, options: dict) -> list[dict]:
    """The cloud profile's run: each file's check, then the file itself, one after another in this thread."""
    task = get_task(task_name)
    rows, todo = [], []
    for path in work.files:
        started = time.time()
        reason = check_file(path, task_name) if task.check is not None else None
        if reason:
            rows.append(skipped_row(path, task_name, reason, time.time() - started))
            log.info("skipped %s: %s", path, reason)
        else:
            todo.append(path)
    tally = _Tally(rows, len(todo), progress, on_row)
    for index, path in enumerate(todo):
        if progress:
            progress(index / len(todo), f"{tally.done} done, {tally.failed} failed, {len(todo) - index} left: "
                     f"{path.name}")
        tally.add(process_file(path, output_dir(input_dir, path, out_root), task_name, models, options))
        deploy.trim()  # what the file freed goes back to the system before the next one
    return rows


class _Tally:
    """Finished files' rows as they come in: kept, counted, logged and reported (``on_row``, ``progress``)."""

    def __init__(self, rows: list[dict], total: int, progress: ProgressFn | None,
                 on_row: Callable[[dict, int, int, int], None] | None):
        self.rows, self.total, self.progress, self.on_row = rows, total, progress, on_row
        self.done = self.failed = 0
        if progress and not total:
            progress(1.0, "no file fits the task")

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.done += row["status"] == "ok"
        self.failed += row["status"] != "ok"
        remaining = self.total - self.done - self.failed
        log.info("%s %s (%s)", row["status"], row["file"], row.get("error", ""))
        if self.on_row:
            self.on_row(row, self.done, self.failed, remaining)
        if self.progress:
            self.progress((self.done + self.failed) / self.total,
                          f"{self.done} done, {self.failed} failed, {remaining} left")


def run_batch(input_dir: str | os.PathLike, task_name: str, out_dir: str | os.PathLike,
              scheduler: str | None = None, workers: int | None = None, chunk_frames: int = 256,
              force: bool = False, progress: ProgressFn | None = None,
              on_row: Callable[[dict, int, int, int], None] | None = None,
              announce: Callable[[str], None] | None = None, client=None,
              models: Callable[[str], object] | None = None, options: dict | None = None) -> BatchResult:
    """Process every supported file under ``input_dir`` with ``task_name``.

    Args:
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``); None starts a
            LocalCluster with ``workers`` processes (default: one per core, at most 8). Under the cloud
            profile, without ``scheduler`` or ``client``, the files are run one after another in this thread
            (no Dask; videos streamed whole, never split into ranges).
        chunk_frames: videos longer than this are split into ranges of this many frames.
        force: redo files even when their outputs are complete.
        on_row: called with (row, done, failed, remaining) as each file finishes.
        announce: called with the Dask dashboard address once the cluster is up.
        client: an existing ``distributed.Client`` to use (and leave open); overrides
            ``scheduler`` and ``workers``.
        models: for the run in this thread (cloud profile), the task's model by name: a server passes its
            shared, cached models, so that it never holds a second copy of one; None loads it once per
            process (:func:`worker_model`). Dask workers always load their own.
        options: the task's options (:attr:`BatchTask.options`, e.g. ``{"zoom": 2.0}`` for the segmentation
            tasks); files done earlier with other options are redone.

    Returns:
        a :class:`BatchResult`; the summary is also written as ``summary.csv`` and ``summary.parquet``.
    """
    from devocore import config

    if workers is not None and workers < 0:  # a LocalCluster of -1 workers waits for ever
        raise DevocoreError(f"The number of workers must be 1 or more (0 or none: one per core), got {workers}.")
    if chunk_frames < 0:
        raise DevocoreError(f"The frames per video range must be 0 (never split) or more, got {chunk_frames}.")
    input_dir, out_root = Path(input_dir).resolve(), Path(out_dir).resolve()
    if out_root.is_relative_to(input_dir):  # a rerun would process the outputs of the first run
        raise UnsupportedFormatError(f"The output folder '{out_root}' is inside the input folder '{input_dir}'; "
                                     "choose an output folder outside it.")
    task = get_task(task_name)
    options = task_options(task, options)
    if not input_dir.is_dir():  # before the output folder is made: a mistyped input leaves nothing behind
        raise UnsupportedFormatError(f"'{input_dir}' is not a folder.")
    out_root.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out_root / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("devocore").addHandler(handler)
    # the cloud profile runs the files one after another in the caller's thread, each video streamed whole:
    # no Dask cluster (and its imports) and no frame ranges held in memory until they are joined
    serial = client is None and scheduler is None and config.is_cloud()
    try:
        work = plan(input_dir, out_root, task, 0 if serial else chunk_frames, force, options)
        log.info("batch %s%s on %s: %d files to do, %d already complete", task_name,
                 "".join(f" {k}={v}" for k, v in options.items()), input_dir, len(work.files), len(work.skipped))
        rows = []
        dashboard = None
        if work.files and serial:
            rows = _run_serial(work, input_dir, out_root, task_name, progress, on_row, models, options)
        elif work.files:
            from distributed import as_completed

            own = client is None
            if own:
                client, cluster = _client(scheduler, workers)
            dashboard = client.dashboard_link
            log.info("Dask dashboard: %s", dashboard)
            if announce:
                announce(dashboard)
            try:
                futures = []
                if task.check is not None:  # cheap content checks first, so unfit videos are never split
                    if progress:
                        progress(0.0, f"checking {len(work.files)} file(s)")
                    started = time.time()
                    reasons = client.gather(client.map(check_file, work.files, task_name=task_name, pure=False))
                    each = (time.time() - started) / max(len(work.files), 1)
                    for path, reason in zip(list(work.files), reasons):
                        if reason:
                            work.files.remove(path)
                            rows.append(skipped_row(path, task_name, reason, each))
                            log.info("skipped %s: %s", path, reason)
                for path in work.files:
                    dest = output_dir(input_dir, path, out_root)
                    if path in work.ranges:
                        parts = [client.submit(process_range, path, a, b, task_name, options, pure=False)
                                 for a, b in work.ranges[path]]
                        futures.append(client.submit(join_ranges, path, dest, task_name, parts, options,
                                                     pure=False))
                    else:
                        futures.append(client.submit(process_file, path, dest, task_name, options=options,
                                                     pure=False))
                tally = _Tally(rows, len(futures), progress, on_row)
                for future in as_completed(futures):
                    tally.add(future.result())
            finally:
                if own:
                    client.close()
                    if cluster is not None:
                        cluster.close()
        for path in work.skipped:
            info = json.loads((output_dir(input_dir, path, out_root) / MARKER).read_text())
            rows.append({"file": str(path), **info["results"], "status": "skipped", "reason": ALREADY_DONE})
        for path, reason in work.unfit.items():
            rows.append(skipped_row(path, task_name, reason))
        unfit = sum(1 for r in rows if r["status"] == "skipped" and r.get("reason") != ALREADY_DONE)
        summary = _summary_table(rows, input_dir)
        summary.to_csv(out_root / "summary.csv", index=False)
        summary.to_parquet(out_root / "summary.parquet", index=False)
        outside = [p.relative_to(input_dir).as_posix() for p in work.outside]
        return BatchResult(summary, len(work.skipped), dashboard, out_root, outside, unfit)
    finally:
        logging.getLogger("devocore").removeHandler(handler)
        handler.close()


def format_seconds(seconds: float) -> str:
    """Seconds with sensible precision: ``0.42 s``, ``12.3 s``, ``245 s``, ``12 min 5 s``.

    >>> [format_seconds(s) for s in (0.4242, 12.34, 245.4, 725)]
    ['0.42 s', '12.3 s', '245 s', '12 min 5 s']
    """
    seconds = float(seconds)
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 100:
        return f"{seconds:.1f} s"
    if seconds < 600:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def noted(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of a batch summary that carry a note (e.g. a membrane image run as nuclei); none without a
    note column.

    Example:
        >>> noted(pd.DataFrame({"file": ["a.png", "b.png"], "note": ["", "looks like membranes"]}))["file"].tolist()
        ['b.png']
    """
    if "note" not in summary:
        return summary.iloc[:0]
    return summary[summary["note"].fillna("").astype(str).str.len() > 0]


def _summary_table(rows: Iterable[dict], input_dir: Path) -> pd.DataFrame:
    first = ["file", "task", "status", "reason", "frames", "seconds", "error"]
    table = pd.DataFrame(list(rows))
    if table.empty:
        return pd.DataFrame(columns=first)
    table["file"] = [Path(f).relative_to(input_dir).as_posix() if Path(f).is_relative_to(input_dir) else f
                     for f in table["file"]]
    for column in first:
        if column not in table:
            table[column] = "" if column in ("error", "task", "reason") else 0
    for column in ("error", "reason") + (("note",) if "note" in table else ()):
        table[column] = table[column].fillna("").astype(str)
    table = table[first + [c for c in table.columns if c not in first]]
    return table.sort_values("file").reset_index(drop=True)


# ----------------------------------------------------------------------------- built-in task

def _inventory_file(path: Path, out_dir: Path, model) -> dict:
    """Describe one image or video: size, frames, intensity range (a check before a long run)."""
    from devocore import io

    if path.suffix.lower() in io.VIDEO_SUFFIXES:
        stats = _inventory_range(path, 0, None, model)
        return _inventory_join(path, out_dir, [stats])
    image = io.read_image(path)
    data = image.data
    info = {"frames": image.n_planes, "height": int(data.shape[-2 - image.axes.endswith("C")]),
            "width": int(data.shape[-1 - image.axes.endswith("C")]), "axes": image.axes,
            "dtype": str(data.dtype), "min": float(data.min()), "max": float(data.max()),
            "mean": round(float(data.mean()), 4)}
    (out_dir / "inventory.json").write_text(json.dumps(info, indent=1))
    return info


def _inventory_range(path: Path, start: int, stop: int | None, model) -> dict:
    from devocore import io

    frames, total, low, high, shape = 0, 0.0, float("inf"), float("-inf"), (0, 0)
    with io.open_frames(path) as video:
        shape = video.shape
        for index, frame in enumerate(video):
            if index < start:
                continue
            if stop is not None and index >= stop:
                break
            frames += 1
            total += float(frame.mean())
            low, high = min(low, float(frame.min())), max(high, float(frame.max()))
    return {"frames": frames, "sum_mean": total, "min": low, "max": high, "height": shape[0], "width": shape[1]}


def _inventory_join(path: Path, out_dir: Path, parts: list[dict]) -> dict:
    frames = sum(p["frames"] for p in parts)
    info = {"frames": frames, "height": parts[0]["height"], "width": parts[0]["width"], "axes": "TYXC",
            "dtype": "uint8", "min": min(p["min"] for p in parts), "max": max(p["max"] for p in parts),
            "mean": round(sum(p["sum_mean"] for p in parts) / max(frames, 1), 4)}
    (out_dir / "inventory.json").write_text(json.dumps(info, indent=1))
    return info


def _video_frame_count(path: Path) -> int:
    from devocore import io

    with io.open_frames(path) as video:
        return video.frame_count


register(BatchTask("inventory", IMAGE_SUFFIXES + VIDEO_SUFFIXES,
                   _inventory_file, run_range=_inventory_range, join=_inventory_join,
                   frame_count=_video_frame_count))
