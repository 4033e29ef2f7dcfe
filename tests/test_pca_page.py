"""The PCA explorer page, driven by AppTest on its examples."""
import json
from pathlib import Path

import pandas as pd
import pytest

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/pca.py").run()
    return at


def test_pca_page_renders_the_simulator_example():
    at = open_page()
    at.radio(key="pca_source").set_value("Example embryos (embryo simulator)").run()
    assert not at.exception and not at.error
    assert at.multiselect(key="pca_columns").value == ["ap", "dv", "lr", "size_rel"]
    # its lineages do not keep their places from embryo to embryo: the page says so before anyone trains on them
    assert any("no better than always answering AB" in i.value for i in at.info)
    at.radio(key="pca_dims").set_value(3).run()
    assert not at.exception


def test_pca_page_classifier_beats_the_majority_on_the_default_example():
    # the simulator's embryos place lineages differently in each embryo (accuracy 0.54 against 0.67 for always
    # 'AB'); the default example must show the classifier on embryos whose lineages keep their places
    at = open_page()
    assert at.radio(key="pca_source").value == "Toy embryos (lineage territories)"
    assert not at.exception and not at.error
    at.button(key="pca_classify").click().run()
    assert not at.exception and not at.warning
    assert "more than always answering A (AB)" in at.success[0].value
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


def test_pca_page_warns_when_the_classifier_is_no_better_than_the_majority():
    from devocore.embedding.explore import ClassifierReport

    at = open_page()
    embryos = ("toy embryo 1", "toy embryo 2", "toy embryo 3")  # the default example's, trained on the first two
    per_embryo = pd.DataFrame({"embryo": ["toy embryo 3"], "rows": [8980], "accuracy": [0.540],
                               "majority_accuracy": [0.669]})
    counts = pd.DataFrame([[10, 5], [7, 0]], index=["AB", "E"], columns=["AB", "E"])
    at.session_state["pca_report"] = (embryos, embryos[:2], ClassifierReport(per_embryo, counts, 0.540, 0.669, "AB"))
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["The classifier is no better than always answering A (AB) (0.669): "
                                             "do not use its calls on this data."]
    assert not at.success


def chart(at, key):
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id)


def test_pca_page_labels_every_row_of_the_loadings():
    at = open_page()
    at.radio(key="pca_source").set_value("Example behaviour table (simulated)").run()
    assert not at.exception
    features = at.multiselect(key="pca_columns").value  # switched from the embryos: this table's own columns
    spec = chart(at, "pca_loadings")
    rows = spec["data"][0]["y"]
    assert sorted(rows) == sorted(features)
    assert len(rows) == 24 and not [r for r in rows if r.startswith("feature_")]  # named features
    assert spec["layout"]["yaxis"]["tickvals"] == rows  # every row labelled, not every other one
    assert spec["layout"]["height"] >= 22 * len(rows)
    assert spec["layout"]["title"]["text"] == "Loadings"  # all 24 columns are shown, not "top 25"


def test_pca_page_gives_whole_time_points_and_the_embryo_axes_units():
    at = open_page()
    slider = at.slider(key="pca_window")
    assert slider.value == (1, 120) and all(isinstance(v, int) for v in slider.value)
    assert "time points" in slider.label
    layout = chart(at, "pca_embryo3d")["layout"]
    titles = [layout["scene"][axis]["title"]["text"] for axis in ("xaxis", "yaxis", "zaxis")]
    assert titles == ["ap (embryo lengths, posterior +)", "lr (embryo lengths, left +)",
                      "dv (embryo lengths, dorsal +)"]
