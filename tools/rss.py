"""Peak resident memory of a process tree, for the memory benchmarks and the load test."""
from __future__ import annotations

import threading
import time


def tree_rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` and all its descendants, in MB (2**20 bytes).

    Processes that exit while being read are skipped.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in processes:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


class PeakSampler(threading.Thread):
    """Samples :func:`tree_rss_mb` every ``interval`` seconds until stopped; keeps the peak and when it was.

    With ``cap_mb``, ``on_cap()`` is called once when the memory first exceeds it.
    """

    def __init__(self, pid: int, interval: float = 0.25, cap_mb: float | None = None, on_cap=None):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.cap_mb, self.on_cap, self.capped = cap_mb, on_cap, False
        self.peak_mb, self.peak_at, self.samples = 0.0, 0.0, 0
        self.start_mb = tree_rss_mb(pid)
        self.label = "start"  # what the sessions were doing, for the peak's record
        self.peak_label = ""
        self.peaks: dict[str, float] = {}  # the peak while each label was set
        self.trace: list[tuple[float, float, str]] = []  # (seconds, MB, label) of every sample
        self._stop_event = threading.Event()
        self._t0 = time.time()

    def sample(self) -> float:
        value = tree_rss_mb(self.pid)
        self.samples += 1
        self.peaks[self.label] = max(self.peaks.get(self.label, 0.0), value)
        self.trace.append((time.time() - self._t0, value, self.label))
        if value > self.peak_mb:
            self.peak_mb, self.peak_at, self.peak_label = value, time.time() - self._t0, self.label
        if self.cap_mb is not None and value > self.cap_mb and not self.capped:
            self.capped = True  # over the cap: say so once (the benchmark stops the server)
            if self.on_cap is not None:
                self.on_cap()
        return value

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        self._stop_event.set()
        self.join(timeout=5)
        self.sample()
        return self.peak_mb
