"""The segmentation page, through AppTest, on its example."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devocore import registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def tiny_models(tmp_path, monkeypatch):
    """A small untrained user model, so the page runs even before shipped weights exist."""
    from devocore import nets

    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    card = {"task": "segmentation", "target": "nucleus", "architecture": "fpn",
            "config": {"encoder": "resnet18", "in_channels": 1, "classes": 1}, "input_size": 64,
            "training_data": "test", "training_command": "test", "metrics": {}}
    registry.save_model(nets.build("fpn"), tmp_path / "tiny-nuc", card)
    return "tiny-nuc"


def test_segmentation_page_runs_on_the_example(tiny_models):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    assert not at.exception
    assert at.title[0].value == "Segmentation"
    at.selectbox(key="seg_model").set_value(tiny_models).run()
    assert not at.exception
    assert at.subheader[0].value.split()[1] in ("nuclei", "cells")
    # the threshold re-draws without error
    at.slider(key="seg_threshold").set_value(0.3).run()
    assert not at.exception
    assert len(at.dataframe) == 1


def test_segmentation_page_stack_example_has_a_slice_slider(tiny_models):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_model").set_value(tiny_models).run()
    at.selectbox(key="seg_example").set_value("Simulated nucleus stack (4 slices)").run()
    assert not at.exception
    at.slider(key="seg_frame").set_value(2).run()
    assert not at.exception and "plane 2" in at.subheader[0].value
