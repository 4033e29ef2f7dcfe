"""Put embryos in one body frame so that positions from different films compare.

Steps (:func:`align_embryo`):

1. *centre*: subtract the centroid of the nuclei at each time point (the embryo
   may drift on the slide);
2. *rotate*: the anterior-posterior (AP) axis is the first principal axis of all
   centred nucleus positions (the eggshell is about 1.7 times longer than wide);
   the two short axes are nearly equal, so the rotation about AP is set by the
   orientation step, not by PCA;
3. *orient*: choose the AP sign and the angle about AP. With ``orientation="names"``
   from lineage landmarks: AB descendants lie anterior, P1 descendants posterior,
   ABxl... cells on the left and ABxr... on the right. ``"none"`` keeps the PCA
   axes. A trained :class:`~devocore.embedding.classify.LineageClassifier` can
   instead choose the orientation without any cell name
   (:meth:`~devocore.embedding.classify.LineageClassifier.orient`);
4. *scale*: divide by the embryo's length (the 2nd-98th percentile span along AP),
   so the aligned coordinates ``ap, dv, lr`` are fractions of the embryo length and
   ``size_rel`` the nucleus diameter in the same unit.

The body frame is right-handed: ``ap`` grows towards the posterior, ``lr`` towards
the left and ``dv = lr x ap`` towards the dorsal side (where C descendants lie).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from devocore.errors import EmptyTableError, TableError
from devocore.embedding.tables import add_lineage_columns, numeric_matrix

log = logging.getLogger(__name__)

#: Ratio of the EPIC focal-plane step to its pixel size, measured from the spread
#: of the training embryos (z spread matches the short y axis); use as ``z_scale``.
EPIC_Z_SCALE = 15.0

ORIENTATIONS = ("names", "none")
POSITION = ("x", "y", "z")


@dataclass(frozen=True)
class Alignment:
    """How one embryo was put in the body frame.

    Attributes:
        axes: 3 x 3 rows ``ap, dv, lr`` in x, y, z units (a proper rotation).
        length: embryo length along AP (x/y units); aligned = rotated / length.
        centres: time -> centroid (x, y, z) of the nuclei present.
        method: how the orientation was chosen ("names", "none", "model", ...).
    """

    axes: np.ndarray
    length: float
    centres: dict
    method: str


#: A time point with fewer nuclei than this share of the most seen so far is traced only in part
#: (EPIC films often follow only some lineages late on).
PARTIAL_SHARE = 0.8


def full_time_points(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(time points in order, whether each is fully traced)``: not when it holds fewer nuclei than
    :data:`PARTIAL_SHARE` of the most seen at any earlier time point.

    Example:
        >>> full_time_points(np.array([1, 1, 2, 2, 2, 2, 3]))[1].tolist()
        [True, True, False]
    """
    values, counts = np.unique(times, return_counts=True)
    return values, counts >= PARTIAL_SHARE * np.maximum.accumulate(counts)


def _centred(frame: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """Positions minus the embryo's centre at each time point.

    The centre is the mean of the nuclei present; at a time point traced only in part (see
    :func:`full_time_points`) that mean is the traced lineages' centre, not the embryo's, so the centre of the
    last fully traced time point before it (else the first after it) is used instead.
    """
    xyz = numeric_matrix(frame, POSITION, "the cell table")
    times = frame["time"].to_numpy()
    values, full = full_time_points(times)
    means = {t: xyz[times == t].mean(axis=0) for t in values}
    fulls = values[full]
    centres = {}
    for t, is_full in zip(values, full):
        if is_full or not len(fulls):
            centres[t] = means[t]
        else:
            before = fulls[fulls < t]
            centres[t] = means[before[-1]] if len(before) else means[fulls[fulls > t][0]]
    out = xyz - np.stack([centres[t] for t in times]) if len(times) else xyz
    return out, centres


def principal_frame(centred: np.ndarray) -> np.ndarray:
    """3 x 3 right-handed frame: row 0 the longest principal axis, rows 1-2 the others.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> pts = rng.normal(size=(500, 3)) * [1, 5, 2]
        >>> np.abs(principal_frame(pts)[0]).round(1).tolist()
        [0.0, 1.0, 0.0]
    """
    values, vectors = np.linalg.eigh(np.cov(centred.T))
    order = np.argsort(values)[::-1]
    frame = vectors[:, order].T
    if np.linalg.det(frame) < 0:
        frame[2] = -frame[2]
    return frame


def frame_from(ap: np.ndarray, lr: np.ndarray) -> np.ndarray:
    """The right-handed body frame (rows ap, dv, lr) from an AP direction and a rough LR direction.

    ``lr`` is made perpendicular to ``ap``; ``dv = lr x ap``.

    Example:
        >>> frame_from(np.array([1.0, 0, 0]), np.array([0.2, 0, 1.0])).round(3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    ap = ap / np.linalg.norm(ap)
    lr = lr - (lr @ ap) * ap
    norm = np.linalg.norm(lr)
    if norm < 1e-9:
        raise TableError("the left-right direction is parallel to the anterior-posterior axis.")
    lr = lr / norm
    return np.stack([ap, np.cross(lr, ap), lr])


def candidate_frames(pca_frame: np.ndarray, n_angles: int = 24) -> list[tuple[str, np.ndarray]]:
    """Body frames to try when the orientation is unknown: both AP signs x ``n_angles`` turns about AP.

    Example:
        >>> len(candidate_frames(np.eye(3), 12))
        24
    """
    out = []
    for sign in (1.0, -1.0):
        ap = sign * pca_frame[0]
        u, w = pca_frame[1], np.cross(ap, pca_frame[1])
        for k in range(n_angles):
            theta = 2 * np.pi * k / n_angles
            out.append((f"ap{'+' if sign > 0 else '-'} {360 * k / n_angles:.0f}deg",
                        frame_from(ap, np.cos(theta) * u + np.sin(theta) * w)))
    return out


def _landmark_frame(frame: pd.DataFrame, centred: np.ndarray, pca_frame: np.ndarray) -> np.ndarray:
    """Orientation from cell names: AB anterior; ABxl left of ABxr."""
    founder = frame["founder"].to_numpy() if "founder" in frame else add_lineage_columns(frame)["founder"].to_numpy()
    names = frame["cell"].astype(str).str.strip()
    ab = founder == "AB"
    p1 = np.isin(founder, ["MS", "E", "C", "D", "P4", "P"])
    ap = pca_frame[0]
    if ab.any() and p1.any():
        posterior = centred[p1].mean(axis=0) - centred[ab].mean(axis=0)
        ap = ap if posterior @ ap >= 0 else -ap
    else:
        log.warning("no AB and P1 descendants to tell anterior from posterior; AP sign left as found")
    left = names.str.match(r"^AB[ap]l").to_numpy()
    right = names.str.match(r"^AB[ap]r").to_numpy()
    if left.any() and right.any():
        lr = centred[left].mean(axis=0) - centred[right].mean(axis=0)
    else:
        # Before the 8-cell stage: in EPIC films the later left side lies where EMS is at 4 cells
        # (measured on the training embryos: angle to ABxl-ABxr mean under 15 degrees).
        ems, abp = (names == "EMS").to_numpy(), (names == "ABp").to_numpy()
        if ems.any() and abp.any():
            lr = centred[ems].mean(axis=0) - centred[abp].mean(axis=0)
        else:
            log.warning("no left/right landmarks (ABal, ABar, ...); rotation about AP left as found")
            lr = pca_frame[2]
    return frame_from(ap, lr)


def embryo_length(rotated_ap: np.ndarray, stage: np.ndarray | None = None) -> float:
    """Length of the embryo along AP: the 2nd-98th percentile span of nuclei from the 24-cell stage on.

    Example:
        >>> round(embryo_length(np.linspace(-50, 50, 1001)), 1)
        96.0
    """
    values = rotated_ap
    if stage is not None and (stage >= 24).sum() >= 50:
        values = rotated_ap[stage >= 24]
    lo, hi = np.percentile(values, [2, 98])
    return float(max(hi - lo, 1e-9))


def apply_alignment(frame: pd.DataFrame, axes: np.ndarray, length: float, centred: np.ndarray,
                    centres: dict, method: str) -> tuple[pd.DataFrame, Alignment]:
    """Add ``ap, dv, lr, size_rel`` to a copy of ``frame`` for a chosen body frame."""
    body = centred @ axes.T / length
    out = frame.copy()
    out["ap"], out["dv"], out["lr"] = body[:, 0], body[:, 1], body[:, 2]
    out["size_rel"] = out["size"].astype(float) / length
    return out, Alignment(axes, length, centres, method)


def prepare(frame: pd.DataFrame) -> tuple[np.ndarray, dict, np.ndarray, float]:
    """Centred positions, centres, PCA frame and embryo length of one embryo's cell table."""
    # the embryo's name (its file) in messages, when the table carries it
    what = f"the cell table of '{frame['embryo'].iloc[0]}'" if "embryo" in frame and len(frame) else "the cell table"
    if frame.empty:
        raise EmptyTableError(f"{what} has no rows.")
    if "time" not in frame.columns:
        raise TableError(f"{what} needs a 'time' column to centre the embryo at each time point.")
    centred, centres = _centred(frame)
    if len(centred) < 4:
        raise EmptyTableError(f"{what} has {len(centred)} nuclei with a position; at least 4 are needed to align "
                              "the embryo.")
    pca_frame = principal_frame(centred)
    stage = frame["stage"].to_numpy() if "stage" in frame else None
    length = embryo_length(centred @ pca_frame[0], stage)
    return centred, centres, pca_frame, length


def align_embryo(frame: pd.DataFrame, orientation: str = "names") -> tuple[pd.DataFrame, Alignment]:
    """Align one embryo's cell table; returns a copy with ``ap, dv, lr, size_rel`` and the :class:`Alignment`.

    Args:
        frame: one embryo (``cell, time, x, y, z, size``; z already in x/y units).
        orientation: "names" (lineage landmarks) or "none" (PCA axes as found).

    Raises:
        TableError: an unknown orientation, or a table without ``time``.

    Example:
        >>> from devocore.embedding.synthetic import embryo_table
        >>> aligned, how = align_embryo(embryo_table(seed=0, n_frames=40))
        >>> bool(aligned.loc[aligned.founder == "AB", "ap"].mean() < aligned.loc[aligned.founder == "C", "ap"].mean())
        True
    """
    if orientation not in ORIENTATIONS:
        raise TableError(f"unknown orientation '{orientation}'; choose one of {', '.join(ORIENTATIONS)}.")
    if "founder" not in frame.columns or "stage" not in frame.columns:
        frame = add_lineage_columns(frame)
    centred, centres, pca_frame, length = prepare(frame)
    axes = _landmark_frame(frame, centred, pca_frame) if orientation == "names" else pca_frame
    return apply_alignment(frame, axes, length, centred, centres, orientation)
