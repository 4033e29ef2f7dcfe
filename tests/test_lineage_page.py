"""The lineage page runs on its example, with a tiny model saved by the test."""
from pathlib import Path

import numpy as np
import torch
from streamlit.testing.v1 import AppTest

from devocore import nets, registry

ROOT = Path(__file__).resolve().parents[1]


def _save_tiny_model(folder: Path) -> None:
    t = np.arange(60, dtype=float)
    lin = np.stack([np.minimum(2 * 2 ** (t / 10), 256), 1 + t // 20, t // 6, (t > 20) * 1.0, t // 8, t // 20,
                    2.0 * (t > 40)], axis=1).round()
    net = nets.build("resnet18-lineage", in_channels=1, curve_len=60)
    net.stage_curves.copy_(torch.from_numpy(np.concatenate([lin.sum(1, keepdims=True), lin], 1)).float())
    registry.save_model(net, folder / "lineage-test", {
        "task": "lineage", "architecture": "resnet18-lineage", "config": {"in_channels": 1, "curve_len": 60},
        "input_size": 48})


def test_lineage_page_runs_on_the_example(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    _save_tiny_model(tmp_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/lineage.py").run()
    assert not at.exception
    at.sidebar.selectbox(key="lin_model").set_value("lineage-test").run()
    assert not at.exception
    assert not at.error
    assert len(at.get("plotly_chart")) == 1
    assert at.metric[0].label == "Total cells"
    slider = at.slider(key="lin_frame")
    slider.set_value(slider.max).run()
    assert not at.exception
    # the example's true populations are compared: an error table is shown
    assert any("nMAE" in h.value for h in at.subheader)
    assert len(at.get("download_button")) == 1
    # every other method runs on the page
    for method in ("stage", "net"):
        at.sidebar.selectbox(key="lin_method").set_value(method).run()
        assert not at.exception and not at.error, method
        assert len(at.get("plotly_chart")) == 1



def _page_with_tiny_model(tmp_path, monkeypatch):
    """The lineage page on a tiny saved model; (the AppTest, the input radio)."""
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    _save_tiny_model(tmp_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/lineage.py").run()
    at.sidebar.selectbox(key="lin_model").set_value("lineage-test").run()
    inputs = at.radio(key="lin_source")
    return at, inputs


def test_bundled_movie_is_compared_with_its_populations_and_the_csv_is_not_offered_as_a_movie(tmp_path, monkeypatch):
    at, inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    assert "populations.csv" not in inputs.options and "timelapse.mp4" in inputs.options
    inputs.set_value("timelapse.mp4").run()
    assert not at.exception and not at.error
    assert any("nMAE" in h.value for h in at.subheader)


def test_real_example_is_shown_with_its_exact_populations_and_a_stage_band(tmp_path, monkeypatch):
    at, inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    assert "embryo_timelapse.mov" in inputs.options
    assert "embryo_timelapse_populations.csv" not in inputs.options
    inputs.set_value("embryo_timelapse.mov").run()
    assert not at.exception and not at.error
    assert any("display only" in c.value for c in at.caption)
    assert any("nMAE" in h.value and "207 frames" in h.value for h in at.subheader)  # frames 4-210 annotated
    assert any("(baseline 0." in h.value for h in at.subheader)  # the error stands beside its baseline
    assert any(m.label.startswith("Stage") for m in at.metric)


def test_lineage_chart_comes_first_with_plain_log_ticks_and_a_legend_beside_the_plot(tmp_path, monkeypatch):
    import json

    at, _inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    assert not at.exception and not at.error
    def walk(node):  # the page's elements in the order they are drawn
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    types = [getattr(e, "type", "") for e in walk(at.main)]
    assert types.index("plotly_chart") < types.index("metric")  # the chart is drawn before the frame's numbers
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    axis = spec["layout"]["yaxis"]
    plain = ["1", "2", "5", "10", "20", "50", "100", "200", "500", "1000"]
    assert axis["type"] == "log" and axis["ticktext"] == plain[:len(axis["ticktext"])]
    assert len(axis["ticktext"]) >= 5 and axis["tickvals"] == [int(t) for t in axis["ticktext"]]
    assert spec["layout"]["legend"]["x"] > 1  # right of the plot, not over an axis title
    names = [t["name"] for t in spec["data"] if t.get("showlegend", True)]
    assert len(names) <= 11 and "annotated (dotted)" in names  # one entry per lineage, not two
    assert any("numbered from 1" in c.value for c in at.caption)
    assert not at.get("progress")  # the finished progress bar is gone


def _stage_and_line(at: AppTest) -> tuple[float, float, float]:
    """(the Stage figure shown for the chosen frame, the fitted line's offset and rate from its caption)."""
    import re

    stage = float(next(m.value for m in at.metric if m.label.startswith("Stage")))
    line = next(re.search(r"stage = (-?[\d.]+) \+ ([\d.]+) x frame", c.value) for c in at.caption
                if c.value.startswith("Fitted time line"))
    return stage, float(line.group(1)), float(line.group(2))


def test_the_fitted_time_line_gives_the_stage_shown_for_the_frame(tmp_path, monkeypatch):
    at, _inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    assert not at.exception and not at.error
    slider = at.slider(key="lin_frame")
    for frame in (slider.min, slider.max):  # frame 1 and the last one: the line counts from the same zero
        slider.set_value(frame).run()
        stage, offset, rate = _stage_and_line(at)
        assert abs(offset + rate * frame - stage) <= 1, (frame, stage, offset, rate)


def _annotation_csv() -> bytes:
    rows = ["frame,A,E,M,P,C,D,Z"] + [f"{k},{min(2 ** (k // 8 + 1), 64)},1,1,1,1,1,0" for k in range(1, 41)]
    return ("\ufeff" + "\n".join(rows).replace(",", ";") + "\n").encode()  # as a spreadsheet saves it


def test_the_caption_says_the_dotted_curves_are_ones_own_annotation_once_it_is_uploaded(tmp_path, monkeypatch):
    at, inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    inputs.set_value("timelapse.mp4").run()
    assert any("true populations (`populations.csv`) are drawn dotted" in c.value for c in at.caption)
    at.file_uploader(key="lin_labels").set_value(("mine.csv", _annotation_csv(), "text/csv")).run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "drawn dotted: your annotation (`mine.csv`), not its true populations (`populations.csv`)" in captions
    assert "are drawn dotted" not in captions
    assert any("nMAE" in h.value and "40 frames" in h.value for h in at.subheader)  # compared with the upload


def test_the_no_embryo_warning_names_the_frames_in_plain_words(tmp_path, monkeypatch):
    from devocore import lineage

    predict = lineage.predict

    def some_frames_empty(*args, **kwargs):
        result = predict(*args, **kwargs)
        result.table.loc[[2, 3, 4, 8], "embryo"] = False  # frames 3-5 and 9, as numbered on the page
        return result

    monkeypatch.setattr(lineage, "predict", some_frames_empty)
    at, _inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    assert not at.exception and not at.error
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("Frames 3-5, 9 (4 of 48) show no embryo: the picture is black, empty or only noise")
    assert "is False" not in warning


def test_a_result_that_is_not_fluorescence_of_nuclei_is_shown_with_its_warning(tmp_path, monkeypatch):
    import dataclasses

    from devocore import lineage

    predict = lineage.predict
    said = "The movie does not look like fluorescence of an embryo's nuclei: a binary mask (test)."
    monkeypatch.setattr(lineage, "predict", lambda *a, **k: dataclasses.replace(predict(*a, **k), unfit=said))
    at, _inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [said]  # the example itself gets no such warning (the test above)


def test_the_page_says_which_channel_of_a_multichannel_tiff_it_took_and_takes_the_one_chosen(tmp_path, monkeypatch):
    import io

    import tifffile

    from devocore.simulate import epic_movie as em

    curves = np.ones((60, 8)) * np.arange(1, 61)[:, None]  # toy populations: enough for a few nuclei a frame
    shots = em.toy_snapshots(curves, n_frames=10, seed=3)
    grey = np.stack([np.asarray(f) if np.ndim(f) == 2 else np.asarray(f)[..., 1] for f in em.render_movie(shots, 1)])
    dark = np.random.default_rng(0).integers(0, 12, grey.shape).astype(grey.dtype)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.stack([dark, grey], axis=1), imagej=True, metadata={"axes": "TCYX"})
    at, inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    inputs.set_value("Upload").run()
    at.file_uploader(key="lin_upload").set_value([("two_channels.tif", buffer.getvalue(), "image/tiff")]).run()
    assert not at.exception and not at.error
    [note] = [i.value for i in at.info if "channel" in i.value]  # (the toy movie is over-exposed, too)
    assert note.startswith("The frames have 2 channels; channel 2 was taken as the nuclei")
    at.sidebar.selectbox(key="lin_channel").set_value("1").run()
    assert not at.exception and at.query_params["lin_channel"] == "1"
    assert not [i.value for i in at.info if "channel" in i.value]


def _page_on_a_grey_movie(tmp_path, monkeypatch, frames: int, seed: int, shape):
    """The lineage page with a grey toy movie (``frames`` frames lying left to right, reshaped by ``shape``) uploaded
    as a TIFF stack; the AppTest."""
    import io

    import tifffile

    from devocore.simulate import epic_movie as em

    curves = np.ones((60, 8)) * np.arange(1, 61)[:, None]
    shots = em.toy_snapshots(curves, n_frames=frames, seed=seed)
    grey = np.stack([np.asarray(f)[..., 1] for f in em.render_movie(shots, seed)])
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, shape(grey))
    at, inputs = _page_with_tiny_model(tmp_path, monkeypatch)
    inputs.set_value("Upload").run()
    at.file_uploader(key="lin_upload").set_value([("movie.tif", buffer.getvalue(), "image/tiff")]).run()
    assert not at.exception and not at.error
    return at


def test_an_upright_embryo_is_counted_turned_the_page_says_so_and_the_turn_can_be_switched_off(tmp_path, monkeypatch):
    at = _page_on_a_grey_movie(tmp_path, monkeypatch, 10, 0,
                               lambda grey: np.ascontiguousarray(np.rot90(grey, axes=(1, 2))))  # upright
    [note] = [i.value for i in at.info]
    assert note.startswith("The embryo's long axis is tilted 8") and "turned back" in note
    at.sidebar.checkbox(key="lin_turn").uncheck().run()
    assert not at.exception and not at.info and at.query_params["lin_turn"] == "0"


def test_of_two_embryos_the_page_counts_the_largest_says_which_and_can_count_the_whole_field(tmp_path, monkeypatch):
    at = _page_on_a_grey_movie(tmp_path, monkeypatch, 15, 0, lambda grey: np.concatenate(
        [grey, np.zeros((len(grey), grey.shape[1], 60), grey.dtype), grey[:, ::-1]], axis=2))  # two, 60 px apart
    [note] = [i.value for i in at.info]
    assert note.startswith("The field shows 2 embryos apart from each other; only the largest was counted")
    at.sidebar.checkbox(key="lin_largest").uncheck().run()
    assert not at.exception and not at.info and at.query_params["lin_largest"] == "0"
