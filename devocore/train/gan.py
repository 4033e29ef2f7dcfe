"""Training a DCGAN on simulated embryo frames or on the user's own images.

The loss is the hinge loss with a spectrally normalised discriminator; samples
come from an exponential moving average (EMA) of the generator's weights,
which is what gets saved. Real images get random flips and right-angle
rotations (an embryo has no preferred orientation in the dish).

:class:`GanTrainer` is step-able, so the page can draw live samples and stop
at any time, and the CLI can checkpoint and keep the best generator.

Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).integers(0, 255, (8, 16, 16), dtype=np.uint8)
    >>> trainer = GanTrainer(images, GanConfig(size=16, z_dim=8, base=2, batch=4))
    >>> sorted(trainer.step())
    ['loss_d', 'loss_g', 'step']
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from devocore import gan, io, registry
from devocore.errors import DevocoreError, NoFramesError, TooLargeError
from devocore.nets.gan import build_discriminator, build_generator
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

#: First embryo seed of the held-out frames: training uses seeds below it.
HELD_OUT_FIRST_SEED = 1_000_000


@dataclass(frozen=True)
class GanConfig:
    """How to build and train a generator.

    Attributes:
        size: image side (power of two).
        z_dim: latent length.
        base: generator channels at full resolution.
        d_base: discriminator channels after its first convolution. With spectral
            normalisation on every layer a narrow discriminator cannot move its scores
            off zero (the hinge loss sits at 2.0 and the generator drifts), so it is
            wider than the generator.
        batch: images per step.
        lr_g, lr_d: Adam learning rates (betas 0.0, 0.9).
        ema: decay of the generator's moving average.
        seed: seeds weights, batches and noise.
    """

    size: int = 128
    z_dim: int = 64
    base: int = 8
    d_base: int = 32
    batch: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    ema: float = 0.995
    seed: int = 0

    def generator_config(self) -> dict:
        """Builder kwargs for the card (architecture ``dcgan-generator``)."""
        return {"z_dim": self.z_dim, "base": self.base, "size": self.size, "channels": 1}


# ----------------------------------------------------------------------------- data

def load_image_folder(folder: str | Path, size: int, limit: int = 20_000,
                      progress: ProgressFn | None = None) -> np.ndarray:
    """Every PNG/JPEG/TIFF under ``folder`` (recursively) as N x size x size uint8 grey.

    Stacks contribute each plane. Raises NoFramesError when there is no image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NoFramesError(f"'{folder}' is not a folder of images.")
    files = sorted((p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in io.IMAGE_SUFFIXES
                    and not p.name.startswith(".")), key=io.natural_key)
    if not files:
        raise NoFramesError(f"Folder '{folder.name}' has no PNG, JPEG or TIFF images.")
    images = []
    for i, path in enumerate(files):
        data = io.read_image(path)
        planes = data.planes() if data.is_stack else [data.data]
        for plane in planes:
            images.append(io.square_gray(plane, size))
            if len(images) > limit:
                raise TooLargeError(f"More than {limit:,} images in '{folder.name}'; use a smaller set.")
        if progress:
            progress((i + 1) / len(files), f"reading {path.name}")
    if len(images) < 2:
        raise NoFramesError(f"Folder '{folder.name}' has only {len(images)} image; a GAN needs many more.")
    return np.stack(images)


# ----------------------------------------------------------------------------- training

def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random flips and right-angle rotations, one choice per batch (cheap, label-free)."""
    k = int(torch.randint(0, 4, (1,), generator=generator))
    if k:
        batch = torch.rot90(batch, k, dims=(2, 3))
    if int(torch.randint(0, 2, (1,), generator=generator)):
        batch = torch.flip(batch, dims=(3,))
    return batch


class GanTrainer:
    """Hinge-loss GAN training on N x size x size uint8 images, one step at a time.

    Attributes:
        generator, discriminator: the networks being trained.
        ema: moving average of the generator (what samples and saved models use).
        history: one dict per step: step, loss_d, loss_g.
        device: where it trains; by default :func:`devocore.device.training_device`'s choice (a CUDA GPU when
            there is one and neither ``DEVOCORE_DEVICE`` nor the cloud profile says otherwise, else the CPU).
    """

    def __init__(self, images: np.ndarray, config: GanConfig = GanConfig(), device: str | None = None):
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (config.size, config.size):
            raise DevocoreError(f"Training images must be N x {config.size} x {config.size} grey; got "
                                f"{images.shape}. Use devocore.io.square_gray on each image.")
        if len(images) < 2:
            raise NoFramesError("A GAN needs at least 2 training images.")
        if device is None:  # a CUDA GPU when there is one and the settings allow it, else the CPU
            from devocore.device import training_device

            device = training_device().name
        self.config, self.device = config, device
        torch.manual_seed(config.seed)
        self.images = gan.to_tensor(images)
        self.generator = build_generator(**config.generator_config()).to(device)
        self.discriminator = build_discriminator(base=config.d_base, size=config.size, channels=1).to(device)
        self.ema = copy.deepcopy(self.generator).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        betas = (0.0, 0.9)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), config.lr_d, betas=betas)
        self.rng = torch.Generator().manual_seed(config.seed)
        self.step_count = 0
        self.history: list[dict] = []

    def _real_batch(self) -> torch.Tensor:
        index = torch.randint(0, len(self.images), (self.config.batch,), generator=self.rng)
        return _augment(self.images[index], self.rng).to(self.device)

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.config.batch, self.config.z_dim, generator=self.rng).to(self.device)

    def step(self) -> dict:
        """One discriminator and one generator update; returns the losses."""
        self.generator.train()
        self.discriminator.train()
        real, fake = self._real_batch(), self.generator(self._noise())
        loss_d = torch.relu(1 - self.discriminator(real)).mean() + \
            torch.relu(1 + self.discriminator(fake.detach())).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        loss_g = -self.discriminator(fake).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self._update_ema()
        self.step_count += 1
        record = {"step": self.step_count, "loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach())}
        self.history.append(record)
        return record

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.config.ema, (1 + self.step_count) / (10 + self.step_count))
        for mine, theirs in zip(self.ema.parameters(), self.generator.parameters()):
            mine.lerp_(theirs, 1 - decay)
        for mine, theirs in zip(self.ema.buffers(), self.generator.buffers()):
            mine.copy_(theirs)

    def run(self, steps: int, max_seconds: float | None = None, progress: ProgressFn | None = None,
            every: int = 0, on_every: Callable[["GanTrainer"], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> "GanTrainer":
        """Train ``steps`` more steps (or until ``max_seconds`` or ``should_stop()``).

        ``on_every(trainer)`` is called every ``every`` steps (live samples, checkpoints, FID).
        """
        start = time.monotonic()
        for i in range(steps):
            record = self.step()
            if progress:
                progress((i + 1) / steps, f"step {record['step']}: D {record['loss_d']:.3f}, "
                                          f"G {record['loss_g']:.3f}")
            if on_every and every and record["step"] % every == 0:
                on_every(self)
            if should_stop and should_stop():
                log.info("stopped at step %d", self.step_count)
                break
            if max_seconds is not None and time.monotonic() - start > max_seconds:
                log.info("time limit reached at step %d", self.step_count)
                break
        return self

    # ------------------------------------------------------------------ files

    def save_checkpoint(self, path: str | Path) -> None:
        """Networks, EMA and optimiser states in one safetensors file (never pickled)."""
        from safetensors.torch import save_file

        state = {}
        for prefix, module in (("g", self.generator), ("d", self.discriminator), ("ema", self.ema)):
            state.update({f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
        for prefix, optimizer in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            for index, slots in optimizer.state_dict()["state"].items():
                for key, value in slots.items():
                    state[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
        rng = self.rng.get_state()
        state["rng"] = rng
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_file(state, str(path), metadata={"step": str(self.step_count), "config": str(asdict(self.config))})

    def load_checkpoint(self, path: str | Path) -> None:
        """Resume from :meth:`save_checkpoint`'s file (same config)."""
        from safetensors import safe_open

        from devocore.registry import read_weights

        state = read_weights(path, "The checkpoint")
        with safe_open(str(path), "pt") as handle:
            self.step_count = int(handle.metadata().get("step", 0))
        for prefix, module in (("g", self.generator), ("d", self.discriminator), ("ema", self.ema)):
            module.load_state_dict({k[len(prefix) + 1:]: v for k, v in state.items()
                                    if k.startswith(prefix + ".")})
        for prefix, optimizer in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            saved = optimizer.state_dict()
            slots: dict[int, dict] = {}
            for key, value in state.items():
                if key.startswith(prefix + "."):
                    _, index, name = key.split(".", 2)
                    slots.setdefault(int(index), {})[name] = value
            optimizer.load_state_dict({"state": slots, "param_groups": saved["param_groups"]})
        self.rng.set_state(state["rng"])

    def save(self, folder: str | Path, card: dict | None = None) -> registry.ModelInfo:
        """Save the EMA generator (fp16) as a model folder with a ``gan`` card."""
        full = {"task": "gan", "architecture": "dcgan-generator", "config": self.config.generator_config(),
                "input_size": self.config.size, "tint": "green",
                "training": dict(asdict(self.config), steps=self.step_count)}
        full.update(card or {})
        return registry.save_model(self.ema, folder, full)
