"""The C. elegans embryonic lineage: Sulston names, daughters and cell-cycle lengths.

The cell-cycle table ``cell_facts.csv`` beside this file was derived from the
four EPIC tables in ``../shared/data/train/epic`` by :func:`derive_cell_facts`
(re-run with ``python -m devocore.simulate.lineage_tree ../shared/data/train/epic``);
it holds, per cell name, the median number of EPIC frames between the cell's birth
and its daughters' birth, the number of embryos that measured it and the axis its
daughters are named after (``ap``, ``lr`` or ``dv``). No data rows are copied.

Example:
    >>> daughters("AB"), daughters("P4"), daughters("ABa")
    (('ABa', 'ABp'), ('Z2', 'Z3'), ('ABal', 'ABar'))
    >>> lineage_group("EMS"), lineage_group("MSpa"), lineage_group("P3")
    ('E', 'M', 'P')
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from devocore import config, lineage_names

log = logging.getLogger(__name__)

FACTS_CSV = Path(__file__).with_name("cell_facts.csv")
# Seconds per frame of the EPIC tables the facts were measured on (Murray et al. 2012 imaged
# every ~1.25 min); the simulator converts the table's frames to seconds with it.
EPIC_FRAME_S = 75.0
GROUPS = ("A", "E", "M", "P", "C", "D", "Z")

# Founder divisions that do not follow the "name + a/p" rule.
_SPECIAL = {
    "P0": ("AB", "P1"),
    "P1": ("EMS", "P2"),
    "EMS": ("MS", "E"),
    "P2": ("C", "P3"),
    "P3": ("D", "P4"),
    "P4": ("Z2", "Z3"),
}
# Cells that do not divide during the embryonic stages simulated here.
NON_DIVIDING = frozenset({"Z2", "Z3"})
# AB and P1 are born before every EPIC movie starts, so the tables cannot time them; these
# follow the tables' AB-before-P1 order (P1 divides about two frames after AB).
_EARLY_CYCLES = {"AB": 12.0, "P1": 14.0}
_FOUNDERS = ("AB", "MS", "E", "C", "D", "Z")


def founder(name: str) -> str:
    """The founder cell a name descends from: AB, MS, E, C, D, Z, or P (P0..P4, EMS)."""
    for f in _FOUNDERS:
        if name.startswith(f) and name != "EMS":
            return f
    return "P"


def lineage_group(name: str) -> str:
    """The population-curve column of a cell: one of ``A, E, M, P, C, D, Z``.

    Same grouping as ``epic_population_curves.csv``: A = AB and its descendants,
    E = EMS and the E lineage (the curves count EMS under E: E rises to 1 before
    MS is born), M = MS lineage, C, D, Z = Z2/Z3, P = the germline blastomeres P0-P4.
    """
    if name == "EMS":
        return "E"
    f = founder(name)
    return {"AB": "A", "MS": "M"}.get(f, f)


def generation(name: str) -> int:
    """Number of divisions since the zygote P0 (P0 = 0, AB = 1, ABa = 2, MS = 3, Z2 = 5)."""
    value = lineage_names.generation(name)
    if value is None:
        raise ValueError(f"'{name}' is not a Sulston name")
    return value


def _axis(name: str) -> str:
    axis = cell_facts()["axis"].get(name)
    return axis if isinstance(axis, str) and len(axis) == 2 else "ap"


def daughters(name: str) -> tuple[str, str]:
    """The two daughters' names, first the anterior/left/dorsal one."""
    if name in _SPECIAL:
        return _SPECIAL[name]
    a, b = _axis(name)
    return name + a, name + b


def division_axis(name: str) -> str:
    """``ap``, ``lr`` or ``dv``: the body axis along which ``name`` divides."""
    if name in ("P0", "P1", "P2", "P3", "EMS", "AB"):
        return "ap"
    if name == "P4":
        return "lr"
    return _axis(name)


@functools.lru_cache(maxsize=1)
def cell_facts() -> pd.DataFrame:
    """The committed table: index ``cell``; columns ``cycle_frames``, ``n``, ``axis``."""
    return pd.read_csv(FACTS_CSV, index_col="cell", keep_default_na=False,
                       dtype={"axis": str}, na_values={"cycle_frames": [""]})


@functools.lru_cache(maxsize=1)
def group_cycles() -> dict[tuple[str, int], float]:
    """Median cycle length (EPIC frames) per (founder, generation), from the table."""
    facts = cell_facts().dropna(subset=["cycle_frames"])
    facts = facts[facts["n"] > 0]
    keys = [(founder(c), generation(c)) for c in facts.index]
    s = pd.Series(facts["cycle_frames"].to_numpy(float), index=pd.MultiIndex.from_tuples(keys))
    return {k: float(v) for k, v in s.groupby(level=[0, 1]).median().items()}


def cycle_frames(name: str) -> float:
    """Mean cell-cycle length of ``name`` in EPIC frames (inf for cells that do not divide).

    Falls back to the median of its founder and generation, then to the last measured
    generation of its founder lengthened by 30% per generation (cycles lengthen as the
    embryo proceeds), for cells the EPIC tables did not see divide.
    """
    if name in NON_DIVIDING:
        return float("inf")
    if name in _EARLY_CYCLES:
        return _EARLY_CYCLES[name]
    facts = cell_facts()
    if name in facts.index:
        v = facts.at[name, "cycle_frames"]
        if v == v and facts.at[name, "n"] >= 1:  # not NaN
            return float(v)
    f, g = founder(name), generation(name)
    table = group_cycles()
    if (f, g) in table:
        return table[(f, g)]
    known = [gen for (ff, gen) in table if ff == f and gen < g]
    if known:
        last = max(known)
        return table[(f, last)] * 1.3 ** (g - last)
    return 20.0 * 1.3 ** max(0, g - 3)


def derive_cell_facts(epic_dir: str | Path) -> pd.DataFrame:
    """Measure cycle lengths and division axes from EPIC tables (calibration, run once).

    A cell's cycle is the number of frames between its first appearance and the first
    appearance of either daughter, taken only when the cell is born after the first frame.

    Args:
        epic_dir: folder of EPIC ``*.csv`` tables (``cell``, ``time`` columns are used).

    Returns:
        DataFrame indexed by ``cell`` with ``cycle_frames`` (median over embryos), ``n``
        (embryos measured) and ``axis`` (``ap``/``lr``/``dv`` of its daughters, "" if unseen).
    """
    files = sorted(Path(epic_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no EPIC tables in {epic_dir}")
    cycles: dict[str, list[float]] = {}
    axes: dict[str, str] = {}
    for path in files:
        table = pd.read_csv(path, usecols=["cell", "time"])
        born = table.groupby("cell")["time"].min()
        t0 = table["time"].min()
        names = set(born.index)
        for cell, birth in born.items():
            if cell in _SPECIAL:
                kids = _SPECIAL[cell]
            else:
                kids = tuple(k for k in names if len(k) == len(cell) + 1 and k.startswith(cell)
                             and k[-1] in "aplrdv")
                if len(kids) >= 1:
                    letter = kids[0][-1]
                    axes[cell] = {"a": "ap", "p": "ap", "l": "lr", "r": "lr", "d": "dv", "v": "dv"}[letter]
            kid_births = [born[k] for k in kids if k in born.index]
            if birth > t0 and kid_births:
                cycles.setdefault(cell, []).append(float(min(kid_births) - birth))
    cells = sorted(set(cycles) | set(axes))
    return pd.DataFrame({
        "cell": cells,
        "cycle_frames": [round(float(np.median(cycles[c])), 2) if c in cycles else np.nan for c in cells],
        "n": [len(cycles.get(c, [])) for c in cells],
        "axis": [axes.get(c, "") for c in cells],
    }).set_index("cell")


if __name__ == "__main__":  # pragma: no cover - calibration helper
    import sys

    out = derive_cell_facts(sys.argv[1] if len(sys.argv) > 1 else str(config.datasets_dir() / "train" / "epic"))
    out.to_csv(FACTS_CSV)
    print(f"wrote {len(out)} cells to {FACTS_CSV}")
