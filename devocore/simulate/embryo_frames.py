"""Simulated histone-GFP time-lapse frames in bulk (the GAN's training and evaluation sets, the GAN view's
example), cached on disk under a hash of the simulator's source."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from devocore import io
from devocore.progress import ProgressFn
from devocore.simulate import embryo, embryo_model, embryo_render


def render_embryo_frames(n: int, size: int = 128, first_seed: int = 0, frames_per_embryo: int = 32,
                         n_frames: int = 200, cache_dir: str | Path | None = None, progress: ProgressFn | None = None) -> np.ndarray:
    """``n`` simulated histone-GFP time-lapse frames (green channel): N x size x size uint8.

    Embryo seeds ``first_seed, first_seed + 1, ...`` each give ``frames_per_embryo`` frames at
    random times (of ``n_frames`` simulated, 75 s apart) with a random
    time-lapse appearance. With ``cache_dir`` the set is saved once as .npy.
    """
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / (f"embryo_{n}_{size}_{first_seed}_{frames_per_embryo}_{n_frames}_"
                                   f"{simulator_version()}.npy")
        if cache.exists():
            return np.load(cache, allow_pickle=False)

    out: list[np.ndarray] = []
    seed = first_seed
    while len(out) < n:
        rng = np.random.default_rng([seed, 7])
        history = embryo.simulate(seed, n_frames)
        total = history.n_frames
        times = rng.choice(total, size=min(frames_per_embryo, total), replace=False)
        for t in sorted(times):
            appearance = embryo.sample_appearance(rng, "timelapse")
            frame = embryo.render_timelapse_frame(history, int(t), size=size, appearance=appearance,
                                                  seed=int(rng.integers(1 << 31)))
            out.append(io.square_gray(io.to_gray(frame, "green") if frame.ndim == 3 else frame, size))
            if len(out) >= n:
                break
        seed += 1
        if progress:
            progress(len(out) / n, f"rendering embryo {seed - first_seed}")
    images = np.stack(out)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, images, allow_pickle=False)
    return images


def simulator_version() -> str:
    """Short hash of the embryo simulator's source, so cached frames follow its changes."""
    digest = hashlib.sha256()
    for module in (embryo_model, embryo_render):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:10]
