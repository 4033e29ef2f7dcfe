"""The PCA explorer page, driven by AppTest on its examples."""
from pathlib import Path

import pytest

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/pca.py").run()
    return at


def test_pca_page_renders_the_simulator_example():
    at = open_page()
    assert not at.exception and not at.error
    assert at.multiselect(key="pca_columns").value == ["ap", "dv", "lr", "size_rel"]
    at.radio(key="pca_dims").set_value(3).run()
    assert not at.exception


def test_pca_page_classifier_beats_the_majority_on_toy_embryos():
    at = open_page()
    at.radio(key="pca_source").set_value("Toy embryos (lineage territories)").run()
    assert not at.exception and not at.error
    at.button(key="pca_classify").click().run()
    assert not at.exception
    accuracy = float(at.metric[0].value)
    majority = at.dataframe[0].value["majority_accuracy"].iloc[0]
    assert accuracy > majority + 0.1
    assert at.metric[1].label.startswith("Majority-class rate") and float(at.metric[1].value) == pytest.approx(
        majority, abs=1e-3)  # the rate to beat is shown beside the accuracy


def test_pca_page_on_the_behaviour_example_and_a_warning():
    at = open_page()
    at.radio(key="pca_source").set_value("Example behaviour table (simulated)").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="pca_colour").value == "strain"
    at.radio(key="pca_method").set_value("t-SNE").run()
    assert not at.exception
    at.multiselect(key="pca_columns").set_value(["speed"]).run()  # one column cannot give 2 components
    assert not at.exception
    assert at.warning
