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
