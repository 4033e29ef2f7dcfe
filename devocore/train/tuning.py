"""Hyperparameter search with Optuna: learning rate, batch size, loss weight, augmentation strength.

Each trial is a short :func:`devocore.train.segmentation.train` run on the same
data split; the validation IoU after every epoch is reported to Optuna, whose
median pruner stops hopeless trials early. The sampler is seeded, so a search
repeats. The result is the trials table and the best parameters.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import pandas as pd

from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

BATCH_SIZES = (2, 4, 8)


@dataclass(frozen=True)
class TuneResult:
    """The trials table (one row per trial) and the best trial's parameters and IoU."""

    trials: pd.DataFrame
    best_params: dict
    best_iou: float


def tune(cfg, make_source, n_trials: int = 10, start_model=None, seed: int = 0, stop=None,
         progress: ProgressFn | None = None) -> TuneResult:
    """Search ``n_trials`` settings around ``cfg`` (a :class:`~devocore.train.segmentation.TrainConfig`).

    Args:
        make_source: ``(batch_size, strength) -> data source`` (a fresh
            :class:`~devocore.train.user_data.PairSource` on the same split).
        start_model: the model every trial starts from (copied), or None for from scratch.
        stop: ``() -> bool``; True ends the search after the running trial.
    """
    import copy

    import optuna

    from devocore.train.segmentation import train

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=1))

    def objective(trial: "optuna.Trial") -> float:
        params = {
            "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
            "batch": trial.suggest_categorical("batch", list(BATCH_SIZES)),
            "fg_weight": trial.suggest_float("fg_weight", 0.5, 4.0, log=True),
            "aug_strength": trial.suggest_float("aug_strength", 0.0, 1.0),
        }
        trial_cfg = replace(cfg, **params)

        def report(record: dict) -> None:
            trial.report(record["val_iou"], record["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned()

        model = copy.deepcopy(start_model) if start_model is not None else None
        result = train(trial_cfg, model=model, data=make_source(params["batch"], params["aug_strength"]),
                       on_epoch=report, stop=stop)
        return float(result["val_iou"])

    def after(study_, trial) -> None:
        if progress:
            progress(len(study_.trials) / n_trials, f"trial {len(study_.trials)} of {n_trials}")
        if stop is not None and stop():
            study_.stop()

    study.optimize(objective, n_trials=n_trials, callbacks=[after], catch=())
    table = study.trials_dataframe(attrs=("number", "value", "params", "state", "duration"))
    table = table.rename(columns=lambda c: c.replace("params_", "")).rename(columns={"value": "val_iou"})
    if "duration" in table:
        table["seconds"] = table.pop("duration").dt.total_seconds().round(1)
    table["state"] = table["state"].astype(str)
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(completed, key=lambda t: t.value) if completed else None
    return TuneResult(table, dict(best.params) if best else {}, float(best.value) if best else 0.0)
