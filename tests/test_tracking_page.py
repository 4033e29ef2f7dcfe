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


def zip_of_16_bit_frames(n_frames=24) -> bytes:
    """Simulated worms as 16-bit TIFFs (12-bit range, with an offset) in a ZIP, named frame_1.tif, frame_2.tif, ..."""
    import io
    import zipfile

    import tifffile

    from devocore.simulate.worm import simulate_video

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, frame in enumerate(simulate_video(seed=3, n_frames=n_frames, n_worms=2, size=(240, 320)).frames(), 1):
            tif = io.BytesIO()
            tifffile.imwrite(tif, frame.astype(np.uint16) * 16 + 100)
            archive.writestr(f"worms/frame_{i}.tif", tif.getvalue())
    return buffer.getvalue()


def overlay_offered(at) -> bool:
    return any("overlay" in b.label for b in at.get("download_button"))


def test_tracking_page_keeps_the_overlay_with_its_input_and_tells_a_guessed_frame_rate():
    # audit: after rendering the example's overlay, a ZIP upload still offered "Download the overlay video" (the
    # example's); the ZIP's guessed 25 fps went only to the server log; 16-bit frames gave 7 worms, not 2
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Frame rate"] == "25 fps" and "Frames per second processed" not in metrics  # the video's own
    assert not at.warning
    assert any(c.value.startswith("Processing speed: ") and "frames/s" in c.value for c in at.caption)
    at.button(key="trk_render").click().run()
    assert overlay_offered(at)

    at.radio(key="trk_source").set_value("Upload a ZIP of frames").run()
    at.file_uploader(key="trk_zip").set_value(("worms16.zip", zip_of_16_bit_frames(), "application/zip")).run()
    assert not at.exception and not at.error
    assert not overlay_offered(at)  # the example's overlay is not this input's
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Worms"] == "2" and metrics["Coiled / touching rows"] == "0 / 0"  # 16-bit frames tracked right
    assert metrics["Frame rate (assumed)"] == "25 fps"
    assert any("No frame rate in these files: 25 fps assumed; set it in Settings" in w.value for w in at.warning)
    # frames keep the numbers of their names; their times (number / fps) are explained, as the CSV has them
    assert any("the first frame, 1, is at 0.04 s" in c.value for c in at.caption)
    assert any(img.caption.startswith("Frame 1 (0.04 s)") for e in at.get("image") for img in e.proto.imgs)
    assert at.dataframe[0].value["time_s"].iloc[0] == 0.04
    at.button(key="trk_render").click().run()
    assert overlay_offered(at)

    at.radio(key="trk_source").set_value("Example (simulated worms)").run()
    assert not overlay_offered(at)  # the ZIP's overlay is not the example's
    at.button(key="trk_render").click().run()
    assert overlay_offered(at)
    at.number_input(key="trk_px_per_mm").set_value(10.0).run()
    assert not at.exception
    assert not overlay_offered(at)  # drawn with other settings


def test_tracking_page_shows_a_dash_for_cells_without_a_value_and_says_why():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    assert not at.exception and not at.error
    table = at.dataframe[0]
    assert table.value["head_x"].isna().any()  # the example has touching worms
    assert table.proto.placeholder == "–"  # not a grey "None"
    assert any("– = no value: coiled and touching worms have no midline" in c.value for c in at.caption)


def test_tracking_page_warns_when_the_objects_followed_are_not_worms():
    # audit: a ZIP of an embryo movie's frames was tracked as hundreds of "worms" without a word
    import io
    import zipfile

    import cv2

    from tests.test_tracking import round_blob_frames

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, frame in enumerate(round_blob_frames(), 1):
            archive.writestr(f"embryo/t{i:03d}.png", cv2.imencode(".png", frame)[1].tobytes())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    at.radio(key="trk_source").set_value("Upload a ZIP of frames").run()
    at.file_uploader(key="trk_zip").set_value(("embryo.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception and not at.error
    assert any(w.value.startswith("The objects followed are not worm-shaped") for w in at.warning)


def test_a_tiff_stack_uploaded_as_the_video_is_tracked_as_the_same_frames_in_a_video_are():
    # before, the page took videos and ZIPs of frames only, though `track` reads a microscope's TIFF stack
    import io

    import tifffile

    from devocore import tracking
    from devocore.simulate.worm import simulate_video

    frames = list(simulate_video(seed=3, n_frames=40, n_worms=2, size=(240, 320)).frames())
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.stack(frames), imagej=True, metadata={"axes": "TYX"})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    at.radio(key="trk_source").set_value("Upload a video").run()
    at.file_uploader(key="trk_video").set_value(("worms.tif", buffer.getvalue(), "image/tiff")).run()
    assert not at.exception and not at.error
    expected = tracking.track_frames(iter(frames), tracking.TrackConfig())
    shown = {m.label: m.value for m in at.metric}
    assert shown["Frames"] == "40" and shown["Worms"] == str(expected.table["worm"].nunique()) == "2"
    at.button(key="trk_render").click().run()  # the overlay video is drawn from the stack's frames
    assert not at.exception and any("overlay" in b.label for b in at.get("download_button"))


def test_frames_tracked_shrunk_say_so_and_keep_the_original_pixels():
    import io
    import zipfile

    import cv2

    from devocore.tracking import synthetic

    frames, _ = synthetic.clip(n_frames=30, n_worms=1, seed=3, speed=3.0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # 4x: worms about 35 px wide, as at high magnification
        for i, frame in enumerate(frames):
            big = cv2.resize(frame, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
            archive.writestr(f"wide/{i:03d}.png", cv2.imencode(".png", big)[1].tobytes())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    assert not any("Tracked at" in c.value for c in at.caption)  # the example is tracked at its own size
    at.radio(key="trk_source").set_value("Upload a ZIP of frames").run()
    at.file_uploader(key="trk_zip").set_value(("wide.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Worms"] == "1"
    assert any("Tracked at 4" in c.value and "original pixels" in c.value for c in at.caption)


def test_frames_tracked_enlarged_say_why():
    import io
    import zipfile

    import cv2

    from devocore import io as dio
    from devocore.config import EXAMPLES_DIR

    buffer = io.BytesIO()
    with dio.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as source, zipfile.ZipFile(buffer, "w") as archive:
        for i, frame in enumerate(source):  # 0.2x: worms about 4 px wide, as over a whole plate
            small = cv2.resize(frame, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
            archive.writestr(f"thin/{i:03d}.png", cv2.imencode(".png", small)[1].tobytes())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    at.radio(key="trk_source").set_value("Upload a ZIP of frames").run()
    at.file_uploader(key="trk_zip").set_value(("thin.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception and not at.error
    assert any("Tracked at 2" in c.value and "thinner than 4.5 px are tracked enlarged" in c.value for c in at.caption)


def test_frames_that_show_nothing_are_named_on_the_page():
    import io

    import tifffile

    from devocore.simulate.worm import simulate_video

    frames = list(simulate_video(seed=3, n_frames=30, n_worms=2, size=(240, 320)).frames())
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.stack([np.zeros_like(frames[0])] * 4 + frames), imagej=True, metadata={"axes": "TYX"})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/tracking.py").run()
    at.radio(key="trk_source").set_value("Upload a video").run()
    at.file_uploader(key="trk_video").set_value(("shutter.tif", buffer.getvalue(), "image/tiff")).run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Worms"] == "2"
    notes = [i.value for i in at.info if "show nothing to track" in i.value]
    assert len(notes) == 1 and notes[0].startswith("4 of 34 frames") and "frames 1-4" in notes[0]  # numbered as the table shows them
