"""Scoring a tracking table against reference midlines or simulator truth.

Two references:

* real frames with Tierpsy skeletons (``frame, point, x, y``; head first; NaN
  where Tierpsy gave none): :func:`compare_skeletons`;
* simulator truth (``frame, worm, head_x, head_y, tail_x, tail_y, centroid_x,
  centroid_y`` and optional ``in_view``, ``touching``): :func:`compare_truth`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from devocore.errors import MissingColumnsError
from devocore.tracking.midline import resample

SKELETON_COLUMNS = ("frame", "point", "x", "y")
TRUTH_COLUMNS = ("frame", "worm", "head_x", "head_y", "tail_x", "tail_y", "centroid_x", "centroid_y")


def _require(table: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnsError(f"The {what} lacks the columns {missing}; it needs {list(columns)}.")


def midline_columns(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The ``mid_x_*`` and ``mid_y_*`` column names of a tracking table, in order."""
    xs = sorted((c for c in table.columns if c.startswith("mid_x_")), key=lambda c: int(c[6:]))
    ys = sorted((c for c in table.columns if c.startswith("mid_y_")), key=lambda c: int(c[6:]))
    return xs, ys


def midline_distance(ours: np.ndarray, ref: np.ndarray) -> tuple[float, bool]:
    """Median point distance between two midlines, whichever way ours is listed, and whether ours is head first.

    Both are resampled to the reference's number of points.

    Example:
        >>> ref = np.column_stack([np.arange(5.0), np.zeros(5)])
        >>> midline_distance(ref[::-1] + [0, 1], ref)
        (1.0, False)
    """
    p = resample(np.asarray(ours, float), len(ref))
    same = float(np.median(np.hypot(*(p - ref).T)))
    flip = float(np.median(np.hypot(*(p[::-1] - ref).T)))
    return min(same, flip), same <= flip


def compare_skeletons(table: pd.DataFrame, skeletons: pd.DataFrame, frames=None) -> dict:
    """Coverage, midline distance and head agreement against reference skeletons.

    Args:
        table: from :func:`devocore.tracking.track` (rows with ``mid_x_*`` columns; one worm).
        skeletons: ``frame, point, x, y`` rows, points in order head first.
        frames: the numbers of the frames that were tracked (``TrackResult.frame_numbers``); reference frames
            outside them (a gap in a folder's numbering) are not scored but counted in
            ``reference_frames_not_tracked``. None scores every reference frame.

    Returns:
        dict with ``coverage`` (share of the reference frames tracked where we give a midline),
        ``median_midline_distance_px`` (median over frames of the median point
        distance, orientation-free), ``head_agreement`` (share of compared frames
        where our head is the reference's head), ``p90_midline_distance_px``,
        ``median_mean_offset_px`` (size of the mean shift between the two
        midlines, which a coordinate-convention difference would show),
        ``median_shape_distance_px`` (distance after removing that shift), and
        counts of frames.

    Example:
        >>> sk = pd.DataFrame({"frame": [0, 0, 0], "point": [0, 1, 2], "x": [0.0, 1, 2], "y": [0.0, 0, 0]})
        >>> tab = pd.DataFrame({"frame": [0], "mid_x_00": [0.0], "mid_x_01": [2.0], "mid_y_00": [0.0],
        ...                     "mid_y_01": [0.0]})
        >>> r = compare_skeletons(tab, sk); (r["coverage"], r["median_midline_distance_px"], r["head_agreement"])
        (1.0, 0.0, 1.0)
    """
    _require(skeletons, SKELETON_COLUMNS, "skeleton table")
    xs, ys = midline_columns(table)
    ours = table.dropna(subset=xs[:1]).drop_duplicates("frame").set_index("frame")
    distances, heads, offsets, shapes = [], [], [], []
    n_ref = n_coiled = n_absent = 0
    given = None if frames is None else {int(f) for f in frames}
    for frame, group in skeletons.sort_values(["frame", "point"]).groupby("frame"):
        ref = group[["x", "y"]].to_numpy(float)
        if np.isnan(ref).any():
            continue
        if given is not None and int(frame) not in given:
            n_absent += 1
            continue
        n_ref += 1
        if frame not in ours.index:
            n_coiled += 1
            continue
        row = ours.loc[frame]
        p = np.column_stack([row[xs].to_numpy(float), row[ys].to_numpy(float)])
        d, head_first = midline_distance(p, ref)
        distances.append(d)
        heads.append(head_first)
        q = resample(p, len(ref))
        q = q if head_first else q[::-1]
        shift = (q - ref).mean(axis=0)
        offsets.append(float(np.hypot(*shift)))
        shapes.append(float(np.median(np.hypot(*(q - shift - ref).T))))
    n = len(distances)
    return {
        "coverage": n / n_ref if n_ref else float("nan"),
        "median_midline_distance_px": float(np.median(distances)) if n else float("nan"),
        "p90_midline_distance_px": float(np.percentile(distances, 90)) if n else float("nan"),
        "head_agreement": float(np.mean(heads)) if n else float("nan"),
        "median_mean_offset_px": float(np.median(offsets)) if n else float("nan"),
        "median_shape_distance_px": float(np.median(shapes)) if n else float("nan"),
        "reference_frames": n_ref,
        "compared_frames": n,
        "reference_frames_without_our_midline": n_coiled,
        "reference_frames_not_tracked": n_absent,
    }


def match_frame(ours: pd.DataFrame, truth: pd.DataFrame, gate: float) -> list[tuple[int, int]]:
    """Pairs (row in ``ours``, row in ``truth``) of one frame matched on centroids within ``gate`` px."""
    if ours.empty or truth.empty:
        return []
    a = ours[["centroid_x", "centroid_y"]].to_numpy(float)
    b = truth[["centroid_x", "centroid_y"]].to_numpy(float)
    cost = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    cost = np.where(np.isnan(cost), 1e9, cost)
    rows, cols = linear_sum_assignment(np.where(cost <= gate, cost, 1e9))
    return [(r, c) for r, c in zip(rows, cols) if cost[r, c] <= gate]


def self_touching(truth: pd.DataFrame, gap: float = 1.0) -> pd.Series:
    """Truth rows whose worm touches itself (coil, omega turn, tail against body), from the true midline.

    Two body points farther apart along the body than 1.5 widths touch when their
    distance is below the sum of their half-widths plus ``gap``; half-widths taper
    linearly over the first and last fifth of the body. Rows without midline
    columns or ``width_px`` are False.
    """
    xs, ys = midline_columns(truth)
    if not xs or "width_px" not in truth:
        return pd.Series(False, index=truth.index)
    px, py = truth[xs].to_numpy(float), truth[ys].to_numpy(float)
    n = len(xs)
    u = np.linspace(0, 1, n)
    taper = np.clip(np.minimum(u, 1 - u) / 0.2, 0.15, 1.0)
    out = np.zeros(len(truth), bool)
    for k in range(len(truth)):
        if np.isnan(px[k]).any():
            continue
        pts = np.column_stack([px[k], py[k]])
        radius = 0.5 * float(truth["width_px"].iloc[k]) * taper
        arc = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        far = np.abs(arc[:, None] - arc[None, :]) > 1.5 * float(truth["width_px"].iloc[k])
        dist = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        out[k] = bool(np.any(far & (dist < radius[:, None] + radius[None, :] + gap)))
    return pd.Series(out, index=truth.index)


def scoring(truth: pd.DataFrame) -> tuple[float, pd.Series, pd.Series]:
    """The default matching gate (px) and which truth rows are scored, without and with self-touching ones.

    Returns:
        ``(gate, scored, scored_incl_self_touching)``: the gate is half the median true length (at
        least 10 px); rows are scored when in view and not touching another worm, and, for
        ``scored``, not touching themselves (:func:`self_touching`).
    """
    lengths = np.hypot(truth.head_x - truth.tail_x, truth.head_y - truth.tail_y)
    gate = max(10.0, 0.5 * float(np.nanmedian(truth["length_px"] if "length_px" in truth else lengths)))
    scored_all = pd.Series(True, index=truth.index)
    if "in_view" in truth:
        scored_all &= truth["in_view"].astype(bool)
    if "touching" in truth:
        scored_all &= ~truth["touching"].astype(bool)
    return gate, scored_all & ~self_touching(truth), scored_all


def compare_truth(table: pd.DataFrame, truth: pd.DataFrame, gate: float | None = None) -> dict:
    """Head error, head/tail swaps, recall and identity switches against simulator truth.

    Scored truth rows are those in view, not touching another worm (when the
    truth has ``in_view`` / ``touching`` columns) and not touching themselves
    (:func:`self_touching`, when it has midline and ``width_px`` columns): the
    tracker reports those as coiled on purpose. ``recall_incl_self_touching``
    counts them too. Our worms are matched to true
    worms frame by frame on centroids (Hungarian, within ``gate`` px, default
    half the median true length).

    Returns:
        dict with ``median_head_error_px``, ``p95_head_error_px`` (on matched rows
        with a midline), ``swap_rate`` (share of those rows whose head sits
        nearer the true tail), ``recall`` (share of scored truth rows matched by a
        row with a midline), ``detection_recall`` (matched at all), ``id_switches``
        (times a true worm's matched id changes, over rows we do not flag as touching), ``touching_flagged`` (share of
        truth-touching rows we flag as touching or coiled) and counts.

    Example:
        >>> truth = pd.DataFrame({"frame": [0, 1], "worm": [1, 1], "head_x": [10.0, 12], "head_y": [0.0, 0],
        ...     "tail_x": [0.0, 2], "tail_y": [0.0, 0], "centroid_x": [5.0, 7], "centroid_y": [0.0, 0]})
        >>> ours = truth.assign(worm=[7, 7], head_x=[11.0, 2], tail_x=[0.0, 12])
        >>> r = compare_truth(ours, truth); (r["median_head_error_px"], r["swap_rate"], r["recall"])
        (5.5, 0.5, 1.0)
    """
    _require(truth, TRUTH_COLUMNS, "truth table")
    _require(table, ("frame", "worm", "centroid_x", "centroid_y", "head_x", "head_y"), "tracking table")
    truth = truth.reset_index(drop=True).copy()  # a copy is also defragmented
    default_gate, scored, scored_all = scoring(truth)
    gate = default_gate if gate is None else gate
    ours_by_frame = {f: g.reset_index(drop=True) for f, g in table.groupby("frame")}
    errors, swaps, last_id = [], [], {}
    matched = with_midline = with_midline_all = switches = 0
    touching_rows = touching_flagged = 0
    for frame, t in truth.groupby("frame"):
        t = t.reset_index()
        o = ours_by_frame.get(frame, table.iloc[:0])
        for r, c in match_frame(o, t, gate):
            row, true = o.iloc[r], t.iloc[c]
            worm = true["worm"]
            if str(row.get("status", "")) != "touching":  # positions of touching worms are only predicted
                if worm in last_id and last_id[worm] != row["worm"]:
                    switches += 1
                last_id[worm] = row["worm"]
            is_scored = bool(scored.loc[true["index"]])
            if bool(scored_all.loc[true["index"]]) and not np.isnan(row["head_x"]):
                with_midline_all += 1
            if "touching" in t and bool(true["touching"]):
                touching_rows += 1
                touching_flagged += str(row.get("status", "")) in ("touching", "coiled")
            if not is_scored:
                continue
            matched += 1
            if np.isnan(row["head_x"]):
                continue
            with_midline += 1
            head = np.array([row["head_x"], row["head_y"]])
            to_head = float(np.hypot(*(head - true[["head_x", "head_y"]].to_numpy(float))))
            to_tail = float(np.hypot(*(head - true[["tail_x", "tail_y"]].to_numpy(float))))
            errors.append(to_head)
            swaps.append(to_tail < to_head)
    n_scored = int(scored.sum())
    return {
        "median_head_error_px": float(np.median(errors)) if errors else float("nan"),
        "p95_head_error_px": float(np.percentile(errors, 95)) if errors else float("nan"),
        "swap_rate": float(np.mean(swaps)) if swaps else float("nan"),
        "recall": with_midline / n_scored if n_scored else float("nan"),
        "detection_recall": matched / n_scored if n_scored else float("nan"),
        "recall_incl_self_touching": with_midline_all / int(scored_all.sum()) if scored_all.any() else float("nan"),
        "self_touching_rows": int((scored_all & ~scored).sum()),
        "id_switches": switches,
        "touching_flagged": touching_flagged / touching_rows if touching_rows else float("nan"),
        "scored_rows": n_scored,
        "rows_with_midline": with_midline,
    }
