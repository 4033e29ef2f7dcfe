"""The LSTM forecast page: renders, trains a tiny LSTM on the example and shows the metrics."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_forecast_page_trains_on_the_example_and_marks_the_best_method():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/forecast.py").run()
    assert not at.exception
    at.number_input(key="fc_horizon").set_value(5)
    at.number_input(key="fc_lookback").set_value(12)
    at.number_input(key="fc_epochs").set_value(2)
    at.number_input(key="fc_models").set_value(1)
    at.number_input(key="fc_hidden").set_value(8)
    at.run()
    at.button(key="fc_train").click().run()
    assert not at.exception
    assert not at.error
    table = at.dataframe[0].value
    assert list(table["method"]) == ["LSTM", "persistence", "seasonal naive", "linear AR"]
    assert (table["best"] == "★").sum() == 1
    assert any("best baseline" in m.value for m in at.markdown)


def test_forecast_page_curvature_example_shows_the_travelling_wave_beside_the_baselines():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/forecast.py").run()
    curvature = next(o for o in at.radio(key="fc_source").options if "curvature" in o)
    at.radio(key="fc_source").set_value(curvature).run()
    assert at.selectbox(key="fc_target").value == "segment_050"
    for key, value in (("fc_horizon", 20), ("fc_lookback", 20), ("fc_epochs", 1), ("fc_models", 1), ("fc_hidden", 8)):
        at.number_input(key=key).set_value(value)
    at.run()
    at.button(key="fc_train").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("method")
    assert list(table.index) == ["LSTM", "persistence", "seasonal naive", "linear AR", "travelling wave"]
    # the simulated body wave travels regularly: carried along, it beats every simple baseline
    mae = table["MAE (mean over steps)"]
    assert mae["travelling wave"] < 0.7 * mae[["persistence", "seasonal naive", "linear AR"]].min()
    assert any("travelling wave" in c.value for c in at.caption)


def test_forecast_page_missing_upload_asks_for_a_file():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/forecast.py").run()
    upload = next(o for o in at.radio(key="fc_source").options if o.startswith("Upload"))
    at.radio(key="fc_source").set_value(upload).run()
    assert not at.exception
    assert any("Upload a CSV" in i.value for i in at.info)


def test_forecast_page_reports_each_rolling_fold_and_says_where_the_network_loses():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/forecast.py").run()
    for key, value in (("fc_horizon", 5), ("fc_lookback", 12), ("fc_epochs", 1), ("fc_models", 1), ("fc_hidden", 8),
                       ("fc_folds", 2)):
        at.number_input(key=key).set_value(value)
    at.run()
    at.button(key="fc_train").click().run()
    assert not at.exception and not at.error
    folds = next(d.value for d in at.dataframe if "LSTM / best baseline" in d.value.columns)
    assert list(folds["fold"]) == [1, 2]
    assert any("worst fold" in m.value for m in at.markdown)
    losing = (folds["LSTM / linear AR"] >= 1.0).any()
    assert losing == any("does **not** beat linear AR" in w.value for w in at.warning)


def test_forecast_page_shows_the_band_coverage_beside_its_nominal_value_and_titles_every_axis():
    import json

    from devocore.forecast import coverage as fcov

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/forecast.py")
    # a shared link with these settings (horizon, lookback, epochs, ensemble, hidden units)
    for key, value in (("fc_h", "5"), ("fc_lb", "12"), ("fc_ep", "1"), ("fc_ens", "1"), ("fc_hid", "8")):
        at.query_params[key] = value
    at.run()
    assert at.number_input(key="fc_hidden").value == 8 and at.number_input(key="fc_epochs").value == 1
    at.button(key="fc_train").click().run()
    assert not at.exception and not at.error
    assert not at.get("progress")  # the finished bar is gone
    metrics = {m.label: m.value for m in at.metric}
    shown = next(v for k, v in metrics.items() if k.startswith("10-90 % band"))
    assert metrics["Nominal (what a right band holds)"] == "80 %"
    coverage = int(shown.rstrip(" %")) / 100
    flagged = any("10-90 % band holds" in w.value for w in at.warning)
    assert flagged == (fcov.coverage_warning(coverage) is not None)  # flagged exactly when far from 80 %
    for index, chart in enumerate(at.get("plotly_chart")):
        layout = json.loads(chart.proto.spec)["layout"]
        assert layout["xaxis"].get("title", {}).get("text"), index
        assert layout["yaxis"].get("title", {}).get("text"), index
    captions = " ".join(c.value for c in at.caption)
    assert "Pinball (quantile) loss:" in captions and "AR order:" in captions
    assert at.select_slider(key="fc_origin").format_func(at.select_slider(key="fc_origin").value).startswith("step ")


TINY = (("fc_horizon", 5), ("fc_lookback", 12), ("fc_epochs", 1), ("fc_models", 1), ("fc_hidden", 8))


def _forecast_page_with_tiny_settings() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/forecast.py").run()
    for key, value in TINY:
        at.number_input(key=key).set_value(value)
    return at.run()


def _other_series_csv(time_column: str = "time_s") -> bytes:
    """Another worm: 400 steps, every value x10 (the audit's series_other.csv, shorter), same column names."""
    from devocore import forecast as fc

    frame = fc.example_series(seed=3, n_steps=400, fps=25.0)
    values = [c for c in frame.columns if c != "time_s"]
    frame[values] = frame[values] * 10
    if time_column != "time_s":
        frame = frame.rename(columns={"time_s": time_column}).assign(**{time_column: range(400)})
    return frame.to_csv(index=False).encode()


def _origin_labels(at: AppTest) -> list[str]:
    return list(at.select_slider(key="fc_origin").options)  # as the slider shows them (formatted)


def test_a_forecast_is_shown_only_for_the_data_it_was_made_on():
    at = _forecast_page_with_tiny_settings()
    at.button(key="fc_train").click().run()
    assert not at.exception and not at.error
    assert _origin_labels(at)[-1].startswith("step 19")  # the example's 2000 steps
    # another series with the same columns: every setting is unchanged, only the data differ
    upload = next(o for o in at.radio(key="fc_source").options if o.startswith("Upload"))
    at.radio(key="fc_source").set_value(upload).run()
    at.get("file_uploader")[0].set_value(("series_other.csv", _other_series_csv(), "text/csv"))
    at.run()
    assert not at.exception and not at.error
    assert any(c.value.startswith("400 time steps") for c in at.caption)
    # the example's forecast is not presented as this file's: no table, origin slider, plot or download
    assert not [s for s in at.select_slider if s.key == "fc_origin"]
    assert not at.dataframe and not at.get("plotly_chart") and not at.get("download_button")
    note = " ".join(i.value for i in at.info)
    assert "built-in example" in note and "Train and forecast" in note and "series_other.csv" in note
    at.button(key="fc_train").click().run()
    assert not at.exception and not at.error
    assert _origin_labels(at)[-1].startswith("step 39")  # now the file's own forecast (400 steps)
    # back to the example: the file's forecast is not shown as the example's either
    at.radio(key="fc_source").set_value(at.radio(key="fc_source").options[0]).run()
    assert not at.exception and not [s for s in at.select_slider if s.key == "fc_origin"]
    assert any("series_other.csv" in i.value for i in at.info)


def test_forecast_page_gives_times_and_lengths_in_the_time_columns_unit():
    import json
    import re

    at = _forecast_page_with_tiny_settings()
    captions = " ".join(c.value for c in at.caption)
    assert "2000 time steps, step 0.04 s (80 s in all)" in captions
    assert "Horizon 5 steps (0.2 s); lookback 12 steps (0.48 s)." in captions
    at.button(key="fc_train").click().run()
    assert not at.exception and not at.error
    line = next(m.value for m in at.markdown if "best baseline" in m.value)
    assert "horizon 5 steps (0.2 s)" in line and "lookback 12 steps (0.48 s)" in line
    assert re.search(r"period \d+ steps \(\d+(\.\d+)? s\)", line)
    labels = _origin_labels(at)
    assert all(re.fullmatch(r"step \d+ \(\d+\.\d\d s\)", label) for label in labels), labels[:3]
    assert labels[0] == "step 1400 (55.96 s)"  # the first test origin of the example (70 % training part)
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["xaxis"]["title"]["text"] == "time (s)"


def test_a_time_column_without_a_unit_keeps_its_name_and_steps_get_no_seconds():
    import json
    import re

    at = _forecast_page_with_tiny_settings()
    upload = next(o for o in at.radio(key="fc_source").options if o.startswith("Upload"))
    at.radio(key="fc_source").set_value(upload).run()
    at.get("file_uploader")[0].set_value(("frames.csv", _other_series_csv("frame"), "text/csv"))
    at.run()
    assert not at.exception and not at.error
    assert any(c.value.startswith("400 time steps, step 1, ") for c in at.caption)
    at.button(key="fc_train").click().run()
    assert not at.exception and not at.error
    line = next(m.value for m in at.markdown if "best baseline" in m.value)
    assert "horizon 5 steps ·" in line and "lookback 12 steps ·" in line
    assert all(re.fullmatch(r"step (\d+) \(frame (\d+)\)", label) for label in _origin_labels(at))
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["xaxis"]["title"]["text"] == "frame"


def test_a_tracking_table_offers_the_longest_moving_worm_first_in_number_order():
    import pandas as pd

    # a time stamp's digits (worms 2 and 10, followed in every frame, in place) and a crawling worm seen in fewer
    rows = [{"frame": f, "time_s": f / 25, "worm": 3, "area_px": 400.0, "centroid_x": 3.0 * f, "centroid_y": 50.0,
             "speed_px_s": 75.0 + f % 5} for f in range(0, 120, 2)]
    rows += [{"frame": f, "time_s": f / 25, "worm": w, "area_px": 100.0, "centroid_x": 20.0 * w, "centroid_y": 180.0,
              "speed_px_s": 0.0} for w in (2, 10) for f in range(120)]
    at = _forecast_page_with_tiny_settings()
    upload = next(o for o in at.radio(key="fc_source").options if o.startswith("Upload"))
    at.radio(key="fc_source").set_value(upload).run()
    at.get("file_uploader")[0].set_value(("track.csv", pd.DataFrame(rows).to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception and not at.error
    worms = at.selectbox(key="fc_worm")
    assert list(worms.options) == ["2", "3", "10"] and worms.value == "3"
