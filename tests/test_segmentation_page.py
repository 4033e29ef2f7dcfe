"""The segmentation page, through AppTest, on its example."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devocore import registry, ui_cache

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
    ui_cache.models_table.clear()  # the model list is cached per process; an earlier test may have listed others
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
    assert at.slider(key="seg_frame").min == 1 and at.slider(key="seg_frame").max == 4
    assert any("numbered from 1 to 4" in c.value for c in at.caption)
    at.slider(key="seg_frame").set_value(2).run()
    assert not at.exception and "in slice 2 of 4" in at.subheader[0].value
    assert at.query_params["seg_frame"] == "2"
    # the last slice is 4 (not 3), and a single image afterwards drops back to no slider
    at.slider(key="seg_frame").set_value(4).run()
    assert "in slice 4 of 4" in at.subheader[0].value
    at.selectbox(key="seg_example").set_value("Simulated nuclei (seed 1)").run()
    assert not at.exception and len(at.slider) == 1  # the threshold only


def test_a_hyperstacks_planes_are_named_by_time_point_and_slice(tiny_models):
    import io as _io

    import numpy as np
    import tifffile

    buffer = _io.BytesIO()
    planes = np.random.default_rng(0).integers(0, 200, (2, 3, 64, 64), np.uint8)
    tifffile.imwrite(buffer, planes, imagej=True, metadata={"axes": "TZYX"})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_model").set_value(tiny_models).run()
    at.radio(key="seg_source").set_value("Upload").run()
    at.file_uploader(key="seg_upload").set_value(("embryo.tif", buffer.getvalue(), "image/tiff")).run()
    at.slider(key="seg_frame").set_value(4).run()
    assert not at.exception
    assert at.slider(key="seg_frame").label == "Plane" and at.slider(key="seg_frame").max == 6
    assert any(c.value.startswith("Plane 4 is time point 2, slice 1 (2 time points of 3 slices)") for c in at.caption)
    assert at.subheader[0].value.endswith("in time point 2, slice 1")


def test_segmentation_table_hides_um2_without_a_pixel_size_and_shows_it_with_one(tiny_models):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_model").set_value(tiny_models).run()
    at.slider(key="seg_threshold").set_value(0.05).run()  # an untrained model: a low threshold gives instances
    table = at.dataframe[0].value
    assert "area_um2" not in table.columns and "area_px" in table.columns
    assert any("Set the pixel size" in c.value for c in at.caption)
    at.number_input(key="seg_pixel_size").set_value(0.5).run()
    table = at.dataframe[0].value
    assert "area_um2" in table.columns
    if len(table):
        assert (table["area_um2"] == table["area_px"] * 0.25).all()
    assert at.query_params["seg_px"] == "0.5"


def test_segmentation_page_shows_the_models_measured_accuracy_beside_its_baseline(tmp_path, monkeypatch):
    from devocore import nets

    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    record = {"data": "held-out slices (5 images)", "iou": 0.61, "baseline_iou": 0.55, "f1": 0.7,
              "baseline_f1": 0.8, "baseline": "otsu"}
    card = {"task": "segmentation", "target": "nucleus", "architecture": "fpn",
            "config": {"encoder": "resnet18", "in_channels": 1, "classes": 1}, "input_size": 64,
            "metrics": {"sim_val_iou": 0.99, "eval_slices": record}}
    registry.save_model(nets.build("fpn"), tmp_path / "measured-nuc", card)
    ui_cache.models_table.clear()  # the model list is cached per process; this model is new
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_model").set_value("measured-nuc").run()
    assert not at.exception
    assert at.expander[0].label == "How accurate is this model?"
    shown = at.expander[0].dataframe[0].value
    assert shown["model"].tolist() == [0.61, 0.7]  # the training-time figure (0.99) is not offered as accuracy
    assert shown["baseline"].tolist() == [0.55, 0.8]


def test_segmentation_page_picks_the_model_that_fits_each_input_and_remembers_a_choice_per_input():
    """Nuclei get the nucleus model and membranes the membrane model without touching the menu; a model the
    user picks for one input stays with that input only. A membrane model on nuclei gets a warning."""
    if not {"nucleus", "membrane"} <= {m["name"] for m in ui_cache.models_table("segmentation")}:
        pytest.skip("the shipped nucleus and membrane models are not here")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()

    def pick(example):
        at.selectbox(key="seg_example").set_value(example).run()
        assert not at.exception
        return at.selectbox(key="seg_model").value

    assert pick("nuclei.png") == "nucleus"
    assert at.subheader[0].value.endswith("nuclei") and int(at.subheader[0].value.split()[0]) >= 5
    assert not at.warning
    assert pick("membrane.png") == "membrane"
    assert pick("nuclei_stack.tif") == "nucleus"
    assert pick("Simulated membranes (seed 1)") == "membrane"
    assert pick("nuclei.png") == "nucleus"
    at.selectbox(key="seg_model").set_value("membrane").run()  # the user insists, for this image
    assert at.selectbox(key="seg_model").value == "membrane"
    assert "looks like nuclei" in at.warning[0].value  # the page says the model does not fit the image
    assert pick("nuclei_stack.tif") == "nucleus"  # another input: its own fitting model
    assert pick("nuclei.png") == "membrane"  # back: the choice made for this image is remembered


def test_a_mask_uploaded_instead_of_its_image_gets_a_warning(tiny_models):
    """Batch skips a mask or an empty image; the page segments what it is given, and says what it is."""
    import io as _io

    import numpy as np
    from PIL import Image

    def png(array):
        buffer = _io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        return buffer.getvalue()

    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 255
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_model").set_value(tiny_models).run()
    assert not [w for w in at.warning if "microscope image" in w.value]  # the bundled example is one
    at.radio(key="seg_source").set_value("Upload").run()
    at.file_uploader(key="seg_upload").set_value(("nuclei_mask.png", png(mask), "image/png")).run()
    assert not at.exception
    assert [w.value for w in at.warning][:1] == [
        "This image does not look like a fluorescence microscope image: only two values (0 and 255): a binary mask, "
        "not a microscope image. Its segmentation likely means nothing."]


def test_segmentation_page_gives_a_multichannel_model_the_image_channels(tmp_path, monkeypatch):
    """A model whose card has a channel recipe sees the colour planes (the page's grey view would lose them)."""
    import numpy as np
    from PIL import Image

    from devocore import channels, nets
    from pages import common

    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path / "models"))
    card = {"task": "segmentation", "target": "nucleus", "architecture": "fpn",
            "config": {"encoder": "resnet18", "in_channels": 1, "classes": 1}, "input_size": 64,
            "training_data": "test", "training_command": "test", "metrics": {}, "channels": channels.text("2")}
    registry.save_model(nets.build("fpn"), tmp_path / "models" / "blue-only", card)
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[20:40, 20:40, 2] = 200  # a blue nucleus: channel 2 of 3
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    monkeypatch.setattr(common, "examples", lambda kind: {"colour.png": tmp_path / "colour.png"})
    ui_cache.models_table.clear()  # the model list is cached per process; this model is new
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_model").set_value("blue-only").run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.subheader and at.subheader[0].value.split()[1] in ("nuclei", "cells", "nucleus", "cell")


def _stack_page(monkeypatch, whole_mb: int):
    """The page on the stack example, slice 2 shown, then every plane's downloads prepared."""
    from devocore import config

    monkeypatch.setattr(config, "PAGE_WHOLE_MB", whole_mb)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_example").set_value("nuclei_stack.tif").run()
    at.slider(key="seg_frame").set_value(2).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = (at.subheader[0].value, at.dataframe[0].value.round(3).to_csv())
    large = at.session_state["_seg_large"][1] if "_seg_large" in at.session_state else None
    decoded = None if large is None else large.image._lazy.decoded
    at.button(key="seg_all").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at, shown, large, decoded


def test_a_large_stack_is_read_plane_by_plane_and_gives_what_a_small_one_gives(monkeypatch):
    """Issue #31: a stack over config.PAGE_WHOLE_MB is never decoded whole: the page reads the planes it shows
    (and those that vote on nuclei or membranes), streams every plane once for the downloads, and shows and
    counts exactly what the whole-stack path does."""
    if "nucleus" not in {m["name"] for m in ui_cache.models_table("segmentation")}:
        pytest.skip("the shipped nucleus model is not here")
    at, shown, large, _ = _stack_page(monkeypatch, 256)  # 16 x 128 x 128: decoded whole
    assert large is None
    whole = [s.value for s in at.success]
    at, shown_large, large, decoded = _stack_page(monkeypatch, 0)  # the same stack taken as large
    assert len(large) == 16 and decoded <= 7  # 5 voting planes and the two shown (slice 1, then 2), not 16
    assert any("is large" in c.value for c in at.caption)
    assert shown_large == shown and "in slice 2 of 16" in shown[0]
    assert [s.value for s in at.success] == whole and "over 16 planes" in whole[0]
    assert large.image._lazy.decoded == decoded + 1 + 16  # the rerun showed slice 2, the downloads streamed 16


def test_result_files_too_large_for_the_browser_are_named_with_the_command_that_writes_them(monkeypatch):
    """Issue #31: a download is held whole in the server's memory, so a file over config.PAGE_DOWNLOAD_MB gets
    no download button but a warning naming it and the `segment` command (here the limit is 0 MB: every file)."""
    from devocore import config

    if "nucleus" not in {m["name"] for m in ui_cache.models_table("segmentation")}:
        pytest.skip("the shipped nucleus model is not here")
    monkeypatch.setattr(config, "PAGE_DOWNLOAD_MB", 0)
    at, *_ = _stack_page(monkeypatch, 256)
    warning = " ".join(w.value for w in at.warning)
    assert "Too large to download through the browser" in warning and "labels.tif" in warning
    assert "python -m devocore segment nucleus nuclei_stack.tif --out results/" in warning
    assert not [b for b in at.get("download_button") if "Download labels.tif" in str(b.proto.label)]


def test_the_channel_chosen_for_an_image_whose_channels_differ_is_the_one_segmented():
    """Before, a two-channel image was segmented as the mean of its channels, without a word or a choice."""
    import io as _io

    import numpy as np
    import tifffile

    if "nucleus" not in {m["name"] for m in ui_cache.models_table("segmentation")}:
        pytest.skip("the shipped nucleus model is not here")
    from devocore.simulate.examples import example

    yy, xx = np.mgrid[:256, :256]
    nuclei = np.random.default_rng(0).poisson(8, (256, 256)).astype(float)
    for cy, cx in ((70, 70), (80, 190), (190, 120)):
        nuclei += 150 * (((yy - cy) ** 2 + (xx - cx) ** 2) < 20 ** 2)
    buffer = _io.BytesIO()
    tifffile.imwrite(buffer, np.stack([example("membrane", 1)[0], nuclei.clip(0, 255).astype(np.uint8)]),
                     imagej=True, metadata={"axes": "CYX"})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.radio(key="seg_source").set_value("Upload").run()
    at.file_uploader(key="seg_upload").set_value(("two.tif", buffer.getvalue(), "image/tiff")).run()
    assert not at.exception
    menu = at.selectbox(key="seg_channel")  # the channel of nuclei by default, each named by what it shows
    assert menu.value == "2" and menu.options == ["channel 1: membranes", "channel 2: nuclei", "mean of the channels"]
    assert at.selectbox(key="seg_model").value == "nucleus" and at.subheader[0].value == "3 nuclei"
    at.selectbox(key="seg_channel").set_value("mean").run()
    assert not at.exception and at.query_params["seg_channel"] == "mean"
    assert any("has 2 channels that differ; their mean is segmented" in c.value for c in at.caption)
    at.selectbox(key="seg_channel").set_value("1").run()
    assert not at.exception and at.selectbox(key="seg_model").value == "membrane"  # the model follows the channel


def test_the_pixel_size_a_tiff_states_gives_the_areas_in_square_micrometres(tiny_models):
    import io as _io

    import numpy as np
    import tifffile

    buffer = _io.BytesIO()
    plane = np.random.default_rng(0).integers(0, 200, (64, 64), np.uint8)
    tifffile.imwrite(buffer, plane, imagej=True, resolution=(4.0, 4.0), metadata={"unit": "um"})  # 0.25 um/px
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    at.selectbox(key="seg_model").set_value(tiny_models).run()
    at.radio(key="seg_source").set_value("Upload").run()
    at.file_uploader(key="seg_upload").set_value(("calibrated.tif", buffer.getvalue(), "image/tiff")).run()
    assert not at.exception
    assert any(c.value.startswith("The file states 0.25 µm per pixel; areas use it") for c in at.caption)
    assert "area_um2" in at.dataframe[0].value.columns


def test_an_embryo_small_in_a_wide_field_gets_a_warning_with_the_crop():
    import io as _io

    import numpy as np
    from PIL import Image

    from devocore import io
    from devocore.config import EXAMPLES_DIR

    image = io.to_gray(io.read_image(EXAMPLES_DIR / "segmentation" / "membrane.png").data)
    wide = np.full((512, 512), int(np.percentile(image, 10)), np.uint8)
    wide[128:384, 128:384] = image
    buffer = _io.BytesIO()
    Image.fromarray(wide).save(buffer, format="PNG")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/segmentation.py").run()
    assert not [w for w in at.warning if "wide" in w.value]  # the bundled example fills its field
    at.radio(key="seg_source").set_value("Upload").run()
    at.file_uploader(key="seg_upload").set_value(("wide.png", buffer.getvalue(), "image/png")).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and warnings[0].startswith("This image shows the embryo in about 5")
    assert "Image > Crop" in warnings[0] and "`segment --zoom 2`" in warnings[0]
    found = next(h.value for h in at.subheader if h.value.endswith("cells"))
    at.number_input(key="seg_zoom").set_value(2.0).run()  # the zoom the note names
    assert not at.exception and not [w for w in at.warning if "Crop" in w.value]
    assert next(h.value for h in at.subheader if h.value.endswith("cells")) == "7 cells" != found
    assert at.query_params["seg_zoom"] == "2"  # a shared link keeps it
