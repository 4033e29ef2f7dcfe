"""One set of lineage names and colours (devocore.style) on every page and figure that draws lineages."""
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from devocore import lineage, segmentation, style
from devocore.embedding import figures
from devocore.lineage_names import FOUNDERS
from devocore.tracking import draw
from tests.test_lineage_page import _page_with_tiny_model

ROOT = Path(__file__).resolve().parents[1]


def _traces(at: AppTest, index: int = 0) -> dict[str, dict]:
    """The traces of the index-th plotly chart on the page, by name."""
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return {t.get("name"): t for t in spec["data"]}


def test_every_lineage_has_its_own_colour_and_every_founder_a_letter():
    colours = [style.lineage_hex(k) for k in style.LINEAGES]
    assert len(set(colours)) == len(style.LINEAGES) == 7
    assert set(style.FOUNDER_LETTER) == set(FOUNDERS)  # every founder class of a cell table has a letter
    assert sorted(style.FOUNDER_LETTER.values()) == sorted(style.LINEAGES)  # and each letter one founder
    assert style.founder_label("P4") == "Z (P4)" and style.founder_label("E") == "E"
    assert style.founder_hex("MS") == style.lineage_hex("M") == "#009E73"
    assert style.lineage_rgb("C") == (0xE6, 0x9F, 0x00)


def test_engine_figures_and_overlays_take_their_colours_from_style():
    assert lineage.LINEAGES is style.LINEAGES
    assert lineage.COLORS["C"] == style.lineage_rgb("C") and lineage.COLORS["total"] == style.lineage_rgb("total")
    assert figures.colour_map(["AB", "strain x"])["AB"] == style.lineage_hex("A")
    assert figures.LINEAGE_COLOURS["P4"] == style.lineage_hex("Z")
    assert segmentation.PALETTE is style.LABEL_PALETTE
    # one labelled square is outlined in the first palette colour
    labels = np.zeros((12, 12), np.uint16)
    labels[3:9, 3:9] = 1
    picture = segmentation.overlay(np.zeros((12, 12), np.uint8), labels, centroids=False)
    assert tuple(picture[3, 3]) == style.label_rgb(1)
    # worms: the palette's strong colours (visible on a bright plate), cycled
    assert draw.colour(1) == style.label_rgb(1, light_background=True)
    assert draw.colour(len(style.STRONG_ROWS) + 2) == draw.colour(2)
    assert all(0.299 * r + 0.587 * g + 0.114 * b <= 200 for r, g, b in draw.PALETTE)


def test_lineage_page_and_pca_page_draw_lineage_c_in_the_same_colour(tmp_path, monkeypatch):
    at, _ = _page_with_tiny_model(tmp_path, monkeypatch)
    assert not at.exception and not at.error
    traces = _traces(at)
    assert traces["C"]["line"]["color"] == style.lineage_plotly("C")
    assert traces["M (MS)"]["line"]["color"] == style.lineage_plotly("M")

    at.switch_page("pages/pca.py").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="pca_colour").value == "founder"
    traces = _traces(at)
    assert traces["C"]["marker"]["color"] == style.lineage_hex("C")
    assert traces["M (MS)"]["marker"]["color"] == style.lineage_hex("M")
    assert traces["Z (P4)"]["marker"]["color"] == style.lineage_hex("Z")
    assert "AB" not in traces and "MS" not in traces  # founder names only beside their letters
    assert style.lineage_plotly("C") == "rgb({},{},{})".format(*(int(style.lineage_hex("C")[i:i + 2], 16)
                                                                  for i in (1, 3, 5)))
