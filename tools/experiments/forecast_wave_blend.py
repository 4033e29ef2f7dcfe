"""Which base should the LSTM start from when a series has a body axis? A design study, no test data.

For each series and target, the series is split as `devocore.forecast` splits it (fit, validation, test in
time order; train fraction 0.7, validation = last 20 % of the training part) and four forecasts are scored
on its test part, as ratios to the best simple baseline (persistence or linear AR), at horizon H:
- `AR`: the linear AR forecast (order chosen on validation);
- `wave`: the travelling-wave forecast (its window chosen on validation);
- `hard`: whichever of the two has the lower validation MAE;
- `blend`: AR + w_h (wave - AR), w_h in [0, 1] per step by least squares on validation (what ships).

Series: the worm simulator's curvature (`sim:curvature`, seeds 5-10), and, when a real recording is given,
only its *training part* (the first 70 % of rows), split again the same way, so that the real test part
is never looked at. Targets: segments 10, 30, 50, 70, 90 and eigenworms 1, 2.

Usage: PYTHONPATH=. python tools/experiments/forecast_wave_blend.py [../shared/data/eval/worm_curvature.csv] [--json]
"""
import argparse
import json

import numpy as np
import pandas as pd

from devocore import forecast as fc

ORDERS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


def scores(profiles: np.ndarray, weights: np.ndarray, offset, horizon: int) -> dict:
    """Test-part MAE of AR, wave, hard choice and blend, each over the best simple baseline's."""
    n = len(profiles)
    config = fc.ForecastConfig(target="x", horizon=horizon)
    val_start, test_start = fc.split_points(n, config)
    val_origins = np.arange(val_start - 1, test_start - horizon)
    test_origins = np.arange(test_start - 1, n - horizon)
    y = (profiles - offset) @ weights
    order = fc.choose_ar_order(y, val_start, val_origins, horizon, [p for p in ORDERS if p < val_start // 10])
    val_truth, test_truth = fc.truth_windows(y, val_origins, horizon), fc.truth_windows(y, test_origins, horizon)

    def mae(prediction, truth):
        return float(np.mean(np.abs(prediction - truth)))
    _, wave = fc.choose_wave(profiles, weights, offset, y, val_start, val_origins, horizon)
    wave_val, wave_test = wave(val_origins), wave(test_origins)
    ar_val = fc.ar_forecast(y, fc.fit_ar(y[:val_start], order), val_origins, horizon)
    ar_test = fc.ar_forecast(y, fc.fit_ar(y[:test_start], order), test_origins, horizon)
    _, weight = fc.blend_with_wave(lambda o: ar_val, lambda o: wave_val, val_origins, val_truth, 1.0, [])
    best = min(mae(ar_test, test_truth), mae(fc.persistence_forecast(y, test_origins, horizon), test_truth))
    hard = wave_test if mae(wave_val, val_truth) < mae(ar_val, val_truth) else ar_test
    out = {"AR": ar_test, "wave": wave_test, "hard": hard, "blend": ar_test + weight * (wave_test - ar_test)}
    return {name: mae(p, test_truth) / best for name, p in out.items()}


def targets(profiles: np.ndarray):
    """Segments 10..90 (as fractions of the body) and eigenworms 1, 2 (PCA of the training part)."""
    n_seg = profiles.shape[1]
    fit = fc.split_points(len(profiles), fc.ForecastConfig(target="x"))[1]
    mean = profiles[:fit].mean(axis=0)
    _, _, vt = np.linalg.svd(profiles[:fit] - mean, full_matrices=False)
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):
        k = int(round(fraction * n_seg))
        yield f"segment {k}", np.eye(n_seg)[k], 0.0
    for k in (0, 1):
        yield f"eigenworm {k + 1}", vt[k], mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", help="a real curvature CSV (only its training part is used)")
    parser.add_argument("--horizon", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    series = []
    for seed in range(5, 11):
        frame = fc.simulated_series("sim:curvature", seed=seed)
        series.append((f"sim seed {seed}", frame[fc.body_axis(frame.columns)].to_numpy(float)))
    if args.recording:
        frame = fc.load_series(args.recording).frame
        profiles = frame[fc.body_axis(frame.columns)].to_numpy(float)
        training_rows = fc.split_points(len(profiles), fc.ForecastConfig(target="x"))[1]
        series.append(("real, training part", profiles[:training_rows]))
    rows = []
    for name, profiles in series:
        for target, weights, offset in targets(profiles):
            rows.append({"series": name, "target": target, **scores(profiles, weights, offset, args.horizon)})
    table = pd.DataFrame(rows)
    methods = ["AR", "wave", "hard", "blend"]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    summary = {"mean": table[methods].mean().round(3).to_dict(),
               "median": table[methods].median().round(3).to_dict(),
               "share_below_0.8": table[methods].lt(0.8).mean().round(2).to_dict(), "n": len(table)}
    for key in ("mean", "median", "share_below_0.8"):
        print(f"{key}: " + ", ".join(f"{m} {v}" for m, v in summary[key].items()))
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
