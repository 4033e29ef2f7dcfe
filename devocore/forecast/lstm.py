"""The LSTM forecaster (direct multi-step quantile residuals on a base forecast) and its inputs."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from devocore.errors import MissingColumnsError
from devocore.io.tables import nearest_column
from devocore.forecast.series import ForecastConfig
from devocore.forecast.wave import body_axis
from devocore.progress import ProgressFn


QUANTILES = (0.1, 0.5, 0.9)



EpochFn = Callable[[int, float, float], None]


def import_torch():
    import torch

    return torch



def build_lstm(n_inputs: int, horizon: int, hidden: int = 64, layers: int = 1, dropout: float = 0.0):
    """LSTM -> last hidden state -> linear layer to ``horizon x len(QUANTILES)`` outputs (zero at start)."""
    torch = import_torch()
    nn = torch.nn

    class LSTMForecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(n_inputs, hidden, num_layers=layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0.0)
            self.head = nn.Linear(hidden, horizon * len(QUANTILES))
            # zero start: the untrained model forecasts exactly its base (the AR forecast)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

        def forward(self, x):  # x: batch x steps x inputs
            out, _ = self.lstm(x)
            return self.head(out[:, -1]).view(len(x), horizon, len(QUANTILES))

    return LSTMForecaster()



def pinball_loss(prediction, target):
    """Mean quantile (pinball) loss; prediction ``B x H x Q``, target ``B x H``."""
    torch = import_torch()
    q = torch.tensor(QUANTILES, dtype=prediction.dtype)
    diff = target.unsqueeze(-1) - prediction
    return torch.mean(torch.maximum(q * diff, (q - 1) * diff))



@dataclass
class Windows:
    """Input windows and residual targets for the LSTM (all in normalised units)."""

    inputs: np.ndarray  # n x C
    target: np.ndarray  # n
    base: Callable[[np.ndarray], np.ndarray]  # origins -> origins x H base forecast (the linear AR)
    lookback: int
    stride: int
    horizon: int

    def make(self, origins: np.ndarray):
        """(windows ``N x steps x C``, residual targets ``N x H``: truth minus base; NaN past the end)."""
        steps = np.arange(-self.lookback + 1, 1)[::-1][:: self.stride][::-1]
        x = self.inputs[origins[:, None] + steps[None, :]]
        ahead = origins[:, None] + np.arange(1, self.horizon + 1)[None, :]
        truth = np.where(ahead < len(self.target), self.target[np.minimum(ahead, len(self.target) - 1)], np.nan)
        return x.astype(np.float32), (truth - self.base(origins)).astype(np.float32)



def train_lstm(windows: Windows, train_origins: np.ndarray, val_origins: np.ndarray, config: ForecastConfig,
               seed: int, progress: ProgressFn | None = None, on_epoch: EpochFn | None = None,
               progress_span: tuple[float, float] = (0.0, 1.0)):
    """Train one LSTM with early stopping on the validation MAE (normalised units).

    Returns ``(model, curve)``; the model holds the weights of its best epoch, in eval mode.
    """
    torch = import_torch()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_train, y_train = (torch.from_numpy(a) for a in windows.make(train_origins))
    x_val, y_val = (torch.from_numpy(a) for a in windows.make(val_origins))
    model = build_lstm(x_train.shape[-1], config.horizon, config.hidden, config.layers, config.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    model.eval()
    with torch.inference_mode():  # epoch 0 = the base forecast alone; training must beat it
        best_mae = float(torch.mean(torch.abs(model(x_val)[..., 1] - y_val)))
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    waited, curve = 0, []
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(len(x_train))  # shuffling within the fitting part only
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = torch.from_numpy(order[start: start + config.batch_size])
            optimizer.zero_grad()
            loss = pinball_loss(model(x_train[idx]), y_train[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        model.eval()
        with torch.inference_mode():
            val_mae = float(torch.mean(torch.abs(model(x_val)[..., 1] - y_val)))
        train_loss = total / len(order)
        curve.append((epoch, train_loss, val_mae))
        if on_epoch is not None:
            on_epoch(epoch, train_loss, val_mae)
        if progress is not None:
            lo, hi = progress_span
            progress(lo + (hi - lo) * epoch / config.epochs, f"epoch {epoch}: val MAE {val_mae:.3f}")
        if val_mae < best_mae - 1e-5:
            best_mae, waited = val_mae, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= config.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, curve, best_mae



def predict_lstm(models: list, windows: Windows, origins: np.ndarray) -> np.ndarray:
    """Ensemble-mean forecast quantiles ``origins x H x Q`` (normalised units): base + residual."""
    torch = import_torch()
    x, _ = windows.make(origins)
    with torch.inference_mode():
        outputs = [m(torch.from_numpy(x)).numpy() for m in models]
    return windows.base(origins)[..., None] + np.sort(np.mean(outputs, axis=0), axis=-1)



def pca_project(matrix: np.ndarray, fit_rows: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Projections of ``matrix`` on its first ``k`` principal components fitted on ``matrix[:fit_rows]``.

    Returns ``(projections n x k, explained variance shares, mean, components k x columns)``.
    """
    mean = matrix[:fit_rows].mean(axis=0)
    _, singular, vt = np.linalg.svd(matrix[:fit_rows] - mean, full_matrices=False)
    k = min(k, vt.shape[0])
    explained = singular[:k] ** 2 / np.sum(singular ** 2)
    return (matrix - mean) @ vt[:k].T, explained, mean, vt[:k]



def model_inputs(frame: pd.DataFrame, time_column: str, config: ForecastConfig, fit_rows: int,
            messages: list[str]) -> tuple[np.ndarray, np.ndarray, list[str], tuple | None]:
    """(target n, normalised inputs n x C, input names, body wave), all fitted on the first ``fit_rows`` rows.

    The body wave is ``(segment columns in body order, weights, offset)`` with target =
    ``(profile - offset) @ weights``, when the inputs hold a body axis (:func:`body_axis`) and the
    target is one of its segments or an eigenworm of it; else ``None``.
    """
    numeric = [c for c in frame.columns if c != time_column]
    columns = list(config.columns) or numeric
    table = frame
    axis = body_axis([c for c in columns if c in frame.columns])
    wave = None
    if config.target in axis:
        wave = (axis, np.eye(len(axis))[axis.index(config.target)], 0.0)
    if config.eigenworms > 0:
        segments = [c for c in columns if str(c).lower().startswith("segment")] or [
            c for c in columns if not str(c).startswith("eigenworm_")]
        projections, explained, mean, components = pca_project(frame[segments].to_numpy(float), fit_rows,
                                                        config.eigenworms)
        match = re.fullmatch(r"eigenworm_(\d+)", str(config.target))
        if axis and match and sorted(segments) == sorted(axis) and int(match.group(1)) <= len(components):
            order = [segments.index(c) for c in axis]
            wave = (axis, components[int(match.group(1)) - 1][order], mean[order])
        table = frame.copy()
        for k in range(projections.shape[1]):
            table[f"eigenworm_{k + 1}"] = projections[:, k]
        messages.append(f"Eigenworms: PCA of {len(segments)} columns fitted on the training part; the first "
                        f"{projections.shape[1]} explain {100 * explained.sum():.1f} % of the variance.")
        if not config.columns:
            columns = [f"eigenworm_{k + 1}" for k in range(projections.shape[1])] + columns
    available = [c for c in table.columns if c != time_column]
    missing = [c for c in [config.target, *columns] if c not in available]
    if missing:
        hint = " (use eigenworms >= k for eigenworm_k)" if any(str(m).startswith("eigenworm_") for m in missing) else ""
        why = [m for m in messages if any(f"{c} (" in m or f"'{c}'" in m for c in missing)]
        near = [c for c in (nearest_column(str(m), available) for m in missing) if c]
        hint += f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
        raise MissingColumnsError(
            f"No column {', '.join(map(repr, missing))} in the series{hint}; it has "
            f"{', '.join(available[:20])}{' ...' if len(available) > 20 else ''}." + "".join(f" {m}" for m in why))
    target = table[config.target].to_numpy(float)
    others = [c for c in dict.fromkeys(columns) if c != config.target]
    matrix = table[[config.target, *others]].to_numpy(float)
    mean = matrix[:fit_rows].mean(axis=0)
    std = matrix[:fit_rows].std(axis=0)
    std[std < 1e-12] = 1.0
    z = (matrix - mean) / std
    names = [config.target, *others]
    if len(names) > config.max_inputs:
        k = config.max_inputs - 1
        projections, explained, _, _ = pca_project(z[:, 1:], fit_rows, k)
        scale = projections[:fit_rows].std(axis=0)
        z = np.concatenate([z[:, :1], projections / np.where(scale > 1e-12, scale, 1.0)], axis=1)
        names = [config.target] + [f"input_pc{i + 1}" for i in range(projections.shape[1])]
        messages.append(f"{len(others)} other input columns compressed to {projections.shape[1]} principal "
                        f"components ({100 * explained.sum():.1f} % of their variance), fitted on the training part.")
    return target, z, names, wave
