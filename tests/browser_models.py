"""Tiny untrained models for browser tests, so every page runs without shipped weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SEGMENTATION = "browser-nuc"
LINEAGE = "lineage-test"
GAN = "browser-gan"


def save_tiny_models(folder: Path) -> Path:
    """Save a nucleus segmenter, a lineage net and a GAN into ``folder`` (a DEVOCORE_MODEL_DIR)."""
    from devocore import nets, registry
    from devocore.train.gan import GanConfig, GanTrainer
    from tests.test_lineage_page import _save_tiny_model

    folder.mkdir(parents=True, exist_ok=True)
    registry.save_model(nets.build("fpn"), folder / SEGMENTATION, {
        "task": "segmentation", "target": "nucleus", "architecture": "fpn",
        "config": {"encoder": "resnet18", "in_channels": 1, "classes": 1}, "input_size": 64,
        "training_data": "none (untrained, for tests)", "training_command": "tests/browser_models.py", "metrics": {}})
    _save_tiny_model(folder)
    images = np.random.default_rng(0).integers(0, 255, (8, 16, 16), dtype=np.uint8)
    GanTrainer(images, GanConfig(size=16, z_dim=8, base=2, batch=4)).run(1).save(
        folder / GAN, {"training_data": "noise", "training_command": "tests/browser_models.py"})
    return folder
