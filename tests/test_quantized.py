"""8-bit copies of segmentation networks (devocore.nets.quantized): calibrated ranges in the card, used by the
Predictor on the CPU, refused when they do not fit, never under the cloud profile."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

from devocore import config, nets, segmentation
from devocore.nets import quantized

pytestmark = pytest.mark.skipif(not quantized.available(), reason="this torch build has no x86 8-bit kernels")


def _blobs(seed: int, size: int = 64) -> np.ndarray:
    """A grey image of a few bright discs on a dark, noisy background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(30, 8, (size, size))
    for _ in range(4):
        cy, cx, r = rng.integers(10, size - 10, 2).tolist() + [int(rng.integers(4, 9))]
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] += 150
    return np.clip(image, 0, 255).astype(np.uint8)


def _net(seed: int = 0):
    torch.manual_seed(seed)
    net = nets.build("fpn").eval()
    net.card = {"input_size": 64, "target": "nucleus"}
    return net


def _calibrated(net, seeds=range(8)):
    predictor = segmentation.Predictor(net, bf16=False, int8=False)
    batch = predictor.inputs([_blobs(s) for s in seeds])
    net.card = dict(net.card, **{quantized.CARD_KEY: quantized.calibrate(net, [batch])})
    return net


def test_the_8bit_copy_from_the_card_follows_the_float_network_on_unseen_images():
    net = _calibrated(_net())
    fast, exact = segmentation.Predictor(net), segmentation.Predictor(net, int8=False)
    assert fast.int8_model is not None and exact.int8_model is None
    planes = [_blobs(s) for s in range(100, 104)]  # not among the calibration images
    a, b = np.stack(fast.probabilities(planes)), np.stack(exact.probabilities(planes))
    assert a.shape == b.shape == (4, 64, 64)
    assert not np.array_equal(a, b)  # it is a different computation...
    assert np.abs(a - b).mean() < 0.01 and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99  # ...of the same map


@pytest.mark.parametrize("other", [{"decoder_channels": 32}, {}])  # another width; the same net, other weights
def test_ranges_of_another_network_are_refused_and_the_float_network_runs(caplog, other):
    net = _calibrated(_net())
    torch.manual_seed(1)
    other = nets.build("fpn", **other).eval()
    other.card = {"input_size": 64, "target": "nucleus", quantized.CARD_KEY: net.card[quantized.CARD_KEY]}
    with caplog.at_level(logging.WARNING, logger="devocore.nets.quantized"):
        predictor = segmentation.Predictor(other)
    assert predictor.int8_model is None
    assert "does not fit this network or its weights" in caplog.text
    assert predictor.probability(_blobs(1)).shape == (64, 64)


def test_no_calibration_no_8bit_copy_and_the_cloud_profile_never_makes_one(monkeypatch):
    assert segmentation.Predictor(_net()).int8_model is None
    net = _calibrated(_net())
    monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
    assert segmentation.Predictor(net).int8_model is None


def test_the_copy_is_made_once_and_again_when_the_weights_change():
    net = _calibrated(_net())
    example = torch.zeros(1, 1, 64, 64)
    first = quantized.int8_copy(net, example)
    assert quantized.int8_copy(net, example) is first
    with torch.no_grad():
        net.segmentation_head[0].weight.mul_(2.0)
    assert quantized.int8_copy(net, example) is not first


@pytest.mark.skipif(not (config.SHIPPED_MODEL_DIR / "membrane").is_dir(), reason="no shipped membrane model")
def test_the_shipped_membrane_calibration_fits_and_its_masks_agree_on_simulated_slices():
    from devocore.simulate.embryo_render import membrane_image

    model = segmentation.load("membrane", "cpu")
    fast, exact = segmentation.Predictor(model), segmentation.Predictor(model, bf16=False, int8=False)
    assert fast.int8_model is not None
    planes = [membrane_image(seed, n_cells=n)[0] for seed, n in [(1, 8), (2, 30), (3, 90), (4, 200)]]
    a = np.stack(fast.probabilities(planes)) > 0.5
    b = np.stack(exact.probabilities(planes)) > 0.5
    assert (a & b).sum() / (a | b).sum() >= 0.98


def test_a_model_trained_from_a_calibrated_start_leaves_the_ranges_behind():
    from devocore.train.segmentation import TrainConfig, train

    start = _calibrated(_net())
    cfg = TrainConfig(task="nucleus", epochs=1, steps=1, batch=2, size=64, crop=64, val_images=2)
    trained = train(cfg, model=start)["model"]
    assert quantized.CARD_KEY not in trained.card
    assert segmentation.Predictor(trained).int8_model is None


@pytest.mark.parametrize("bar", [0.0, 1.01])  # every agreement passes / none does
def test_the_calibration_tool_writes_the_card_only_at_its_bar(tmp_path, monkeypatch, capsys, bar):
    import importlib.util

    from PIL import Image

    from devocore import registry

    spec = importlib.util.spec_from_file_location("calibrate_int8", config.ROOT / "tools" / "calibrate_int8.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(tool, "MIN_AGREEMENT", bar)
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path / "models"))
    registry.save_model(_net(), tmp_path / "models" / "tiny", {"name": "tiny", "task": "segmentation",
                        "target": "nucleus", "architecture": "fpn", "config": {}, "input_size": 64})
    (tmp_path / "images").mkdir()
    for seed in range(8):
        Image.fromarray(_blobs(seed)).save(tmp_path / "images" / f"{seed}.png")
    card = tmp_path / "models" / "tiny" / registry.CARD
    before = card.read_text()
    result = tool.main(["--model", "tiny", "--images", str(tmp_path / "images"), "--calibrate", "4", "--check", "4",
                        "--batch", "4", "--write", "--json"])
    assert 0.0 < result["mask_iou_with_float32"] <= 1.0 and result["written"] is (bar == 0.0)
    assert capsys.readouterr().out.strip().splitlines()[-1] == json.dumps(result)
    if bar > 1:
        assert card.read_text() == before
    else:
        written = json.loads(card.read_text())[quantized.CARD_KEY]
        assert written["mask_iou_with_float32"] == result["mask_iou_with_float32"]
        assert segmentation.Predictor(segmentation.load("tiny", "cpu")).int8_model is not None
