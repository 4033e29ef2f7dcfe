"""Progress reporting shared by the engine, the CLI and the pages.

Slow engine functions take ``progress: ProgressFn | None``, a callable with the
fraction done (0..1) and a short message. Pages pass one that updates
``st.progress``; the CLI passes :func:`terminal`.
"""
from __future__ import annotations

import sys
from typing import Callable, Iterable, Iterator, TypeVar

ProgressFn = Callable[[float, str], None]
T = TypeVar("T")


def nothing(fraction: float, message: str = "") -> None:
    """A progress callback that ignores everything."""


_bar_open = [False]  # a terminal bar is drawn and its line not yet ended


def end_line() -> None:
    """End a terminal bar's line, so a message printed next (an error) starts on its own line."""
    if _bar_open[0]:
        sys.stderr.write("\n")
        sys.stderr.flush()
        _bar_open[0] = False


def terminal(label: str = "") -> ProgressFn:
    """A progress callback that draws one updating bar on stderr.

    Example:
        >>> report = terminal("demo")
        >>> report(1.0, "done")  # doctest: +SKIP
    """
    last = [-1]

    def report(fraction: float, message: str = "") -> None:
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        if percent == last[0] and percent < 100:
            return
        last[0] = percent
        bar = "#" * (percent // 4)
        sys.stderr.write(f"\r{label} [{bar:<25}] {percent:3d}% {message[:40]:<40}")
        _bar_open[0] = percent < 100
        if percent >= 100:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


def track(items: Iterable[T], total: int | None, progress: ProgressFn | None, message: str = "") -> Iterator[T]:
    """Yield ``items``, reporting the fraction done after each one.

    Example:
        >>> seen = []
        >>> list(track([1, 2], 2, lambda f, m: seen.append(f)))
        [1, 2]
        >>> seen
        [0.5, 1.0]
    """
    for i, item in enumerate(items, start=1):
        yield item
        if progress is not None and total:
            progress(min(1.0, i / total), message)
