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
  positions: real EPIC cell tables from ``train/epic/`` and, when the embryo
  simulator (``devocore.simulate.embryo``) is present, simulated embryos.
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

log = logging.getLogger(__name__)

CANVAS = (256, 376)  # half of the EPIC microscope frame (512 x 752), Y x X


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


# ----------------------------------------------------------------------------- nucleus positions

def lineage_of(name: str) -> str | None:
    """Lineage letter of a Sulston cell name (EMS counts as E, P0..P4 as P).

    Example:
        >>> [lineage_of(n) for n in ["ABala", "MSp", "Ea", "EMS", "Cpa", "D", "P4", "Z2", "polar"]]
        ['A', 'M', 'E', 'E', 'C', 'D', 'P', 'Z', None]
    """
    if name.startswith("AB"):
        return "A"
    if name.startswith("MS"):
        return "M"
    if name.startswith("E"):
        return "E"
    if name.startswith("Z"):
        return "Z"
    if name[:1] in ("C", "D", "P"):
        return name[0]
    return None


@dataclass
class Snapshot:
    """Nuclei at one time point: positions (EPIC pixels), diameters, lineage letters."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    size: np.ndarray
    counts: np.ndarray  # 7 populations


def epic_snapshots(table: pd.DataFrame) -> list[Snapshot]:
    """One :class:`Snapshot` per time point of an EPIC cell table, in time order."""
    table = table.copy()
    table["lineage"] = table["cell"].astype(str).map(lineage_of)
    shots = []
    for _, g in table.sort_values("time").groupby("time"):
        counts = np.array([(g["lineage"] == k).sum() for k in LINEAGES], dtype=np.float32)
        shots.append(Snapshot(g["x"].to_numpy(float), g["y"].to_numpy(float), g["z"].to_numpy(float),
                              g["size"].to_numpy(float), counts))
    return shots


def simulated_snapshots(seed: int, n_frames: int = 240, max_cells: int = 450) -> list[Snapshot]:
    """Snapshots from the embryo simulator (if it is installed), in EPIC format."""
    from devocore.simulate import embryo  # optional: present once the simulator lands

    history = embryo.simulate(seed=seed, n_frames=n_frames, frame_interval_s=60.0, max_cells=max_cells)
    cells = history.cells_table()
    return epic_snapshots(cells)


# ----------------------------------------------------------------------------- rendering

@dataclass(frozen=True)
class Appearance:
    """How one rendered movie looks (all randomised for training)."""

    scale: float = 1.0          # magnification relative to EPIC's
    angle: float = 0.0          # degrees
    mirror: bool = False
    shift: tuple = (0.0, 0.0)   # fraction of the canvas
    radius: float = 0.5         # nucleus radius as a fraction of EPIC's size column
    edge: float = 0.15          # soft edge, fraction of the radius
    brightness: float = 220.0   # peak grey level before saturation
    depth_fade: float = 0.5     # relative loss of brightness from top to bottom plane
    jitter: float = 0.2         # per-nucleus brightness spread
    blur: float = 0.8           # PSF sigma in canvas pixels
    noise: float = 4.0          # grey levels
    background: float = 3.0
    red: float = 0.0            # reporter channel strength (0 = none)


def random_appearance(rng: np.random.Generator) -> Appearance:
    """A random :class:`Appearance` covering microscopes like EPIC's and beyond."""
    return Appearance(
        scale=float(rng.uniform(0.8, 1.2)),
        angle=float(rng.choice([0.0, 180.0]) + rng.normal(0, 12)),
        mirror=bool(rng.random() < 0.5),
        shift=(float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.08, 0.08))),
        radius=float(rng.uniform(0.38, 0.6)),
        edge=float(rng.uniform(0.05, 0.35)),
        brightness=float(np.exp(rng.uniform(np.log(90), np.log(500)))),
        depth_fade=float(rng.uniform(0.0, 0.8)),
        jitter=float(rng.uniform(0.05, 0.35)),
        blur=float(rng.uniform(0.0, 2.0)),
        noise=float(np.exp(rng.uniform(np.log(0.5), np.log(12)))),
        background=float(rng.uniform(0, 25)),
        red=float(rng.choice([0.0, rng.uniform(20, 200)])),
    )


def render(shot: Snapshot, look: Appearance, rng: np.random.Generator, canvas: tuple = CANVAS) -> np.ndarray:
    """A Y x X x 3 uint8 frame: green nuclei (maximum projection), optional red reporter.

    Example:
        >>> s = Snapshot(np.array([376.0]), np.array([256.0]), np.array([10.0]), np.array([60.0]),
        ...              np.zeros(7, np.float32))
        >>> frame = render(s, Appearance(noise=0, background=0), np.random.default_rng(0))
        >>> frame.shape, int(frame[128, 188, 1]) > 100, int(frame[5, 5, 1])
        ((256, 376, 3), True, 0)
    """
    import cv2

    h, w = canvas
    green = np.zeros(canvas, np.float32)
    red = np.zeros(canvas, np.float32)
    if len(shot.x):
        f = w / 752.0 * look.scale  # EPIC pixels (752 x 512 frames) -> canvas pixels
        cx, cy = np.median(shot.x), np.median(shot.y)
        theta = np.deg2rad(look.angle)
        dx, dy = shot.x - cx, shot.y - cy
        if look.mirror:
            dy = -dy
        px = w / 2 + look.shift[0] * w + f * (np.cos(theta) * dx - np.sin(theta) * dy)
        py = h / 2 + look.shift[1] * h + f * (np.sin(theta) * dx + np.cos(theta) * dy)
        radius = np.maximum(f * look.radius * shot.size * rng.uniform(0.9, 1.1, len(shot.x)), 0.8)
        zspan = max(float(np.ptp(shot.z)), 1e-6)
        depth = (shot.z - shot.z.min()) / zspan
        if rng.random() < 0.5:
            depth = 1 - depth
        peak = look.brightness * (1 - look.depth_fade * depth) * np.exp(rng.normal(0, look.jitter, len(shot.x)))
        reporter = rng.random(len(shot.x)) < rng.uniform(0.05, 0.3)
        order = np.argsort(peak)  # brighter nuclei drawn last; np.maximum makes order irrelevant anyway
        for i in order:
            r = radius[i]
            x0, x1 = int(max(0, px[i] - r - 3)), int(min(w, px[i] + r + 4))
            y0, y1 = int(max(0, py[i] - r - 3)), int(min(h, py[i] + r + 4))
            if x1 <= x0 or y1 <= y0:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1]
            dist = np.hypot(xx - px[i], yy - py[i])
            blob = peak[i] / (1 + np.exp((dist - r) / max(look.edge * r, 0.3)))
            np.maximum(green[y0:y1, x0:x1], blob, out=green[y0:y1, x0:x1])
            if look.red > 0 and reporter[i]:
                np.maximum(red[y0:y1, x0:x1], blob * look.red / max(look.brightness, 1), out=red[y0:y1, x0:x1])
        # nuclear texture: low-frequency multiplicative noise
        texture = cv2.resize(rng.normal(1, 0.12, (h // 8, w // 8)).astype(np.float32), (w, h))
        green *= texture
    if look.blur > 0.1:
        green = cv2.GaussianBlur(green, (0, 0), look.blur)
        red = cv2.GaussianBlur(red, (0, 0), look.blur)
    green += look.background + rng.normal(0, look.noise, canvas).astype(np.float32)
    red += look.background * 0.5 + rng.normal(0, look.noise, canvas).astype(np.float32)
    frame = np.zeros((h, w, 3), np.uint8)
    frame[..., 1] = np.clip(green, 0, 255).astype(np.uint8)
    frame[..., 0] = np.clip(red, 0, 255).astype(np.uint8)
    return frame


def render_movie(shots: list[Snapshot], seed: int = 0, look: Appearance | None = None) -> list[np.ndarray]:
    """Every snapshot rendered with one appearance (a time-lapse)."""
    rng = np.random.default_rng(seed)
    look = look or random_appearance(rng)
    return [render(s, look, rng) for s in shots]


def make_samples(shots: list[Snapshot], n: int, size: int, rng: np.random.Generator,
                 progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random frames -> (n x size x size uint8 network inputs, n x 7 log(1 + count)).

    Frames are rendered at twice the network's resolution (cheap) and go through
    the same :func:`~devocore.lineage.preprocess` as real frames.
    """
    canvas = (round(2 * size * CANVAS[0] / CANVAS[1]), 2 * size)
    xs = np.zeros((n, size, size), np.uint8)
    ys = np.zeros((n, len(LINEAGES)), np.float32)
    for i in range(n):
        shot = shots[int(rng.integers(len(shots)))]
        x, _ = preprocess(render(shot, random_appearance(rng), rng, canvas), size)
        xs[i] = np.round(x * 255).astype(np.uint8)
        ys[i] = np.log1p(shot.counts)
        if progress is not None and (i + 1) % 200 == 0:
            progress((i + 1) / n, "rendering training frames")
    return xs, ys


# ----------------------------------------------------------------------------- training

@dataclass(frozen=True)
class TrainConfig:
    """Options of :func:`train`."""

    curves: str = field(default_factory=lambda: str(config.datasets_dir() / "train" / "epic_population_curves.csv"))
    epic: str = field(default_factory=lambda: str(config.datasets_dir() / "train" / "epic"))
    validation_table: str = "CD20071029_noRFP.csv"   # held out of training
    out: str = "assets/models/lineage"
    input_size: int = 64
    n_simulated: int = 6
    minutes: float = 55.0
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 0
    threads: int = 2


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


def movie_truth(shots: list[Snapshot]) -> pd.DataFrame:
    """The populations of a snapshot list as an annotation table (frame 1 = first)."""
    table = pd.DataFrame(np.array([s.counts for s in shots]), columns=list(LINEAGES)).astype(int)
    table.insert(0, "frame", np.arange(1, len(table) + 1))
    return table


def train(cfg: TrainConfig, progress: ProgressFn | None = None) -> dict:
    """Train the lineage model and save the best checkpoint (on the held-out movie) with its card."""
    import torch

    from devocore import nets, registry
    from devocore.io import read_epic

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    started = time.time()

    curves = build_stage_curves(read_population_curves(cfg.curves))
    epic_dir = Path(cfg.epic)
    tables = sorted(epic_dir.glob("*.csv"))
    if not tables:
        from devocore.errors import DevocoreError
        raise DevocoreError(f"No EPIC cell tables (*.csv) in {epic_dir}.")
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
    val_x = np.stack([np.round(preprocess(f, cfg.input_size)[0] * 255).astype(np.uint8) for f in val_movie])
    val_truth = movie_truth(val_shots)

    net = nets.build("resnet18-lineage", in_channels=1, curve_len=len(curves.curves))
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
        xs, ys = make_samples(pool, cfg.batch_size, cfg.input_size, rng)
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
            if best is None or scores["nmae_timeline"] < best["nmae_timeline"]:
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
        "outputs": "log(1 + count) for " + ", ".join(LINEAGES),
        "training_data": "; ".join(sources) + " rendered as green max-projection frames with random appearance; "
                         "reference curves from train/epic_population_curves.csv (exact, one row per time point)",
        "training_command": "python -m devocore train lineage " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in asdict(cfg).items() if v != getattr(TrainConfig(), k)),
        "train_config": asdict(cfg),
        "metrics": {"validation_movie": cfg.validation_table, **{k: best[k] for k in ("nmae_timeline", "log_total_mae")},
                    "steps": step},
        "history": history,
    }
    registry.save_model(net, cfg.out, card)
    return {"steps": step, **best}


def toy_snapshots(curves: np.ndarray, n_frames: int = 60, seed: int = 0, start: float = 0.0,
                  rate: float | None = None) -> list[Snapshot]:
    """A synthetic embryo whose populations follow reference ``curves`` (T x 8: total, A..Z).

    Nuclei are scattered in an ellipsoid the size of an EPIC embryo; used for the
    page's example when the embryo simulator is absent, and in tests.

    Example:
        >>> c = np.array([[2, 1, 1, 0, 0, 0, 0, 0], [8, 4, 1, 1, 1, 1, 0, 0]], float)
        >>> shots = toy_snapshots(c, n_frames=3)
        >>> [len(s.x) for s in shots], shots[-1].counts.tolist()
        ([2, 3, 8], [4.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    """
    rng = np.random.default_rng(seed)
    curves = np.asarray(curves, dtype=np.float64)
    rate = rate if rate is not None else (len(curves) - 1 - start) / max(n_frames - 1, 1)
    shots = []
    for t in range(n_frames):
        tau = min(start + rate * t, len(curves) - 1)
        row = np.array([np.interp(tau, np.arange(len(curves)), curves[:, k]) for k in range(curves.shape[1])])
        counts = np.rint(row[1:]).astype(np.float32)
        n = int(counts.sum())
        u = rng.normal(size=(n, 3))
        u /= np.linalg.norm(u, axis=1, keepdims=True) + 1e-9
        r = rng.random(n) ** (1 / 3) * 0.85
        x = 376 + 250 * r * u[:, 0]
        y = 256 + 160 * r * u[:, 1]
        z = 15 + 12 * r * u[:, 2]
        size = np.full(n, 55.0 * max(n, 1) ** -0.06) * rng.uniform(0.9, 1.1, n)
        shots.append(Snapshot(x, y, z, size, counts))
    return shots


def simulated_movie(seed: int, n_frames: int = 240, step: int = 1, render_seed: int = 0
                    ) -> tuple[list[np.ndarray], pd.DataFrame]:
    """A time-lapse from the embryo simulator, drawn by its own renderer (not the training one).

    Returns:
        (frames as 256 x 376 x 3 uint8, true populations ``frame, A..Z``, frame 1 = first).
    """
    from devocore.simulate import embryo

    history = embryo.simulate(seed=seed, n_frames=n_frames, frame_interval_s=75.0)
    times = list(range(0, history.n_frames, step))
    frames = [embryo.render_timelapse_frame(history, t, size=CANVAS, seed=render_seed) for t in times]
    truth = history.populations().iloc[times].reset_index(drop=True)
    truth["frame"] = np.arange(1, len(truth) + 1)
    return frames, truth[list(COLUMNS)]


def example_movie(curves: np.ndarray | None = None, n_frames: int = 60, seed: int = 0
                  ) -> tuple[list[np.ndarray], pd.DataFrame]:
    """An example time-lapse (frames, true populations): the embryo simulator's when installed,
    else a synthetic embryo following ``curves``."""
    try:
        return simulated_movie(seed, n_frames=n_frames * 4, step=4)
    except ImportError:
        if curves is None:
            raise
        shots = toy_snapshots(curves, n_frames=n_frames, seed=seed)
    return render_movie(shots, seed=seed, look=Appearance(red=60.0)), movie_truth(shots)
