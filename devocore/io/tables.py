"""Reading tables (CSV, TSV; an Excel workbook is named and refused) with column checks, and EPIC cell tables."""
from __future__ import annotations

import codecs
import io as _io
import logging
import os
import re
from typing import Sequence

import numpy as np
import pandas as pd

from devocore.config import LIMITS, Limits
from devocore.errors import EmptyTableError, MissingColumnsError, NonNumericError, TooLargeError, UnreadableFileError
from devocore.io.sources import describe_source, read_bytes, sniff_format, Source

log = logging.getLogger(__name__)


EPIC_COLUMNS = ("cell", "time", "x", "y", "z", "size")

#: the largest magnitude a measured value may have; beyond it (and far below float64's 1.8e308) sums, squares and
#: float32 casts overflow, so such a value is a typo or a corrupt cell, never a measurement
MAX_MAGNITUDE = 1e30

#: byte order marks of the UTF-16 and UTF-32 text that spreadsheets write ("Unicode Text"); UTF-32 first, as its
#: little-endian mark starts with UTF-16's
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

#: a number written with a decimal comma ("0,5", "-12,25", "1,5E-05") or a whole number
_COMMA_NUMBER = re.compile(r"[-+]?\d+(,\d+)?([eE][-+]?\d+)?")

#: a cell that may be a number written with a decimal comma or thousands separators ("0,5", "1,234", "1.234,5")
_COMMA_LIKE = re.compile(r"[-+]?[\d.]*\d,\d[\d.,]*")


#: Binary files given as a table, by their first bytes: what each is, with the step that makes a CSV of it.
_BINARY_TABLES = (
    (b"\x89HDF\r\n\x1a\n", ": an HDF5 file (Tierpsy writes its features so). Give a CSV table instead: Tierpsy also "
                             "writes its summary features as CSV"),
    (b"MATLAB", ": a MATLAB file. Save the table as CSV (MATLAB: writetable(T, 'table.csv')) and give that file"),
    (b"PAR1", ": a Parquet table. Save it as CSV (pandas: pd.read_parquet(FILE).to_csv('table.csv', index=False)) "
              "and give that file"),
    (b"\x1f\x8b", ": a gzip archive. Unpack it and give the CSV inside"),
    (b"PK\x03\x04", ": a ZIP archive. Unpack it and give the CSV inside"),
    (b"%PDF", ": a PDF document"),
)


def _binary_kind(data: bytes) -> str:
    """What a binary file given as a table is, with the step that makes a CSV of it ("" when not known)."""
    if (data.startswith(b"PK\x03\x04") and b"xl/" in data[:65536]) or data.startswith(b"\xd0\xcf\x11\xe0"):
        return ": an Excel workbook. Save the sheet as CSV (Excel: File > Save As > CSV UTF-8) and give that file"
    return next((kind for magic, kind in _BINARY_TABLES if data.startswith(magic)), "")


def decode_text(data: bytes, what: str) -> str:
    """The text of a table's bytes: UTF-8 (with or without a BOM), UTF-16 or UTF-32 with a BOM, else Latin-1.

    Raises:
        UnreadableFileError: the bytes are binary (an image, NUL bytes) or a BOM's encoding does not decode them.

    Example:
        >>> decode_text("a,b\\n1,2\\n".encode("utf-16"), "'t.csv'")
        'a,b\\n1,2\\n'
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(f"{what} starts like {codec.upper()} text but cannot be decoded as "
                                          f"{codec.upper()} ({exc.reason} at byte {exc.start:,}).") from None
            break
    else:
        if b"\x00" in data[:4096] or sniff_format(data[:16]):
            raise UnreadableFileError(f"{what} is not a text table (it holds binary data){_binary_kind(data)}.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            log.warning("%s is not UTF-8; read it as Latin-1", what)
    if "\x00" in text[:4096]:
        raise UnreadableFileError(f"{what} is not a text table (it holds binary data).")
    return text


def number_hint(cell) -> str:
    """Advice for a cell that should be a number and looks like one written with a comma or thousands separators.

    Example:
        >>> number_hint("1,234")
        ' (it looks like a number with a decimal comma or thousands separators: write numbers like 1234.5)'
        >>> number_hint("left")
        ''
    """
    if _COMMA_LIKE.fullmatch(str(cell).strip()):
        return " (it looks like a number with a decimal comma or thousands separators: write numbers like 1234.5)"
    return ""


def parse_decimal_commas(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns whose cells are all numbers, some with a decimal comma ("0,5"), into numbers (in place).

    For tables separated by ';', as spreadsheets in many European locales write them. A column with any
    other text (a thousands separator "1.234,5", a word) is left as text.

    Example:
        >>> t = parse_decimal_commas(pd.DataFrame({"x": ["0,5", "2", None], "name": ["1,5", "b", "c"]}))
        >>> t["x"].tolist(), t["name"].tolist()
        ([0.5, 2.0, nan], ['1,5', 'b', 'c'])
    """
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if pd.api.types.is_numeric_dtype(column):
            continue
        cells = column.dropna().astype(str).str.strip()
        matches = cells.str.fullmatch(_COMMA_NUMBER)
        if len(cells) and matches.all() and cells.str.contains(",", regex=False).any():
            frame.isetitem(i, pd.to_numeric(column.str.strip().str.replace(",", ".", regex=False)).astype(float))
    return frame


def read_table(source: Source, name: str | None = None, required: Sequence[str] = (),
               numeric: Sequence[str] = (), limits: Limits = LIMITS) -> pd.DataFrame:
    """Read a CSV (or TSV) table and check its columns.

    The text may be UTF-8, UTF-16 or UTF-32 with a byte order mark (Excel's "Unicode Text"), else Latin-1;
    cells are separated by ',', tabs or ';' (as the header shows). In a ';' table, numbers written with a
    decimal comma ("0,5") are read as numbers (see :func:`parse_decimal_commas`).

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
    text = decode_text(read_bytes(source, what, limits), what)
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
    if sep == ";":
        parse_decimal_commas(frame)
    return check_columns(frame, what, required, numeric, first_row=2)


def frame_list(numbers, most: int = 12) -> str:
    """Frame numbers as a reader scans them: runs of consecutive numbers joined (Lineage's frames without an embryo,
    Tracking's blank frames).

    Example:
        >>> frame_list([3, 7, 8, 9, 12])
        '3, 7-9, 12'
    """
    runs: list[list[int]] = []
    for k in (int(v) for v in numbers):
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    words = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:most]]
    return ", ".join(words) + (f" and {len(runs) - most} more stretches" if len(runs) > most else "")


def nearest_column(name: str, columns: Sequence[str]) -> str | None:
    """The column a mistyped, unit-less or unprefixed ``name`` most likely meant, or None: ``curvature`` ->
    ``curvature_deg``, ``size`` -> ``cell_size``.

    Example:
        >>> nearest_column("curvature", ["speed_px_s", "curvature_deg"]), nearest_column("segmnt_050", ["segment_050"])
        ('curvature_deg', 'segment_050')
        >>> nearest_column("size", ["cell", "time"]) is None
        True
    """
    import difflib

    columns = [str(c) for c in columns]
    by_lower = {c.strip().lower(): c for c in columns}
    close = difflib.get_close_matches(name.lower(), list(by_lower), 1, 0.7)
    if close:
        return by_lower[close[0]]
    name = name.strip().lower()
    return next((c for c in columns if name and (c.strip().lower().startswith(f"{name}_")
                                                 or c.strip().lower().endswith(f"_{name}"))), None)


def check_columns(frame: pd.DataFrame, what: str, required: Sequence[str] = (), numeric: Sequence[str] = (),
                  first_row: int = 1) -> pd.DataFrame:
    """Check a table's columns; numeric ones are converted in place (empty cells become NaN).

    Args:
        what: how messages name the table ("'cells.csv'").
        first_row: the number a message gives the first data row (2 for a CSV line under its header).

    A required column written in other capitals or with spaces around it ("Frame", " Cell") is taken under its own
    name when exactly one column matches so; for one still missing, the message names a near column ("did you mean
    'cell_size'?").

    Raises:
        MissingColumnsError, EmptyTableError, NonNumericError.

    Example:
        >>> check_columns(pd.DataFrame({"Frame": [1], " A ": [2]}), "'t.csv'", ["frame", "A"]).columns.tolist()
        ['frame', 'A']
    """
    renames = {}
    for name in (c for c in required if c not in frame.columns):
        alike = [c for c in frame.columns if str(c).strip().lower() == str(name).lower()]
        if len(alike) == 1 and alike[0] not in required:
            renames[alike[0]] = name
    frame = frame.rename(columns=renames) if renames else frame
    missing = [c for c in required if c not in frame.columns]
    if missing:
        spare = [c for c in frame.columns if c not in required]
        near = [c for c in (nearest_column(str(m), spare) for m in missing) if c]
        hint = f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
        raise MissingColumnsError(
            f"{what} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}{hint}; "
            f"it has {', '.join(map(str, frame.columns[:20]))}{' ...' if len(frame.columns) > 20 else ''}.")
    if frame.empty:
        raise EmptyTableError(f"{what} has a header but no rows.")
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            cell = frame[column].iloc[row]
            raise NonNumericError(f"{what}: column '{column}' must hold numbers, but row {row + first_row} holds "
                                  f"'{cell}'{number_hint(cell)}.")
        frame[column] = values
    return frame


def check_magnitude(frame: pd.DataFrame, what: str, columns: Sequence[str], first_row: int = 2,
                    limit: float = MAX_MAGNITUDE) -> None:
    """Refuse an infinite value, or one beyond ``±limit``, in numeric columns (an empty cell, NaN, is fine).

    Rows are numbered by the frame's integer index (its position otherwise) plus ``first_row``, the number
    of the first data row (2 for a CSV line under its header).

    Raises:
        NonNumericError: naming the column, the cell and its row.

    Example:
        >>> check_magnitude(pd.DataFrame({"x": [1.0, None, -2e30]}), "'t.csv'", ["x"])
        Traceback (most recent call last):
        ...
        devocore.errors.NonNumericError: 't.csv': column 'x' holds -2e+30 in row 4, beyond ±1e+30 (the largest \
magnitude accepted); replace it with a number or leave the cell empty.
    """
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            bad = np.isinf(values) | (np.abs(values) > limit)
        if not bad.any():
            continue
        at = int(np.flatnonzero(bad)[0])
        index = frame.index[at]
        row = (int(index) if pd.api.types.is_integer(index) else at) + first_row
        value = (f"an infinite value ('{frame[column].iloc[at]}')" if np.isinf(values[at]) else
                 f"{values[at]:.4g}")
        beyond = "" if np.isinf(values[at]) else f", beyond ±{limit:.0e} (the largest magnitude accepted)"
        raise NonNumericError(f"{what}: column '{column}' holds {value} in row {row}{beyond}; replace it with a "
                              "number or leave the cell empty.")


def read_epic(source: Source, name: str | None = None, z_scale: float = 1.0,
              limits: Limits = LIMITS) -> pd.DataFrame:
    """Read an EPIC-style cell table: one row per nucleus per time point.

    Required columns are ``cell, time, x, y, z, size``; others (``cellTime``,
    reporter intensities, ...) are kept. Rows with a missing position are
    dropped with a warning; an infinite or absurdly large one (beyond :data:`MAX_MAGNITUDE`), a negative size, and
    a table whose rows all share one position are refused.

    Args:
        z_scale: multiplies ``z`` (focal plane index) to bring it into the x/y units.

    Example:
        >>> t = read_epic(b"cell,time,x,y,z,size\\nAB,1,10,20,3.5,40\\n", z_scale=2)
        >>> float(t.loc[0, "z"])
        7.0
    """
    what = describe_source(source, name)
    frame = read_table(source, name, required=EPIC_COLUMNS, numeric=EPIC_COLUMNS[1:], limits=limits)
    check_magnitude(frame, what, EPIC_COLUMNS[1:])
    frame["cell"] = frame["cell"].astype(str).str.strip()
    negative = frame.index[frame["size"] < 0]
    if len(negative):
        raise NonNumericError(f"{what}: column 'size' holds {frame.loc[negative[0], 'size']:g} in row "
                              f"{negative[0] + 2}; a nucleus's size cannot be negative.")
    before = len(frame)
    frame = frame.dropna(subset=list(EPIC_COLUMNS[1:])).reset_index(drop=True)
    if frame.empty:
        raise EmptyTableError(f"{what} has no row with a complete position.")
    if len(frame) > 1 and frame["x"].nunique() == 1 and frame["y"].nunique() == 1:
        raise NonNumericError(f"{what}: every row has the same position (x {frame.loc[0, 'x']:g}, y "
                              f"{frame.loc[0, 'y']:g}); the positions are missing. Export the table with each "
                              "nucleus's x, y and z.")
    if len(frame) < before:
        log.warning("dropped %d rows with missing time, position or size", before - len(frame))
    frame["z"] = frame["z"] * z_scale
    return frame
