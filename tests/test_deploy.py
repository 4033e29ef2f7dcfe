"""The cloud profile's process settings: glibc arenas and thresholds, and the heap trim after each run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devocore import deploy

ROOT = Path(__file__).resolve().parents[1]
glibc = pytest.mark.skipif(deploy._libc() is None, reason="needs glibc (malloc_trim, mallopt)")

# 3000 blocks of 100 kB (below the mmap threshold: they live in the heap), every tenth kept alive, so
# the freed 270 MB are holes the heap cannot shrink past; prints the RSS in MB before and after.
HOLES = """
import sys, psutil
sys.path.insert(0, {root!r})
from devocore import deploy
rss = lambda: psutil.Process().memory_info().rss / 2**20
blocks = [b"x" * 100_000 for _ in range(3000)]
kept = blocks[::10]
del blocks
before = rss()
if sys.argv[1] == "trim":
    assert deploy.trim()
print(before, rss())
"""


def _holes(mode: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", HOLES.format(root=str(ROOT)), mode], capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    return float(out[0]), float(out[1])


@glibc
def test_trim_returns_freed_heap_memory_to_the_system():
    before, after = _holes("trim")
    assert before > 250 and after < before - 200  # the 270 MB of holes go back
    before, after = _holes("none")
    assert after > before - 20  # control: without the trim they stay resident


# 1000 blocks of 300 kB, every tenth kept, under the profile's settings ("tuned") or with the mmap threshold
# the profile had before (1 MB, fixed: glibc's own sliding default depends on what the process freed before);
# prints the RSS in MB with all blocks alive and after the others are freed (no trim).
MAPPED = """
import sys, psutil
sys.path.insert(0, {root!r})
from devocore import deploy
rss = lambda: psutil.Process().memory_info().rss / 2**20
if sys.argv[1] == "tuned":
    assert deploy.tune_malloc()
else:
    assert deploy._libc().mallopt(deploy.M_MMAP_THRESHOLD, 1 << 20) == 1
blocks = [bytearray(300_000) for _ in range(1000)]
before = rss()
kept = blocks[::10]
del blocks
print(before, rss())
"""


@glibc
def test_tuned_malloc_gives_blocks_of_300_kb_back_as_soon_as_they_are_freed():
    def run(mode):
        out = subprocess.run([sys.executable, "-c", MAPPED.format(root=str(ROOT)), mode], capture_output=True,
                             text=True, timeout=60, check=True).stdout.split()
        return float(out[0]), float(out[1])

    before, after = run("tuned")
    assert after < before - 200  # each block was its own mapping: the 270 MB freed left at once
    before, after = run("1mb")
    assert after > before - 50  # control: with a 1 MB threshold they live in the heap, and stay as holes


@glibc
def test_tune_malloc_is_accepted_by_glibc():
    assert deploy.tune_malloc()


def test_setup_process_does_nothing_locally(monkeypatch):
    monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    assert deploy.setup_process() == {}
