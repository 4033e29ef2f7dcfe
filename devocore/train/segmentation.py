"""Training the nucleus and membrane segmenters on simulated embryos.

The training images come from :func:`nucleus_sample` and :func:`membrane_sample`:
confocal-like slices drawn with exact ground truth, with their appearance
(blur, noise, speckle, nucleus size and contrast, cytoplasm glow, out-of-focus
nuclei that are *not* labelled) sampled over wide ranges so that a model trained
on them carries over to real microscopes. When the embryo simulator
(:mod:`devocore.simulate.embryo`) is installed, part of every batch comes from it.

Training (:func:`train`) uses BCE + Dice loss, AdamW, ReduceLROnPlateau and early
stopping on a fixed simulated validation split, keeps the best model, and saves
it with :func:`devocore.registry.save_model` (fp16 safetensors + card.json).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from devocore.config import is_cloud
from devocore.errors import DevocoreError
from devocore.progress import ProgressFn
from devocore.segmentation.config import TASKS
from devocore.simulate.slices import sample

log = logging.getLogger(__name__)

#: Validation images per network call. Under the cloud profile one at a time: full-size validation images in
#: float32 were the top of a Train job's memory (two 256 x 256 images in one call rose 58 MB, one at a time 27 MB).
VAL_BATCH = 4


def target_of(task: str, labels: np.ndarray) -> np.ndarray:
    """What the network learns to predict: nucleus foreground, or membranes (cell borders).

    Example:
        >>> lab = np.zeros((5, 5), np.uint16); lab[1:4, 1:4] = 1
        >>> int(target_of("nucleus", lab).sum()), int(target_of("membrane", lab).sum())
        (9, 16)
    """
    if task == "nucleus":
        return (labels > 0).astype(np.float32)
    return (labels == 0).astype(np.float32)


# ----------------------------------------------------------------------------- training

@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run.

    Attributes:
        task: "nucleus" or "membrane".
        epochs: at most this many epochs of ``steps`` batches.
        steps: batches per epoch.
        batch: images per batch.
        crop: side of the random training crops (pixels).
        size: side of the simulated frames the crops come from (and of validation images).
        lr: initial learning rate (AdamW).
        val_images: size of the fixed simulated validation split.
        patience: epochs without improvement before stopping.
        minutes: wall-clock limit; the best model so far is kept.
        seed: base seed (training draws seeds above it, validation below).
        encoder: smp encoder name (resnet18 by default).
        simulator_share: share of samples from the embryo simulator when installed.
        resample_share: share of nucleus frames drawn 1-3x larger and shrunk (:func:`resampled`),
            the same share in the validation split.
        decoder_channels: FPN pyramid channels (smp's default 256; the segmentation head gets half).
        threads: CPU threads; 1 by default because on a shared CPU a second OpenMP thread mostly
            spin-waits (measured: 15x more CPU time per step with 2 threads under load).
        loss: "bce+dice", "bce" or "dice" (Train view).
        fg_weight: weight of foreground pixels in BCE; above 1 favours over-segmentation (Train view).
        schedule: "plateau" (ReduceLROnPlateau) or "onecycle" (Train view).
        aug_strength: 0..1, strength of the user-data augmentation (Train view; used by the data source).
        amp: mixed precision (fp16 autocast + grad scaling) on CUDA.
        bf16: bfloat16 autocast on CPUs with native bf16 (AMX / AVX512-BF16); off by default (Train view).
        arch: network architecture: "fpn" (FPN, ``encoder``) or "unet34-ps" (U-Net, ResNet-34 encoder,
            pixel-shuffle upsampling; :mod:`devocore.nets.unet_ps`).
        channels: channel recipe (:mod:`devocore.channels`) for multi-channel images; "" = one grey channel.
            One model input channel per recipe part; stored in the model card.
        freeze_encoder: train only the decoder and head (:func:`freeze_encoder`): the encoder keeps its weights
            and batch-norm statistics, and needs no gradients or optimizer moments (the Train view under the
            cloud profile, where it saves about 130 MB while training a ResNet-18 FPN).
        keep_aspect: user images keep their aspect: resized to ``size`` on their short side, not squeezed to a
            square (:func:`devocore.segmentation.input_shape`); stored in the model card, so that inference
            sees the images the same way.
    """

    task: str = "nucleus"
    epochs: int = 40
    steps: int = 40
    batch: int = 8
    crop: int = 128
    size: int = 256
    lr: float = 2e-3
    val_images: int = 24
    patience: int = 6
    minutes: float = 50.0
    seed: int = 0
    encoder: str = "resnet18"
    simulator_share: float = 0.0
    resample_share: float = 0.0
    decoder_channels: int = 256
    threads: int = 1
    # --- Train view options (issue 10); defaults keep the behaviour above unchanged
    loss: str = "bce+dice"
    fg_weight: float = 1.0
    schedule: str = "plateau"
    aug_strength: float = 1.0
    amp: bool = True
    bf16: bool = False
    arch: str = "fpn"
    channels: str = ""
    freeze_encoder: bool = False
    keep_aspect: bool = False


def _batch(cfg: TrainConfig, rng: np.random.Generator, counter: list[int]):
    import torch

    from devocore import io
    from devocore.train.augment import augment

    images, targets = [], []
    while len(images) < cfg.batch:
        counter[0] += 1
        image, labels = sample(cfg.task, cfg.seed * 1_000_003 + 10_000 + counter[0], cfg.size,
                               cfg.simulator_share, cfg.resample_share)
        x = io.normalize(image)
        t = target_of(cfg.task, labels)
        for _ in range(2):  # two crops per simulated frame
            y0, x0 = rng.integers(0, cfg.size - cfg.crop + 1, 2)
            xc, tc = augment(rng, x[y0:y0 + cfg.crop, x0:x0 + cfg.crop], t[y0:y0 + cfg.crop, x0:x0 + cfg.crop])
            images.append(xc)
            targets.append(tc)
    xs = torch.from_numpy(np.stack(images[:cfg.batch])[:, None])
    ts = torch.from_numpy(np.stack(targets[:cfg.batch])[:, None].astype(np.float32))
    return xs, ts


def validation_set(task: str, n: int, size: int = 256, seed: int = 0, resample_share: float = 0.0):
    """The fixed simulated validation (and held-out evaluation) pairs: seeds never used in training."""
    return [sample(task, seed * 1_000_003 + i, size, resample_share=resample_share) for i in range(n)]


LOSSES = ("bce+dice", "bce", "dice")


def loss_fn(logits, target, kind: str = "bce+dice", fg_weight: float = 1.0):
    """BCE + soft Dice, the usual pair for thin or sparse foregrounds.

    ``kind`` picks "bce", "dice" or their sum; ``fg_weight`` weighs foreground
    pixels in the BCE (above 1: fewer missed pixels, more false ones).
    """
    import torch.nn.functional as F

    total = 0.0
    if kind in ("bce+dice", "bce"):
        weight = None if fg_weight == 1.0 else 1.0 + (fg_weight - 1.0) * target
        total = F.binary_cross_entropy_with_logits(logits, target, weight=weight)
    if kind in ("bce+dice", "dice"):
        prob = logits.sigmoid()
        inter = (prob * target).sum((1, 2, 3))
        dice = 1 - (2 * inter + 1) / (prob.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
        total = total + dice.mean()
    return total


ARCHITECTURES = ("fpn", "unet34-ps")


def build(cfg: TrainConfig):
    """An untrained network for ``cfg`` (``cfg.arch``; one input channel per recipe part) and the card
    fields that rebuild it."""
    from devocore import channels, nets

    in_channels = len(channels.parse(cfg.channels)) if cfg.channels else 1
    if cfg.arch == "unet34-ps":
        config = {"encoder": "resnet34", "in_channels": in_channels, "classes": 1}
        return nets.build("unet34-ps", **config), config
    if cfg.arch != "fpn":
        raise DevocoreError(f"Unknown architecture '{cfg.arch}'. Available options are: {list(ARCHITECTURES)}")
    config = {"encoder": cfg.encoder, "in_channels": in_channels, "classes": 1}
    if cfg.decoder_channels != 256:
        config.update(decoder_pyramid_channels=cfg.decoder_channels,
                      decoder_segmentation_channels=cfg.decoder_channels // 2)
    return nets.build("fpn", **config), config


def freeze_encoder(model) -> set[str]:
    """Freeze ``model.encoder`` for fine-tuning the rest: its parameters get ``requires_grad=False`` (no gradients,
    no optimizer moments, no activations kept for its backward pass) and it stays in eval mode (its batch-norm
    statistics are kept; see :func:`train_mode`). Returns the ``state_dict`` keys of the frozen part.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential()
        >>> net.encoder, net.head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
        >>> sorted(freeze_encoder(net)), net.head.weight.requires_grad
        (['encoder.bias', 'encoder.weight'], True)
    """
    from devocore.errors import DevocoreError

    encoder = getattr(model, "encoder", None)
    if encoder is None:
        raise DevocoreError(f"This network ({type(model).__name__}) has no encoder to freeze.")
    encoder.requires_grad_(False)
    encoder.frozen = True
    encoder.eval()
    return {f"encoder.{key}" for key in encoder.state_dict()}


def train_mode(model):
    """``model.train()``, except a frozen encoder (:func:`freeze_encoder`), which stays in eval mode."""
    model.train()
    encoder = getattr(model, "encoder", None)
    if getattr(encoder, "frozen", False):
        encoder.eval()
    return model


def train(cfg: TrainConfig, out: str | Path | None = None, progress: ProgressFn | None = None,
          command: str = "", model=None, data=None, stop=None, on_epoch=None) -> dict:
    """Train a segmenter for ``cfg.task``; save the best one into ``out`` if given.

    Hooks for the Train view (issue 10), all optional:
        data: a source of the user's pairs instead of the simulator, with
            ``batch(rng) -> (x, t)`` tensors, ``validation() -> (val_x, val_t)``
            and ``describe() -> str`` (see :class:`devocore.train.user_data.PairSource`).
        stop: ``() -> bool``, checked after every batch; True ends training, the best model is kept.
        on_epoch: called with a dict (epoch, train_loss, val_loss, val_iou, val_dice, lr, seconds)
            after every epoch; may raise to abort (Optuna pruning).

    Returns:
        a dict with the best validation loss and IoU, epochs run, seconds, and
        ``model`` (the best module, eval mode, fp32).
    """
    import copy

    import torch

    from devocore import io
    from devocore.errors import DevocoreError
    from devocore.nets import inference

    if cfg.task not in TASKS:
        raise DevocoreError(f"Unknown segmentation task '{cfg.task}'. Available options are: {list(TASKS)}")
    if cfg.loss not in LOSSES or cfg.schedule not in ("plateau", "onecycle"):
        raise DevocoreError(f"Unknown loss '{cfg.loss}' or schedule '{cfg.schedule}'. Available options are: "
                            f"{list(LOSSES)} and ['plateau', 'onecycle']")
    if cfg.crop > cfg.size or cfg.crop % 32 or cfg.size % 32:
        raise DevocoreError("--size and the crop must be multiples of 32, with the crop at most the size.")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    from devocore.device import cpu_has_bf16, training_device

    device = training_device().name  # "cuda", "cuda:1" or "cpu"
    kind = device.split(":")[0]  # what autocast is told
    if kind == "cpu":
        torch.set_num_threads(max(1, cfg.threads))
    if cfg.channels and data is None:
        raise DevocoreError("A channel recipe (--channels) needs your own multi-channel images (--images and "
                            "--masks); the built-in simulated training data has one channel.")
    if model is None:
        model, net_config = build(cfg)
    else:
        net_config = dict(getattr(model, "card", {}).get("config", {"encoder": cfg.encoder}))
        arch = getattr(model, "card", {}).get("architecture", "fpn")
        if arch != cfg.arch:
            cfg = replace(cfg, arch=arch)  # a model to fine-tune keeps its architecture
        if arch == "fpn":  # and its decoder width, which the card's train_config then names
            cfg = replace(cfg, decoder_channels=int(net_config.get("decoder_pyramid_channels", 256)))
    model = model.to(device).float()
    # a frozen encoder: only the rest is trained, and only the rest needs keeping as the best state so far
    frozen = freeze_encoder(model) if cfg.freeze_encoder else set()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=1e-4)
    if cfg.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * cfg.steps)
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    use_amp = kind == "cuda" and cfg.amp
    use_bf16 = kind == "cpu" and cfg.bf16 and cpu_has_bf16()
    # a frozen encoder under bfloat16 autocast: its convolutions compute the same from their float16 values, in
    # half the memory (validation then runs under the same autocast)
    half_encoder = bool(frozen) and use_bf16 and inference.hold_convolutions(model.encoder, torch.float16, exact=True)
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    if data is not None:
        val_x, val_t = data.validation()
    else:
        val = validation_set(cfg.task, cfg.val_images, cfg.size, cfg.seed, cfg.resample_share)
        val_x = torch.from_numpy(np.stack([io.normalize(im) for im, _ in val])[:, None])
        val_t = torch.from_numpy(np.stack([target_of(cfg.task, lab) for _, lab in val])[:, None])

    val_batch = 1 if is_cloud() else VAL_BATCH

    def validate() -> tuple[float, float, float]:
        model.eval()
        losses, inter, union, total = [], 0.0, 0.0, 0.0
        with torch.inference_mode(), torch.autocast(kind, dtype=torch.bfloat16, enabled=half_encoder):
            for i in range(0, len(val_x), val_batch):
                logits = model(val_x[i:i + val_batch].to(device)).float().cpu()
                losses.append(float(loss_fn(logits, val_t[i:i + val_batch], cfg.loss, cfg.fg_weight)) * len(logits))
                pred = logits > 0
                truth = val_t[i:i + val_batch] > 0.5
                inter += float((pred & truth).sum())
                union += float((pred | truth).sum())
                total += float(pred.sum() + truth.sum())
        train_mode(model)
        return sum(losses) / len(val_x), inter / max(union, 1.0), 2 * inter / max(total, 1.0)

    best = {"val_loss": math.inf, "val_iou": 0.0, "epoch": 0}
    def state() -> dict:
        return copy.deepcopy({k: v for k, v in model.state_dict().items() if k not in frozen})

    best_state = state()
    start, counter, stale, epoch = time.time(), [0], 0, 0
    train_mode(model)
    for epoch in range(1, cfg.epochs + 1):
        running, stopped, done = 0.0, False, 0
        for _ in range(cfg.steps):
            x, t = data.batch(rng) if data is not None else _batch(cfg, rng, counter)
            x, t = x.to(device), t.to(device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(kind, dtype=torch.float16 if use_amp else torch.bfloat16,
                                enabled=use_amp or use_bf16):
                loss = loss_fn(model(x).float(), t, cfg.loss, cfg.fg_weight)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            if cfg.schedule == "onecycle":
                scheduler.step()
            running += loss.item()
            done += 1
            if stop is not None and stop():
                stopped = True
                break
        val_loss, val_iou, val_dice = validate()
        if cfg.schedule == "plateau":
            scheduler.step(val_loss)
        elapsed = time.time() - start
        log.info("epoch %d: train loss %.4f, val loss %.4f, val IoU %.3f, lr %.1e, %.0f s", epoch,
                 running / max(done, 1), val_loss, val_iou, optimizer.param_groups[0]["lr"], elapsed)
        if progress:
            progress(epoch / cfg.epochs, f"epoch {epoch} of {cfg.epochs}: validation IoU {val_iou:.3f}")
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "train_loss": running / max(done, 1), "val_loss": val_loss,
                      "val_iou": val_iou, "val_dice": val_dice, "lr": optimizer.param_groups[0]["lr"],
                      "seconds": round(elapsed, 1)})
        if val_loss < best["val_loss"] - 1e-4:
            best = {"val_loss": val_loss, "val_iou": val_iou, "val_dice": val_dice, "epoch": epoch}
            best_state = state()
            stale = 0
            if out is not None:
                _save(model, out, cfg, net_config, best, command, data)
        else:
            stale += 1
        if stopped:
            log.info("stopped by the user after %d epochs", epoch)
            break
        if stale >= cfg.patience:
            log.info("early stop: no improvement for %d epochs", stale)
            break
        if elapsed > cfg.minutes * 60:
            log.info("time limit reached after %d epochs", epoch)
            break
    model.load_state_dict(best_state, strict=not frozen)
    if half_encoder:
        model.encoder.float()  # float16 to float32 is exact: the returned model computes as it was trained
    if frozen:
        model.encoder.requires_grad_(True)
        del model.encoder.frozen
    model.eval()
    from devocore.nets.quantized import CARD_KEY

    # what inference needs to run the returned module as it was validated (input size, channel recipe)
    card = dict(getattr(model, "card", {}) or {}, input_size=cfg.size, target=cfg.task, architecture=cfg.arch)
    card.pop("keep_aspect", None)
    card.pop(CARD_KEY, None)  # the start model's 8-bit ranges were measured for other weights
    if cfg.keep_aspect:
        card["keep_aspect"] = True
    if cfg.channels:
        from devocore import channels

        card["channels"] = channels.text(cfg.channels)
    model.card = card
    return dict(best, epochs=epoch, seconds=round(time.time() - start, 1), samples=counter[0], model=model)


def _save(model, out, cfg: TrainConfig, net_config: dict, best: dict, command: str, data=None) -> None:
    from devocore import registry

    card = {
        "name": Path(out).name,
        "task": "segmentation",
        "target": cfg.task,
        "architecture": cfg.arch,
        "config": net_config,
        "input_size": cfg.size,
        **({"keep_aspect": True} if cfg.keep_aspect else {}),
        "training_data": (f"simulated {cfg.task} slices (devocore.simulate.slices.{cfg.task}_sample, "
                          f"{cfg.crop}px crops of {cfg.size}px frames, augmented)"
                          + (f"; {cfg.simulator_share:.0%} from devocore.simulate.embryo"
                             if cfg.simulator_share else "")
                          + (f"; {cfg.resample_share:.0%} drawn 1-3x larger and shrunk" if cfg.resample_share else "")),
        "data_terms": registry.SIMULATED_DATA_TERMS,
        "training_command": command or f"python -m devocore train {cfg.task}",
        "train_config": asdict(cfg),
        "metrics": {"sim_val_loss": round(best["val_loss"], 4), "sim_val_iou": round(best["val_iou"], 4),
                    "best_epoch": best["epoch"]},
    }
    if cfg.channels:  # how the model's input channels are made from the image's (devocore.channels)
        from devocore import channels

        card["channels"] = channels.text(cfg.channels)
    if data is not None:  # the user's pairs (Train view)
        card["training_data"] = data.describe()
        card["data_terms"] = "trained on your own images: their terms apply."
        card["metrics"] = {"val_loss": round(best["val_loss"], 4), "val_iou": round(best["val_iou"], 4),
                           "val_dice": round(best.get("val_dice", 0.0), 4), "best_epoch": best["epoch"]}
        card.update(getattr(data, "card_fields", lambda: {})())
    registry.save_model(model, out, card)


HELDOUT_SEED = 900_000


def heldout_set(task: str, n: int = 40, size: int = 256, resample_share: float = 0.0):
    """Simulated pairs for evaluation, from seeds the training never draws (it stays below 900000)."""
    return [sample(task, HELDOUT_SEED + i, size, resample_share=resample_share) for i in range(n)]


def truth_mask(task: str, labels: np.ndarray) -> np.ndarray:
    """The instance labels a segmentation is scored against: nuclei, or cells grown over half the membrane."""
    if task == "nucleus":
        return labels
    from skimage.segmentation import expand_labels

    return expand_labels(labels, 2)
