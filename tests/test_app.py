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


def test_the_home_page_says_which_files_are_read_and_how_to_convert_a_microscope_makers_file():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    expander = next(e for e in at.expander if e.label == "Your files: what Devoscope reads")
    text = expander.markdown[0].value
    assert "hyperstacks" in text and "Zeiss CZI" in text and "File > Import > Bio-Formats" in text
    assert "GIF, BMP, WebP" in text
