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
    at.selectbox(key="train_start").set_value("(from scratch)").run()  # shipped models train at 256 px
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
    bar = at.get("progress")[0].proto  # the finished bar is full and says how training ended
    assert bar.value == 100
    assert bar.text == ("all 2 epochs done" if job.result["epochs"] == 2 else
                        f"stopped early (validation stopped improving) at epoch {job.result['epochs']} of 2")
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


def test_train_page_settings_come_back_from_a_shared_link():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/train.py")
    for key, value in {"train_task": "membrane", "train_start": "(from scratch)", "train_size": "128",
                       "train_epochs": "7", "train_steps": "9", "train_batch": "4", "train_lr": "0.0002",
                       "train_schedule": "onecycle", "train_patience": "3", "train_fg_weight": "2.5",
                       "train_aug": "0.4", "train_val_fraction": "0.3", "train_masks_are": "labels",
                       "train_preview": "3"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="train_task").value == "membrane"
    assert at.radio(key="train_mask_kind").value.startswith("instance labels")
    assert at.selectbox(key="train_start").value == "(from scratch)" and at.selectbox(key="train_size").value == 128
    assert at.number_input(key="train_epochs").value == 7 and at.number_input(key="train_steps").value == 9
    assert at.selectbox(key="train_batch").value == 4 and at.selectbox(key="train_schedule").value == "onecycle"
    assert at.number_input(key="train_lr").value == 0.0002 and at.number_input(key="train_patience").value == 3
    assert at.slider(key="train_fg_weight").value == 2.5 and at.slider(key="train_aug").value == 0.4
    assert at.slider(key="train_val_fraction").value == 0.3
    assert at.slider(key="train_preview_index").value == 3 and at.slider(key="train_preview_index").min == 1
