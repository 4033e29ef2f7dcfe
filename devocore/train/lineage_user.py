"""Fine-tuning the lineage model on the user's own time-lapses (frames + populations CSV).

Each movie is a video file or a folder of frames, with a table ``frame, A, E, M,
P, C, D, Z`` (frame 1 = the first frame) of the true populations. Frames go
through the same :func:`devocore.lineage.preprocess` as at inference; the loss
and augmentation are those of :mod:`devocore.train.lineage`. Validation is by
movie when there are several (whole movies held out), else the last block of
frames of the one movie, never frames drawn at random from the same movie.

Training starts from an existing lineage model (its reference curves are kept):
a lineage model cannot be trained from scratch on a few movies, because its
reference curves come from hundreds of real embryos.
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from devocore.errors import DevocoreError
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineageFinetuneConfig:
    """Options of :func:`finetune`."""

    epochs: int = 20
    steps: int = 20
    batch: int = 16
    lr: float = 3e-4
    val_fraction: float = 0.25
    patience: int = 5
    seed: int = 0
    channel: str = "auto"


@dataclass
class Movie:
    """One user movie: N x S x S uint8 network inputs and N x 7 log(1 + count) targets."""

    name: str
    x: np.ndarray
    y: np.ndarray


def load_movie(frames, populations, size: int, channel: str = "auto", crop: bool = False) -> Movie:
    """Read a video (or folder of frames) and its populations table; keep the frames the table covers.

    Raises:
        DevocoreError naming the frame numbers that do not fit the video.
    """
    from devocore import io
    from devocore.lineage import LINEAGES, LineageConfig, judged, numbered, preprocess, read_populations

    table = read_populations(populations, Path(str(populations)).name)  # frame 1 = the first frame
    wanted = {int(f): row for f, row in zip(table["frame"], table[list(LINEAGES)].to_numpy(float))}
    xs, ys = [], []
    with io.open_frames(frames, time_lapse=True, project=True) as source:  # a hyperstack: as lineage reads it
        names = numbered(source)  # a folder numbered by its file names keeps those numbers, as lineage reads it
        config = judged(source, LineageConfig(channel=channel))[0]  # the same channel, embryo and turn
        seen = []
        for i, frame in enumerate(source):
            seen.append(names[i] if names else i + 1)
            if seen[-1] in wanted:
                x, _ = preprocess(frame, size, config.channel, crop, config.angle, config.region)
                xs.append(np.round(x * 255).astype(np.uint8))
                ys.append(np.log1p(np.clip(wanted[seen[-1]], 0, None)))
    beyond = sorted(set(wanted) - set(seen))
    if beyond:
        by_position = seen == list(range(1, len(seen) + 1))
        span = (f"{len(seen)} frames (frame 1 is the first)" if by_position else
                f"frames numbered {seen[0]}-{seen[-1]} by their file names") if seen else "no frames"
        raise DevocoreError(f"'{Path(str(populations)).name}' has populations for frames {beyond[:5]}"
                            f"{' ...' if len(beyond) > 5 else ''} but '{Path(str(frames)).name}' has {span}.")
    if len(xs) < 2:
        raise DevocoreError(f"Only {len(xs)} frame(s) of '{Path(str(frames)).name}' have populations; "
                            "training needs at least 2.")
    return Movie(Path(str(frames)).name, np.stack(xs), np.stack(ys).astype(np.float32))


def split_movies(movies: list[Movie], val_fraction: float, seed: int = 0) -> tuple[list[Movie], list[Movie]]:
    """Whole movies to validation when there are several; else the last block of the one movie."""
    from devocore.train.user_data import split

    if len(movies) >= 2:
        train_idx, val_idx = split([m.name + str(i) for i, m in enumerate(movies)], val_fraction, seed)
        return [movies[i] for i in train_idx], [movies[i] for i in val_idx]
    movie = movies[0]
    cut = max(1, min(len(movie.x) - 1, int(round(len(movie.x) * (1 - val_fraction)))))
    return ([Movie(movie.name, movie.x[:cut], movie.y[:cut])],
            [Movie(movie.name + " (last frames)", movie.x[cut:], movie.y[cut:])])


def finetune(model, movies: list[Movie], cfg: LineageFinetuneConfig = LineageFinetuneConfig(), out=None,
             progress: ProgressFn | None = None, stop=None, on_epoch=None, command: str = "") -> dict:
    """Fine-tune a loaded lineage model; keep (and save into ``out``) the one with the lowest validation error.

    Returns:
        best validation MAE of log(1 + count) and of the counts themselves, epochs, seconds, ``model``.
    """
    import torch
    import torch.nn.functional as F

    from devocore import registry
    from devocore.train.lineage import augment_frames, log_total

    if model is None:
        raise DevocoreError("A lineage model is fine-tuned from an existing one (its reference curves come from "
                            "hundreds of real embryos); pass --from with a lineage model.")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    train_movies, val_movies = split_movies(movies, cfg.val_fraction, cfg.seed)
    train_x = np.concatenate([m.x for m in train_movies])
    train_y = np.concatenate([m.y for m in train_movies])
    val_x = torch.from_numpy(np.concatenate([m.x for m in val_movies])).float().div(255)[:, None]
    val_y = torch.from_numpy(np.concatenate([m.y for m in val_movies]))
    net = copy.deepcopy(model).float()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)

    def validate() -> tuple[float, float]:
        net.eval()
        with torch.inference_mode():
            pred = torch.cat([net(val_x[i:i + 32]) for i in range(0, len(val_x), 32)])
        net.train()
        counts = (torch.expm1(pred.clamp(0, 12)) - torch.expm1(val_y)).abs().mean()
        return float((pred - val_y).abs().mean()), float(counts)

    start_mae, start_count = validate()
    best = {"val_mae_log": start_mae, "val_mae_count": start_count, "epoch": 0}
    best_state = copy.deepcopy(net.state_dict())
    started, stale, epoch = time.time(), 0, 0
    net.train()
    for epoch in range(1, cfg.epochs + 1):
        running, stopped = [], False
        for _ in range(cfg.steps):
            pick = rng.integers(0, len(train_x), cfg.batch)
            x = augment_frames(torch.from_numpy(train_x[pick]).float().div(255)[:, None], gen)
            y = torch.from_numpy(train_y[pick])
            pred = net(x)
            loss = F.smooth_l1_loss(pred, y, beta=0.3) + F.smooth_l1_loss(log_total(pred), log_total(y), beta=0.3)
            opt.zero_grad()
            loss.backward()
            opt.step()
            running.append(loss.item())
            if stop is not None and stop():
                stopped = True
                break
        mae, count_mae = validate()
        record = {"epoch": epoch, "train_loss": float(np.mean(running)), "val_mae_log": mae,
                  "val_mae_count": count_mae, "seconds": round(time.time() - started, 1)}
        log.info("epoch %d: %s", epoch, record)
        if on_epoch is not None:
            on_epoch(record)
        if progress:
            progress(epoch / cfg.epochs, f"epoch {epoch} of {cfg.epochs}: validation MAE {count_mae:.1f} cells")
        if mae < best["val_mae_log"] - 1e-4:
            best = {"val_mae_log": mae, "val_mae_count": count_mae, "epoch": epoch}
            best_state = copy.deepcopy(net.state_dict())
            stale = 0
        else:
            stale += 1
        if stopped or stale >= cfg.patience:
            break
    net.load_state_dict(best_state)
    net.eval()
    if out is not None:
        card = dict(getattr(model, "card", {}) or {})
        for key in ("sha256", "created", "source", "history"):
            card.pop(key, None)
        card.update(
            name=Path(out).name, task="lineage",
            training_data=f"fine-tuned from '{card.get('name', '?')}' on {sum(len(m.x) for m in train_movies)} "
                          f"frames of {', '.join(m.name for m in train_movies)}; validated on "
                          f"{', '.join(m.name for m in val_movies)}",
            data_terms="trained on your own frames: their terms apply"
                       + (f"; the start model's data: {card['data_terms']}" if card.get("data_terms") else "."),
            training_command=command or "python -m devocore train lineage --frames ... --populations ...",
            train_config=asdict(cfg),
            metrics={"val_mae_log": round(best["val_mae_log"], 4), "val_mae_count": round(best["val_mae_count"], 2),
                     "start_val_mae_count": round(start_count, 2), "best_epoch": best["epoch"]})
        registry.save_model(net, out, card)
    return dict(best, start_val_mae_log=start_mae, start_val_mae_count=start_count, epochs=epoch,
                seconds=round(time.time() - started, 1), model=net)
