"""The forecast engine: split without leaks, baselines with known answers, training, reading series."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from devocore import forecast as fc
from devocore.errors import MissingColumnsError, TableError

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(hidden=8, epochs=3, n_models=1, patience=2)


def sine_frame(n=400, period=40, noise=0.0, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"time_s": t / 10.0, "x": np.sin(2 * np.pi * t / period) + noise * rng.standard_normal(n)})


def ar2_series(n=4000, a1=0.6, a2=-0.3, sigma=0.5, seed=1):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = a1 * y[t - 1] + a2 * y[t - 2] + sigma * rng.standard_normal()
    return y


def wave_frame(n=1200, segments=20, seed=0, noise=0.02):
    """Curvature along a body: a wave that speeds up, slows down and reverses (known speed at every step)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    velocity = 0.25 * np.sin(2 * np.pi * t / 500) + 0.05  # segments per step
    position = np.cumsum(velocity)
    s = np.arange(segments)
    k = np.sin(2 * np.pi * (s[None, :] - position[:, None]) / 16) + noise * rng.standard_normal((n, segments))
    frame = pd.DataFrame({"time_s": t / 100, **{f"segment_{i:02d}": k[:, i] for i in s}})
    return frame, velocity


def test_wave_speed_is_measured_from_the_past_only_and_follows_reversals():
    frame, velocity = wave_frame(noise=0.0)
    profiles = frame.drop(columns="time_s").to_numpy()
    v = fc.wave_velocity(profiles, window=5, band=4)
    middle = slice(4, 16)
    for t in (100, 300, 480, 700):  # forward, slowing, backward, forward again
        assert np.median(v[t, middle]) == pytest.approx(velocity[t - 2], abs=0.02)
    # nothing after step t changes the speed at t, or the forecast made at t
    changed = profiles.copy()
    changed[601:] = 5.0
    np.testing.assert_array_equal(fc.wave_velocity(changed, 5, 4)[:601], v[:601])
    weights = np.eye(20)[10]
    a = fc.wave_forecast(profiles, np.array([600]), 20, weights, window=5, band=4)
    b = fc.wave_forecast(changed, np.array([600]), 20, weights, window=5, band=4)
    np.testing.assert_array_equal(a, b)
    # on the noise-free wave the forecast 20 steps ahead is close to the truth
    assert np.abs(a[0] - profiles[601:621, 10]).max() < 0.1


def test_a_body_axis_gives_the_travelling_wave_row_and_the_lstm_starts_from_it():
    frame, _ = wave_frame()
    result = fc.forecast(frame, fc.ForecastConfig(target="segment_10", horizon=20, **TINY))
    rows = result.metrics.set_index("method")["mae"]
    assert result.base_method == f"{fc.WAVE} + linear AR" and result.wave_window in fc.WAVE_WINDOWS
    assert rows[fc.WAVE] < 0.7 * rows[list(fc.BASELINES)].min()
    # the base leans on the wave, which validates far better than AR here: weights in [0, 1], mostly wave
    assert result.wave_weight.shape == (20,) and np.all((result.wave_weight >= 0) & (result.wave_weight <= 1))
    assert result.wave_weight.mean() > 0.7
    assert rows["LSTM"] < 0.8 * rows[list(fc.BASELINES)].min()
    summary = result.summary()
    assert summary["base"] == result.base_method and summary["best_baseline"] in fc.BASELINES
    assert len(summary["wave_weight_per_step"]) == 20
    assert summary["ratio_to_travelling_wave"] == pytest.approx(rows["LSTM"] / rows[fc.WAVE])
    assert fc.WAVE in result.forecasts.columns
    # a series without segment columns has no wave: the LSTM starts from the linear AR forecast
    plain = fc.forecast(sine_frame(n=300, period=30, noise=0.1), fc.ForecastConfig(target="x", horizon=5, **TINY))
    assert plain.base_method == "linear AR" and fc.WAVE not in set(plain.metrics["method"])
    assert "ratio_to_travelling_wave" not in plain.summary()


def test_the_wave_weight_per_step_is_the_least_squares_blend_clipped_to_0_1():
    rng = np.random.default_rng(0)
    origins = np.arange(200)
    ar = rng.normal(size=(200, 3))
    wave = rng.normal(size=(200, 3))
    # step 1: the truth is the wave; step 2: halfway; step 3: beyond the AR side (clipped to 0)
    truth = np.stack([wave[:, 0], 0.5 * (ar[:, 1] + wave[:, 1]), ar[:, 2] - 0.3 * (wave[:, 2] - ar[:, 2])], axis=1)
    messages = []
    blended, weight = fc.blend_with_wave(lambda o: ar[o], lambda o: wave[o], origins, truth, 1.0, messages)
    np.testing.assert_allclose(weight, [1.0, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(blended(origins)[:, :2], truth[:, :2], atol=1e-12)
    assert "blend" in messages[0]


def test_the_convex_combination_of_two_forecasts_is_the_clipped_blend_and_drops_a_useless_third():
    from devocore.forecast.combination import combine, convex_weights

    rng = np.random.default_rng(1)
    origins = np.arange(300)
    ar, wave, noise = (rng.normal(size=(300, 3)) for _ in range(3))
    truth = np.stack([wave[:, 0], 0.3 * ar[:, 1] + 0.7 * wave[:, 1], ar[:, 2] - 0.3 * (wave[:, 2] - ar[:, 2])], axis=1)
    _, blend = fc.blend_with_wave(lambda o: ar[o], lambda o: wave[o], origins, truth, 1.0, [])
    weights = convex_weights(np.stack([ar, wave]), truth)
    np.testing.assert_allclose(weights[:, 1], blend, atol=1e-6)
    np.testing.assert_allclose(weights[:, 1], [1.0, 0.7, 0.0], atol=1e-6)
    combined, named = combine({"linear AR": lambda o: ar[o], "wave": lambda o: wave[o], "noise": lambda o: noise[o]},
                              origins, truth)
    np.testing.assert_allclose(named["noise"][:2], 0.0, atol=0.05)
    np.testing.assert_allclose(combined(origins)[:, 0], truth[:, 0], atol=0.15)


def test_online_weights_use_only_outcomes_observed_at_the_origin_and_follow_the_better_method():
    from devocore.forecast.combination import online_combination

    rng = np.random.default_rng(2)
    origins, horizon = np.arange(200), 3
    truth = rng.normal(size=(200, horizon))
    good_then_bad = truth + np.r_[np.full(100, 0.05), np.full(100, 1.0)][:, None] * rng.normal(size=truth.shape)
    bad_then_good = truth + np.r_[np.full(100, 1.0), np.full(100, 0.05)][:, None] * rng.normal(size=truth.shape)
    members = np.stack([good_then_bad, bad_then_good])
    combined, weights = online_combination(members, truth, origins, half_life=5)
    assert weights[0, 90].min() > 0.95 and weights[1, 190].min() > 0.95  # the recently better method leads
    # row 150's step h may use the outcomes of rows j <= 150 - h only: changing row 148's truth (its step 3
    # lands after origin 150) and every later one leaves step 3 of row 150 as it was, but not step 1
    changed = truth.copy()
    changed[148:] += 10.0
    again, _ = online_combination(members, changed, origins, half_life=5)
    assert again[150, 2] == combined[150, 2]
    assert again[150, 0] != combined[150, 0]
    np.testing.assert_array_equal(again[:148], combined[:148])


def test_online_weighting_in_a_forecast_never_reads_values_after_the_origin(monkeypatch):
    from devocore.forecast import evaluate

    monkeypatch.setattr(evaluate, "ONLINE_HALF_LIFE", 5.0)
    base = sine_frame(n=300, period=30, noise=0.1)
    config = fc.ForecastConfig(target="x", horizon=5, lookback=20, **TINY)
    _, test_start = fc.split_points(len(base), config)
    cut = test_start + 30
    other = base.copy()
    other.loc[cut + 1:, "x"] = 7.0  # values after step `cut` differ
    a, b = fc.forecast(base, config), fc.forecast(other, config)
    known_a, known_b = (r.forecasts[r.forecasts["origin"] <= cut] for r in (a, b))
    for column in ["LSTM", "LSTM_low", "LSTM_high", "LSTM_network", "linear AR"]:
        np.testing.assert_allclose(known_a[column], known_b[column], rtol=1e-9)
    later = a.forecasts["origin"] > cut + 5
    assert not np.allclose(a.forecasts.loc[later, "LSTM"], b.forecasts.loc[later, "LSTM"])
    # the weighting moves the network's forecast towards linear AR, never outside the two
    f = a.forecasts
    low, high = np.minimum(f["LSTM_network"], f["linear AR"]), np.maximum(f["LSTM_network"], f["linear AR"])
    assert np.all((f["LSTM"] >= low - 1e-9) & (f["LSTM"] <= high + 1e-9))
    monkeypatch.undo()  # off (the product's default): the forecast is the network's, with no extra column
    plain = fc.forecast(base, config).forecasts
    assert "LSTM_network" not in plain
    np.testing.assert_allclose(plain["LSTM"], f["LSTM_network"], rtol=1e-9)


def test_split_never_leaks_a_constant_test_part_changes_nothing_before_it():
    base = sine_frame(n=300, period=30, noise=0.1)
    config = fc.ForecastConfig(target="x", horizon=5, lookback=20, **TINY)
    _, test_start = fc.split_points(len(base), config)
    constant, other = base.copy(), base.copy()
    constant.loc[test_start:, "x"] = 7.0  # far outside the training range
    other.loc[test_start:, "x"] = np.random.default_rng(3).normal(-5, 3, len(base) - test_start)
    a = fc.forecast(constant, config)
    b = fc.forecast(other, config)
    # same losses, period, AR order: nothing after the split was used for fitting or choosing
    pd.testing.assert_frame_equal(a.loss_curves, b.loss_curves)
    assert (a.period, a.ar_order, a.lookback) == (b.period, b.ar_order, b.lookback)
    # the first test origin sees only training data: identical forecasts there
    first_a = a.forecasts[a.forecasts["origin"] == test_start - 1]
    first_b = b.forecasts[b.forecasts["origin"] == test_start - 1]
    for column in ["LSTM", "LSTM_low", "LSTM_high", "persistence", "seasonal naive", "linear AR"]:
        np.testing.assert_allclose(first_a[column], first_b[column], rtol=1e-6)
    # every target of the metrics lies in the test part, and persistence is exact inside a constant part
    assert a.forecasts["origin"].min() == test_start - 1
    assert (a.forecasts["origin"] + a.forecasts["step"]).min() == test_start
    inside = a.forecasts[a.forecasts["origin"] >= test_start]
    assert np.all(inside["truth"] == 7.0) and np.all(inside["persistence"] == 7.0)


def test_split_never_leaks_with_a_body_axis():
    frame, _ = wave_frame(n=900)
    config = fc.ForecastConfig(target="eigenworm_1", eigenworms=2, horizon=10, lookback=20, **TINY)
    _, test_start = fc.split_points(len(frame), config)
    constant, other = frame.copy(), frame.copy()
    segments = [c for c in frame.columns if c.startswith("segment")]
    constant.loc[test_start:, segments] = 3.0
    other.loc[test_start:, segments] = np.random.default_rng(4).normal(0, 2, (len(frame) - test_start, 20))
    a, b = fc.forecast(constant, config), fc.forecast(other, config)
    pd.testing.assert_frame_equal(a.loss_curves, b.loss_curves)
    assert (a.base_method, a.wave_window) == (b.base_method, b.wave_window)
    np.testing.assert_array_equal(a.wave_weight, b.wave_weight)
    first_a = a.forecasts[a.forecasts["origin"] == test_start - 1]
    first_b = b.forecasts[b.forecasts["origin"] == test_start - 1]
    for column in ["LSTM", "linear AR", fc.WAVE]:
        np.testing.assert_allclose(first_a[column], first_b[column], rtol=1e-6)


def test_persistence_on_a_sine_gives_the_analytic_error():
    period, horizon = 50, 10
    y = np.sin(2 * np.pi * np.arange(5000) / period)
    origins = np.arange(100, 4900)
    truth = fc.truth_windows(y, origins, horizon)
    mae, _ = fc.errors_per_step(fc.persistence_forecast(y, origins, horizon), truth)
    # E|sin(w(t+h)) - sin(wt)| over a uniform phase = 2 |sin(w h / 2)| * 2 / pi
    expected = 4 / np.pi * np.abs(np.sin(np.pi * np.arange(1, horizon + 1) / period))
    np.testing.assert_allclose(mae, expected, rtol=0.01)


def test_ar_on_a_sine_is_exact_and_seasonal_naive_too():
    w = 2 * np.pi / 25
    y = np.sin(w * np.arange(600))
    coef = fc.fit_ar(y, 2)
    np.testing.assert_allclose(coef, [0.0, 2 * np.cos(w), -1.0], atol=1e-8)
    origins = np.arange(50, 500)
    truth = fc.truth_windows(y, origins, 30)
    assert np.max(np.abs(fc.ar_forecast(y, coef, origins, 30) - truth)) < 1e-6
    assert fc.dominant_period(y) == 25
    assert np.max(np.abs(fc.seasonal_naive_forecast(y, origins, 30, 25) - truth)) < 1e-9


def test_ar_recovers_an_ar2_process_and_its_one_step_error():
    y = ar2_series()
    coef = fc.fit_ar(y[:3000], 2)
    np.testing.assert_allclose(coef[1:], [0.6, -0.3], atol=0.04)
    origins = np.arange(3000, 3990)
    mae, _ = fc.errors_per_step(fc.ar_forecast(y, coef, origins, 3), fc.truth_windows(y, origins, 3))
    assert mae[0] == pytest.approx(0.5 * np.sqrt(2 / np.pi), rel=0.08)  # noise sigma * sqrt(2/pi)
    assert mae[0] < mae[1] <= mae[2] * 1.05


def test_a_few_training_steps_reduce_the_loss():
    frame = sine_frame(n=400, period=40, noise=0.05)
    config = fc.ForecastConfig(target="x", horizon=5, lookback=20, hidden=16, epochs=8, patience=8, n_models=1)
    result = fc.forecast(frame, config)
    curve = result.loss_curves
    assert curve["train_loss"].iloc[-1] < 0.7 * curve["train_loss"].iloc[0]
    assert curve["val_mae"].min() < curve["val_mae"].iloc[0]


def test_pinball_loss_is_zero_at_the_truth_and_positive_elsewhere():
    target = torch.zeros(2, 3)
    assert float(fc.pinball_loss(torch.zeros(2, 3, 3), target)) == 0.0
    assert float(fc.pinball_loss(torch.ones(2, 3, 3), target)) > 0.0


def test_irregular_time_is_resampled_with_a_message():
    t = np.array([0.0, 0.1, 0.2, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    frame = pd.DataFrame({"time": t, "x": 2 * t, "label": ["a"] * len(t)})
    series = fc.to_series(frame)
    assert series.step == pytest.approx(0.1)
    np.testing.assert_allclose(series.frame["time"], np.arange(12) * 0.1, atol=1e-9)  # mean step 1.1 / 11
    np.testing.assert_allclose(series.frame["x"], 2 * series.frame["time"], atol=1e-9)
    assert any("resampled" in m for m in series.messages)
    assert any("non-numeric" in m for m in series.messages)
    assert "label" not in series.frame


def test_rows_out_of_time_order_are_sorted_with_a_message():
    t = np.arange(40) * 0.1
    ordered = fc.to_series(pd.DataFrame({"time": t, "x": np.sin(t)}))
    shuffled = fc.to_series(pd.DataFrame({"time": t, "x": np.sin(t)}).sample(frac=1, random_state=0))
    pd.testing.assert_frame_equal(shuffled.frame.reset_index(drop=True), ordered.frame.reset_index(drop=True))
    assert not any("time order" in m for m in ordered.messages)
    [said] = [m for m in shuffled.messages if "time order" in m]  # before, sorted without a word
    assert said.startswith("The rows were not in time order (") and said.endswith("they were sorted by it.")


def test_a_table_of_many_objects_at_each_time_is_refused_and_a_few_repeated_times_are_dropped(tmp_path, capsys):
    # audit: an EPIC cell table (17,278 rows at 129 times) was forecast as one series after "Dropped 17149 row(s)
    # with a repeated time": the first cell listed at each time, a different cell from one step to the next
    from devocore.cli import main
    from devocore.config import EXAMPLES_DIR
    from devocore.errors import TableError

    t = np.arange(40) * 0.1
    few = pd.DataFrame({"time": np.r_[t, t[:3]], "x": np.r_[np.sin(t), [9.0, 9.0, 9.0]]})
    series = fc.to_series(few)  # 3 repeats in 43 rows: dropped, the first row of each time kept
    assert len(series.frame) == 40 and "Dropped 3 row(s) with a repeated time." in series.messages
    cells = pd.DataFrame({"time": np.repeat(t, 5), "x": np.arange(200.0)})
    with pytest.raises(TableError, match="holds 200 rows at only 40 distinct times"):
        fc.to_series(cells)
    assert main(["forecast", str(EXAMPLES_DIR / "pca" / "embryo_cells_sim1.csv"), "--target", "x", "--horizon", "5",
                 "--out", str(tmp_path / "f")]) == 2
    assert "a table of many objects at each time (cells, worms), not one time series" in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def test_rows_where_tracking_lost_the_worm_are_filled_flagged_and_never_scored():
    frame, _ = wave_frame(n=600, segments=10)
    gaps = [(100, 130), (480, 500)]  # one gap in the training part, one in the test part
    for start, stop in gaps:
        frame.iloc[start:stop, 1:] = np.nan  # every segment empty: the worm was not tracked there
    frame["speed"] = np.where((np.arange(600) >= 440) & (np.arange(600) < 450), np.nan, 1.0)
    series = fc.to_series(frame)
    assert list(series.frame.columns) == list(frame.columns)  # 8 % empty cells do not make a column "text"
    assert np.flatnonzero(series.filled["segment_05"]).tolist() == [*range(100, 130), *range(480, 500)]
    assert np.flatnonzero(series.filled["speed"]).tolist() == list(range(440, 450))
    assert any("in 60 of 600 rows (longest gap 30 rows)" in m for m in series.messages)
    assert not series.frame.isna().any().any()

    result = fc.forecast(series, fc.ForecastConfig(target="segment_05", horizon=5, lookback=20, **TINY))
    rows = result.forecasts
    unscored = rows["truth"].isna()
    assert set(rows.loc[unscored, "origin"] + rows.loc[unscored, "step"]) == set(range(480, 500))  # not speed's
    lstm = result.metrics.set_index("method").loc["LSTM", "mae"]
    per_step = (rows.LSTM - rows.truth).abs().groupby(rows.step).mean()  # pandas skips the unscored rows
    assert lstm == pytest.approx(per_step.mean())


def test_a_column_mostly_empty_is_ignored_and_a_table_of_such_columns_refused():
    x = np.sin(np.arange(100) / 5.0)
    sparse = np.where(np.arange(100) % 3 == 0, x, np.nan)  # 66 of 100 rows empty
    series = fc.to_series(pd.DataFrame({"time_s": np.arange(100) / 10, "x": x, "y": sparse}))
    assert "y" not in series.frame and any("y (66%)" in m for m in series.messages)
    with pytest.raises(MissingColumnsError, match="'y'.*empty in more than 50%"):
        fc.forecast(series, fc.ForecastConfig(target="y", horizon=5, **TINY))
    with pytest.raises(TableError, match="every numeric column is empty"):
        fc.to_series(pd.DataFrame({"time_s": np.arange(100) / 10, "y": sparse}))


def test_regular_series_is_left_alone_and_row_number_used_without_time():
    series = fc.to_series(pd.DataFrame({"x": np.arange(20.0)}))
    assert series.time_column == "step" and len(series.frame) == 20
    assert not any("resampled" in m for m in series.messages)


def test_missing_target_names_the_columns():
    with pytest.raises(MissingColumnsError, match="'nope'.*x"):
        fc.forecast(sine_frame(), fc.ForecastConfig(target="nope", horizon=5, **TINY))
    with pytest.raises(MissingColumnsError, match="eigenworms"):
        fc.forecast(sine_frame(), fc.ForecastConfig(target="eigenworm_1", horizon=5, **TINY))
    # `track` writes curvature_deg and speed_px_s: the name without its unit is matched to them
    tracked = sine_frame().rename(columns={"x": "curvature_deg"})
    with pytest.raises(MissingColumnsError, match=r"^No column 'curvature' in the series \(did you mean "
                                                  r"'curvature_deg'\?\)"):
        fc.forecast(tracked, fc.ForecastConfig(target="curvature", horizon=5, **TINY))


def test_too_short_series_is_a_clear_error():
    with pytest.raises(TableError, match="too short"):
        fc.forecast(sine_frame(n=60), fc.ForecastConfig(target="x", horizon=20, lookback=30, **TINY))


def test_eigenworms_and_input_compression_are_fitted_on_training_rows():
    rng = np.random.default_rng(0)
    n, t = 500, np.arange(500)
    shapes = np.stack([np.sin(np.linspace(0, np.pi, 20) * 2 + p) for p in (0, 1.3)], axis=1)
    amplitudes = np.stack([np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 50)], axis=1)
    segments = amplitudes @ shapes.T + 0.01 * rng.standard_normal((n, 20))
    frame = pd.DataFrame(segments, columns=[f"segment_{i:03d}" for i in range(20)])
    frame.insert(0, "time_s", t / 100)
    result = fc.forecast(frame, fc.ForecastConfig(target="eigenworm_1", eigenworms=2, horizon=5, lookback=25,
                                                  **TINY))
    assert any("Eigenworms" in m for m in result.messages)
    assert any("compressed" in m for m in result.messages)
    assert len(result.input_columns) == fc.ForecastConfig(target="x").max_inputs
    assert result.period == 50


def test_rolling_folds_fit_each_fold_on_its_past_only_and_pool_the_errors():
    base = sine_frame(n=300, period=30, noise=0.1)
    config = fc.ForecastConfig(target="x", horizon=5, lookback=20, folds=2, **TINY)
    bounds = fc.fold_bounds(len(base), config)
    assert bounds == [(210, 255), (255, 300)]
    changed = base.copy()
    changed.loc[bounds[1][0]:, "x"] = 9.0  # fold 2 changed; fold 1 and its past are not
    a, b = fc.forecast(base, config), fc.forecast(changed, config)
    assert [f["fold"] for f in a.folds] == [1, 2]
    fold1_a, fold1_b = (r.forecasts[r.forecasts["fold"] == 1] for r in (a, b))
    for column in ["LSTM", "persistence", "linear AR"]:
        np.testing.assert_allclose(fold1_a[column], fold1_b[column], rtol=1e-6)
    assert a.folds[0]["ratio_to_best_baseline"] == pytest.approx(b.folds[0]["ratio_to_best_baseline"])
    for fold, (start, end) in zip(a.folds, bounds):
        rows = a.forecasts[a.forecasts["fold"] == fold["fold"]]
        targets = rows["origin"] + rows["step"]
        assert targets.min() == start and targets.max() == end - 1  # every target inside its own fold
        assert fold["origins"] == end - start - config.horizon + 1
    # the pooled MAE is the MAE over all (origin, step) pairs of all folds
    for method in ("LSTM", "linear AR"):
        pooled = float(np.mean(np.abs(a.forecasts[method] - a.forecasts["truth"])))
        assert a.metrics.set_index("method").loc[method, "mae"] == pytest.approx(pooled)
    summary = a.summary()
    assert summary["worst_fold_ratio"] == max(summary["fold_ratios"]) and len(summary["fold_ratios"]) == 2
    with pytest.raises(TableError, match="folds"):
        fc.forecast(base, fc.ForecastConfig(target="x", horizon=30, lookback=20, folds=5, **TINY))


def test_cli_prints_metrics_and_json(tmp_path):
    path = tmp_path / "series.csv"
    sine_frame(n=300, period=30, noise=0.05).to_csv(path, index=False)
    out = tmp_path / "forecast.csv"
    proc = subprocess.run([sys.executable, "-m", "devocore", "forecast", str(path), "--target", "x", "--horizon", "5",
                           "--lookback", "15", "--epochs", "2", "--models", "1", "--hidden", "8", "--out", str(out),
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("mae", "best_baseline", "best_baseline_mae", "ratio_to_best_baseline"):
        assert key in figures
    assert figures["ratio_to_best_baseline"] == pytest.approx(figures["mae"] / figures["best_baseline_mae"])
    assert "persistence" in proc.stdout and "linear AR" in proc.stdout
    table = pd.read_csv(out)
    assert {"origin", "step", "truth", "LSTM", "LSTM_low", "LSTM_high", "persistence"} <= set(table.columns)
    # without --out the figures are printed and nothing is written (the scoreboard left forecast.csv in the project)
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = subprocess.run([sys.executable, "-m", "devocore", "forecast", str(path), "--target", "x", "--horizon", "5",
                           "--lookback", "15", "--epochs", "2", "--models", "1", "--hidden", "8"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "pass --out FILE.csv to keep the forecasts" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_missing_target_is_one_line_exit_2(tmp_path):
    path = tmp_path / "series.csv"
    sine_frame().to_csv(path, index=False)
    proc = subprocess.run([sys.executable, "-m", "devocore", "forecast", str(path), "--target", "nope", "--horizon",
                           "5", "--out", str(tmp_path / "f.csv")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1


def test_tracking_table_uses_one_worm_and_skips_identifier_columns():
    n = 60
    rows = []
    for worm, frames in ((0, range(0, n)), (1, range(0, n, 3))):
        for f in frames:
            rows.append({"frame": f, "time_s": f / 25, "worm": worm, "status": "ok",
                         "head_tail_distance": 80 + worm + np.sin(f / 5), "speed_px_s": 10.0 + f % 7})
    table = pd.DataFrame(rows)
    series = fc.to_series(table)
    assert len(series.frame) == n and series.time_column == "time_s"
    assert list(series.frame.columns) == ["time_s", "head_tail_distance", "speed_px_s"]
    assert any("2 worms" in m for m in series.messages)
    other = fc.to_series(table, worm=1)
    assert len(other.frame) == 20 and other.frame["head_tail_distance"].iloc[0] == pytest.approx(81.0)
    with pytest.raises(MissingColumnsError, match="no worm 7"):
        fc.to_series(table, worm=7)


def test_the_worm_forecast_by_default_is_the_longest_track_that_moves():
    # audit: on `track`'s table of a clip with a time stamp drawn in, the forecast took a digit (worm 2, followed in
    # all 120 frames) over the crawling worm (93 rows: coiled in the others): ties and near-ties went to what stood still
    n = 60
    rows = [{"frame": f, "time_s": f / 25, "worm": 1, "area_px": 400.0, "centroid_x": 3.0 * f, "centroid_y": 50.0,
             "speed_px_s": 75.0} for f in range(0, n, 2)]
    rows += [{"frame": f, "time_s": f / 25, "worm": w, "area_px": 100.0, "centroid_x": 200.0 + 20 * w + f % 2 * 0.5,
              "centroid_y": 180.0, "speed_px_s": 0.0} for w in (2, 3) for f in range(n)]
    table = pd.DataFrame(rows)
    rows, message = fc.pick_worm(table)
    assert set(rows["worm"]) == {1}
    assert message == ("The table holds 3 worms; worm 1 (30 rows, the longest track that moves; worms 2, 3 stay in "
                       "place) is used.")
    standing = table[table["worm"] > 1]  # nothing moves: the longest track, as before
    assert fc.pick_worm(standing)[1] == "The table holds 2 worms; worm 2 (60 rows, the longest track) is used."


def test_a_time_column_not_in_the_table_names_the_near_one():
    table = pd.DataFrame({"time_s": [0.0, 0.04, 0.08], "curvature_deg": [1.0, 2.0, 3.0]})
    with pytest.raises(MissingColumnsError, match=r"no time column 'time' \(did you mean 'time_s'\?\)"):
        fc.to_series(table, time_column="time")
