"""The app's shell: the home page renders and lists the views."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_home_page_renders_without_exception():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Devoscope"
    assert any("Device:" in c.value for c in at.sidebar.caption)


def test_the_sidebar_lists_the_models_a_user_runs_not_the_gans_measuring_encoder():
    from devocore import config

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    listed = next(c.value for c in at.sidebar.caption if c.value.startswith("Models:"))
    assert "fid_encoder" not in listed
    if (config.SHIPPED_MODEL_DIR / "nucleus").is_dir():
        assert "nucleus v" in listed
