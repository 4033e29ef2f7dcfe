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


def test_forecast_page_missing_upload_asks_for_a_file():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/forecast.py").run()
    at.radio(key="fc_source").set_value(at.radio(key="fc_source").options[1]).run()
    assert not at.exception
    assert any("Upload a CSV" in i.value for i in at.info)
