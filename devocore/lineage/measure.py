"""Measuring populations against an annotation, and the image-blind baselines."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from devocore.errors import EmptyTableError, TableError
from devocore.lineage.config import COLUMNS, LINEAGES


def read_populations(source, name: str | None = None) -> pd.DataFrame:
    """Read an annotation table ``frame, A, E, M, P, C, D, Z`` (frame 1 = first frame).

    Rows with an empty cell are left out; the table returned is never empty.

    Raises:
        EmptyTableError: a column is empty in every row, or no row is complete.
        NonNumericError: a cell holds text, an infinite value or an absurdly large one.
        TableError: a frame is listed twice, a frame number is below 1 or not whole, or a count is negative.

    Example:
        >>> read_populations(b"frame,A,E,M,P,C,D,Z\\n2,4,1,1,1,1,0,0\\n1,1,,1,1,1,0,0\\n")["frame"].tolist()
        [2]
    """
    from devocore.io import describe_source, read_table
    from devocore.io.tables import check_magnitude

    what = describe_source(source, name)
    table = read_table(source, name, required=COLUMNS, numeric=COLUMNS)
    check_magnitude(table, what, COLUMNS)
    empty = [c for c in COLUMNS if table[c].isna().all()]
    if empty:
        raise EmptyTableError(f"{what}: the column{'s' if len(empty) > 1 else ''} {', '.join(empty)} "
                              f"{'are' if len(empty) > 1 else 'is'} empty in every row; every row needs a frame "
                              f"number and a count for each of {', '.join(LINEAGES)}.")
    table = table.dropna(subset=list(COLUMNS))
    if table.empty:
        raise EmptyTableError(f"{what}: no row has all of {', '.join(COLUMNS)} filled in; every row needs a frame "
                              "number and a count for each lineage.")
    twice = table["frame"].duplicated(keep=False)
    if twice.any():
        frame = table.loc[twice, "frame"].iloc[0]
        lines = [i + 2 for i in table.index[table["frame"] == frame]]  # a row's line in the file, under its header
        raise TableError(f"{what} lists frame {frame:g} more than once (rows {', '.join(map(str, lines))}); each "
                         "frame needs one row.")
    broken = table.index[table["frame"] != table["frame"].round()]
    if len(broken):
        raise TableError(f"{what}: frame numbers must be whole numbers, but row {broken[0] + 2} holds "
                         f"{table.loc[broken[0], 'frame']:g}.")
    for column in LINEAGES:
        below = table.index[table[column] < 0]
        if len(below):
            raise TableError(f"{what}: column '{column}' holds {table.loc[below[0], column]:g} in row "
                             f"{below[0] + 2}; a number of cells cannot be negative.")
    if (table["frame"] < 1).any():  # else its rows would meet no frame, and the others the wrong ones
        raise TableError(f"{what} lists frame {table['frame'].min():g}, but frames count from 1 (frame 1 = the first "
                         "frame of the movie). If your annotation counts from 0, add 1 to every frame number.")
    return table[list(COLUMNS)].sort_values("frame").reset_index(drop=True)


def baseline_curve(curves: pd.DataFrame, frames: Sequence[int]) -> pd.DataFrame:
    """The median real curve at each frame index (the image-blind baseline).

    Args:
        curves: ``embryo, frame, A, ..., Z`` for many embryos.
        frames: frame indices to predict.

    Example:
        >>> c = pd.DataFrame({"embryo": ["a", "a", "b", "b"], "frame": [1, 2, 1, 2],
        ...                   **{k: [0, 2, 2, 4] for k in LINEAGES}})
        >>> baseline_curve(c, [1, 2, 3])["A"].tolist()
        [1.0, 3.0, 3.0]
    """
    median = curves.groupby("frame")[list(LINEAGES)].median().sort_index()
    out = median.reindex(sorted(set(median.index) | set(frames))).ffill().bfill().reindex(list(frames))
    out = out.reset_index().rename(columns={"index": "frame"})
    out["frame"] = list(frames)
    return out[list(COLUMNS)]


def length_baseline_curve(curves: pd.DataFrame, frames: Sequence[int], n_frames: int) -> pd.DataFrame:
    """The median real curve at the same fraction of the movie (an image-blind baseline that knows the clock).

    Each real curve is read at ``(frame - 0.5) / its length``; the median over
    curves is taken at ``(frame - 0.5) / n_frames``. This is what EPIC-style
    annotations (a tracing spread over the whole movie) give without looking at
    a single pixel.

    Example:
        >>> c = pd.DataFrame({"embryo": ["a"] * 2 + ["b"] * 4, "frame": [1, 2, 1, 2, 3, 4],
        ...                   **{k: [0, 4, 0, 0, 4, 4] for k in LINEAGES}})
        >>> length_baseline_curve(c, [1, 2], 2)["A"].round(2).tolist()
        [0.0, 4.0]
        >>> length_baseline_curve(c, [1, 2, 3, 4], 4)["A"].round(2).tolist()
        [0.0, 0.5, 3.5, 4.0]
    """
    grid = (np.arange(1000) + 0.5) / 1000
    per = []
    for _, one in curves.sort_values("frame").groupby("embryo"):
        u = (one["frame"].to_numpy(np.float64) - 0.5) / len(one)
        per.append(np.stack([np.interp(grid, u, one[k].to_numpy(np.float64)) for k in LINEAGES], axis=1))
    median = np.median(np.stack(per), axis=0)
    u = (np.asarray(frames, dtype=np.float64) - 0.5) / n_frames
    out = pd.DataFrame({k: np.interp(u, grid, median[:, i]) for i, k in enumerate(LINEAGES)})
    out.insert(0, "frame", list(frames))
    return out


def evaluate(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Mean absolute error per lineage, normalised by the lineage's largest annotated count.

    Frames are matched on ``frame``; lineages never annotated above 0 are left
    out of the mean (their normalised error is undefined).

    Returns:
        dict with ``nmae`` (mean over lineages), ``mae`` and ``nmae_per`` (dicts
        per lineage), ``max_count`` and ``frames`` (how many were compared).

    Example:
        >>> t = pd.DataFrame({"frame": [1, 2], **{k: [0, 4] for k in LINEAGES}})
        >>> p = t.copy(); p["A"] = [1, 4]
        >>> r = evaluate(p, t)
        >>> r["mae"]["A"], r["nmae_per"]["A"], round(r["nmae"], 4)
        (0.5, 0.125, 0.0179)
    """
    merged = truth[list(COLUMNS)].merge(pred[list(COLUMNS)], on="frame", suffixes=("_true", "_pred"))
    if merged.empty:
        raise TableError("The predictions and the annotation share no frame number.")
    mae, nmae_per, max_count = {}, {}, {}
    for k in LINEAGES:
        err = (merged[f"{k}_pred"].astype(float) - merged[f"{k}_true"].astype(float)).abs()
        mae[k] = float(err.mean())
        max_count[k] = float(merged[f"{k}_true"].max())
        nmae_per[k] = mae[k] / max_count[k] if max_count[k] > 0 else float("nan")
    valid = [v for v in nmae_per.values() if np.isfinite(v)]
    return {"nmae": float(np.mean(valid)) if valid else float("nan"), "mae": mae, "nmae_per": nmae_per,
            "max_count": max_count, "frames": int(len(merged))}
