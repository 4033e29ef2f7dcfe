"""Training the lineage model on rendered embryo frames, and its reference curves.

Two things are learned, both from the training data only:

* **Reference curves** (:func:`build_stage_curves`): the real EPIC lineage
  curves (``train/epic_population_curves.csv``, 198 embryos) are aligned on one
  developmental time axis (each embryo gets an offset and a rate, fitted on its
  total cell count) and their median is taken. The curves and the spread of the
  offsets and rates are stored inside the model as buffers.
* **The network** (:func:`train`): ResNet-18 regressing log(1 + count) per
  lineage from one frame. Frames are rendered as green histone-GFP maximum
  projections with random appearance (size, rotation, blur, noise, brightness,
  saturation, depth fading, a red reporter channel or none) from nucleus
  positions: real EPIC cell tables from ``train/epic/`` (less those held out
  for choosing the method) and, when the embryo simulator
  (``devocore.simulate.embryo``) is present, simulated embryos. With ``crop``
  the network sees the embryo cropped out of the frame
  (:func:`devocore.lineage.embryo_box`), at inference too.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from devocore import config
from devocore.lineage import COLUMNS, LINEAGES, StageCurves, evaluate, populations, preprocess
from devocore.progress import ProgressFn
from devocore.simulate.epic_movie import (CANVAS, Snapshot, epic_snapshots, movie_truth, random_look, render,
                                         render_movie, simulated_snapshots)

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- reference curves

def read_population_curves(path) -> pd.DataFrame:
    """``embryo, frame, A, ..., Z`` for many embryos (the EPIC training curves)."""
    from devocore.io import read_table

    return read_table(path, required=("embryo",) + COLUMNS, numeric=COLUMNS)


def clean_curves(curves: pd.DataFrame, keep: float = 0.9) -> pd.DataFrame:
    """Each embryo's curve up to where its tracing stops being complete.

    Some EPIC tracings follow only a few sublineages after a point (the total
    falls from hundreds to a handful of cells); everything from the first time
    point whose total falls below ``keep`` x the largest total so far is dropped.

    Example:
        >>> c = pd.DataFrame({"embryo": ["a"] * 4, "frame": [1, 2, 3, 4], "A": [2, 4, 8, 1],
        ...                   **{k: [0] * 4 for k in LINEAGES[1:]}})
        >>> clean_curves(c)["frame"].tolist()
        [1, 2, 3]
    """
    parts = []
    for _, g in curves.sort_values(["embryo", "frame"]).groupby("embryo", sort=False):
        total = g[list(LINEAGES)].sum(axis=1).to_numpy(dtype=float)
        bad = np.flatnonzero(total < keep * np.maximum.accumulate(total))
        parts.append(g.iloc[: bad[0]] if bad.size else g)
    return pd.concat(parts, ignore_index=True)


def _reference(curves: pd.DataFrame, aligns: dict, length: int, min_embryos: int = 10) -> pd.DataFrame:
    """Median populations per reference step over the aligned embryos.

    Steps covered by fewer than ``min_embryos`` embryos take their neighbours' values.
    A, E, M, C, D, Z and the total are made non-decreasing; P is not: it is 1
    (P0..P4, one cell at a time) until P4 divides into Z2/Z3, then 0.
    """
    rows = []
    for embryo, g in curves.groupby("embryo"):
        a, b = aligns.get(embryo, (0.0, 1.0))
        tau = np.round(a + b * g["frame"].to_numpy(dtype=float)).astype(int)
        rows.append(pd.DataFrame({"tau": tau, **{k: g[k].to_numpy() for k in LINEAGES}}))
    table = pd.concat(rows)
    table["total"] = table[list(LINEAGES)].sum(axis=1)
    table = table[(table["tau"] >= 0) & (table["tau"] < length)]
    grouped = table.groupby("tau")
    median = grouped[["total", *LINEAGES]].median()
    enough = min(min_embryos, max(1, table.groupby("tau").size().max() // 2)) if len(table) else 1
    median = median[grouped.size() >= enough]
    median = median.reindex(np.arange(length)).interpolate().ffill().bfill()
    growing = ["total", *(k for k in LINEAGES if k != "P")]
    median[growing] = median[growing].cummax()
    # the total follows the seven (P falls as Z appears)
    median["total"] = np.maximum.accumulate(median[list(LINEAGES)].sum(axis=1).to_numpy())
    return median


REFERENCE_ORIGIN = 40.0  # reference step of time point 0 of the median embryo: room for early-starting tracings


def build_stage_curves(curves: pd.DataFrame, length: int = 600, iterations: int = 3,
                       progress: ProgressFn | None = None) -> StageCurves:
    """Align the exact real curves on one time axis; median populations along it.

    Each embryo's curve (one row per time point) gets an offset and a rate,
    fitted on its total cell count against the current median; the axis is
    anchored so that the median embryo has rate 1 (one reference step per time
    point) and its time point 0 at :data:`REFERENCE_ORIGIN`.

    Returns:
        StageCurves with ``length`` rows and the prior (median offset and rate,
        their robust spread) of the embryos' alignments.
    """
    curves = clean_curves(curves)
    embryos = {e: g.sort_values("frame") for e, g in curves.groupby("embryo")}
    aligns = {e: (REFERENCE_ORIGIN, 1.0) for e in embryos}
    prior = (REFERENCE_ORIGIN, 1.0, 40.0, 0.35)
    for it in range(iterations):
        ref = StageCurves(_reference(curves, aligns, length).to_numpy(), prior)
        for i, (embryo, g) in enumerate(embryos.items()):
            g = g.iloc[::2]  # every second time point is plenty for two numbers
            y = np.log1p(g[list(LINEAGES)].sum(axis=1).to_numpy(dtype=float))
            aligns[embryo] = ref.fit_timeline(g["frame"].to_numpy(dtype=float), y, prior_strength=1e-4,
                                              offset_range=120.0, offset_strength=0.0)
            if progress is not None:
                progress((it + (i + 1) / len(embryos)) / iterations, "aligning real curves")
        ab = np.array(list(aligns.values()))
        # anchor the axis: the median embryo has rate 1 and its time point 0 at REFERENCE_ORIGIN
        a_med, b_med = np.median(ab, axis=0)
        aligns = {e: (REFERENCE_ORIGIN + (a - a_med) / b_med, b / b_med) for e, (a, b) in aligns.items()}
    ab = np.array(list(aligns.values()))
    mad = 1.4826 * np.median(np.abs(ab - np.median(ab, axis=0)), axis=0)
    prior = (float(np.median(ab[:, 0])), float(np.median(ab[:, 1])),
             float(max(mad[0], 5.0)), float(max(mad[1], 0.05)))
    final = _reference(curves, aligns, length).to_numpy()
    log.info("reference curves: %d steps, prior offset %.1f +- %.1f, rate %.2f +- %.2f",
             length, prior[0], prior[2], prior[1], prior[3])
    return StageCurves(final, prior)


def rebuild_curves(model: str, curves_path: str, out: str | None = None) -> dict:
    """Replace a trained model's reference curves and prior by ones built from ``curves_path``; weights untouched.

    Writes the model (same network weights, new ``stage_curves`` and
    ``warp_prior`` buffers, new checksum) into ``out`` (default: the model's
    own folder) and records the curves' source and the prior in the card.
    """
    import torch

    from devocore import registry

    info = registry.find_model(model)
    net = registry.load_model(model, "cpu").float()
    table = read_population_curves(curves_path)
    stage = build_stage_curves(table, length=int(net.stage_curves.shape[0]))
    net.stage_curves.copy_(torch.from_numpy(stage.curves).float())
    net.warp_prior.copy_(torch.tensor(stage.prior, dtype=torch.float32))
    card = {k: v for k, v in info.card.items() if k not in ("sha256", "created")}
    figures = {"curves": str(curves_path), "embryos": int(table["embryo"].nunique()),
               "time_points": int(len(table)), "prior_offset": stage.prior[0], "prior_rate": stage.prior[1],
               "prior_offset_sd": stage.prior[2], "prior_rate_sd": stage.prior[3],
               "four_cell_step": stage.four_cell,
               "command": f"python -m devocore train lineage --curves-only --curves {curves_path}"}
    card["reference_curves"] = figures
    registry.save_model(net, out or info.folder, card)
    return figures


def make_samples(shots: list[Snapshot], n: int, size: int, rng: np.random.Generator,
                 progress: ProgressFn | None = None, crop: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random frames -> (n x size x size uint8 network inputs, n x 7 log(1 + count)).

    Frames are rendered at twice the network's resolution (cheap) and go through
    the same :func:`~devocore.lineage.preprocess` as real frames.
    """
    canvas = (round(2 * size * CANVAS[0] / CANVAS[1]), 2 * size)
    xs = np.zeros((n, size, size), np.uint8)
    ys = np.zeros((n, len(LINEAGES)), np.float32)
    for i in range(n):
        shot = shots[int(rng.integers(len(shots)))]
        x, _ = preprocess(render(shot, random_look(rng), rng, canvas), size, crop=crop)
        xs[i] = np.round(x * 255).astype(np.uint8)
        ys[i] = np.log1p(shot.counts)
        if progress is not None and (i + 1) % 200 == 0:
            progress((i + 1) / n, "rendering training frames")
    return xs, ys


# ----------------------------------------------------------------------------- training

EPIC_TERMS = ("EPIC cell tables and population curves: Murray et al., Genome Research 2012, through "
              "DevoLearn/DevoGraph (MIT) under the data's own terms; cite Murray et al. 2012 where results are "
              "reported. The simulated embryos are Devoscope's own, with no outside data.")
LABELS_NOTE = ("Populations are counted exactly from the EPIC cell tables, frame n of a movie = time point n of its "
               "table. DevoLearn's earlier per-frame labels spread each embryo's traced time points evenly over all "
               "frames of its movie, so they lagged the images by a median of about 48 time points (up to 97) and "
               "had P inverted; the figure measured against them (nMAE 0.054) and the 'tracing' method fitted to "
               "them are withdrawn.")


@dataclass(frozen=True)
class TrainConfig:
    """Options of :func:`train`."""

    curves: str = field(default_factory=lambda: str(config.datasets_dir() / "train" / "epic_population_curves.csv"))
    epic: str = field(default_factory=lambda: str(config.datasets_dir() / "train" / "epic"))
    validation_table: str = "CD20071029_noRFP.csv"   # held out of training
    hold_out: tuple = ()   # more tables kept out of training (for choosing the method on unseen embryos)
    out: str = "assets/models/lineage"
    input_size: int = 64
    n_simulated: int = 6
    minutes: float = 55.0
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 0
    threads: int = 2
    # checkpoint kept: lowest error of the validation movie's log(1 + total) per frame ("log_total_mae"), the
    # counting the bias-aware time line rests on, or its timeline nMAE without the bias ("nmae_timeline")
    select: str = "log_total_mae"
    crop: bool = False  # network input: the embryo cropped out of the frame (True) or the whole frame
    init: str | None = None  # lineage model (name or folder) whose weights start the training; None: from scratch


def augment_frames(x, generator):
    """Cheap tensor augmentation on B x 1 x S x S in 0..1: flips, gamma, gain, noise."""
    import torch

    b = x.shape[0]
    flip = torch.rand(b, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    flip = torch.rand(b, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-2), x)
    gamma = torch.exp(torch.randn(b, 1, 1, 1, generator=generator) * 0.25)
    gain = torch.exp(torch.randn(b, 1, 1, 1, generator=generator) * 0.15)
    x = (x.clamp(0, 1) ** gamma * gain).clamp(0, 1)
    return (x + torch.randn(x.shape, generator=generator) * 0.02 * torch.rand(b, 1, 1, 1, generator=generator)).clamp(0, 1)


def log_total(y):
    import torch

    return torch.log1p(torch.expm1(y.clamp(0, 12)).sum(dim=1))


def validate(net, movie_x: np.ndarray, truth: pd.DataFrame, curves: StageCurves, batch: int = 32) -> dict:
    """Timeline nMAE and log-total error of ``net`` on a pre-processed movie (N x S x S uint8)."""
    import torch

    net.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, len(movie_x), batch):
            x = torch.from_numpy(movie_x[i:i + batch]).float().div(255)[:, None]
            outs.append(net(x).numpy())
    raw = np.concatenate(outs)
    values, _ = populations(raw, curves, "timeline")
    pred = pd.DataFrame(np.rint(values), columns=list(LINEAGES))
    pred.insert(0, "frame", np.arange(1, len(pred) + 1))
    true_total = np.log1p(truth[list(LINEAGES)].sum(axis=1).to_numpy(float))
    est_total = np.log1p(np.expm1(np.clip(raw, 0, 12)).sum(axis=1))
    return {"nmae_timeline": evaluate(pred, truth)["nmae"],
            "log_total_mae": float(np.mean(np.abs(est_total - true_total)))}


def initial_weights(cfg: TrainConfig):
    """The lineage model named by ``cfg.init`` (a registered name or a model folder), checked to fit ``cfg``."""
    from devocore import registry
    from devocore.errors import DevocoreError

    model = registry.load_name_or_folder(cfg.init, f"--init '{Path(cfg.init).name}'")
    card = model.card
    if card.get("task") != "lineage":
        raise DevocoreError(f"--init '{cfg.init}' is not a lineage model (task: {card.get('task')}).")
    size, crop = int(card.get("input_size", 64)), card.get("input_crop") == "embryo"
    if (size, crop) != (cfg.input_size, cfg.crop):
        raise DevocoreError(f"--init '{cfg.init}' was trained on {size}-px {'embryo crops' if crop else 'frames'}; "
                            f"give --input-size {size}{' --crop' if crop else ''} to continue it.")
    return model


def train(cfg: TrainConfig, progress: ProgressFn | None = None) -> dict:
    """Train the lineage model and save the best checkpoint (on the held-out movie) with its card."""
    import torch

    from devocore import nets, registry
    from devocore.errors import DevocoreError
    from devocore.io import read_epic

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    started = time.time()

    epic_dir = Path(cfg.epic)
    tables = sorted(epic_dir.glob("*.csv"))
    if not tables:
        raise DevocoreError(f"No EPIC cell tables (*.csv) in {epic_dir}.")
    unknown = set(cfg.hold_out) - {p.name for p in tables}
    if unknown:
        raise DevocoreError(f"--hold-out names tables that are not in {epic_dir}: {', '.join(sorted(unknown))}.")
    tables = [p for p in tables if p.name not in cfg.hold_out]
    start = initial_weights(cfg) if cfg.init else None
    curves = build_stage_curves(read_population_curves(cfg.curves))
    train_shots, val_shots = [], []
    for path in tables:
        shots = epic_snapshots(read_epic(path))
        (val_shots if path.name == cfg.validation_table else train_shots).extend(shots)
    sources = [f"EPIC cell tables {', '.join(p.name for p in tables if p.name != cfg.validation_table)}"]
    simulated = []
    try:
        for seed in range(cfg.n_simulated):
            simulated.extend(simulated_snapshots(1000 + seed))
        sources.append(f"{cfg.n_simulated} simulated embryos (devocore.simulate.embryo, seeds 1000..)")
    except ImportError:
        log.warning("embryo simulator not installed; training on EPIC positions only")
    pool = train_shots + simulated
    log.info("training on frames rendered afresh at every step from %d snapshots", len(pool))
    val_shots = val_shots[::2]  # every second time point: a movie at half the frame rate, half the cost
    val_movie = render_movie(val_shots, seed=12345)
    val_x = np.stack([np.round(preprocess(f, cfg.input_size, crop=cfg.crop)[0] * 255).astype(np.uint8)
                      for f in val_movie])
    val_truth = movie_truth(val_shots)

    net = nets.build("resnet18-lineage", in_channels=1, curve_len=len(curves.curves))
    if start is not None:
        net.load_state_dict(start.state_dict())
    net.stage_curves.copy_(torch.from_numpy(curves.curves).float())
    net.warp_prior.copy_(torch.tensor(curves.prior, dtype=torch.float32))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(cfg.seed)
    budget = cfg.minutes * 60 - (time.time() - started)
    train_start = time.time()
    best, best_state, step, history = None, None, 0, []
    every = max(60.0, budget / 5)
    next_val = train_start + every
    while True:
        elapsed = time.time() - train_start
        if elapsed > budget:
            break
        lr = cfg.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, elapsed / budget)))
        for group in opt.param_groups:
            group["lr"] = lr
        net.train()
        xs, ys = make_samples(pool, cfg.batch_size, cfg.input_size, rng, crop=cfg.crop)
        x = augment_frames(torch.from_numpy(xs).float().div(255)[:, None], gen)
        y = torch.from_numpy(ys)
        pred = net(x)
        loss = torch.nn.functional.smooth_l1_loss(pred, y, beta=0.3) + \
            torch.nn.functional.smooth_l1_loss(log_total(pred), log_total(y), beta=0.3)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if time.time() >= next_val or time.time() - train_start > budget:
            scores = validate(net, val_x, val_truth, curves)
            scores.update(step=step, minutes=round((time.time() - started) / 60, 1), loss=loss.item())
            history.append(scores)
            log.info("step %d: %s", step, scores)
            if best is None or scores[cfg.select] < best[cfg.select]:
                best = scores
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            next_val = time.time() + every
        if progress is not None:
            progress(min(1.0, (time.time() - train_start) / budget), f"step {step}, loss {loss.item():.3f}")
    if best_state is None:
        scores = validate(net, val_x, val_truth, curves)
        best, best_state = scores, net.state_dict()
    net.load_state_dict(best_state)
    card = {
        "name": Path(cfg.out).name,
        "task": "lineage",
        "architecture": "resnet18-lineage",
        "config": {"in_channels": 1, "curve_len": len(curves.curves)},
        "input_size": cfg.input_size,
        **({"input_crop": "embryo"} if cfg.crop else {}),
        "outputs": "log(1 + count) for " + ", ".join(LINEAGES),
        "training_data": "; ".join(sources) + " rendered as green max-projection frames with random appearance; "
                         "reference curves from train/epic_population_curves.csv (exact, one row per time point)",
        "data_terms": EPIC_TERMS,
        **({"init": {"model": cfg.init, **{k: start.card.get(k) for k in ("sha256", "training_data",
                                                                           "training_command")}}}
           if start is not None else {}),
        "labels": LABELS_NOTE,
        "training_command": "python -m devocore train lineage " + " ".join(
            f"--{k.replace('_', '-')}" + ("" if isinstance(v, bool) else
                                          f" {' '.join(map(str, v)) if isinstance(v, tuple) else v}")
            for k, v in asdict(cfg).items() if v != getattr(TrainConfig(), k)),
        "train_config": asdict(cfg),
        "metrics": {"validation_movie": cfg.validation_table, **{k: best[k] for k in ("nmae_timeline", "log_total_mae")},
                    "steps": step},
        "history": history,
    }
    registry.save_model(net, cfg.out, card)
    return {"steps": step, **best}


