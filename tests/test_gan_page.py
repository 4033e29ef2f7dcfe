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


def _weights_and_card(name: str) -> tuple[bytes, str]:
    folder = Path(os.environ["DEVOCORE_MODEL_DIR"]) / name
    return (folder / "weights.safetensors").read_bytes(), (folder / "card.json").read_text()


def _train_two_steps(at: AppTest) -> AppTest:
    at.selectbox(key="gan_train_size").set_value(32)
    at.number_input(key="gan_train_steps").set_value(2)
    at.number_input(key="gan_train_every").set_value(1)
    return at.button(key="gan_train_start").click().run()


def test_training_under_the_name_of_ones_model_asks_first_and_keeps_it_unless_replacing_is_chosen():
    torch.set_num_threads(1)
    _tiny_model("my-gan")
    first = _weights_and_card("my-gan")
    at = _open({})
    assert not at.exception
    assert at.text_input(key="gan_train_name").value == "my-gan-2"  # a free name is offered
    assert not at.warning
    at.text_input(key="gan_train_name").set_value("my-gan").run()
    assert any("You already have a model called 'my-gan'" in w.value and "'my-gan-2'" in w.value for w in at.warning)
    box = next(c for c in at.checkbox if c.label == "Replace my existing model 'my-gan'")
    assert not box.value and at.button(key="gan_train_start").disabled  # greyed out: a browser cannot press it
    assert at.button(key="gan_train_stop").disabled
    at.selectbox(key="gan_train_size").set_value(32).run()  # any other rerun saves nothing either
    assert not at.exception and not at.success
    assert _weights_and_card("my-gan") == first  # the first model survives
    box = next(c for c in at.checkbox if c.label == "Replace my existing model 'my-gan'")
    box.check().run()
    assert not at.button(key="gan_train_start").disabled
    _train_two_steps(at)
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Saved as 'my-gan' after 2 training steps (listed under your models: "
                                            "pick it in the Generator menu above)."]  # no server path
    assert _weights_and_card("my-gan") != first and "simulated embryo frames" in _weights_and_card("my-gan")[1]
    # the tick replaced once: the next run asks again
    at.run()
    box = next(c for c in at.checkbox if c.label == "Replace my existing model 'my-gan'")
    assert not box.value and at.button(key="gan_train_start").disabled


def test_a_free_name_trains_without_a_question_and_the_loss_chart_is_labelled():
    torch.set_num_threads(1)
    at = _open({})
    assert at.text_input(key="gan_train_name").value == "my-gan" and not at.checkbox
    _train_two_steps(at)
    assert not at.exception and not at.error
    assert any(s.value.startswith("Saved as 'my-gan' after 2 training steps") for s in at.success)
    assert str(os.environ["DEVOCORE_MODEL_DIR"]) not in " ".join(s.value for s in at.success)
    where = next(e for e in at.expander if e.label == "Where it is stored on the server")  # folded away
    assert not where.proto.expanded and any(os.environ["DEVOCORE_MODEL_DIR"] in c.value for c in where.caption)
    import json

    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0].proto
    x, y = (json.loads(chart.spec)["layer"][0]["encoding"][axis]["title"] for axis in ("x", "y"))
    assert x.startswith("training step") and y == "loss"
    data = pa.ipc.open_stream(chart.datasets[0].data.data).read_pandas()
    assert set(data["network"]) == {"discriminator", "generator"}  # the legend's names, not loss_d / loss_g


def test_the_model_card_is_shown_in_words_and_the_raw_card_is_folded_away():
    torch.set_num_threads(1)
    import numpy as np

    images = np.random.default_rng(0).integers(0, 255, (8, 16, 16), dtype=np.uint8)
    GanTrainer(images, GanConfig(size=16, z_dim=8, base=2, batch=4)).run(1).save(
        Path(os.environ["DEVOCORE_MODEL_DIR"]) / "tiny-card-gan", {
            "training_data": "3000 simulated histone-GFP time-lapse frames (devocore.simulate.embryo, embryo seeds "
                             "from 0, green channel, 16x16; simulator source hash d6c08e0368)",
            "training_command": "python -m devocore train gan --cache /tmp/gan-cache --out /tmp/gan-run3/model",
            "metrics": {"minutes": 65.0, "eval_held_out": {"fid": 6.977, "trivial_fid": 27.357, "real_fid": 0.104,
                                                           "n": 256}}})
    at = _open({"model": "tiny-card-gan", "n": "2"})
    assert not at.exception and not at.error
    shown = " ".join(m.value for m in at.markdown)
    assert ("**Trained on:** 3000 simulated histone-GFP time-lapse frames made by Devoscope's embryo simulator"
            in shown)
    assert "**How good:** FID 6.98" in shown and "27.4" in shown and "0.10" in shown and "lower is better" in shown
    assert "**Training:** 1 training step in 65 min" in shown and "**Data and terms:**" in shown
    for developer_detail in ("hash", "devocore.", "--out", "/tmp", "{"):
        assert developer_detail not in shown, developer_detail
    card = next(e for e in at.expander if e.label.startswith("Full model card, for reproducing"))
    assert not card.proto.expanded and "--out /tmp/gan-run3/model" in card.json[0].value  # kept, folded away
