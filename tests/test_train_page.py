"""The Train page through AppTest: example data, a tiny training run, comparison, save, and use in Segmentation."""
import time
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from devocore import registry
from tests.test_train_cli import tree_hash

ROOT = Path(__file__).resolve().parents[1]


def _open_train(tmp_path=None):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    return at


def _wait(at, seconds=120):
    end = time.time() + seconds
    while time.time() < end:
        job = at.session_state["train_job"]
        if not job.running:
            break
        time.sleep(0.5)
    at.run()
    return at


def test_train_page_trains_saves_and_segmentation_uses_the_model():
    at = _open_train()
    assert not at.exception, at.exception
    assert at.title[0].value == "Train"
    assert "12 pairs matched" in at.success[0].value
    at.selectbox(key="train_size").set_value(64).run()
    at.number_input(key="train_epochs").set_value(2)
    at.number_input(key="train_steps").set_value(2)
    at.selectbox(key="train_batch").set_value(2).run()
    at.button(key="train_start_button").click().run()
    assert not at.exception, at.exception
    _wait(at)
    assert not at.exception, at.exception
    job = at.session_state["train_job"]
    assert job.error is None and job.result["epochs"] >= 1
    assert len(job.history) == job.result["epochs"]
    at.button(key="train_compare").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    assert set(table["model"]) == {"trained here", "classical baseline"}
    at.text_input(key="train_name").set_value("my-nuclei").run()
    at.button(key="train_save").click().run()
    assert not at.exception, at.exception
    names = [m.name for m in registry.list_models("segmentation")]
    assert "my-nuclei" in names
    card = registry.find_model("my-nuclei").card
    assert card["metrics"]["val_iou"] >= 0 and "pairs" in card["training_data"]
    # the Segmentation view offers it and runs it
    at.switch_page("pages/segmentation.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="seg_model").set_value("my-nuclei").run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.split()[1] == "nuclei"


def test_train_page_names_bad_data_and_leaves_it_untouched(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_DATA_DIR", str(tmp_path))
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "images" / "a.png")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "masks" / "a_mask.png")
    before = tree_hash(tmp_path)
    at = _open_train()
    at.radio(key="train_source").set_value("Server folder").run()
    at.text_input(key="train_images").set_value("images")
    at.text_input(key="train_masks").set_value("masks").run()
    assert not at.exception, at.exception
    assert "16 x 16 pixels but its image" in at.error[0].value
    at.text_input(key="train_masks").set_value("../elsewhere").run()
    assert "outside the data folder" in at.error[0].value
    assert tree_hash(tmp_path) == before
