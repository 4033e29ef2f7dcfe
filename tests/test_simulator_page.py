"""The Simulator page: generates an embryo and worms, shows them, offers downloads."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def _page(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/simulator.py").run()
    return at


def test_simulator_page_shows_an_embryo_with_downloads():
    at = _page(sim_frames="40", sim_size="128")
    assert not at.exception
    assert not at.error
    labels = [b.label for b in at.get("download_button")]
    assert "Cell table (EPIC CSV)" in labels and "Populations (CSV)" in labels
    assert len(at.get("image")) == 5  # time-lapse frame, nuclei, their masks, membrane, its masks
    assert len(at.get("plotly_chart")) == 2


def test_simulator_page_builds_the_zip_and_moves_the_frame():
    at = _page(sim_frames="30", sim_size="128")
    at.slider(key="sim_t").set_value(10).run()
    assert not at.exception
    at.button(key="sim_zip_go").click().run()
    assert not at.exception
    assert "Download the ZIP" in [b.label for b in at.get("download_button")]


def test_simulator_page_shows_worms():
    at = _page(sim_kind="Worms", simw_frames="10")
    assert not at.exception
    assert "Truth (CSV)" in [b.label for b in at.get("download_button")]


def test_simulator_link_restores_frame_and_slice_and_worm_frames_count_from_1():
    at = _page(sim_frames="30", sim_size="128", sim_seed="5", sim_t="12", sim_z="-3.5", sim_reporter="MS")
    assert not at.exception
    assert at.number_input(key="sim_seed").value == 5 and at.selectbox(key="sim_reporter").value == "MS"
    assert at.slider(key="sim_t").value == 12 and at.slider(key="sim_z").value == -3.5
    assert any(c.value.startswith("Frames are numbered from 1 to 30") for c in at.caption)
    at.slider(key="sim_z").set_value(2.0).run()
    assert at.query_params["sim_z"] == "2"

    at = _page(sim_kind="Worms", simw_frames="10", simw_worms="3", simw_t="4")
    assert not at.exception
    assert at.slider(key="simw_t").value == 4
    truth = at.dataframe[0].value
    assert set(truth["frame"]) == {4} and sorted(truth["worm"]) == [1, 2, 3]
    assert any(c.value.startswith("Frames and worms are numbered from 1 here and in the Truth CSV") for c in at.caption)


def test_every_download_button_has_its_own_label():
    at = _page(sim_frames="20", sim_size="128")
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert len(labels) == len(set(labels)), labels  # nuclei and membranes: one "Masks" button each, told apart
    assert "Nucleus masks (16-bit PNG)" in labels and "Cell masks (16-bit PNG)" in labels


def test_the_truth_picture_numbers_the_worms_from_1_like_the_table(monkeypatch):
    from devocore.simulate import worm

    drawn = []
    original = worm.draw_truth

    def spy(frame, rows):
        drawn.append(sorted(int(w) for w in rows["worm"]))  # the numbers draw_truth writes beside each worm
        return original(frame, rows)

    monkeypatch.setattr(worm, "draw_truth", spy)
    at = _page(sim_kind="Worms", simw_frames="10", simw_worms="3", simw_t="2")
    assert not at.exception
    assert drawn and drawn[-1] == [1, 2, 3] == sorted(at.dataframe[0].value["worm"])
