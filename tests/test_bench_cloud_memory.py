"""The RSS sampler of the memory benchmarks (tools/rss.py) counts a process's children (the benchmark itself is not a test)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from tools.rss import PeakSampler, tree_rss_mb

CHILD_MB = 200
CHILD = f"import sys, time\nblock = b'x' * ({CHILD_MB} * 2**20)\nprint('ready', flush=True)\ntime.sleep(60)\n"


def test_tree_rss_counts_a_child_holding_200_mb():
    own = psutil.Process().memory_info().rss / 2**20
    sampler = PeakSampler(os.getpid(), interval=0.05)
    sampler.start()
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        with_child = tree_rss_mb(os.getpid())
        assert with_child - own >= CHILD_MB * 0.95  # the child's 200 MB block is in the tree's total
    finally:
        child.kill()
        child.wait()
    peak = sampler.stop()
    assert peak >= with_child * 0.99 and sampler.samples >= 3
    assert tree_rss_mb(os.getpid()) < with_child - CHILD_MB * 0.9  # gone once the child exits
    assert tree_rss_mb(2**22 + 12345) == 0.0  # no such process
