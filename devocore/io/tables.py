"""Reading tables (CSV, TSV, Excel, Parquet) with column checks, and EPIC cell tables."""
from __future__ import annotations

import io as _io
import logging
import os
from typing import Sequence

import numpy as np
import pandas as pd

from devocore.config import LIMITS, Limits
from devocore.errors import EmptyTableError, MissingColumnsError, NonNumericError, TooLargeError, UnreadableFileError
from devocore.io.sources import describe_source, read_bytes, sniff_format, Source

log = logging.getLogger(__name__)


EPIC_COLUMNS = ("cell", "time", "x", "y", "z", "size")


def read_table(source: Source, name: str | None = None, required: Sequence[str] = (),
               numeric: Sequence[str] = (), limits: Limits = LIMITS) -> pd.DataFrame:
    """Read a CSV (or TSV) table and check its columns.

    Args:
        source: a path or the bytes of an upload.
        name: display name for messages.
        required: columns that must be present.
        numeric: columns that must hold numbers (empty cells are allowed and become NaN).
        limits: ``max_rows`` caps the rows read, ``max_columns`` the columns (counted in the header).

    Raises:
        EmptyFileError, UnreadableFileError, EmptyTableError, MissingColumnsError,
        NonNumericError, TooLargeError.

    Example:
        >>> read_table(b"a,b\\n1,2\\n", required=["a"], numeric=["b"]).shape
        (1, 2)
    """
    what = describe_source(source, name)
    data = read_bytes(source, what, limits)
    if b"\x00" in data[:4096] or sniff_format(data[:16]):
        raise UnreadableFileError(f"{what} is not a text table (it holds binary data).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        log.warning("%s is not UTF-8; read it as Latin-1", what)
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "")
    if text.count("\n") > limits.max_rows + 1:  # refuse before parsing: counting lines is cheap
        raise TooLargeError(f"{what} has more than {limits.max_rows:,} rows, the limit per table.")
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    sep = "\t" if label.lower().endswith(".tsv") or ("\t" in header and "," not in header) else \
        ";" if (";" in header and "," not in header) else ","
    if header.count(sep) + 1 > limits.max_columns:  # refuse before parsing: a wide header takes pandas ages
        raise TooLargeError(f"{what} has {header.count(sep) + 1:,} columns; the limit is {limits.max_columns:,} "
                            "per table.")
    try:
        frame = pd.read_csv(_io.StringIO(text), sep=sep, nrows=limits.max_rows + 1)
    except pd.errors.EmptyDataError as exc:
        raise EmptyTableError(f"{what} is empty: it has no header and no rows.") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise UnreadableFileError(f"{what} cannot be read as a CSV table ({exc}).") from exc
    if len(frame) > limits.max_rows:
        raise TooLargeError(f"{what} has more than {limits.max_rows:,} rows, the limit per table.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return check_columns(frame, what, required, numeric, first_row=2)


def check_columns(frame: pd.DataFrame, what: str, required: Sequence[str] = (), numeric: Sequence[str] = (),
                  first_row: int = 1) -> pd.DataFrame:
    """Check a table's columns; numeric ones are converted in place (empty cells become NaN).

    Args:
        what: how messages name the table ("'cells.csv'").
        first_row: the number a message gives the first data row (2 for a CSV line under its header).

    Raises:
        MissingColumnsError, EmptyTableError, NonNumericError.
    """
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{what} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"it has {', '.join(map(str, frame.columns[:20]))}{' ...' if len(frame.columns) > 20 else ''}.")
    if frame.empty:
        raise EmptyTableError(f"{what} has a header but no rows.")
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise NonNumericError(f"{what}: column '{column}' must hold numbers, but row {row + first_row} holds "
                                  f"'{frame[column].iloc[row]}'.")
        frame[column] = values
    return frame


def read_epic(source: Source, name: str | None = None, z_scale: float = 1.0,
              limits: Limits = LIMITS) -> pd.DataFrame:
    """Read an EPIC-style cell table: one row per nucleus per time point.

    Required columns are ``cell, time, x, y, z, size``; others (``cellTime``,
    reporter intensities, ...) are kept. Rows with a missing position are
    dropped with a warning.

    Args:
        z_scale: multiplies ``z`` (focal plane index) to bring it into the x/y units.

    Example:
        >>> t = read_epic(b"cell,time,x,y,z,size\\nAB,1,10,20,3.5,40\\n", z_scale=2)
        >>> float(t.loc[0, "z"])
        7.0
    """
    frame = read_table(source, name, required=EPIC_COLUMNS, numeric=EPIC_COLUMNS[1:], limits=limits)
    frame["cell"] = frame["cell"].astype(str).str.strip()
    before = len(frame)
    frame = frame.dropna(subset=list(EPIC_COLUMNS[1:])).reset_index(drop=True)
    if frame.empty:
        raise EmptyTableError(f"{describe_source(source, name)} has no row with a complete position.")
    if len(frame) < before:
        log.warning("dropped %d rows with missing time, position or size", before - len(frame))
    frame["z"] = frame["z"] * z_scale
    return frame
