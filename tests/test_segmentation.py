"""Segmentation engine: post-processing on hand-built masks, metrics, a tiny model, files, the CLI."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
import pytest

from devocore import nets, registry, segmentation
from devocore.segmentation import match_counts, pixel_scores, postprocess

ROOT = Path(__file__).resolve().parents[1]


def disk(shape, centre, radius):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 < radius ** 2


# ----------------------------------------------------------------------------- post-processing

def test_two_touching_disks_become_two_instances():
    mask = disk((64, 80), (32, 28), 12) | disk((64, 80), (32, 50), 12)
    assert ndi.label(mask)[1] == 1  # they touch: one blob before splitting
    result = postprocess(mask.astype(np.float32), task="nucleus", threshold=0.5)
    assert result.count == 2
    xs = sorted(result.table["centroid_x"])
    assert abs(xs[0] - 28) < 2 and abs(xs[1] - 50) < 2


def test_a_hole_is_not_a_nucleus():
    ring = disk((48, 48), (24, 24), 14) & ~disk((48, 48), (24, 24), 4)
    result = postprocess(ring.astype(np.float32), task="nucleus")
    assert result.count == 1
    assert result.labels[24, 24] == result.labels[24, 14]  # the hole belongs to its nucleus, not a new one


def test_background_at_the_edge_is_never_filled_as_a_hole():
    # before, any background of at most 64 px counted as a hole: the corners of a crop filled by one nucleus
    # became nucleus, and an empty 4 x 4 image was one whole-image nucleus
    crop = disk((40, 40), (20, 20), 21.5)  # one nucleus filling a 40 x 40 crop; each corner about 45 px
    result = postprocess(crop.astype(np.float32), task="nucleus")
    assert result.count == 1 and result.table["area_px"].iloc[0] == crop.sum()
    assert result.labels[0, 0] == result.labels[39, 39] == 0
    assert postprocess(np.zeros((4, 4), np.float32), task="nucleus").count == 0


def test_membrane_ring_encloses_one_cell_and_the_outside_is_not_a_cell():
    membrane = disk((60, 60), (30, 30), 20) & ~disk((60, 60), (30, 30), 18)
    result = postprocess(membrane.astype(np.float32), task="membrane")
    assert result.count == 1
    assert result.labels[30, 30] == 1 and result.labels[0, 0] == 0
    # a wall across the middle makes two cells
    membrane[10:50, 29:31] = True
    assert postprocess(membrane.astype(np.float32), task="membrane").count == 2


def test_small_objects_are_removed_and_threshold_changes_only_post_processing():
    prob = np.zeros((64, 64), np.float32)
    prob[disk(prob.shape, (20, 20), 8)] = 0.9
    prob[disk(prob.shape, (45, 45), 8)] = 0.4
    prob[5, 60] = 0.99  # a one-pixel speck
    assert postprocess(prob, threshold=0.5).count == 1
    assert postprocess(prob, threshold=0.3).count == 2


def test_table_areas_in_square_micrometres():
    labels = np.zeros((20, 20), np.uint16)
    labels[2:6, 3:11] = 1  # 4 x 8 rectangle
    table = segmentation.measure(labels, np.full((20, 20), 7, np.uint8), pixel_size=0.5)
    row = table.iloc[0]
    assert row["area_px"] == 32 and row["area_um2"] == pytest.approx(8.0)
    assert row["centroid_x"] == pytest.approx(6.5) and row["centroid_y"] == pytest.approx(3.5)
    assert row["mean_intensity"] == pytest.approx(7.0) and 0 < row["eccentricity"] < 1


def test_metrics_known_answers():
    a = np.zeros((10, 10), bool)
    a[:5] = True
    assert pixel_scores(a, a) == (1.0, 1.0)
    assert pixel_scores(a, ~a)[0] == 0.0
    pred = np.zeros((10, 10), np.uint16)
    pred[0:4, 0:4] = 1
    pred[6:9, 6:9] = 2
    truth = np.zeros((10, 10), np.uint16)
    truth[0:4, 0:5] = 1  # IoU 0.8 with pred 1
    truth[0:2, 8:10] = 2  # missed
    assert match_counts(pred, truth) == (1, 1, 1)


def test_baseline_finds_bright_blobs():
    rng = np.random.default_rng(0)
    image = rng.normal(20, 3, (96, 96))
    image[disk(image.shape, (30, 30), 9)] += 80
    image[disk(image.shape, (65, 60), 9)] += 80
    result = segmentation.baseline(np.clip(image, 0, 255).astype(np.uint8))
    assert result.count == 2


def test_a_resampled_slice_is_the_same_scene_with_a_cleaner_background():
    from devocore.simulate.slices import sample

    seed = 900_003
    native, native_labels = sample("nucleus", seed, 128)
    assert all((a == b).all() for a, b in zip((native, native_labels), sample("nucleus", seed, 128,
                                                                             resample_share=0.0)))
    shrunk, shrunk_labels = sample("nucleus", seed, 128, resample_share=1.0)
    assert shrunk.shape == native.shape and shrunk.dtype == native.dtype
    # the same nuclei, drawn larger and shrunk back: the foregrounds overlap almost entirely
    iou, _ = pixel_scores(shrunk_labels > 0, native_labels > 0)
    assert iou > 0.8
    # pixel-to-pixel noise of the background is averaged down by the shrink
    background = (native_labels == 0) & (shrunk_labels == 0)
    roughness = [np.abs(np.diff(im.astype(float), axis=1))[background[:, 1:]].mean() for im in (native, shrunk)]
    assert roughness[1] < 0.7 * roughness[0]


# ----------------------------------------------------------------------------- models

def _tiny_card(task="nucleus", size=64):
    return {"task": "segmentation", "target": task, "architecture": "fpn",
            "config": {"encoder": "resnet18", "in_channels": 1, "classes": 1}, "input_size": size,
            "training_data": "test", "training_command": "test", "metrics": {}}


@pytest.fixture(scope="module")
def trained_tiny():
    """A tiny nucleus model trained for a few steps, and its untrained twin."""
    import torch

    from devocore.train.segmentation import TrainConfig, train

    torch.manual_seed(0)
    untrained = nets.build("fpn").eval()
    cfg = TrainConfig(task="nucleus", epochs=1, steps=16, batch=4, crop=64, size=128, val_images=2, lr=2e-3)
    said = []
    result = train(cfg, model=nets.build("fpn"), progress=lambda done, text: said.append((done, text)))
    # the terminal's progress line says how far along the run is, not just the epoch's number
    assert said[-1][0] == 1.0 and said[-1][1].startswith("epoch 1 of 1: validation IoU 0.")
    return untrained, result["model"]


def test_a_few_training_steps_beat_the_untrained_model(trained_tiny):
    import torch

    from devocore import io
    from devocore.train.segmentation import heldout_set, loss_fn, target_of

    untrained, trained = trained_tiny
    pairs = heldout_set("nucleus", 6, size=128)
    x = torch.from_numpy(np.stack([io.normalize(im) for im, _ in pairs])[:, None])
    t = torch.from_numpy(np.stack([target_of("nucleus", lab) for _, lab in pairs])[:, None])
    # batch statistics (train mode, no gradients): a dozen steps are too few to settle BatchNorm's running stats
    with torch.no_grad():
        before, after = float(loss_fn(untrained.train()(x), t)), float(loss_fn(trained.train()(x), t))
    assert after < 0.8 * before


def test_save_load_round_trip_gives_identical_output(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    net = nets.build("fpn").eval().half().float()  # fp16-exact weights, as saved
    registry.save_model(net, tmp_path / "tiny-nuc", _tiny_card())
    loaded = segmentation.load("tiny-nuc")
    x = torch.rand(1, 1, 64, 64)
    with torch.inference_mode():
        assert torch.equal(net(x), loaded(x))
    assert segmentation.task_of(loaded) == "nucleus"


def _with_trained_batch_norms(net):
    """``net`` with batch-norm statistics and affine weights far from their defaults, as after training."""
    import torch

    generator = torch.Generator().manual_seed(1)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.2)
    return net.eval()


def test_inference_copy_folds_batch_norms_and_computes_the_same_function():
    import torch

    from devocore.nets.inference import for_inference

    net = _with_trained_batch_norms(nets.build("fpn"))
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    fast = for_inference(net, (1, 1, 64, 64))
    assert n_bn == 20 and not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.MaxPool2d)) for m in fast.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == n_bn  # the original is untouched
    x = torch.rand(2, 1, 96, 64)
    with torch.inference_mode():
        expected, got = net(x), fast(x)
    assert float((got - expected).abs().max()) < 1e-4 * max(1.0, float(expected.abs().max()))
    image = np.arange(96 * 64).reshape(96, 64) % 251
    probability = segmentation.Predictor(net, bf16=False).probability(image)
    small = segmentation.resize(segmentation.to_input(image), (256, 256))
    with torch.inference_mode():
        reference = torch.sigmoid(net(torch.from_numpy(small)[None, None]))[0, 0].numpy()
    assert np.abs(probability - segmentation.resize(reference, (96, 64))).max() < 1e-4


def test_predictors_share_the_inference_copy_until_the_weights_change():
    import torch

    torch.manual_seed(0)
    net = _with_trained_batch_norms(nets.build("fpn"))
    net.card = {"input_size": 64, "target": "nucleus"}
    first, second = segmentation.Predictor(net, bf16=False), segmentation.Predictor(net, bf16=False)
    assert second.model is first.model
    image = np.arange(64 * 64).reshape(64, 64) % 97
    before = first.probability(image)
    with torch.no_grad():
        net.segmentation_head[0].bias.add_(3.0)  # as an optimiser step would: in place
    after = segmentation.Predictor(net, bf16=False)
    assert after.model is not first.model
    fresh = segmentation.Predictor(copy.deepcopy(net), bf16=False)  # a model object never seen before
    assert np.allclose(after.probability(image), fresh.probability(image), atol=1e-5)
    assert not np.allclose(after.probability(image), before, atol=1e-3)


def test_batches_run_side_by_side_come_back_in_order_and_equal_and_threads_are_restored():
    import torch

    torch.manual_seed(0)
    net = nets.build("fpn").eval()
    net.card = {"input_size": 64, "target": "nucleus"}
    predictor = segmentation.Predictor(net, bf16=False)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (40 + i, 50), dtype=np.uint8) for i in range(11)]  # 11: not a multiple of 3
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        serial = list(segmentation.batched_probabilities(iter(frames), predictor, 3, workers=1))
        side_by_side = list(segmentation.batched_probabilities(iter(frames), predictor, 3, workers=2))
        assert torch.get_num_threads() == 2
        assert [f.shape for f, _ in side_by_side] == [f.shape for f in frames]
        assert all(a is f for (a, _), f in zip(side_by_side, frames))
        for (_, p), (_, q) in zip(serial, side_by_side):
            assert p.shape == q.shape and np.allclose(p, q, atol=1e-5)
        # a consumer that stops early (a cancelled page run) also gets the threads back
        stream = segmentation.batched_probabilities(iter(frames), predictor, 3, workers=2)
        next(stream)
        assert torch.get_num_threads() == 1
        stream.close()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_strided_max_pool_equals_max_pool2d_on_odd_and_even_sizes():
    import torch

    from devocore.nets.inference import StridedMaxPool

    generator = torch.Generator().manual_seed(0)
    for h, w in ((1, 1), (2, 7), (5, 4), (9, 10), (64, 33)):
        x = torch.randn(2, 3, h, w, generator=generator)
        for layout in (torch.contiguous_format, torch.channels_last):
            x = x.contiguous(memory_format=layout)
            assert torch.equal(StridedMaxPool()(x), torch.nn.functional.max_pool2d(x, 3, 2, 1))
            half = x.to(torch.bfloat16)
            assert torch.equal(StridedMaxPool()(half), torch.nn.functional.max_pool2d(half, 3, 2, 1))
    # the in-place maxima keep autograd working (the copy may be trained further)
    x = torch.randn(1, 2, 9, 10, generator=generator, requires_grad=True)
    StridedMaxPool()(x * 1).sum().backward()
    grad = x.grad.clone()
    x.grad = None
    torch.nn.functional.max_pool2d(x * 1, 3, 2, 1).sum().backward()
    assert torch.equal(grad, x.grad)
    assert torch.equal(StridedMaxPool()(torch.tensor([[[[1.0, 5.0, 2.0, 0.0, 3.0]]]])),
                       torch.tensor([[[[5.0, 5.0, 3.0]]]]))


def test_inference_copy_keeps_the_model_as_trained_when_folding_would_change_it():
    import torch
    from torchvision.models import resnet

    from devocore.nets.inference import for_inference

    class ReluBeforeNorm(resnet.BasicBlock):  # bn1 is not applied straight after conv1: folding is wrong
        def forward(self, x):
            return self.bn2(self.conv2(self.bn1(self.relu(self.conv1(x))))) + x

    block = _with_trained_batch_norms(ReluBeforeNorm(8, 8))
    kept = for_inference(block, (1, 8, 16, 16))
    assert isinstance(kept.bn1, torch.nn.BatchNorm2d)
    x = torch.randn(1, 8, 16, 16)
    with torch.inference_mode():
        assert torch.allclose(kept(x), block(x))


def test_loading_a_non_segmentation_model_names_the_valid_ones(tmp_path, monkeypatch):
    from devocore.errors import ModelError

    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    registry.save_model(nets.build("fpn"), tmp_path / "other", dict(_tiny_card(), task="lineage"))
    with pytest.raises(ModelError, match="not a segmentation model"):
        segmentation.load("other")


@pytest.fixture()
def user_model(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path / "models"))
    registry.save_model(nets.build("fpn"), tmp_path / "models" / "tiny-nuc", _tiny_card())
    return tmp_path


def test_segment_path_writes_image_stack_and_video_outputs(user_model):
    import cv2
    import tifffile
    from PIL import Image

    from devocore.simulate.slices import nucleus_sample

    model = segmentation.load("tiny-nuc")
    cfg = segmentation.SegmentConfig(model="tiny-nuc", threshold=0.5, batch=2)
    frames = [nucleus_sample(np.random.default_rng(i), 64)[0] for i in range(3)]
    Image.fromarray(frames[0]).save(user_model / "one.png")
    summary = segmentation.segment_path(user_model / "one.png", model, cfg, user_model / "out1")
    assert summary["kind"] == "image"
    assert tifffile.imread(user_model / "out1" / "labels.tif").dtype == np.uint16
    assert (user_model / "out1" / "mask.png").exists()

    tifffile.imwrite(user_model / "stack.tif", np.stack(frames), imagej=True, metadata={"axes": "ZYX"})
    summary = segmentation.segment_path(user_model / "stack.tif", model, cfg, user_model / "out2", labels_3d=True)
    assert summary["kind"] == "stack" and summary["planes"] == 3
    assert tifffile.imread(user_model / "out2" / "labels.tif").shape == (3, 64, 64)
    assert (user_model / "out2" / "labels_3d.tif").exists()

    writer = cv2.VideoWriter(str(user_model / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 64))
    for f in frames:
        writer.write(np.repeat(f[..., None], 3, 2))
    writer.release()
    summary = segmentation.segment_path(user_model / "v.avi", model, cfg, user_model / "out3")
    assert summary["kind"] == "video" and summary["planes"] == 3
    per_frame = (user_model / "out3" / "per_frame.csv").read_text().splitlines()
    assert per_frame[0].startswith("frame,instances") and len(per_frame) == 4
    assert (user_model / "out3" / "overlay.mp4").stat().st_size > 0


def _cli(*args, env_dir):
    import os

    env = dict(os.environ, DEVOCORE_MODEL_DIR=str(env_dir))
    return subprocess.run([sys.executable, "-m", "devocore", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


def test_cli_segment_rejects_a_bad_threshold_in_one_line(user_model):
    out = _cli("segment", "tiny-nuc", "nothing.png", "--out", str(user_model / "o"), "--threshold", "2",
               env_dir=user_model / "models")
    assert out.returncode == 2 and out.stderr.strip().startswith("error:") and "Traceback" not in out.stderr


def test_cli_eval_on_simulated_set_prints_the_figures(user_model):
    out = _cli("eval", "segmentation", "--task", "nucleus", "--model", "tiny-nuc", "--n", "2", "--json",
               env_dir=user_model / "models")
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("iou", "dice", "f1", "baseline_iou", "baseline_f1"):
        assert 0.0 <= figures[key] <= 1.0


def test_evaluation_reports_iou_without_objects_the_truth_left_unannotated():
    truth = np.zeros((40, 40), bool)
    truth[5:15, 5:15] = True  # one annotated nucleus
    labels = np.zeros((40, 40), np.uint16)
    labels[5:15, 5:15] = 1  # found exactly
    labels[25:35, 25:35] = 2  # a nucleus the annotator skipped

    def method(image, task, threshold):
        return segmentation.Result(labels.astype(np.float32), labels, segmentation.measure(labels), threshold, task)

    figures = segmentation.evaluate_pairs([(np.zeros((40, 40), np.uint8), truth)], None, method=method)
    assert figures["iou"] == pytest.approx(0.5)
    assert figures["iou_touching_truth"] == pytest.approx(1.0)
    assert figures["precision"] == pytest.approx(0.5) and figures["recall"] == pytest.approx(1.0)


def test_bench_command_repeats_both_passes_and_reports_the_median_ratio(user_model, capsys):
    import cv2

    from devocore import cli

    writer = cv2.VideoWriter(str(user_model / "b.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for i in range(6):
        frame = np.full((48, 64, 3), 30, np.uint8)
        cv2.circle(frame, (20 + 4 * i, 24), 8, (220, 220, 220), -1)
        writer.write(frame)
    writer.release()
    assert cli.main(["bench", "segmentation", "--video", str(user_model / "b.avi"), "--model", "tiny-nuc",
                     "--batch", "4", "--repeats", "3", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["frames"] == 6 and figures["repeats"] == 3 and len(figures["speedups"]) == 3
    assert figures["speedup"] == pytest.approx(float(np.median(figures["speedups"])), abs=0.01)
    assert figures["agreement_iou"] >= 0.98
    # a forced precision is the one timed; an 8-bit copy the model lacks is refused in words
    base = ["bench", "segmentation", "--video", str(user_model / "b.avi"), "--model", "tiny-nuc", "--repeats", "1"]
    assert cli.main([*base, "--precision", "fp32", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["precision"] == "fp32"
    assert cli.main([*base, "--precision", "int8"]) != 0
    err = capsys.readouterr().err
    assert "has no 8-bit copy here" in err and "Traceback" not in err


def _cell_grid():
    """Four labelled cells (ids 10, 20, 30, 40) of 14 x 14 px separated by 2-px membranes, and a 3-px speck."""
    labels = np.zeros((40, 40), np.uint16)
    for k, (y, x) in enumerate([(4, 4), (4, 20), (20, 4), (20, 20)]):
        labels[y:y + 14, x:x + 14] = 10 * (k + 1)
    labels[37, 37:40] = 99  # under --min-cell: not a cell
    return labels


def test_cells_are_matched_to_labelled_cells_not_merged_into_one_blob():
    from devocore.commands.eval_segmentation import cell_labels

    truth = cell_labels(_cell_grid(), min_cell=30)
    assert sorted(np.unique(truth).tolist()) == [0, 10, 20, 30, 40]
    found = np.zeros((40, 40), np.uint16)
    found[4:18, 4:18] = 1  # exact
    found[4:18, 20:34] = 2  # exact
    found[20:34, 4:34] = 3  # two cells merged into one: matches neither

    def method(image, task, threshold):
        return segmentation.Result(found.astype(np.float32), found, segmentation.measure(found), threshold, task)

    figures = segmentation.evaluate_pairs([(np.zeros((40, 40), np.uint8), truth)], None, "membrane", method=method)
    assert (figures["precision"], figures["recall"]) == pytest.approx((2 / 3, 2 / 4))
    assert figures["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert figures["mean_matched_iou"] == pytest.approx(1.0)


def test_a_many_id_mask_is_read_as_cells_or_refused_never_one_blob():
    from devocore.commands.eval_segmentation import mask_kind
    from devocore.errors import DevocoreError

    assert mask_kind(_cell_grid(), 0, instance=False) == "instance"  # 16-bit ids
    assert mask_kind((_cell_grid() > 0).astype(np.uint8) * 255, 0, instance=False) == "binary"
    with pytest.raises(DevocoreError, match="--instance-masks"):
        mask_kind(_cell_grid().astype(np.uint8), 0, instance=False)  # 8-bit ids, no threshold given
    assert mask_kind(_cell_grid().astype(np.uint8), 127, instance=False) == "binary"  # the user said how


def test_cli_eval_membrane_instance_masks_reports_cell_figures(user_model, tmp_path):
    from PIL import Image

    registry.save_model(nets.build("fpn"), tmp_path / "models" / "tiny-mem", dict(_tiny_card(), target="membrane"))
    (tmp_path / "im").mkdir()
    (tmp_path / "lab").mkdir()
    labels = np.zeros((128, 128), np.uint16)
    for k, (y, x) in enumerate([(14, 14), (14, 66), (66, 14), (66, 66)]):
        labels[y:y + 48, x:x + 48] = 10 * (k + 1)
    noise = np.random.default_rng(0).integers(0, 12, labels.shape)  # a microscope image has noise (a flat one is
    image = (np.where(labels > 0, 60, 220) + noise).astype(np.uint8)  # refused as a mask); bright membranes, outside
    Image.fromarray(image).save(tmp_path / "im" / "a.png")
    Image.fromarray(labels).save(tmp_path / "lab" / "a.png")
    out = _cli("eval", "segmentation", "--task", "membrane", "--model", "tiny-mem", "--images", str(tmp_path / "im"),
               "--masks", str(tmp_path / "lab"), "--json", env_dir=tmp_path / "models")
    assert out.returncode == 0, out.stderr
    assert "instance labels" in out.stdout  # detected from the 16-bit ids
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"f1", "mean_matched_iou", "iou", "baseline_f1"} <= set(figures)
    assert figures["baseline_f1"] == pytest.approx(1.0)  # the classical method finds the four clean cells


def test_cli_eval_names_swapped_image_and_mask_folders(user_model, tmp_path):
    from PIL import Image

    (tmp_path / "im").mkdir()
    (tmp_path / "mask").mkdir()
    truth = disk((64, 64), (32, 32), 12)
    image = (np.random.default_rng(0).poisson(10, truth.shape) + 120 * truth).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "im" / "a.png")
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "mask" / "a.png")
    out = _cli("eval", "segmentation", "--task", "nucleus", "--model", "tiny-nuc", "--images", str(tmp_path / "mask"),
               "--masks", str(tmp_path / "im"), "--json", env_dir=user_model / "models")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == ("error: Image 'a.png' is not a microscope image: only two values (0 and 255): a "
                                  "binary mask, not a microscope image. Its mask 'a.png' looks like one: are the "
                                  "image and mask folders swapped?")


def _voronoi_embryo(seed=0, shape=(24, 48, 64), cells=6):
    """A Z x Y x X ellipsoidal 'embryo' cut into Voronoi cells, one voxel of membrane between them."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.indices(shape)
    inside = ((zz - shape[0] / 2) / (shape[0] / 2.2)) ** 2 + ((yy - shape[1] / 2) / (shape[1] / 2.2)) ** 2 \
        + ((xx - shape[2] / 2) / (shape[2] / 2.2)) ** 2 < 1
    centres = np.argwhere(inside)[rng.choice(inside.sum(), cells, replace=False)]
    dist = np.stack([(zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 for c in centres])
    order = np.sort(dist, axis=0)
    labels = (np.argmin(dist, axis=0) + 1) * inside
    labels[np.sqrt(order[1]) - np.sqrt(order[0]) < 1.0] = 0  # membranes
    return labels.astype(np.uint16)


def test_membrane_cells_are_linked_across_slices_with_their_volumes():
    truth = _voronoi_embryo()
    rng = np.random.default_rng(1)
    planes = np.zeros_like(truth)
    for z in range(truth.shape[0]):  # each slice numbers its cells on its own, as a 2-D segmentation does
        ids = np.unique(truth[z])[1:]
        lut = np.zeros(truth.max() + 1, np.uint16)
        lut[ids] = rng.permutation(len(ids)) + 1
        planes[z] = lut[truth[z]]
    linked = segmentation.link_slices(planes)
    assert int(linked.max()) == len(np.unique(truth)) - 1
    for cell in np.unique(truth)[1:]:  # one linked id per true cell, and the same voxels
        assert len(np.unique(linked[truth == cell])) == 1
    table = segmentation.table_3d(linked, pixel_size=0.5, z_step=1.0)
    assert sorted(table["volume_voxels"]) == sorted(np.bincount(truth.ravel())[1:][np.bincount(truth.ravel())[1:] > 0])
    assert table["volume_um3"].sum() == pytest.approx((truth > 0).sum() * 0.25)


def test_a_hyperstack_links_each_time_points_slices_on_their_own(tmp_path):
    """Two time points of five z-slices; one nucleus sits at the same place in both. Linked as one stack of ten
    slices it became a single nucleus spanning both time points (4 nuclei instead of 5)."""
    import tifffile

    rng = np.random.default_rng(0)
    centres = [[(40, 40), (90, 80)], [(40, 40), (90, 30), (30, 95)]]
    stack = np.zeros((2, 5, 128, 128), np.uint8)
    for t, spots in enumerate(centres):
        for z in range(5):
            plane = rng.poisson(8, (128, 128)) + sum(150 * disk((128, 128), c, 11) for c in spots)
            stack[t, z] = np.clip(plane, 0, 255)
    tifffile.imwrite(tmp_path / "embryo.tif", stack, imagej=True, metadata={"axes": "TZYX"})
    summary = segmentation.segment_path(tmp_path / "embryo.tif", segmentation.load("nucleus"),
                                        segmentation.SegmentConfig(model="nucleus"), tmp_path / "out", labels_3d=True)
    assert summary["planes"] == 10 and summary["instances_3d"] == 5
    cells = pd.read_csv(tmp_path / "out" / "table_3d.csv")
    assert cells.groupby("t").size().to_dict() == {1: 2, 2: 3} and (cells["slices"] == 5).all()
    assert sorted(cells["id"]) == [1, 2, 3, 4, 5]  # ids unique over the file
    per_plane = pd.read_csv(tmp_path / "out" / "per_frame.csv")
    assert per_plane[["frame", "t", "z"]].values.tolist() == [[k + 1, k // 5 + 1, k % 5 + 1] for k in range(10)]
    assert per_plane["instances"].tolist() == [2] * 5 + [3] * 5
    assert {"t", "z"} <= set(pd.read_csv(tmp_path / "out" / "centroids.csv").columns)
    with tifffile.TiffFile(tmp_path / "out" / "labels_3d.tif") as tif:
        assert tif.series[0].axes == "TZYX" and tif.series[0].shape == (2, 5, 128, 128)


def test_each_row_of_a_folder_of_frames_names_its_file(user_model, tmp_path):
    # the tables numbered the frames 1, 2, ... only: which file a row came from had to be worked out by sorting
    from PIL import Image

    folder = tmp_path / "embryo"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for number in (150, 151, 155):  # a gap; "t155" sorts after "t151" as a number, not as text
        Image.fromarray(rng.integers(0, 200, (64, 64), np.uint8)).save(folder / f"t{number}.png")
    segmentation.segment_path(folder, segmentation.load("tiny-nuc"), segmentation.SegmentConfig(model="tiny-nuc"),
                              tmp_path / "out", overlay_video=False)
    per_frame = pd.read_csv(tmp_path / "out" / "per_frame.csv")
    assert per_frame[["frame", "file"]].values.tolist() == [[1, "t150.png"], [2, "t151.png"], [3, "t155.png"]]
    for name in ("table.csv", "centroids.csv"):
        assert list(pd.read_csv(tmp_path / "out" / name).columns[:2]) == ["frame", "file"]


def test_a_colour_picture_with_a_burned_in_time_stamp_gets_a_note(user_model, tmp_path):
    # a time stamp and scale bar drawn into a green picture were segmented as objects without a word
    from PIL import Image

    from tools.experiments.lineage_overlays import stamp

    from devocore.simulate import embryo

    image, _ = embryo.nucleus_slice(3, size=256)
    green = np.zeros(image.shape + (3,), np.uint8)
    green[..., 1] = image
    for name, picture in (("plain.png", green), ("stamped.png", stamp(green, 5))):
        Image.fromarray(picture).save(tmp_path / name)
    cfg, model = segmentation.SegmentConfig(model="tiny-nuc"), segmentation.load("tiny-nuc")
    noted = segmentation.segment_path(tmp_path / "stamped.png", model, cfg, tmp_path / "o1")["notes"]
    assert any(n.startswith("'stamped.png' carries white or grey marks on its colour (about ") for n in noted)
    assert not any("marks" in n for n in segmentation.segment_path(tmp_path / "plain.png", model, cfg,
                                                                   tmp_path / "o2")["notes"])


def test_3d_labels_of_a_time_series_are_refused_and_of_unnamed_pages_made(user_model):
    import tifffile

    from devocore.errors import UnsupportedFormatError

    model = segmentation.load("tiny-nuc")
    cfg = segmentation.SegmentConfig(model="tiny-nuc")
    planes = np.random.default_rng(0).integers(0, 200, (4, 64, 64), np.uint8)
    tifffile.imwrite(user_model / "movie.tif", planes, imagej=True, metadata={"axes": "TYX"})
    with pytest.raises(UnsupportedFormatError, match="time series.*4 planes time points.*Slices \\(z\\) = 4"):
        segmentation.segment_path(user_model / "movie.tif", model, cfg, user_model / "o1", labels_3d=True)
    assert segmentation.segment_path(user_model / "movie.tif", model, cfg, user_model / "o2")["planes"] == 4
    pages = np.concatenate([planes, planes])  # (4 planes would be written as one image of 4 samples)
    tifffile.imwrite(user_model / "pages.tif", pages)  # pages of unknown meaning: a z-stack as often saved
    summary = segmentation.segment_path(user_model / "pages.tif", model, cfg, user_model / "o3", labels_3d=True)
    assert "instances_3d" in summary and (user_model / "o3" / "table_3d.csv").exists()
    tifffile.imwrite(user_model / "one.tif", planes[0])
    summary = segmentation.segment_path(user_model / "one.tif", model, cfg, user_model / "o4", labels_3d=True)
    assert any("single image: 3-D labels link the slices of a stack, so none were made" in n for n in summary["notes"])


def test_two_cells_that_only_touch_a_corner_are_not_linked():
    planes = np.zeros((2, 10, 10), np.uint16)
    planes[0, :5, :5] = 1
    planes[1, 4:9, 4:9] = 1  # overlaps one pixel: another cell
    assert int(segmentation.link_slices(planes).max()) == 2


def test_the_channel_of_a_stack_is_judged_on_its_middle_slice_as_the_page_judges_it(user_model):
    # the first slices of a z-stack often show little in every channel; judged there, the mean was taken
    import tifffile

    from devocore.simulate.examples import example

    yy, xx = np.mgrid[0:256, 0:256]
    rng = np.random.default_rng(0)
    nuclei = rng.integers(0, 20, (256, 256)).astype(np.uint8)
    for cy, cx in [(60, 60), (60, 180), (180, 80), (190, 190)]:
        nuclei[(yy - cy) ** 2 + (xx - cx) ** 2 <= 18 ** 2] = 220
    dark = rng.integers(0, 20, (2, 256, 256)).astype(np.uint8)  # a slice above the embryo
    stack = np.stack([dark, dark, np.stack([example("membrane", 1)[0], nuclei]), dark])
    tifffile.imwrite(user_model / "zc.tif", stack, imagej=True, metadata={"axes": "ZCYX"})
    summary = segmentation.segment_path(user_model / "zc.tif", segmentation.load("tiny-nuc"),
                                        segmentation.SegmentConfig(model="tiny-nuc"), user_model / "out")
    assert summary["planes"] == 4
    assert any("(1: membranes, 2: nuclei); channel 2 was segmented" in note for note in summary["notes"])


def test_the_pixel_size_and_z_step_a_tiff_states_give_areas_and_volumes_in_micrometres(tmp_path):
    # before, a stack saved by Fiji with its calibration still needed --pixel-size and --z-step for um^2 and um^3
    import tifffile

    yy, xx = np.mgrid[0:128, 0:128]
    plane = np.random.default_rng(0).integers(0, 20, (128, 128)).astype(np.uint8)
    plane[(yy - 60) ** 2 + (xx - 60) ** 2 < 15 ** 2] = 200
    tifffile.imwrite(tmp_path / "calibrated.tif", np.stack([plane] * 5), imagej=True, resolution=(5.0, 5.0),
                     metadata={"unit": "micron", "spacing": 0.5, "axes": "ZYX"})  # 0.2 um per pixel
    model = segmentation.load("nucleus")
    summary = segmentation.segment_path(tmp_path / "calibrated.tif", model, segmentation.SegmentConfig(),
                                        tmp_path / "out", labels_3d=True)
    assert ("'calibrated.tif' states 0.2 um per pixel and 0.5 um between slices in its metadata; the tables use it "
            "for areas in um^2 and volumes in um^3") in summary["notes"][0]
    table = pd.read_csv(tmp_path / "out" / "table.csv")
    assert len(table) == 5 and np.allclose(table["area_um2"], table["area_px"] * 0.04)
    cells = pd.read_csv(tmp_path / "out" / "table_3d.csv")
    assert len(cells) == 1 and cells["volume_um3"].iloc[0] == pytest.approx(cells["volume_voxels"].iloc[0] * 0.02)
    given = segmentation.segment_path(tmp_path / "calibrated.tif", model, segmentation.SegmentConfig(pixel_size=0.1),
                                      tmp_path / "out2")  # what the user gives wins
    assert not any("um per pixel" in note for note in given["notes"])
    assert np.allclose(pd.read_csv(tmp_path / "out2" / "table.csv")["area_um2"], table["area_px"] * 0.01)


def test_planes_of_one_value_hold_no_cells_and_no_3d_cell_reaches_into_them(tmp_path):
    # audit: a CShaper stack's padding beyond the embryo (planes of 0) gave 2 membrane "cells" in each plane, which
    # the 3-D labels linked into cells as large as the padding
    import tifffile

    from devocore import config, io

    image = io.to_gray(io.read_image(config.EXAMPLES_DIR / "segmentation" / "membrane.png").data)
    model = segmentation.load("membrane")
    assert segmentation.segment(np.zeros_like(image), model).count == 0
    assert segmentation.segment(np.full_like(image, 37), model).count == 0
    pad = np.zeros((3, *image.shape), image.dtype)
    tifffile.imwrite(tmp_path / "padded.tif", np.concatenate([pad, np.stack([image] * 4), pad]), imagej=True,
                     metadata={"axes": "ZYX"})
    segmentation.segment_path(tmp_path / "padded.tif", model, segmentation.SegmentConfig(), tmp_path / "out",
                              labels_3d=True)
    labels = tifffile.imread(tmp_path / "out" / "labels_3d.tif")
    assert not labels[:3].any() and not labels[-3:].any() and labels[3:-3].any()
    per_plane = pd.read_csv(tmp_path / "out" / "table.csv").groupby("frame").size()
    assert per_plane.nunique() == 1 and len(per_plane) == 4  # the 4 planes of the embryo, the same cells in each
    assert len(pd.read_csv(tmp_path / "out" / "table_3d.csv")) == per_plane.iloc[0]


def test_segment_takes_the_channel_asked_for_or_the_one_that_shows_what_the_task_segments(tmp_path, capsys):
    # before, without --channel the mean of a nuclei channel and a membrane channel was segmented (with a note)
    import tifffile

    from devocore import cli
    from devocore.simulate.examples import example

    yy, xx = np.mgrid[0:256, 0:256]
    nuclei = np.random.default_rng(0).integers(0, 20, (256, 256)).astype(np.uint8)
    for cy, cx in [(60, 60), (60, 180), (180, 80), (190, 190)]:
        nuclei[(yy - cy) ** 2 + (xx - cx) ** 2 <= 18 ** 2] = 220
    membranes = example("membrane", 1)[0]
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, np.stack([membranes, nuclei]), imagej=True, metadata={"axes": "CYX"})

    def run(*extra):
        code = cli.main(["segment", "nucleus", str(path), "--out", str(tmp_path / f"out{len(extra)}"), *extra])
        captured = capsys.readouterr()
        return code, captured.err, tmp_path / f"out{len(extra)}"

    code, err, out = run("--channel", "2")
    assert code == 0 and "note:" not in err and len(pd.read_csv(out / "table.csv")) == 4  # the four nuclei
    code, err, out = run()
    assert code == 0 and len(pd.read_csv(out / "table.csv")) == 4
    assert ("'two.tif' has 2 channels that differ (1: membranes, 2: nuclei); channel 2 was segmented. To segment "
            "another, choose it (--channel N, from 1).") in err
    code, err, _ = run("--channel", "3", "--overwrite")
    assert code == 2 and "'two.tif' has 2 channels; choose a channel from 1 to 2, not 3." in err
    noise = np.random.default_rng(1).integers(0, 20, (5, 256, 256)).astype(np.uint8)  # no channel shows nuclei
    tifffile.imwrite(path, noise, imagej=True, metadata={"axes": "CYX"})
    code, err, _ = run("--overwrite")  # before: "Expected one 2-D image (Y x X or Y x X x C) ... split stacks"
    assert code == 2 and "'two.tif' has 5 channels; choose the one to segment (--channel N, from 1 to 5)." in err


@pytest.mark.parametrize("fourcc, suffix", [("mp4v", ".mp4"), ("MJPG", ".avi")])
def test_a_grey_video_a_codec_stored_as_colour_is_one_grey_channel(tmp_path, capsys, fourcc, suffix):
    # audit: OpenCV's codecs give a grey video back with channels up to 2 levels apart, and `segment` said
    # "'movie.avi' has 3 channels that differ (1: membranes, 2: membranes, 3: membranes); channel 2 was segmented"
    import cv2

    from devocore import cli, config, io

    image = io.to_gray(io.read_image(config.EXAMPLES_DIR / "segmentation" / "nuclei.png").data)
    path = tmp_path / f"movie{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 7, image.shape[::-1], True)
    for _ in range(3):
        writer.write(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    writer.release()
    with io.open_frames(path) as source:
        frame = next(iter(source))
    spread = max(int(np.abs(frame[..., c].astype(int) - frame[..., 0]).max()) for c in (1, 2))
    assert 0 < spread <= io.pixels.CODEC_CHANNEL_LEVELS and io.distinct_channels(frame) == 0
    assert cli.main(["segment", "nucleus", str(path), "--out", str(tmp_path / "out"), "--no-overlay"]) == 0
    assert "channels that differ" not in capsys.readouterr().err
    frame[:20, :20, 1] = 255  # a green mark: the channels do differ
    assert io.distinct_channels(frame) == 3


def test_segment_warns_when_given_a_mask_or_an_empty_stack_but_not_a_microscope_image(tmp_path, capsys):
    # Batch skipped such files with a reason; `segment` segmented them without a word
    import tifffile
    from PIL import Image

    from devocore import cli

    mask = np.zeros((64, 64), np.uint8)
    mask[disk(mask.shape, (30, 30), 10)] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    tifffile.imwrite(tmp_path / "empty.tif", np.zeros((3, 64, 64), np.uint16), imagej=True)
    nuclei = (np.random.default_rng(0).poisson(5, (64, 64)) + 80 * disk((64, 64), (30, 30), 10)).astype(np.uint8)
    Image.fromarray(nuclei).save(tmp_path / "nuclei.png")
    said = {}
    for name in ("mask.png", "empty.tif", "nuclei.png"):
        assert cli.main(["segment", "nucleus", str(tmp_path / name), "--out", str(tmp_path / name[:-4])]) == 0
        said[name] = capsys.readouterr().err
    assert ("note: 'mask.png' does not look like a fluorescence microscope image: only two values (0 and 255): a "
            "binary mask, not a microscope image. Its segmentation likely means nothing.") in said["mask.png"]
    assert "'empty.tif' does not look like" in said["empty.tif"] and "an empty image" in said["empty.tif"]
    assert "note:" not in said["nuclei.png"]


def test_segment_notes_an_image_of_the_other_kind_as_batch_does(tmp_path, capsys):
    # Batch noted "looks like membranes, not nuclei"; `segment nucleus` on the same membrane image said nothing
    import cv2
    import tifffile

    from devocore import cli
    from devocore.simulate.embryo_render import membrane_image

    membranes = np.stack([membrane_image(seed, size=128)[0] for seed in (1, 4, 7)])
    tifffile.imwrite(tmp_path / "membranes.tif", membranes, imagej=True, metadata={"axes": "ZYX"})
    cv2.imwrite(str(tmp_path / "membrane.png"), membranes[1])
    for name in ("membrane.png", "membranes.tif"):
        assert cli.main(["segment", "nucleus", str(tmp_path / name), "--out", str(tmp_path / "n")]) == 0
        assert "note: looks like membranes, not nuclei: check the task and the results" in capsys.readouterr().err
        assert cli.main(["segment", "membrane", str(tmp_path / name), "--out", str(tmp_path / "m")]) == 0
        assert "note:" not in capsys.readouterr().err


def test_segment_notes_a_bright_field_video_as_batch_skips_it(tmp_path, capsys):
    # Batch skipped the bundled worm video for the nucleus task (bright field); `segment` segmented it without a word
    import cv2

    from devocore import cli, io
    from devocore.config import EXAMPLES_DIR

    clip = tmp_path / "worms.avi"  # its first 8 frames
    with io.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as frames:
        first = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for _, f in zip(range(8), frames)]
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, first[0].shape[1::-1])
    for frame in first:
        writer.write(frame)
    writer.release()
    assert cli.main(["segment", "nucleus", str(clip), "--out", str(tmp_path / "out"), "--no-overlay"]) == 0
    assert ("note: 'worms.avi' does not look like a fluorescence microscope image: a light background with dark "
            "objects (bright field?)") in capsys.readouterr().err
