"""The Batch page runs the inventory task on a folder and shows the summary."""
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_batch_page_runs_on_a_server_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_DATA_DIR", str(tmp_path))
    (tmp_path / "exp").mkdir()
    for i in range(2):
        Image.fromarray(np.full((8, 8), i, np.uint8)).save(tmp_path / "exp" / f"a{i}.png")
    (tmp_path / "exp" / "bad.png").write_bytes(b"nope")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/batch.py").run()
    assert not at.exception
    at.radio(key="batch_source").set_value("A folder on this server").run()
    at.text_input(key="batch_dir").set_value("exp").run()
    at.selectbox(key="batch_task").set_value("inventory").run()
    assert any("3 file(s)" in m.value for m in at.markdown)
    at.button(key="batch_start").click().run()
    assert not at.exception
    assert "2 ok, 1 failed" in at.warning[0].value
    assert len(at.dataframe[0].value) == 3
    import zipfile

    zips = []
    real = zipfile.ZipFile
    monkeypatch.setattr(zipfile, "ZipFile", lambda *a, **k: (zips.append(a), real(*a, **k))[1])
    at.run()  # the page shown again (any widget change): the ZIP of all outputs is made on the click only
    assert not at.exception and "2 ok, 1 failed" in at.warning[0].value and zips == []


def test_zip_folder_holds_every_file_under_its_relative_path(tmp_path):
    import io
    import zipfile

    from pages.common import zip_folder

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "t.csv").write_text("x\n1\n")
    (tmp_path / "top.txt").write_bytes(b"\x00\x01")
    with zipfile.ZipFile(io.BytesIO(zip_folder(tmp_path))) as archive:
        assert sorted(archive.namelist()) == ["a/b/t.csv", "top.txt"]
        assert archive.read("a/b/t.csv") == b"x\n1\n" and archive.read("top.txt") == b"\x00\x01"


def test_batch_page_refuses_folders_outside_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/batch.py").run()
    at.radio(key="batch_source").set_value("A folder on this server").run()
    at.text_input(key="batch_dir").set_value("/etc").run()
    assert "outside" in at.error[0].value


def test_batch_page_reports_unfit_files_as_skipped_with_reasons_and_previews_results(tmp_path, monkeypatch):
    import cv2
    import pytest

    from devocore import config
    from devocore.simulate import embryo

    if not (config.SHIPPED_MODEL_DIR / "nucleus").is_dir():
        pytest.skip("no nucleus model")
    monkeypatch.setenv("DEVOCORE_DATA_DIR", str(tmp_path))
    (tmp_path / "exp").mkdir()
    image, mask = embryo.nucleus_slice(3, size=128)
    cv2.imwrite(str(tmp_path / "exp" / "slice.png"), image)
    cv2.imwrite(str(tmp_path / "exp" / "slice_mask.png"), mask.astype(np.uint16))
    Image.fromarray(np.full((32, 32), 7, np.uint8)).save(tmp_path / "exp" / "flat.png")
    (tmp_path / "exp" / "clip.avi").write_bytes(b"RIFF")  # a video: the track task takes it, not this image
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/batch.py").run()
    at.radio(key="batch_source").set_value("A folder on this server").run()
    at.text_input(key="batch_dir").set_value("exp").run()
    at.selectbox(key="batch_task").set_value("track").run()
    assert any("1 file(s) to process; 3 of another kind will be skipped" in m.value for m in at.markdown)
    at.selectbox(key="batch_task").set_value("nucleus").run()
    assert any("4 file(s) to process." in m.value for m in at.markdown)
    assert at.query_params["batch_task"] == "nucleus" and at.query_params["batch_dir"] == "exp"
    at.button(key="batch_start").click().run()
    assert not at.exception
    assert "4 files: 1 ok, 1 failed, 2 skipped (0 already done, 2 not fitting the task)" in at.warning[0].value
    table = at.dataframe[0].value.set_index("file")
    assert table.loc["flat.png", "reason"] == "one value (7) in every pixel: an empty image"
    assert table.loc["slice_mask.png", "reason"].startswith("a label or mask image")
    assert table.loc["slice.png", "status"] == "ok" and table.loc["slice.png", "seconds"].endswith(" s")
    assert any(c.value.startswith("Finished: 4 file(s), 1 processed") for c in at.caption)  # the bar is gone
    assert len(at.get("progress")) == 0
    assert at.subheader[0].value == "Preview of the first 1 result(s)"
    assert len(at.get("image")) == 1


def test_a_membrane_image_run_as_nuclei_is_flagged_and_the_inventory_is_shown_as_a_table(tmp_path, monkeypatch):
    import shutil

    import pytest

    from devocore import config

    if not (config.SHIPPED_MODEL_DIR / "nucleus").is_dir():
        pytest.skip("no nucleus model")
    monkeypatch.setenv("DEVOCORE_DATA_DIR", str(tmp_path))
    (tmp_path / "exp").mkdir()
    for name in ("membrane.png", "nuclei.png"):
        shutil.copy(config.EXAMPLES_DIR / "segmentation" / name, tmp_path / "exp" / name)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/batch.py").run()
    at.radio(key="batch_source").set_value("A folder on this server").run()
    at.text_input(key="batch_dir").set_value("exp").run()
    at.selectbox(key="batch_task").set_value("nucleus").run()
    at.button(key="batch_start").click().run()
    assert not at.exception
    flagged = [w.value for w in at.warning if "need a look" in w.value]
    assert flagged == ["1 file(s) need a look, so their results may be wrong: membrane.png: looks like membranes, not nuclei: "
                       "check the task and the results."]
    table = at.dataframe[0].value.set_index("file")
    assert list(table.columns[:3]) == ["task", "status", "frames"] and "reason" not in table
    assert table.loc["nuclei.png", "note"] == "" and table.loc["membrane.png", "note"].startswith("looks like")
    at.selectbox(key="batch_task").set_value("inventory").run()
    at.button(key="batch_start").click().run()
    width, height = Image.open(tmp_path / "exp" / "membrane.png").size
    first = at.dataframe[1].value  # the preview of membrane.png, the first file
    assert list(first.iloc[0]) == ["size", f"{width} x {height} px"] and first.iloc[1, 1] == "1"
    assert "height" in at.dataframe[0].value.columns  # the inventory's figures are in the summary, not hidden


def test_batch_page_zooms_for_embryos_small_in_a_wide_field(tmp_path, monkeypatch):
    # audit: the check column named the zoom such a file needs, and the page had none to give
    import pytest

    from devocore import config, io
    from tests.test_segmentation_guess import _widened

    if not (config.SHIPPED_MODEL_DIR / "membrane").is_dir():
        pytest.skip("no membrane model")
    monkeypatch.setenv("DEVOCORE_DATA_DIR", str(tmp_path))
    (tmp_path / "exp").mkdir()
    image = io.to_gray(io.read_image(config.EXAMPLES_DIR / "segmentation" / "membrane.png").data)
    Image.fromarray(_widened(image, 2)).save(tmp_path / "exp" / "wide.png")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/batch.py").run()
    at.radio(key="batch_source").set_value("A folder on this server").run()
    at.text_input(key="batch_dir").set_value("exp").run()
    at.selectbox(key="batch_task").set_value("membrane").run()
    at.button(key="batch_start").click().run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("file")
    assert table.loc["wide.png", "instances"] < 7 and "`batch --zoom 2`" in table.loc["wide.png", "note"]
    at.number_input(key="batch_zoom").set_value(2.0).run()
    at.button(key="batch_start").click().run()
    assert not at.exception and at.query_params["batch_zoom"] == "2"  # a shared link keeps it
    table = at.dataframe[0].value.set_index("file")
    assert table.loc["wide.png", "instances"] == 7 and "note" not in table  # all 7 cells, nothing to check
    at.selectbox(key="batch_task").set_value("track").run()
    assert not at.number_input  # tracking takes no zoom
