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


def test_batch_page_refuses_folders_outside_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/batch.py").run()
    at.radio(key="batch_source").set_value("A folder on this server").run()
    at.text_input(key="batch_dir").set_value("/etc").run()
    assert "outside" in at.error[0].value
