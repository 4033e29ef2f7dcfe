"""Writing simulated embryos to files: videos, tables, image/mask pairs, demo examples.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_embryo(tmp, n_frames=12, size=64, seed=1, slices=2)
    >>> sorted(out)[:3]
    ['cells', 'membrane', 'membrane_masks']
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from devocore.errors import DevocoreError
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float = 7.0) -> Path:
    """Write RGB uint8 frames to ``path`` (.mp4 with mp4v; falls back to .avi with MJPG).

    Returns the path actually written (its suffix may change to .avi).
    """
    from devocore.simulate import worm

    return worm.write_video((cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames), path, fps=fps)


def _save_png(path: Path, image: np.ndarray) -> None:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), image):
        raise DevocoreError(f"could not write {path}")


def write_embryo(out_dir: str | Path, n_frames: int = 100, size: int = 256, seed: int = 0, slices: int = 8,
                 max_cells: int = 400, reporter: str | None = "E", progress: ProgressFn | None = None,
                 history=None) -> dict[str, Path]:
    """Simulate an embryo and write everything with its truth into ``out_dir``.

    Writes ``timelapse.mp4`` (or .avi), ``populations.csv``, ``cells.csv`` (EPIC format) and
    ``slices`` pairs of ``nuclei/NNN.png`` + ``nuclei_masks/NNN.png`` and ``membrane/NNN.png``
    + ``membrane_masks/NNN.png`` (16-bit instance ids), taken at frames spread over the movie.

    Returns:
        name -> path of what was written (folders for the image sets).
    """
    from devocore.simulate.embryo_model import simulate
    from devocore.simulate.embryo_render import membrane_image, nucleus_slice, timelapse

    if size < 32 or size > 2048:
        raise DevocoreError(f"size must be between 32 and 2048 pixels, got {size}")
    report = progress or (lambda f, m="": None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report(0.0, "simulating the lineage")
    h = history if history is not None else simulate(seed=seed, n_frames=n_frames, max_cells=max_cells,
                                                     reporter=reporter)
    written: dict[str, Path] = {}
    h.populations().to_csv(out / "populations.csv", index=False)
    h.cells_table().to_csv(out / "cells.csv", index=False)
    written["populations"], written["cells"] = out / "populations.csv", out / "cells.csv"
    report(0.2, "rendering the time-lapse")
    written["timelapse"] = write_video(timelapse(h, size=size, seed=seed), out / "timelapse.mp4")
    for name in ("nuclei", "nuclei_masks", "membrane", "membrane_masks"):
        (out / name).mkdir(exist_ok=True)
        written[name] = out / name
    picks = np.unique(np.linspace(0, h.n_frames - 1, max(1, slices)).round().astype(int))
    for k, t in enumerate(picks):
        report(0.5 + 0.5 * k / len(picks), f"rendering slices of frame {t}")
        image, labels = nucleus_slice(seed * 1000 + k, size=size, history=h, t=int(t))
        _save_png(out / "nuclei" / f"{t:03d}.png", image)
        _save_png(out / "nuclei_masks" / f"{t:03d}.png", labels)
        image, labels = membrane_image(seed * 1000 + k, size=size, history=h, t=int(t))
        _save_png(out / "membrane" / f"{t:03d}.png", image)
        _save_png(out / "membrane_masks" / f"{t:03d}.png", labels)
    report(1.0, "done")
    log.info("wrote simulated embryo seed=%d to %s", seed, out)
    return written


def write_examples(out_dir: str | Path) -> list[Path]:
    """Small demo inputs for the app's pages (about 2 MB), all from the simulator.

    ``segmentation/``: nuclei.png + nuclei_mask.png, membrane.png + membrane_mask.png and a
    16-slice nuclei stack ``nuclei_stack.tif``; ``lineage/``: timelapse.mp4 (80 frames, 256 px)
    and its populations.csv; ``pca/``: embryo_cells_sim1..3.csv (EPIC tables).
    """
    import tifffile

    from devocore.simulate.embryo_model import simulate
    from devocore.simulate.embryo_render import membrane_image, nucleus_slice, timelapse
    from devocore.simulate.embryo_render import DEFAULTS

    out = Path(out_dir)
    written: list[Path] = []
    seg = out / "segmentation"
    seg.mkdir(parents=True, exist_ok=True)
    h = simulate(seed=7, n_frames=160, reporter="E")
    image, labels = nucleus_slice(7, size=256, appearance=DEFAULTS["nuclei"], history=h, t=90)
    _save_png(seg / "nuclei.png", image)
    _save_png(seg / "nuclei_mask.png", labels)
    image, labels = membrane_image(7, size=256, appearance=DEFAULTS["membrane"], history=h, t=20, z_um=0.0)
    _save_png(seg / "membrane.png", image)
    _save_png(seg / "membrane_mask.png", labels)
    stack = np.stack([nucleus_slice(7, size=128, appearance=DEFAULTS["nuclei"], history=h, t=90, z_um=z)[0]
                      for z in np.linspace(-12, 12, 16)])
    tifffile.imwrite(seg / "nuclei_stack.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    written += sorted(seg.iterdir())
    lin = out / "lineage"
    lin.mkdir(parents=True, exist_ok=True)
    movie = simulate(seed=3, n_frames=80, frame_interval_s=150.0, reporter="E")
    written.append(write_video(timelapse(movie, size=256, seed=3), lin / "timelapse.mp4"))
    movie.populations().to_csv(lin / "populations.csv", index=False)
    written.append(lin / "populations.csv")
    pca = out / "pca"
    pca.mkdir(parents=True, exist_ok=True)
    for k in (1, 2, 3):
        table = simulate(seed=100 + k, n_frames=120, frame_interval_s=120.0).cells_table()
        path = pca / f"embryo_cells_sim{k}.csv"
        table.to_csv(path, index=False)
        written.append(path)
    log.info("wrote %d example files to %s", len(written), out)
    return written
