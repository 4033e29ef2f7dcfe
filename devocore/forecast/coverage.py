"""How often a forecast's 10-90 % band holds the truth, against its nominal 80 %, and when to say so.

A 10-90 % band should hold about 80 % of the true values. Far less means the band is too narrow (the
forecast is more certain than it should be); far more means it is too wide to be useful.

Example:
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"step": [1, 1, 2, 2], "truth": [0.0, 5.0, 1.0, 1.0],
    ...                      "LSTM_low": [-1.0, -1.0, 0.0, 2.0], "LSTM_high": [1.0, 1.0, 2.0, 3.0]})
    >>> coverage(rows)
    0.5
    >>> coverage_by_step(rows)["coverage"].tolist()
    [0.5, 0.5]
    >>> coverage_warning(0.5) is not None, coverage_warning(0.8)
    (True, None)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from devocore.errors import TableError

NOMINAL = 0.8  # a 10-90 % band
#: Coverage outside this range is flagged. With a few hundred test values the sampling error of a
#: coverage near 80 % is a few points, so 65-95 % flags only bands that are clearly too narrow or too wide.
ACCEPTED = (0.65, 0.95)


def _inside(forecasts: pd.DataFrame, low: str, high: str, truth: str) -> np.ndarray:
    missing = [c for c in (low, high, truth) if c not in forecasts.columns]
    if missing:
        raise TableError(f"The forecast table has no column {', '.join(missing)}; it needs {truth}, {low}, {high}.")
    values = forecasts[[truth, low, high]].to_numpy(float)
    keep = np.isfinite(values).all(axis=1)
    t, lo, hi = values[keep].T
    return (t >= lo) & (t <= hi)


def coverage(forecasts: pd.DataFrame, low: str = "LSTM_low", high: str = "LSTM_high", truth: str = "truth") -> float:
    """The share (0..1) of finite rows whose truth lies inside [low, high]; NaN when there is none."""
    inside = _inside(forecasts, low, high, truth)
    return float(inside.mean()) if len(inside) else float("nan")


def coverage_by_step(forecasts: pd.DataFrame, low: str = "LSTM_low", high: str = "LSTM_high",
                     truth: str = "truth") -> pd.DataFrame:
    """``step, coverage, n`` per horizon step (a band is often right at step 1 and too narrow later)."""
    rows = []
    for step, group in forecasts.groupby("step", sort=True):
        inside = _inside(group, low, high, truth)
        rows.append({"step": int(step), "coverage": float(inside.mean()) if len(inside) else float("nan"),
                     "n": int(len(inside))})
    return pd.DataFrame(rows, columns=["step", "coverage", "n"])


def coverage_warning(value: float, nominal: float = NOMINAL, accepted: tuple[float, float] = ACCEPTED) -> str | None:
    """A one-line warning when the coverage is outside ``accepted``, else None."""
    if not np.isfinite(value):
        return "The band's coverage could not be measured (no test value with a finite band)."
    if value < accepted[0]:
        return (f"The 10-90 % band holds only {100 * value:.0f} % of the true values (it should hold about "
                f"{100 * nominal:.0f} %): it is too narrow; the real uncertainty is larger than it shows.")
    if value > accepted[1]:
        return (f"The 10-90 % band holds {100 * value:.0f} % of the true values (it should hold about "
                f"{100 * nominal:.0f} %): it is wider than it needs to be.")
    return None
