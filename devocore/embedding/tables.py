"""Reading cell tables and feature tables, and the columns derived from Sulston names.

A *cell table* (EPIC format) has one row per nucleus per time point with at least
``cell, time, x, y, z, size``. :func:`read_cells` adds:

* ``founder`` (AB, MS, E, C, D, P4, P, or ``unknown``), ``generation``, ``parent``
  (from :mod:`devocore.lineage_names`);
* ``stage``: the number of nuclei present at that time point, the developmental
  clock that makes embryos filmed at different speeds comparable;
* ``embryo``: which file the row came from.

A *feature table* is any table of numbers with optional label columns (strain,
treatment, well); :func:`read_features` separates the two.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from devocore import io, lineage_names
from devocore.errors import EmptyTableError, MissingColumnsError, NonNumericError, TableError

log = logging.getLogger(__name__)

UNKNOWN = "unknown"


def add_lineage_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a cell table with ``founder``, ``generation``, ``parent`` and ``stage``.

    Names that are not Sulston names get founder ``unknown`` and no generation.

    Example:
        >>> t = pd.DataFrame({"cell": ["ABa", "ABp", "EMS", "P2", "AB"], "time": [2, 2, 2, 2, 1]})
        >>> add_lineage_columns(t)[["founder", "generation", "parent", "stage"]].values.tolist()[:3]
        [['AB', 2, 'AB', 4], ['AB', 2, 'AB', 4], ['P', 2, 'P1', 4]]
    """
    if "cell" not in frame.columns:
        raise MissingColumnsError(f"the table lacks the column 'cell' (the Sulston name); it has "
                                  f"{', '.join(map(str, frame.columns[:20]))}.")
    out = frame.copy()
    names = out["cell"].astype(str).str.strip()
    parsed = {name: lineage_names.parse(name) for name in names.unique()}
    out["founder"] = names.map(lambda n: parsed[n].founder if parsed[n] else UNKNOWN)
    out["generation"] = names.map(lambda n: parsed[n].generation if parsed[n] else np.nan).astype("Int64")
    out["parent"] = names.map(lambda n: (parsed[n].parent or "") if parsed[n] else "")
    unknown = sorted(n for n, p in parsed.items() if p is None)
    if unknown:
        log.warning("%d cell names are not Sulston names (e.g. %s); their founder is 'unknown'",
                    len(unknown), ", ".join(unknown[:5]))
    if "time" in out.columns:
        out["stage"] = out.groupby("time")["cell"].transform("size").astype(int)
    return out


def read_cells(source: io.Source, name: str | None = None, z_scale: float = 1.0,
               embryo: str | None = None) -> pd.DataFrame:
    """Read an EPIC cell table and add the lineage columns and ``embryo``.

    Args:
        source: a path or the bytes of an upload.
        name: display name (and the default embryo name) for an upload.
        z_scale: multiplies ``z`` (focal plane) to bring it to x/y units; for EPIC
            tables about 15 (planes about 1.3 um apart, pixels about 0.09 um; see
            :data:`devocore.embedding.align.EPIC_Z_SCALE`).
        embryo: the embryo's name; by default the file's name without extension.

    Raises:
        MissingColumnsError, NonNumericError, EmptyTableError, UnreadableFileError.

    Example:
        >>> t = read_cells(b"cell,time,x,y,z,size\\nABa,1,1,2,3,9\\nP2,1,5,2,3,9\\n", name="e1.csv")
        >>> t[["cell", "founder", "stage", "embryo"]].values.tolist()
        [['ABa', 'AB', 2, 'e1'], ['P2', 'P', 2, 'e1']]
    """
    frame = io.read_epic(source, name=name, z_scale=z_scale)
    frame = add_lineage_columns(frame)
    if embryo is None:
        label = name or (Path(source).name if isinstance(source, (str, Path)) else "embryo")
        embryo = Path(label).stem
    frame["embryo"] = embryo
    return frame


@dataclass
class FeatureTable:
    """A table split into numeric feature columns and label columns.

    Attributes:
        frame: the table as read (numeric columns converted to floats).
        features: names of the numeric feature columns.
        labels: names of the label columns (text, or named by the caller).
    """

    frame: pd.DataFrame
    features: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def read_features(source: io.Source, name: str | None = None, labels: Sequence[str] = (),
                  max_label_values: int = 50) -> FeatureTable:
    """Read a feature table: numeric columns are features, text columns are labels.

    Args:
        labels: columns to treat as labels even when they hold numbers (a well
            number, a replicate id); they must exist.
        max_label_values: text columns with more distinct values than this and
            than half the rows (ids, file names) are kept but not offered as labels.

    Example:
        >>> ft = read_features(b"strain,f1,f2\\nN2,1,2\\nCB,3,4\\n")
        >>> ft.features, ft.labels
        (['f1', 'f2'], ['strain'])
    """
    frame = io.read_table(source, name=name, required=list(labels))
    features, label_cols = [], list(labels)
    for column in frame.columns:
        if column in label_cols:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.notna().sum() > 0 and (values.notna() | frame[column].isna()).all():
            frame[column] = values.astype(float)
            features.append(column)
        else:
            distinct = frame[column].nunique()
            if distinct <= max(max_label_values, 1) or distinct <= len(frame) // 2:
                label_cols.append(column)
    if not features:
        raise NonNumericError(f"{name or 'the table'} has no numeric column to analyse; columns: "
                              f"{', '.join(map(str, frame.columns[:20]))}.")
    return FeatureTable(frame, features, label_cols)


def numeric_matrix(frame: pd.DataFrame, columns: Sequence[str], what: str = "the table") -> np.ndarray:
    """The chosen columns as an N x C float64 array, NaNs filled with the column median.

    Raises:
        MissingColumnsError: a column is absent.
        NonNumericError: a column holds text.
        EmptyTableError: no rows, or a column is empty.
        TableError: no column was chosen.

    Example:
        >>> numeric_matrix(pd.DataFrame({"a": [1, None, 3]}), ["a"]).ravel().tolist()
        [1.0, 2.0, 3.0]
    """
    columns = list(columns)
    if not columns:
        raise TableError("choose at least one numeric column.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(f"{what} lacks the column{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(missing)}; it has {', '.join(map(str, frame.columns[:20]))}"
                                  f"{' ...' if len(frame.columns) > 20 else ''}.")
    if frame.empty:
        raise EmptyTableError(f"{what} has no rows.")
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise NonNumericError(f"{what}: column '{column}' must hold numbers, but row {row + 1} holds "
                                  f"'{frame[column].iloc[row]}'.")
        if values.isna().all():
            raise EmptyTableError(f"{what}: column '{column}' is empty.")
        if values.isna().any():
            log.info("column %s: %d missing values filled with the median", column, int(values.isna().sum()))
            values = values.fillna(values.median())
        out[:, j] = values.to_numpy(dtype=np.float64)
    return out


def numeric_columns(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Columns of ``frame`` that hold numbers, in order, minus ``exclude``.

    Example:
        >>> numeric_columns(pd.DataFrame({"a": [1], "b": ["x"], "c": [2.5]}), exclude=["c"])
        ['a']
    """
    return [c for c in frame.columns if c not in exclude and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]
