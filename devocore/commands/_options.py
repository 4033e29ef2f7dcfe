"""Checks of numeric options that no run can take, shared by the commands: each refuses its option by name before
anything is read or written."""
from __future__ import annotations

import math

from devocore.errors import DevocoreError


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def require_positive(args, *names: str, unit: str = "") -> None:
    """Refuse an option among ``names`` that is given and is not a finite number above 0 (nan and inf included).

    Example:
        >>> from types import SimpleNamespace
        >>> require_positive(SimpleNamespace(fps=float("nan")), "fps")
        Traceback (most recent call last):
        ...
        devocore.errors.DevocoreError: --fps must be a positive number, got nan.
    """
    for name in names:
        value = getattr(args, name, None)
        if value is not None and not 0 < value < math.inf:
            raise DevocoreError(f"{_flag(name)} must be a positive number{unit}, got {value}.")


def require_between(args, low: float, high: float, *names: str, closed: bool = True, unit: str = "") -> None:
    """Refuse an option among ``names`` that is given and outside ``low..high`` (ends included when ``closed``);
    nan is refused too.

    Example:
        >>> from types import SimpleNamespace
        >>> require_between(SimpleNamespace(threshold=1.0), 0, 1, "threshold", closed=False)
        Traceback (most recent call last):
        ...
        devocore.errors.DevocoreError: --threshold must be between 0 and 1, got 1.0.
    """
    for name in names:
        value = getattr(args, name, None)
        if value is not None and not (low <= value <= high if closed else low < value < high):
            raise DevocoreError(f"{_flag(name)} must be between {low} and {high}{unit}, got {value}.")


def require_at_least(args, **least: int) -> None:
    """Refuse an option (keyword: its least value) that is given and below its least.

    Example:
        >>> from types import SimpleNamespace
        >>> require_at_least(SimpleNamespace(epochs=0, folds=None), epochs=1, folds=1)
        Traceback (most recent call last):
        ...
        devocore.errors.DevocoreError: --epochs must be at least 1, got 0.
    """
    for name, low in least.items():
        value = getattr(args, name, None)
        if value is not None and value < low:
            raise DevocoreError(f"{_flag(name)} must be at least {low}, got {value}.")
