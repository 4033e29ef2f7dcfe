"""The 10-90 % band's coverage: known answers by hand."""
import numpy as np
import pandas as pd
import pytest

from devocore.forecast import coverage as fcov
from devocore.errors import TableError


def _rows():
    # step 1: truths 0, 5, 1 in bands [-1, 1], [-1, 1], [1, 2] -> 2 of 3 inside (the edge 1 counts)
    # step 2: truths 3, 0 in bands [0, 2], [-1, 1] -> 1 of 2; a NaN truth row is left out
    return pd.DataFrame({"step": [1, 1, 1, 2, 2, 2], "truth": [0.0, 5.0, 1.0, 3.0, 0.0, np.nan],
                         "LSTM_low": [-1.0, -1.0, 1.0, 0.0, -1.0, 0.0], "LSTM_high": [1.0, 1.0, 2.0, 2.0, 1.0, 1.0]})


def test_coverage_overall_and_per_step_by_hand():
    assert fcov.coverage(_rows()) == pytest.approx(3 / 5)
    steps = fcov.coverage_by_step(_rows())
    assert steps["step"].tolist() == [1, 2]
    assert steps["coverage"].tolist() == pytest.approx([2 / 3, 1 / 2])
    assert steps["n"].tolist() == [3, 2]


def test_coverage_of_a_calibrated_gaussian_band_is_near_80_percent_and_not_flagged():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=20000)
    z = 1.2815515655446004  # the 90 % quantile of the standard normal
    rows = pd.DataFrame({"step": 1, "truth": truth, "LSTM_low": -z, "LSTM_high": z})
    value = fcov.coverage(rows)
    assert value == pytest.approx(0.8, abs=0.01)
    assert fcov.coverage_warning(value) is None
    narrow = rows.assign(LSTM_low=-0.65, LSTM_high=0.65)  # P(|x| < 0.65) ~ 0.484
    assert fcov.coverage(narrow) == pytest.approx(0.484, abs=0.01)
    assert "too narrow" in fcov.coverage_warning(fcov.coverage(narrow))


def test_coverage_warning_bounds_and_missing_columns():
    assert fcov.coverage_warning(0.51).startswith("The 10-90 % band holds only 51 %")
    assert fcov.coverage_warning(0.66) is None and fcov.coverage_warning(0.94) is None
    assert "wider" in fcov.coverage_warning(0.99)
    assert "could not be measured" in fcov.coverage_warning(float("nan"))
    with pytest.raises(TableError, match="LSTM_high"):
        fcov.coverage(pd.DataFrame({"truth": [1.0], "LSTM_low": [0.0]}))
