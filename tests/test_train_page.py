"""The Train page through AppTest: example data, a tiny training run, comparison, save, and use in Segmentation."""
import contextlib
import threading
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


# ----------------------------------------------------------------------------- what the page says about a run
# These tests put a finished or still-running Job into the session instead of training, so they check what the
# page shows about a run in seconds.
def _history(epochs=3, per_epoch=90.0):
    return [{"epoch": e, "train_loss": 0.3 / e, "val_loss": 0.25 / e, "val_iou": 0.7 + 0.03 * e,
             "val_dice": 0.8 + 0.02 * e, "lr": 1e-3, "seconds": per_epoch * e} for e in range(1, epochs + 1)]


def _job(history, result=None, release=None):
    """A Job that records ``history``, then waits for ``release`` (if given) and returns ``result``."""
    from devocore.train.job import Job

    def target(stop, record):
        for row in history:
            record(row)
        if release is not None:
            release.wait(120)
        return result

    job = Job(target).start()
    end = time.time() + 10
    while len(job.history) < len(history) and time.time() < end:
        time.sleep(0.01)
    return job if release is not None else job.wait(10)


def _info(at, out="unused", epochs=20, steps=20, batch=8, val_images=2):
    return {"out": str(out), "start": at.selectbox(key="train_start").value, "task": "nucleus",
            "size": 256, "epochs": epochs, "steps": steps, "batch": batch, "images": steps * batch,
            "val_images": val_images}


@contextlib.contextmanager
def _running(history: list[dict], stats: dict, epochs: int = 20):
    """The page shown while a pretend run of ``epochs`` epochs, ``history`` so far, is going on."""
    at = _open_train()
    release = threading.Event()
    job = _job(history, stats, release)
    try:
        at.session_state["train_job"] = job
        at.session_state["train_job_info"] = _info(at, epochs=epochs)
        at.run()
        assert not at.exception, at.exception
        yield at
    finally:
        release.set()
        job.wait(10)


def test_the_running_bar_gives_the_epoch_out_of_all_and_the_time_left_and_the_charts_read_plainly():
    import json

    with _running(_history(3, 90.0), {"epochs": 3}) as at:
        texts = [p.proto.text for p in at.get("progress")]
        # 17 epochs left at 90 s each: 25.5 min
        assert "epoch 3 of 20 · validation IoU 0.790 · about 26 min left (less if it stops early)" in texts, texts
        charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        names = {trace["name"] for chart in charts for trace in chart["data"]}
        assert names == {"training loss", "validation loss", "validation IoU", "validation Dice"}
        for chart in charts:
            assert chart["layout"]["xaxis"]["title"]["text"] == "epoch"
            assert chart["layout"]["xaxis"]["dtick"] == 1  # whole epochs, never 1.5
            assert chart["layout"]["yaxis"]["title"]["text"]


def test_the_bar_waits_for_the_first_epoch_before_it_estimates():
    with _running([], {"epochs": 0}) as at:
        texts = [p.proto.text for p in at.get("progress")]
        assert any(t.startswith("epoch 1 of 20 running (") and "estimated once it is done" in t for t in texts), \
            texts


def test_the_page_says_what_a_run_costs_and_that_two_validation_images_are_too_few(tmp_path):
    import json

    import torch

    at = _open_train()
    assert not at.exception, at.exception
    before = " ".join(i.value for i in at.info)
    if not torch.cuda.is_available():  # before any run: a plain word about the CPU, and fewer epochs to start
        assert "each epoch takes minutes on a laptop" in before and "set Most epochs to 3" in before, before
    assert "rough: they can change a lot with other images" in " ".join(c.value for c in at.caption)
    # a finished run of 3 epochs in 312 s (the UI audit's, on a 2-core CPU), fine-tuned from the shipped model
    out = tmp_path / "checkpoint"
    out.mkdir()
    (out / registry.CARD).write_text(json.dumps(registry.find_model("nucleus").card))
    result = {"epoch": 3, "epochs": 3, "val_loss": 0.1, "val_iou": 0.79, "val_dice": 0.88, "seconds": 312.0,
              "model": registry.load_model("nucleus", "cpu")}
    at.session_state["train_job"] = _job(_history(3, 104.0), result)
    at.session_state["train_job_info"] = _info(at, out=out, epochs=3)
    at.run()
    assert not at.exception, at.exception
    assert any("on 2 validation images" in s.value for s in at.success if s.value.startswith("Done:"))
    estimate = " ".join(i.value for i in at.info)
    # measured: 104 s an epoch, so the default 20 epochs take up to about 35 min
    assert "Your last run here took about 2 min per epoch (20 batches of 8)" in estimate, estimate
    assert "20 epochs take up to about 35 min" in estimate, estimate
    at.button(key="train_compare").click().run()
    assert not at.exception, at.exception
    assert any(c.value.startswith("Scores on 2 validation images") for c in at.caption)
    warning = " ".join(w.value for w in at.warning)
    assert "Only 2 validation images: too few to trust these figures" in warning, warning
