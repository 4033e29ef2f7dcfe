"""Design study on simulated worms only: a ridge forecast from the whole body posture as the LSTM's base.

The shipped base blends linear AR with the travelling wave (weights per step on the validation part). The variant
predicts the target's change over steps 1..H from the principal components of all segments (fitted on the
fitting part) at a few lags, by ridge regression; components, lags and the ridge weight are chosen on the
validation part, then refitted on everything before the fold. Each base alone (no network) is scored per fold
against the best of persistence, seasonal naive and linear AR on that fold, and so is the ridge forecast blended
with the shipped base per step on the validation part. Series: `sim:curvature` seeds, segments 10, 50 and 90,
horizon 50, 4 folds (as `forecast --folds 4`). About 8 s per seed on one core.

Usage: PYTHONPATH=. python tools/experiments/forecast_posture_ridge.py [SEED ...]   (default: 3 4 5 6 7 8)
"""
import sys
import time

import numpy as np

from devocore import forecast as fc
from devocore.forecast import evaluate
from devocore.forecast.baselines import (ar_forecast, choose_ar_order, dominant_period, fit_ar, persistence_forecast,
                                         seasonal_naive_forecast, truth_windows)
from devocore.forecast.combination import convex_weights
from devocore.forecast.lstm import pca_project
from devocore.forecast.wave import blend_with_wave, body_axis, choose_wave

H = 50
LAGS = [(0,), (0, 2, 5), (0, 2, 5, 10, 20)]  # steps before the origin whose posture is read
COMPONENTS = [4, 8, 16]
RIDGE = [1e-3, 1e-2, 1e-1, 1, 10, 100]
BASES = ("shipped", "ridge", "blend")


def features(posture: np.ndarray, origins: np.ndarray, lags) -> np.ndarray:
    return np.concatenate([posture[origins - lag] for lag in lags] + [np.ones((len(origins), 1))], axis=1)


def ridge(x: np.ndarray, y: np.ndarray, weight: float) -> np.ndarray:
    penalty = weight * len(x) * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)


def posture(profiles: np.ndarray, fit_end: int, k: int) -> np.ndarray:
    projections = pca_project(profiles, fit_end, k)[0]
    return projections / projections[:fit_end].std(axis=0)


def posture_forecast(profiles, target, fit_end, val_origins):
    """(validation forecast, refit-and-predict function) with components, lags and ridge weight chosen on the
    validation origins; forecasts are the target at the origin plus the predicted change."""
    def fit(p, lags, weight, last_origin):
        origins = np.arange(max(lags), last_origin)
        change = truth_windows(target, origins, H) - target[origins, None]
        return ridge(features(p, origins, lags), change, weight)

    val_truth = truth_windows(target, val_origins, H)
    best = None
    for k in COMPONENTS:
        p = posture(profiles, fit_end, k)
        for lags in LAGS:
            for weight in RIDGE:
                guess = features(p, val_origins, lags) @ fit(p, lags, weight, fit_end - H) + target[val_origins, None]
                error = np.mean(np.abs(guess - val_truth))
                if best is None or error < best[0]:
                    best = (error, k, lags, weight, guess)
    _, k, lags, weight, val_guess = best
    p = posture(profiles, fit_end, k)

    def predict(last_origin, origins):
        return features(p, origins, lags) @ fit(p, lags, weight, last_origin) + target[origins, None]
    return val_guess, predict


def fold_ratios(frame, target_name: str) -> list[dict]:
    """Per fold: each base's MAE over the fold's best baseline MAE, and that MAE."""
    config = fc.ForecastConfig(target=target_name, horizon=H, folds=4)
    out = []
    for test_start, end in evaluate.fold_bounds(len(frame), config):
        data = frame.iloc[:end]
        val_start = test_start - max(1, int(round(test_start * config.val_fraction)))
        axis = body_axis(list(data.columns))
        profiles, target = data[axis].to_numpy(float), data[target_name].to_numpy(float)
        val_origins, test_origins = np.arange(val_start - 1, test_start - H), np.arange(test_start - 1, end - H)
        truth, val_truth = truth_windows(target, test_origins, H), truth_windows(target, val_origins, H)
        period = dominant_period(target[:test_start], max_lag=test_start // 3)
        order = choose_ar_order(target, val_start, val_origins, H,
                                [p for p in config.ar_orders if p < val_start // 10] or [1])
        baselines = [persistence_forecast(target, test_origins, H),
                     ar_forecast(target, fit_ar(target[:test_start], order), test_origins, H)]
        if period:
            baselines.append(seasonal_naive_forecast(target, test_origins, H, period))
        best = min(np.mean(np.abs(b - truth)) for b in baselines)

        fit_coef = fit_ar(target[:val_start], order)
        _, wave = choose_wave(profiles, np.eye(len(axis))[axis.index(target_name)], 0.0, target, val_start,
                              val_origins, H)
        shipped, _ = blend_with_wave(lambda o: ar_forecast(target, fit_coef, o, H), wave, val_origins, val_truth,
                                     1.0, [])
        val_ridge, predict = posture_forecast(profiles, target, val_start, val_origins)
        ridge_test, shipped_test = predict(test_start - H, test_origins), shipped(test_origins)
        weights = convex_weights(np.stack([shipped(val_origins), val_ridge]), val_truth)  # H x 2, per step
        forecasts = {"shipped": shipped_test, "ridge": ridge_test,
                     "blend": weights[:, 0] * shipped_test + weights[:, 1] * ridge_test}
        out.append({"best": best, **{m: np.mean(np.abs(f - truth)) / best for m, f in forecasts.items()}})
    return out


def main() -> None:
    seeds = [int(s) for s in sys.argv[1:]] or [3, 4, 5, 6, 7, 8]
    rows = []
    for seed in seeds:
        frame = fc.simulated_series("sim:curvature", seed=seed)
        for target in ("segment_010", "segment_050", "segment_090"):
            started = time.perf_counter()
            folds = fold_ratios(frame, target)
            best = np.array([f["best"] for f in folds])
            row = {"seed": seed, "target": target}
            for base in BASES:  # pooled: the folds' MAEs summed over the best baselines' (folds of equal size)
                ratios = np.array([f[base] for f in folds])
                row[base] = (round(float((ratios * best).sum() / best.sum()), 3), round(float(ratios.max()), 3))
            rows.append(row)
            print(row, f"{time.perf_counter() - started:.1f} s", flush=True)
    for base in BASES:
        print(f"{base}: mean pooled ratio {np.mean([r[base][0] for r in rows]):.3f}, mean worst fold "
              f"{np.mean([r[base][1] for r in rows]):.3f}, series with a fold >= 1: {sum(r[base][1] >= 1 for r in rows)}")


if __name__ == "__main__":
    main()
