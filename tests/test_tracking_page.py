"""The worm tracking page runs on its example and shows results."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_tracking_page_tracks_the_example_and_renders_the_overlay():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    assert not at.exception
    assert not at.error
    assert any(m.label == "Worms" and int(m.value) >= 1 for m in at.metric)
    assert at.slider(key="trk_frame") is not None
    at.slider(key="trk_frame").set_value(20).run()
    assert not at.exception
    at.button(key="trk_render").click().run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert any("overlay" in label for label in labels)
    assert any("CSV" in label for label in labels)


def test_tracking_page_without_upload_asks_for_one():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/tracking.py").run()
    at.radio(key="trk_source").set_value("Upload a video").run()
    assert not at.exception
    assert any("Upload a file" in i.value for i in at.info)
