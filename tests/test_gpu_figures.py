"""The GPU figures script (tools/gpu_figures.py) on the CPU: the network sees the example as the app feeds it, and the
masks of each precision are compared with float32's."""
from __future__ import annotations

import numpy as np
import torch

from devocore import registry, segmentation
from devocore.io import read_image
from tools.gpu_figures import EXAMPLES, example_input, throughput


def test_the_network_sees_the_example_as_the_app_feeds_it():
    model = registry.load_model("nucleus", "cpu")
    x = example_input("nucleus", 256)
    assert x.shape == (1, 1, 256, 256) and x.dtype == np.float32
    _, prob = throughput(model, x, 2, "fp32", 0.0, torch.device("cpu"))
    image = read_image(EXAMPLES / "nuclei.png").data
    assert image.shape == (256, 256)  # the example is already at the network's size: no resizing differs
    app = segmentation.Predictor(model, bf16=False, int8=False).probability(image)  # the app's float32 path
    assert 0.01 < (app > 0.5).mean() < 0.5  # nuclei found, not an empty or full map
    assert np.abs(prob - app).max() < 1e-3  # the same map (an unstretched input differs by 0.16)


def test_bf16_masks_agree_with_float32_and_the_rate_is_counted():
    model = registry.load_model("nucleus", "cpu")
    x = example_input("nucleus", 128)
    fps, prob32 = throughput(model, x, 1, "fp32", 0.0, torch.device("cpu"))
    _, prob16 = throughput(model, x, 1, "bf16", 0.0, torch.device("cpu"))
    assert fps > 0
    assert segmentation.pixel_scores(prob16 > 0.5, prob32 > 0.5)[0] > 0.98
