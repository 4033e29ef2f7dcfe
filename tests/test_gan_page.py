"""The GAN page renders samples, the interpolation and the training section (AppTest)."""
import os
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from devocore.train.gan import GanConfig, GanTrainer

ROOT = Path(__file__).resolve().parents[1]


def _tiny_model(name: str) -> None:
    import numpy as np

    images = np.random.default_rng(0).integers(0, 255, (8, 16, 16), dtype=np.uint8)
    trainer = GanTrainer(images, GanConfig(size=16, z_dim=8, base=2, batch=4)).run(1)
    trainer.save(Path(os.environ["DEVOCORE_MODEL_DIR"]) / name, {"training_data": "noise", "training_command": "test"})


def _open(query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/gan.py")
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_gan_page_samples_interpolates_and_downloads():
    torch.set_num_threads(1)
    _tiny_model("tiny-page-gan")
    at = _open({"model": "tiny-page-gan", "n": "3", "seed": "5"})
    assert not at.exception
    assert at.title[0].value == "GAN sampler" and not at.error
    assert at.selectbox(key="gan_model").value == "tiny-page-gan"
    assert at.number_input(key="gan_n").value == 3
    assert "Interpolation between two seeds" in [s.value for s in at.subheader]
    assert any("lineage" in i.value.lower() for i in at.info) or at.dataframe  # a note or the table


def test_gan_page_trains_a_user_model_on_simulated_frames():
    torch.set_num_threads(1)
    at = _open({})
    assert not at.exception
    at.selectbox(key="gan_train_size").set_value(32)
    at.number_input(key="gan_train_steps").set_value(2)
    at.number_input(key="gan_train_every").set_value(1)
    at.text_input(key="gan_train_name").set_value("page-trained")
    at.button(key="gan_train_start").click().run()
    assert not at.exception
    assert any("page-trained" in s.value for s in at.success)
    assert (Path(os.environ["DEVOCORE_MODEL_DIR"]) / "page-trained" / "card.json").exists()


def test_gan_page_shows_lineage_populations_when_a_lineage_model_exists():
    from tests.test_gan import _tiny_lineage_model

    torch.set_num_threads(1)
    _tiny_model("tiny-page-gan2")
    _tiny_lineage_model(Path(os.environ["DEVOCORE_MODEL_DIR"]) / "lineage-tiny")
    at = _open({"model": "tiny-page-gan2", "n": "2"})
    assert not at.exception and not at.error
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2


def test_gan_samples_are_large_numbered_with_the_seed_and_the_training_data_is_named():
    import json

    from devocore import style
    from tests.test_gan import _tiny_lineage_model

    torch.set_num_threads(1)
    _tiny_model("tiny-page-gan3")
    _tiny_lineage_model(Path(os.environ["DEVOCORE_MODEL_DIR"]) / "lineage-tiny")
    at = _open({"model": "tiny-page-gan3", "n": "5", "seed": "7", "seed_b": "11", "steps": "6"})
    assert not at.exception and not at.error
    assert any("**Trained on:** noise" in m.value for m in at.markdown)  # from the card's training_data
    captions = [img.caption for e in at.get("image") for img in e.proto.imgs if img.caption.startswith("sample")]
    assert captions == [f"sample {k} · seed 7" for k in range(1, 6)]  # one picture each (drawn width: browser test)
    # the link's interpolation seeds and frames are restored
    assert at.number_input(key="gan_seed_b").value == 11 and at.slider(key="gan_steps").value == 6
    # the populations: samples numbered from 1, lineage colours from devocore.style
    assert at.dataframe[0].value["sample"].tolist() == [1, 2, 3, 4, 5]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    colours = {t["name"]: t["marker"]["color"] for t in spec["data"]}
    assert colours["C"] == style.lineage_hex("C") and colours["M (MS)"] == style.lineage_hex("M")
