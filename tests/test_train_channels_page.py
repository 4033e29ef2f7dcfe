"""The Train view's multi-channel sections (pages/train_channels.py) through AppTest: tiles, recipe comparison,
a bad recipe, and the foreground-weight picture."""
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def _open_train():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def _compare_quickly(at, recipes: str):
    """Run the recipe comparison for one epoch of one batch per recipe; its table."""
    at.text_area(key="trainch_cmp_recipes").set_value(recipes)
    at.number_input(key="trainch_cmp_epochs").set_value(1)
    at.number_input(key="trainch_cmp_steps").set_value(1)
    at.button(key="trainch_cmp_button").click().run()
    assert not at.exception, at.exception
    return at.session_state["trainch_cmp_result"][0]


def test_train_view_cuts_tiles_and_compares_recipes():
    at = _open_train()
    labels = [e.label for e in at.expander]
    assert "Multi-channel: tiles from a large image" in labels and "What the foreground weight does" in labels
    at.number_input(key="trainch_tiles_size").set_value(64)
    at.button(key="trainch_tiles_button").click().run()
    assert not at.exception, at.exception
    done = [s.value for s in at.success if "cell tiles" in s.value]
    assert done and int(done[0].split()[0]) > 0
    # a bad recipe: an error naming the position, and the caret under it
    at.text_area(key="trainch_cmp_recipes").set_value("0\nmerge(0,x)")
    at.button(key="trainch_cmp_button").click().run()
    assert any("character 9" in e.value for e in at.error)
    assert any(c.value == "merge(0,x)\n        ^" for c in at.code)
    table = _compare_quickly(at, "0\n3")
    assert list(table["recipe"]) == ["0", "3"]
    assert table[["iou", "f1"]].apply(lambda c: c.between(0, 1)).all().all()


def test_fg_weight_picture_grows_the_foreground_with_the_weight():
    from pages.train_channels import fg_weight_picture

    image = np.zeros((64, 64), np.uint8)
    image[20:44, 20:44] = 200  # one bright square cell
    mask = (image > 0).astype(np.uint8)
    picture, areas, _ = fg_weight_picture(image, mask, "nucleus")
    assert picture.shape == (64, 3 * 64 + 2 * 4, 3)
    assert areas[0] <= areas[1] <= areas[2] and areas[0] < areas[2]


def test_a_quick_recipe_comparison_says_it_cannot_rank_and_names_its_columns():
    import json

    at = _open_train()
    note = " ".join(i.value for i in at.info)
    # before running: the default 2 epochs x 4 batches is a quick check, and the settings that rank recipes
    assert "2 epochs x 4 batches per model is a quick check that your recipes run, not a comparison" in note, note
    assert "at least 6 epochs of 15 batches per model" in note, note
    at.number_input(key="trainch_cmp_epochs").set_value(6)
    at.number_input(key="trainch_cmp_steps").set_value(15).run()
    assert not any("quick check" in i.value for i in at.info)
    table = _compare_quickly(at, "0")
    assert table["iou"].max() < 0.15  # one batch learns nothing: the page must say so
    warning = " ".join(w.value for w in at.warning)
    assert "the runs were too short for the models to learn, so this table cannot rank the recipes" in warning
    # the finished comparison leaves no progress bar above its table
    assert not [p.proto.text for p in at.get("progress")]
    shown = [d for d in at.dataframe if "recipe" in d.value.columns][0]
    columns = json.loads(shown.proto.columns)
    labels = {name: spec.get("label") for name, spec in columns.items()}
    assert labels["arch"] == "network" and labels["recipe"] == "channel recipe"
    assert labels["iou"] == "IoU (mean over held-out images)" and labels["iou_std"] == "IoU spread (sd)"
    assert labels["f1_iqr"] == "instance F1 IQR"
    assert list(shown.value["arch"]) == ["FPN (ResNet-18)"]
