"""Following nuclei from one time point to the next without their names, to pool a classifier's votes.

A nucleus keeps its founder lineage for life and passes it to both daughters, so the
lineage called at one time point should agree with the calls on the same nucleus just
before and after. :func:`link_nuclei` links each nucleus to the nearest nucleus of the
previous time point (within one nucleus diameter; a daughter links to its mother's last
position), using positions only. :func:`smooth_along_links` then adds to each nucleus's
log-probabilities those of its linked past and future, discounted by ``decay`` per step.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from devocore.errors import MissingColumnsError

LINK_COLUMNS = ("time", "x", "y", "z", "size")


def link_nuclei(frame: pd.DataFrame) -> np.ndarray:
    """Row index of each nucleus's nearest nucleus at the previous time point, or -1.

    Args:
        frame: one embryo, ``time, x, y, z, size`` (z in x/y units, size the diameter).

    A link is kept when the distance is at most the nucleus's diameter.

    Example:
        >>> t = pd.DataFrame({"time": [1, 1, 2, 2], "x": [0.0, 50, 2, 90], "y": [0.0] * 4, "z": [0.0] * 4,
        ...                   "size": [10.0] * 4})
        >>> link_nuclei(t).tolist()
        [-1, -1, 0, -1]
    """
    missing = [c for c in LINK_COLUMNS if c not in frame.columns]
    if missing:
        raise MissingColumnsError(f"linking nuclei needs the columns {list(LINK_COLUMNS)}; missing {missing}.")
    times = frame["time"].to_numpy()
    xyz = frame[["x", "y", "z"]].to_numpy(float)
    size = frame["size"].to_numpy(float)
    previous = np.full(len(frame), -1)
    values = np.unique(times)
    rows = {t: np.flatnonzero(times == t) for t in values}
    for before, now in zip(values[:-1], values[1:]):
        a, b = rows[before], rows[now]
        distance, nearest = cKDTree(xyz[a]).query(xyz[b])
        close = distance <= size[b]
        previous[b[close]] = a[nearest[close]]
    return previous


def smooth_along_links(frame: pd.DataFrame, proba: np.ndarray, decay: float = 0.97,
                       previous: np.ndarray | None = None) -> np.ndarray:
    """Log-probabilities pooled along linked nuclei: N x K scores whose row argmax is the pooled call.

    Each row's score is its own log-probability plus ``decay ** k`` times those of the nuclei
    ``k`` links before it and (averaged over daughters) after it.

    Example:
        >>> t = pd.DataFrame({"time": [1, 2, 3], "x": [0.0, 1, 2], "y": [0.0] * 3, "z": [0.0] * 3, "size": [5.0] * 3})
        >>> p = np.array([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2]])
        >>> smooth_along_links(t, p, 0.9).argmax(axis=1).tolist()
        [0, 0, 0]
    """
    if previous is None:
        previous = link_nuclei(frame)
    log_p = np.log(np.clip(np.asarray(proba, float), 1e-4, None))
    if decay <= 0 or len(frame) == 0:
        return log_p
    times = frame["time"].to_numpy()
    values = np.unique(times)
    rows = [np.flatnonzero(times == t) for t in values]
    forward = log_p.copy()
    for now in rows:
        linked = now[previous[now] >= 0]
        forward[linked] += decay * forward[previous[linked]]
    backward = log_p.copy()
    for now in rows[::-1]:
        linked = now[previous[now] >= 0]
        if not len(linked):
            continue
        parents, which = np.unique(previous[linked], return_inverse=True)
        total = np.zeros((len(parents), log_p.shape[1]))
        np.add.at(total, which, backward[linked])
        backward[parents] += decay * total / np.bincount(which)[:, None]
    return forward + backward - log_p
