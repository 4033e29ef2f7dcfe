"""The one owner of lineage names, lineage colours and the instance-label palette.

Every page and every figure takes its lineage letters, legend names and colours from here, so lineage C
has the same colour on the Lineage, PCA, GAN and Simulator views and in the PNG figures.

Two ways of naming lineages meet in Devoscope:

* the population counts (Lineage page, simulator, GAN scoring) use one letter per founder lineage,
  :data:`LINEAGES` (A = AB, E, M = MS, P, C, D, Z = Z2/Z3);
* the cell tables (PCA page, EPIC files) name each nucleus's founder with
  :data:`devocore.lineage_names.FOUNDERS` (AB, MS, E, C, D, P4, P).

:data:`FOUNDER_LETTER` maps the second onto the first (P4 and its daughters Z2/Z3 become Z), so a founder
class is drawn with the colour of its letter and named ``"Z (P4)"`` in legends.

Colours: the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies).

Example:
    >>> lineage_hex("C"), lineage_hex("C") == founder_hex("C")
    ('#E69F00', True)
    >>> founder_letter("MS"), founder_label("P4"), lineage_label("M")
    ('M', 'Z (P4)', 'M (MS)')
    >>> lineage_rgb("total")
    (119, 119, 119)
    >>> label_rgb(1) == tuple(LABEL_PALETTE[0]), label_rgb(len(LABEL_PALETTE) + 1) == label_rgb(1)
    (True, True)
"""
from __future__ import annotations

import numpy as np

#: Founder lineages counted per frame, in display order.
LINEAGES = ("A", "E", "M", "P", "C", "D", "Z")
#: The columns of a populations table (one row per frame, frames numbered from 1).
POPULATION_COLUMNS = ("frame",) + LINEAGES

#: The Sulston founder cell(s) each letter stands for (for legends and captions).
LINEAGE_NAMES = {"A": "AB", "E": "E", "M": "MS", "P": "P0-P4", "C": "C", "D": "D", "Z": "Z2/Z3"}

#: Founder classes of cell tables (devocore.lineage_names.FOUNDERS) -> lineage letter.
FOUNDER_LETTER = {"AB": "A", "MS": "M", "E": "E", "C": "C", "D": "D", "P4": "Z", "P": "P"}

#: Okabe-Ito colours per lineage letter; "total" and "unknown" in greys.
LINEAGE_COLOURS = {"A": "#0072B2", "E": "#D55E00", "M": "#009E73", "P": "#CC79A7", "C": "#E69F00",
                   "D": "#56B4E9", "Z": "#000000", "total": "#777777", "unknown": "#BBBBBB"}

#: RGB uint8 colours cycled over instance labels (cells, nuclei, worms): label k gets row (k - 1) % 16.
LABEL_PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                          [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
                          [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200], [128, 0, 0],
                          [170, 255, 195]], np.uint8)

#: The rows of LABEL_PALETTE that stay visible on a white or light background (worm skeletons, chart lines):
#: the pale ones (luma above 200) are left out.
STRONG_ROWS = tuple(i for i, (r, g, b) in enumerate(LABEL_PALETTE.tolist()) if 0.299 * r + 0.587 * g + 0.114 * b <= 200)

#: The same palette as hex strings, for groups that are not lineages (strains, embryos, labels).
GROUP_PALETTE = ["#{:02X}{:02X}{:02X}".format(*c) for c in LABEL_PALETTE.tolist()]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def lineage_hex(letter: str) -> str:
    """``#RRGGBB`` of a lineage letter (or "total"); unknown letters get the "unknown" grey."""
    return LINEAGE_COLOURS.get(letter, LINEAGE_COLOURS["unknown"])


def lineage_rgb(letter: str) -> tuple[int, int, int]:
    """The colour of a lineage letter as an (r, g, b) tuple of ints 0..255."""
    return _rgb(lineage_hex(letter))


def lineage_plotly(letter: str) -> str:
    """The colour of a lineage letter as plotly's ``rgb(r,g,b)`` text."""
    return "rgb({},{},{})".format(*lineage_rgb(letter))


def lineage_label(letter: str) -> str:
    """Legend text: the letter with its founder cell(s) when they differ, e.g. ``"M (MS)"``, ``"E"``."""
    name = LINEAGE_NAMES.get(letter)
    return f"{letter} ({name})" if name and name != letter else letter


def founder_letter(founder: str) -> str | None:
    """The lineage letter of a founder class of a cell table (``"P4"`` -> ``"Z"``), None if unknown."""
    return FOUNDER_LETTER.get(str(founder))


def founder_hex(founder: str) -> str:
    """The colour of a founder class: the colour of its letter."""
    letter = founder_letter(founder)
    return lineage_hex(letter) if letter else LINEAGE_COLOURS["unknown"]


def founder_label(founder: str) -> str:
    """Legend text for a founder class: its letter first, the founder name after (``"A (AB)"``, ``"E"``)."""
    letter = founder_letter(founder)
    if letter is None:
        return str(founder)
    return letter if letter == founder else f"{letter} ({founder})"


def founder_colour_map(founders) -> dict[str, str]:
    """``{founder label: hex}`` for plotly's ``color_discrete_map`` after relabelling with founder_label."""
    return {founder_label(f): founder_hex(f) for f in founders}


def founder_order(founders) -> list[str]:
    """Founder labels in the letters' display order (unknown classes last, sorted)."""
    present = {str(f) for f in founders}
    known = sorted((f for f in present if founder_letter(f)), key=lambda f: LINEAGES.index(founder_letter(f)))
    return [founder_label(f) for f in known] + sorted(present - set(known))


def label_rgb(label: int, light_background: bool = False) -> tuple[int, int, int]:
    """The colour of instance label ``label`` (1, 2, ...): a row of :data:`LABEL_PALETTE`, cycled.

    ``light_background`` cycles over the :data:`STRONG_ROWS` only (lines on white, worms on a bright plate).
    """
    rows = STRONG_ROWS if light_background else range(len(LABEL_PALETTE))
    return tuple(int(v) for v in LABEL_PALETTE[rows[(int(label) - 1) % len(rows)]])


def label_plotly(label: int, light_background: bool = True) -> str:
    """The colour of instance label ``label`` as plotly's ``rgb(r,g,b)`` text (lines on white by default)."""
    return "rgb({},{},{})".format(*label_rgb(label, light_background))


def group_colour_map(groups) -> dict[str, str]:
    """A colour per group: lineage letters and founder names get their lineage colour, others the palette.

    Example:
        >>> group_colour_map(["E", "AB", "strain x"])["AB"] == lineage_hex("A")
        True
    """
    out, k = {}, 0
    for g in sorted(set(map(str, groups)), key=str):
        if g in LINEAGE_COLOURS:
            out[g] = LINEAGE_COLOURS[g]
        elif g in FOUNDER_LETTER:
            out[g] = founder_hex(g)
        else:
            out[g] = GROUP_PALETTE[k % len(GROUP_PALETTE)]
            k += 1
    return out
