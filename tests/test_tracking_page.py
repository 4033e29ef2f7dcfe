"""The worm tracking page runs on its example and shows results."""
from pathlib import Path

import numpy as np

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
    assert not at.get("progress")  # the finished bars are gone
    labels = [b.label for b in at.get("download_button")]
    assert any("overlay" in label for label in labels)
    assert any("CSV" in label for label in labels)


def test_tracking_page_without_upload_asks_for_one():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/tracking.py").run()
    at.radio(key="trk_source").set_value("Upload a video").run()
    assert not at.exception
    assert any("Upload a file" in i.value for i in at.info)


def test_tracking_page_numbers_frames_from_1_and_shows_units_and_rounded_positions():
    import json

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    assert not at.exception and not at.error
    assert not at.get("progress")  # the finished bar is gone
    slider = at.slider(key="trk_frame")
    assert slider.min == 1 and slider.value == 1
    table = at.dataframe[0].value
    assert table["frame"].min() == 1 and table["worm"].min() == 1
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["head_x"] == {"label": "head x (px)", "type_config": {"type": "number", "format": "%.1f"}}
    assert config["speed_px_s"]["label"] == "speed (px/s)"
    assert any("numbered from 1" in c.value for c in at.caption)
    # the CSV offered on the page uses the same numbering
    csv = next(b for b in at.get("download_button") if "CSV" in b.proto.label)
    assert csv is not None
    # the frame shown is the one asked for: frame 1 is the first frame, at 0 s
    assert any(img.caption.startswith("Frame 1 (0.00 s)") for e in at.get("image") for img in e.proto.imgs)
    # a shared link restores the frame and the worms
    at2 = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at2.switch_page("pages/tracking.py")
    at2.query_params["trk_frame"] = "7"
    at2.query_params["trk_worms"] = "2"
    at2.run()
    assert at2.slider(key="trk_frame").value == 7 and at2.multiselect(key="trk_worms").value == [2]
    assert any(img.caption.startswith("Frame 7 (0.24 s)") for e in at2.get("image") for img in e.proto.imgs)


def test_tracking_page_keeps_the_table_not_the_frames():
    """What a visit leaves in the session: the result's table and frame numbers, a small share of the decoded
    example (150 frames of 640 x 480 RGB, 138 MB), whatever the profile."""
    from devocore.ui_cache import size_of

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    assert not at.exception and not at.error
    (result,) = at.session_state["_trk_results"].values()
    decoded = result.n_frames * result.shape[0] * result.shape[1] * 3
    assert result.n_frames == 150 and decoded > 100 * 2**20
    assert size_of(result) < 2 * 2**20  # the table (300 rows with midlines) and small arrays only
    assert sorted(k for k, v in vars(result).items() if isinstance(v, np.ndarray)) == ["frame_numbers"]
