"""Sulston names of C. elegans embryonic cells: founder lineage, generation, parent.

Pure Python, no dependencies, so any part of Devoscope (the embryo simulator,
the lineage tracker, the PCA explorer) can share one reading of the names.

The early divisions (Sulston et al. 1983)::

    P0 -> AB, P1
    P1 -> EMS, P2        EMS -> MS, E        P2 -> C, P3
    P3 -> D, P4          P4 -> Z2, Z3

Every other cell is a founder cell (AB, MS, E, C, D) followed by one letter per
division naming the daughter's side: ``a``/``p`` (anterior/posterior),
``l``/``r`` (left/right), ``d``/``v`` (dorsal/ventral). ``ABplp`` is the
posterior daughter of ``ABpl``, generation 4 (P0 is generation 0).

Founder lineages used for colouring and classification: ``AB``, ``MS``, ``E``,
``C``, ``D``, ``P4`` (P4 and the germ-line cells Z2, Z3), and ``P`` for the
early precursors P0, P1, EMS, P2, P3 that belong to no single founder.

Example:
    >>> founder("ABplpapa"), generation("ABplpapa"), parent("ABplpapa")
    ('AB', 7, 'ABplpap')
    >>> founder("Z2"), parent("Z2"), parent("MS"), parent("AB")
    ('P4', 'P4', 'EMS', 'P0')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

#: Founder lineages in a fixed display order (``P`` = early precursors).
FOUNDERS = ("AB", "MS", "E", "C", "D", "P4", "P")

#: The named early cells: name -> (parent, generation).
EARLY_CELLS = {
    "P0": (None, 0),
    "AB": ("P0", 1), "P1": ("P0", 1),
    "EMS": ("P1", 2), "P2": ("P1", 2),
    "MS": ("EMS", 3), "E": ("EMS", 3), "C": ("P2", 3), "P3": ("P2", 3),
    "D": ("P3", 4), "P4": ("P3", 4),
    "Z2": ("P4", 5), "Z3": ("P4", 5),
}

#: Which founder lineage each early cell counts for.
_EARLY_FOUNDER = {"P0": "P", "P1": "P", "EMS": "P", "P2": "P", "P3": "P",
                  "AB": "AB", "MS": "MS", "E": "E", "C": "C", "D": "D",
                  "P4": "P4", "Z2": "P4", "Z3": "P4"}

# Founders that have lettered descendants; MS before the single letters so "MSa" is not read as M+S.
_DESCENDANT = re.compile(r"^(AB|MS|E|C|D)([aplrdv]+)$")


@dataclass(frozen=True)
class CellName:
    """One parsed Sulston name.

    Attributes:
        name: the name as given (stripped).
        founder: one of :data:`FOUNDERS`.
        generation: divisions since the zygote P0 (AB = 1, ABa = 2, MS = 3).
        parent: the mother cell's name, or None for P0.
        suffix: the division letters after the founder ("" for a named early cell).
    """

    name: str
    founder: str
    generation: int
    parent: Optional[str]
    suffix: str


def parse(name: str) -> Optional[CellName]:
    """A :class:`CellName`, or None when ``name`` is not a Sulston name.

    Example:
        >>> parse("MSpa")
        CellName(name='MSpa', founder='MS', generation=5, parent='MSp', suffix='pa')
        >>> parse("Nuc12") is None
        True
    """
    if not isinstance(name, str):
        return None
    name = name.strip()
    if name in EARLY_CELLS:
        mother, gen = EARLY_CELLS[name]
        return CellName(name, _EARLY_FOUNDER[name], gen, mother, "")
    match = _DESCENDANT.match(name)
    if match is None:
        return None
    base, suffix = match.groups()
    gen = EARLY_CELLS[base][1] + len(suffix)
    return CellName(name, base, gen, name[:-1], suffix)


def is_valid(name: str) -> bool:
    """True for a Sulston name.

    Example:
        >>> is_valid("ABalp"), is_valid("ABx"), is_valid("")
        (True, False, False)
    """
    return parse(name) is not None


def founder(name: str) -> Optional[str]:
    """The founder lineage (one of :data:`FOUNDERS`), or None for an unknown name.

    Example:
        >>> [founder(n) for n in ("ABa", "MSpp", "Ea", "Cap", "Dp", "Z3", "EMS", "x")]
        ['AB', 'MS', 'E', 'C', 'D', 'P4', 'P', None]
    """
    parsed = parse(name)
    return parsed.founder if parsed else None


def generation(name: str) -> Optional[int]:
    """Divisions since the zygote (P0 = 0), or None for an unknown name.

    Example:
        >>> [generation(n) for n in ("P0", "AB", "ABa", "MS", "MSa", "D", "Da", "Z2")]
        [0, 1, 2, 3, 4, 4, 5, 5]
    """
    parsed = parse(name)
    return parsed.generation if parsed else None


def parent(name: str) -> Optional[str]:
    """The mother cell's name, or None for P0 and unknown names.

    Example:
        >>> [parent(n) for n in ("ABa", "AB", "EMS", "E", "C", "D", "Ea", "P0")]
        ['AB', 'P0', 'P1', 'EMS', 'P2', 'P3', 'E', None]
    """
    parsed = parse(name)
    return parsed.parent if parsed else None


def ancestors(name: str) -> list[str]:
    """The line of mothers from ``name`` back to P0, nearest first.

    Example:
        >>> ancestors("MSa")
        ['MS', 'EMS', 'P1', 'P0']
    """
    line = []
    current = parent(name)
    while current is not None:
        line.append(current)
        current = parent(current)
    return line


def ancestor_at(name: str, gen: int) -> Optional[str]:
    """The ancestor of ``name`` at generation ``gen`` (itself when already there or younger).

    Cells of an earlier generation than ``gen`` are returned unchanged, so a
    table can be coarsened to "the cell name at generation 4" in one call.

    Example:
        >>> ancestor_at("ABplpapa", 4), ancestor_at("ABa", 4), ancestor_at("MSpa", 3)
        ('ABplp', 'ABa', 'MS')
    """
    parsed = parse(name)
    if parsed is None:
        return None
    if parsed.generation <= gen:
        return parsed.name
    for mother in ancestors(parsed.name):
        if generation(mother) <= gen:
            return mother
    return None  # pragma: no cover - P0 has generation 0


def is_ancestor(ancestor: str, name: str) -> bool:
    """True when ``ancestor`` is ``name`` itself or one of its mothers.

    Example:
        >>> is_ancestor("P1", "Ca"), is_ancestor("AB", "Ca")
        (True, False)
    """
    return ancestor == name or ancestor in ancestors(name)


def daughters(name: str) -> tuple[str, str]:
    """The usual anterior and posterior daughters' names (named cells use their own names).

    Lettered cells may divide left/right or dorsal/ventral instead; this gives the
    a/p pair, which is the most common orientation.

    Example:
        >>> daughters("P1"), daughters("ABp"), daughters("P4")
        (('EMS', 'P2'), ('ABpa', 'ABpp'), ('Z2', 'Z3'))
    """
    named = [child for child, (mother, _) in EARLY_CELLS.items() if mother == name]
    if len(named) == 2:
        return named[0], named[1]
    if name in ("Z2", "Z3") or parse(name) is None:
        raise ValueError(f"'{name}' has no daughters in the embryo lineage")
    return name + "a", name + "p"
