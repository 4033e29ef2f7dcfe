"""Reading a time series (a table with a time column) and making it regular; example and simulated series."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from devocore import io, tracking
from devocore.errors import MissingColumnsError, TableError
from devocore.io.tables import check_magnitude, number_hint

log = logging.getLogger(__name__)


ID_COLUMNS = ("frame", "worm", "id", "track", "track_id", "index", "worm_id")
#: Rows with a repeated time are dropped with a note, up to this share of the rows; more is a table of many objects
#: (an EPIC cell table: 17,149 of 17,278 rows), which is refused.
REPEATS_ALLOWED = 0.1



TIME_NAMES = ("time_s", "time", "t", "seconds", "timestamp", "time_sec", "frame", "frame_index")



@dataclass(frozen=True)
class ForecastConfig:
    """Everything that defines one forecast run (the page's widgets fill it, the CLI's options too).

    Attributes:
        target: the column to forecast (``eigenworm_k`` once ``eigenworms >= k``).
        columns: input columns; empty means every numeric column. The target is always an input.
        horizon: how many steps ahead to forecast (H).
        lookback: input window length in steps; ``None`` chooses it on the validation part
            among a half and one dominant period (or H and 2 H without a period).
        train_fraction: the first part of the series used for fitting (the rest is the test part).
        val_fraction: the share of the training part, at its end, used for validation.
        eigenworms: K > 0 adds the columns ``eigenworm_1..K``, projections on the principal
            components of the segment columns (``segment*``, else all inputs) fitted on the training part.
        max_inputs: more input columns than this are compressed (z-score then PCA, fitted on the
            training part) to the target plus ``max_inputs - 1`` components.
        hidden, layers, dropout: LSTM size.
        epochs, patience, batch_size, learning_rate: training; early stopping on the validation MAE.
        n_models: ensemble size (seeds ``seed .. seed + n_models - 1``).
        max_steps: longest LSTM input sequence; longer lookbacks are subsampled with a stride.
        ar_orders: candidate AR orders (those up to a tenth of the fitting part are tried).
        folds: 1 evaluates on one split (the test part after ``train_fraction``). K > 1 evaluates with
            rolling origins: the part after ``train_fraction`` is cut into K consecutive test folds, and
            each fold is forecast by models fitted (and chosen on a validation part) on everything
            before it; the metrics pool the folds and each fold's figures are kept.
        seed: random seed (weights, batches).
        threads: torch CPU threads while training; small recurrent nets run fastest (and far
            more predictably on a busy machine) on one thread.
    """

    target: str
    columns: tuple[str, ...] = ()
    horizon: int = 10
    lookback: int | None = None
    train_fraction: float = 0.7
    val_fraction: float = 0.2
    eigenworms: int = 0
    max_inputs: int = 9
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 60
    patience: int = 8
    batch_size: int = 64
    learning_rate: float = 3e-3
    n_models: int = 3
    max_steps: int = 50
    ar_orders: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
    seed: int = 0
    threads: int = 1
    folds: int = 1



@dataclass
class SeriesData:
    """A regular time series: ``frame`` has the time column first, then numeric columns."""

    frame: pd.DataFrame
    time_column: str
    step: float
    messages: list[str] = field(default_factory=list)
    #: True where a value of ``frame`` (same rows, its columns but time) was missing and filled in; None when
    #: nothing was. A filled value of the target is never scored.
    filled: pd.DataFrame | None = None
    #: columns of the table that are not series, and why ("is empty in 300 of its 300 rows", "holds text ..."):
    #: a target or input named here exists but was left out
    left_out: dict[str, str] = field(default_factory=dict)



def config_dict(config: ForecastConfig) -> dict:
    """The config as a plain dict (for cards and JSON)."""
    return asdict(config)



#: a numeric column empty in more than this share of its rows is ignored: filling it in would invent the series
MAX_MISSING = 0.5

#: the fewest rows any forecast accepts: with a horizon and lookback of 1 step, the training part needs 20 windows
#: and the validation and test parts 6 and 2 rows (``evaluate._forecast``), 30 rows at the largest train_fraction
MIN_STEPS = 30



def _longest_run(flags: np.ndarray) -> int:
    """The longest run of True in ``flags``.

    Example:
        >>> _longest_run(np.array([True, False, True, True, False]))
        2
    """
    padded = np.concatenate([[0], np.asarray(flags, int), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max()) if len(edges) else 0



def _find_time_column(columns: Sequence[str], time_column: str | None) -> str | None:
    if time_column:
        return time_column
    lower = {c.lower(): c for c in columns}
    for name in TIME_NAMES:
        if name in lower:
            return lower[name]
    return None



def worm_order(ids) -> list[str]:
    """Worm ids as text, in number order (2 before 10), each once.

    Example:
        >>> worm_order([10, 2, 1, 2])
        ['1', '2', '10']
    """
    return sorted({str(i) for i in ids}, key=lambda w: (len(w), w))


def pick_worm(frame: pd.DataFrame, worm=None, what: str = "the table") -> tuple[pd.DataFrame, str | None]:
    """The rows of one worm of a tracking table (column ``worm``): ``worm`` or the longest track that moves.

    Tracks that stay in place (:func:`devocore.tracking.still_objects`: a time stamp's digits, debris, a resting
    worm) are passed over when another track moves, however long they are. Returns the rows and a message
    (``None`` when the table has one worm or no ``worm`` column).

    Example:
        >>> rows, message = pick_worm(pd.DataFrame({"worm": [0, 1, 1], "x": [1, 2, 3]}))
        >>> rows["x"].tolist(), message
        ([2, 3], 'The table holds 2 worms; worm 1 (2 rows, the longest track) is used.')
    """
    if "worm" not in frame.columns:
        if worm is not None:
            raise MissingColumnsError(f"{what} has no 'worm' column to pick worm {worm} from.")
        return frame, None
    ids = frame["worm"].astype(str)
    counts = ids.value_counts()
    if worm is None:
        if len(counts) == 1:
            return frame, None
        still = {str(w) for w in tracking.still_objects(frame)}
        moving = counts[~counts.index.isin(still)]
        chosen = str((moving if len(moving) else counts).index[0])
        names = ", ".join(worm_order(still))
        passed = (f"; worm {names} stays in place" if len(still) == 1 else f"; worms {names} stay in place") \
            if still and len(moving) else ""
        longest = "the longest track that moves" if passed else "the longest track"
        return frame[ids == chosen], (f"The table holds {len(counts)} worms; worm {chosen} ({counts[chosen]} rows, "
                                      f"{longest}{passed}) is used.")
    if str(worm) not in counts.index:
        raise MissingColumnsError(f"{what} has no worm {worm}; its worms are {', '.join(counts.index[:20])}.")
    return frame[ids == str(worm)], None



def _text_example(values: pd.Series, numbers: pd.Series) -> str:
    """"'cell' in row N" for the first filled cell of ``values`` that is not a number (``numbers`` is NaN),
    with advice when it looks like a number written with a comma.

    Example:
        >>> cells = pd.Series(["1.5", "2,5"], index=[0, 1])
        >>> _text_example(cells, pd.to_numeric(cells, errors="coerce"))[:12]
        "'2,5' in row"
    """
    text = numbers.isna() & values.notna()
    if not text.any():
        return "no filled cell"
    at = int(np.flatnonzero(text.to_numpy())[0])
    cell = values.iloc[at]
    return f"'{cell}' in row {int(values.index[at]) + 2}{number_hint(cell)}"



def _too_short(what: str, n: int, kind: str) -> TableError:
    """The error for a table with too few rows to forecast.

    Example:
        >>> str(_too_short("'t.csv'", 1, "row"))
        "'t.csv' has only 1 row; a forecast needs at least 30 rows."
    """
    return TableError(f"{what} has only {n} {kind}{'' if n == 1 else 's'}; a forecast needs at least {MIN_STEPS} "
                      "rows.")



def _numeric_columns(data: pd.DataFrame, time_column: str, what: str,
                     messages: list[str]) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """The series columns of ``data`` as floats, and the text columns left out with why; notes go to ``messages``.

    A column is numeric when nine in ten of its filled cells are numbers (empty cells, e.g. frames where tracking
    lost the worm, are gaps, not text); a column with no filled cell is numeric and empty. Identifier columns
    (``frame``, ``worm``, ...) are neither.

    Raises:
        NonNumericError: a numeric column holds an infinite or absurdly large value (it would overflow the fits).
        TableError: no column is numeric.

    Example:
        >>> t = pd.DataFrame({"t": [0, 1, 2], "x": [1, 2, None], "note": ["a", "b", "c"], "worm": [1, 1, 1]})
        >>> numeric, left_out = _numeric_columns(t, "t", "t.csv", [])
        >>> list(numeric), left_out
        (['x'], {'note': "holds text such as 'a' in row 2"})
    """
    numeric, left_out = {}, {}
    for name in data.columns:
        if name == time_column or str(name).lower() in ID_COLUMNS:
            continue
        values = pd.to_numeric(data[name], errors="coerce")
        if values.notna().sum() < 0.9 * data[name].notna().sum():
            left_out[name] = f"holds text such as {_text_example(data[name], values)}"
            continue
        check_magnitude(data, what, [name])
        text = values.isna() & data[name].notna()
        if text.any():
            messages.append(f"Column '{name}': {int(text.sum())} cell(s) hold text instead of a number (first: "
                            f"{_text_example(data[name], values)}); they are treated as missing.")
        numeric[name] = values.astype(float)
    if not numeric:
        first = next(iter(left_out.items()), None)
        raise TableError(f"{what} has no numeric column besides the time column '{time_column}'"
                         + (f": '{first[0]}' {first[1]}." if first else "."))
    if left_out:
        name, why = next(iter(left_out.items()))
        messages.append(f"Ignored non-numeric column(s): {', '.join(map(repr, list(left_out)[:10]))}; '{name}' "
                        f"{why}.")
    return numeric, left_out



def _drop_sparse(numeric: dict[str, pd.Series], what: str,
                 messages: list[str]) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """The columns filled in at least half their rows (:data:`MAX_MISSING`), and the others with why.

    Raises:
        TableError: every column is that empty.

    Example:
        >>> kept, sparse = _drop_sparse({"x": pd.Series([1.0, 2, 3]), "y": pd.Series([1.0, None, None])}, "t", [])
        >>> list(kept), sparse
        (['x'], {'y': 'is empty in 2 of its 3 rows (empty in more than 50%: too little is observed to forecast it)'})
    """
    sparse = {name: values for name, values in numeric.items() if values.isna().mean() > MAX_MISSING}
    counts = [f"{name} ({values.isna().mean():.0%}) with {int(values.notna().sum())} of {len(values)} rows filled"
              for name, values in sparse.items()]
    if sparse and len(sparse) == len(numeric):
        raise TableError(f"{what}: every numeric column is empty in more than {MAX_MISSING:.0%} of its rows "
                         f"(e.g. {counts[0]}); too little is observed to forecast.")
    if sparse:
        messages.append(f"Column(s) in the table but left out, being empty in more than {MAX_MISSING:.0%} of their "
                        "rows: "
                        f"{'; '.join(counts[:10])}.")
    kept = {name: values for name, values in numeric.items() if name not in sparse}
    return kept, {name: f"is empty in {int(values.isna().sum())} of its {len(values)} rows (empty in more than "
                        f"{MAX_MISSING:.0%}: too little is observed to forecast it)" for name, values in sparse.items()}



def to_series(frame: pd.DataFrame, time_column: str | None = None, what: str = "the table",
              tolerance: float = 0.01, worm=None) -> SeriesData:
    """Make a regular, gap-free numeric series from a table.

    The time column is ``time_column`` or the first of ``time_s, time, t, ...``
    (else the row number). Rows are sorted by time and duplicated times dropped.
    Irregular steps (any step more than ``tolerance`` away from the median step)
    are resampled to the mean step (so the row count stays) by linear interpolation; missing values
    are interpolated. A tracking table's rows of one worm are used (see
    :func:`pick_worm`); identifier columns (``frame``, ``worm``, ...) are not
    series. Every such change is reported in ``messages``.

    Example:
        >>> s = to_series(pd.DataFrame({"time": [0, 0.5, 2, 3], "x": [0.0, 1, 4, 6]}))
        >>> s.frame["x"].tolist(), s.step
        ([0.0, 2.0, 4.0, 6.0], 1.0)
    """
    messages: list[str] = []
    frame, message = pick_worm(frame, worm, what)
    if message:
        messages.append(message)
    column = _find_time_column(list(frame.columns), time_column)
    if column is not None and column not in frame.columns:
        near = io.nearest_column(column, list(frame.columns))
        hint = f" (did you mean '{near}'?)" if near else ""
        raise MissingColumnsError(f"{what} has no time column '{column}'{hint}; it has "
                                  f"{', '.join(map(str, frame.columns[:20]))}.")
    data = frame.copy()
    if column is None:
        column = "step"
        data.insert(0, column, np.arange(len(data), dtype=float))
        messages.append("No time column found (time_s, time, t, ...): the row number is used as time.")
    times = pd.to_numeric(data[column], errors="coerce")
    if times.isna().all():
        example = f" (e.g. {_text_example(data[column], times)})" if data[column].notna().any() else ""
        raise TableError(f"{what}: the time column '{column}' holds no numbers{example}.")
    check_magnitude(data, what, [column])
    data[column] = times
    data = data[times.notna()]
    if len(data) < 3:
        raise _too_short(what, len(data), "row" if times.notna().all() else "row with a time")
    numeric, left_out = _numeric_columns(data, column, what, messages)
    numeric, sparse = _drop_sparse(numeric, what, messages)
    left_out.update(sparse)
    data = pd.concat([data[[column]], pd.DataFrame(numeric, index=data.index)], axis=1)
    if not data[column].is_monotonic_increasing:
        back = int((np.diff(data[column].to_numpy(float)) < 0).sum())
        messages.append(f"The rows were not in time order ({back} step(s) back in '{column}'); they were sorted by "
                        "it.")
    data = data.sort_values(column, kind="stable")
    duplicated = data[column].duplicated()
    if duplicated.sum() > REPEATS_ALLOWED * len(data):  # many objects at each time, not one series
        counts = data[column].value_counts()
        raise TableError(
            f"{what} holds {len(data)} rows at only {len(counts)} distinct times ('{column}' {counts.index[0]:g} "
            f"alone has {counts.iloc[0]} rows): a table of many objects at each time (cells, worms), not one time "
            "series. Give the rows of one object (a tracking table's 'worm' column picks one).")
    if duplicated.any():
        messages.append(f"Dropped {int(duplicated.sum())} row(s) with a repeated time.")
        data = data[~duplicated.to_numpy()]
    if len(data) < 3:
        raise _too_short(what, len(data), "distinct time")
    t = data[column].to_numpy(float)
    steps = np.diff(t)
    step = float(np.median(steps))
    values = data.drop(columns=column)
    filled = values.isna().reset_index(drop=True)
    missing = filled.to_numpy().any(axis=1)
    if missing.any():
        n_missing = int(filled.to_numpy().sum())
        values = values.interpolate(limit_direction="both")
        messages.append(f"Filled {n_missing} missing value(s) in {int(missing.sum())} of {len(missing)} rows "
                        f"(longest gap {_longest_run(missing)} rows) by linear interpolation; a forecast is never "
                        "scored on a filled value.")
    if np.any(np.abs(steps - step) > tolerance * step):
        # the mean step keeps the number of rows (and so what "H steps" means) close to the original
        step = float((t[-1] - t[0]) / (len(t) - 1))
        grid = t[0] + step * np.arange(len(t))
        values = pd.DataFrame({c: np.interp(grid, t, values[c].to_numpy(float)) for c in values.columns})
        messages.append(f"Time steps were irregular (from {steps.min():.4g} to {steps.max():.4g}); "
                        f"resampled to their mean step, {step:.4g}, by linear interpolation.")
        # a new value is filled in when either value it is interpolated from was
        right = np.clip(np.searchsorted(t, grid, side="left"), 0, len(t) - 1)
        left = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
        filled = pd.DataFrame(filled.to_numpy()[left] | filled.to_numpy()[right], columns=filled.columns)
        t = grid
    out = pd.concat([pd.DataFrame({column: t}), values.reset_index(drop=True)], axis=1)
    for message in messages:
        log.info("%s", message)
    return SeriesData(out, column, step, messages, filled if filled.to_numpy().any() else None, left_out)



def load_series(source: io.Source, name: str | None = None, time_column: str | None = None,
                worm=None) -> SeriesData:
    """Read a CSV (path or upload bytes) into a regular series; see :func:`to_series`."""
    frame = io.read_table(source, name=name)
    what = f"'{name}'" if name else (f"'{source}'" if isinstance(source, (str,)) else "the table")
    return to_series(frame, time_column=time_column, what=what, worm=worm)



def example_series(seed: int = 0, n_steps: int = 2000, fps: float = 25.0) -> pd.DataFrame:
    """The built-in example: the worm simulator's behaviour series.

    Uses ``devocore.simulate.worm.behaviour_series`` when the simulator is
    installed, else a small stand-in of the same columns (an undulation with a
    drifting frequency, reversals and noise), so the view always has an example.

    Returns:
        DataFrame ``time_s, head_tail_distance, curvature, speed`` (float64).
    """
    try:
        from devocore.simulate.worm import behaviour_series  # teammate's simulator
    except ImportError:
        behaviour_series = None
    if behaviour_series is not None:
        return behaviour_series(seed=seed, n_steps=n_steps, fps=fps)
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps) / fps
    frequency = 0.5 + 0.1 * np.sin(2 * np.pi * t / 37.0) + 0.02 * rng.standard_normal(n_steps).cumsum() / np.sqrt(n_steps)
    phase = 2 * np.pi * np.cumsum(frequency) / fps
    reversal = np.where(np.sin(2 * np.pi * t / 23.0 + 1.0) > 0.93, -1.0, 1.0)
    curvature = 0.8 * np.sin(phase) + 0.1 * rng.standard_normal(n_steps)
    speed = reversal * (0.2 + 0.05 * np.cos(phase)) + 0.02 * rng.standard_normal(n_steps)
    head_tail = 0.9 - 0.15 * np.abs(np.sin(phase + 0.6)) + 0.02 * rng.standard_normal(n_steps)
    return pd.DataFrame({"time_s": t, "head_tail_distance": head_tail, "curvature": curvature, "speed": speed})



SIMULATED = ("sim:behaviour", "sim:curvature")



def simulated_series(kind: str, seed: int = 1, n_steps: int = 2000) -> pd.DataFrame:
    """A simulated series by name: ``sim:behaviour`` (25 fps, :func:`example_series`) or
    ``sim:curvature`` (100 fps, 100 segments, like a real curvature recording; needs the worm simulator).
    """
    if kind == "sim:behaviour":
        return example_series(seed=seed, n_steps=n_steps, fps=25.0)
    if kind == "sim:curvature":
        from devocore.simulate.worm import curvature_series

        return curvature_series(seed=seed, n_steps=n_steps, fps=100.0, n_segments=100)
    raise TableError(f"Unknown simulated series '{kind}'; choose one of {', '.join(SIMULATED)}.")
