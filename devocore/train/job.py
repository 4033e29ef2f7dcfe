"""A training (or tuning) run on a background thread, with a stop flag and a live history.

The Train page starts a :class:`Job` and redraws from ``job.history`` while it
runs; Stop sets the flag, the run ends after the current batch and keeps its
best checkpoint (which :func:`devocore.train.segmentation.train` wrote to its
folder at every improvement).

Example:
    >>> job = Job(lambda stop, record: record({"epoch": 1}) or {"done": True}).start()
    >>> job.wait(5).result, job.history
    ({'done': True}, [{'epoch': 1}])
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from devocore.errors import DevocoreError

log = logging.getLogger(__name__)


class Job:
    """Runs ``target(stop, record) -> dict`` on a daemon thread.

    ``stop()`` is True once :meth:`stop` was called; ``record(dict)`` appends
    to :attr:`history`. The outcome is :attr:`result`, or :attr:`error` (a
    message) when the run raised.
    """

    def __init__(self, target: Callable[[Callable[[], bool], Callable[[dict], None]], dict]):
        self._target = target
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.history: list[dict] = []
        self.result: dict | None = None
        self.error: str | None = None
        self.started = 0.0
        self.progress = (0.0, "starting")

    def _run(self) -> None:
        try:
            self.result = self._target(self._stop.is_set, self.history.append)
        except DevocoreError as exc:
            self.error = str(exc)
        except Exception as exc:  # a bug: shown on the page, logged with its traceback
            log.exception("training job failed")
            self.error = f"internal error ({type(exc).__name__}): {exc}"
        finally:
            self._target = None  # what it held (a model, its data) goes once the run is over

    def start(self) -> "Job":
        self.started = time.time()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end after the current batch (the best checkpoint is kept)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def report(self, fraction: float, message: str = "") -> None:
        """A :data:`devocore.progress.ProgressFn` that the page reads back."""
        self.progress = (fraction, message)

    def wait(self, timeout: float | None = None) -> "Job":
        self._thread.join(timeout)
        return self
