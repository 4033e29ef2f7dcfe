"""GAN sampling, distances and training, on tiny generators and seeded synthetic data."""
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from devocore import cli, gan, registry
from devocore.errors import DevocoreError, UnsafePathError
from devocore.nets.gan import build_discriminator, build_generator
from devocore.io import square_gray as prepare
from devocore.io import extract_zip
from devocore.train.gan import GanConfig, GanTrainer, load_image_folder


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread (and do not fight other jobs for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_generator():
    torch.manual_seed(0)
    return build_generator(z_dim=8, base=2, size=16).eval()


def blobs(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    """Bright Gaussian blobs at random places on a dark background: n x size x size uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for _ in range(n):
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        out.append(255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 6) ** 2)))
    return np.stack(out).round().astype(np.uint8)


class TinyEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv2d(1, 4, 3, 2, 1)
        self.fc = nn.Linear(4, 7)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


def test_shapes_and_size_of_the_shipped_configuration():
    g = build_generator(z_dim=64, base=8, size=128)
    assert tuple(g(torch.zeros(2, 64)).shape) == (2, 1, 128, 128)
    assert sum(p.numel() for p in g.parameters()) * 2 < 20e6  # fp16 bytes
    assert tuple(build_discriminator(base=8, size=128)(torch.zeros(3, 1, 128, 128)).shape) == (3,)
    with pytest.raises(DevocoreError):
        build_generator(size=100)


def test_samples_are_uint8_and_fixed_by_the_seed(tiny_generator):
    a = gan.sample(tiny_generator, 5, seed=3)
    assert a.shape == (5, 16, 16) and a.dtype == np.uint8
    assert np.array_equal(a, gan.sample(tiny_generator, 5, seed=3))
    assert np.array_equal(a[:2], gan.sample(tiny_generator, 2, seed=3))  # sample i does not depend on n
    assert not np.array_equal(a, gan.sample(tiny_generator, 5, seed=4))
    assert gan.latents(0, 3, 8, truncation=0.5).std() < gan.latents(0, 3, 8).std()
    with pytest.raises(DevocoreError):
        gan.latents(0, 3, 8, truncation=0)


def test_interpolation_starts_and_ends_at_the_two_seeds(tiny_generator):
    frames = gan.interpolate(tiny_generator, 11, 12, steps=6, truncation=0.8)
    assert frames.shape == (6, 16, 16)
    assert np.array_equal(frames[0], gan.sample(tiny_generator, 1, seed=11, truncation=0.8)[0])
    assert np.array_equal(frames[-1], gan.sample(tiny_generator, 1, seed=12, truncation=0.8)[0])
    assert not np.array_equal(frames[0], frames[-1])
    assert gan.gif_bytes(gan.tint(frames)).startswith(b"GIF8")


def test_frechet_distance_on_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 4))
    assert gan.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([3.0, 0.0, -1.0, 0.0])  # same covariance: FID = |shift|^2 = 10
    assert gan.fid(a, rng.normal(size=(20000, 4)) + shift) == pytest.approx(10.0, abs=0.1)
    # exact arithmetic: identity vs 4 x identity covariance, means 0 and 1 (d = 3) -> 3 + 3 * (2 - 1)^2
    assert gan.frechet_distance(np.zeros(3), np.eye(3), np.ones(3), 4 * np.eye(3)) == pytest.approx(6.0)


def test_kernel_distance_is_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same = gan.kernel_distance(a, b)
    assert abs(same) < 0.02
    # one coordinate shifted by 2: the cubic kernel's MMD^2 is at least the mean term, well above noise
    assert gan.kernel_distance(a, b + np.eye(8)[0] * 2) > 0.1 > same


def test_features_take_the_input_of_the_last_linear_layer():
    feats = gan.features(TinyEncoder(), blobs(5), input_size=32)
    assert feats.shape == (5, 4) and np.isfinite(feats).all()


def test_evaluate_puts_real_halves_closer_than_the_trivial_generator(tiny_generator):
    real = blobs(80, seed=2)
    result = gan.evaluate(tiny_generator, real, TinyEncoder())
    assert result.n == 40
    assert result.real_fid < result.trivial_fid and result.real_fid < result.fid
    assert set(result.as_dict()) >= {"fid", "kid", "trivial_fid", "real_fid", "trivial_kid", "real_kid"}


def test_a_few_training_steps_change_the_weights_and_lower_the_discriminator_loss():
    cfg = GanConfig(size=16, z_dim=8, base=4, batch=8, lr_d=1e-3, lr_g=1e-3)
    trainer = GanTrainer(blobs(64), cfg)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.run(30)
    losses = [h["loss_d"] for h in trainer.history]
    assert np.mean(losses[-5:]) < losses[0] - 0.1
    changed = [k for k, v in trainer.generator.state_dict().items() if not torch.equal(v, before[k])]
    assert any("weight" in k for k in changed)
    assert not torch.equal(trainer.ema.body[0].weight, before["body.0.weight"])


def test_the_default_discriminator_is_wide_enough_to_learn():
    # A spectral-normalised discriminator as narrow as the generator barely moves its scores
    # (on 128 px embryo frames its hinge loss sat at 2.0 and the generator drifted); the default is wider.
    assert GanConfig().d_base > GanConfig().base

    def final_loss(d_base: int) -> float:
        trainer = GanTrainer(blobs(64, size=32), GanConfig(size=32, z_dim=8, base=4, d_base=d_base, batch=8))
        trainer.run(60)
        return float(np.mean([h["loss_d"] for h in trainer.history[-10:]]))

    assert final_loss(GanConfig().d_base) < final_loss(4) - 0.5


def test_checkpoint_resumes_exactly_and_saved_model_loads(tmp_path, monkeypatch):
    cfg = GanConfig(size=16, z_dim=8, base=2, batch=4)
    first = GanTrainer(blobs(16), cfg).run(3)
    first.save_checkpoint(tmp_path / "ck.safetensors")
    second = GanTrainer(blobs(16), cfg)
    second.load_checkpoint(tmp_path / "ck.safetensors")
    assert second.step_count == 3
    assert first.step() == second.step()
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path / "models"))
    first.save(tmp_path / "models" / "tiny-gan", {"training_data": "blobs", "training_command": "test"})
    loaded = registry.load_model("tiny-gan")
    assert loaded.card["task"] == "gan"
    diff = np.abs(gan.sample(loaded, 4, seed=1).astype(int) - gan.sample(first.ema, 4, seed=1).astype(int))
    assert diff.max() <= 3  # fp16 weights


def test_prepare_and_folder_loading(tmp_path):
    assert prepare(np.zeros((30, 40, 3), np.uint16), 16).shape == (16, 16)
    from PIL import Image

    for i, image in enumerate(blobs(3, size=24)):
        Image.fromarray(image).save(tmp_path / f"b{i}.png")
    assert load_image_folder(tmp_path, 16).shape == (3, 16, 16)


def zip_of(entries: dict) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_extraction_refuses_paths_outside_the_target(tmp_path):
    png = gan.png_bytes(blobs(1)[0])
    extract_zip(zip_of({"a/one.png": png, "two.png": png}), tmp_path / "ok")  # what the GAN page's upload goes through
    assert sorted(p.name for p in (tmp_path / "ok").rglob("*.png")) == ["one.png", "two.png"]
    for bad in ("../evil.png", "/abs/evil.png", "a/../../evil.png"):
        with pytest.raises(UnsafePathError):
            extract_zip(zip_of({"fine.png": png, bad: png}), tmp_path / "bad")
    assert not (tmp_path / "evil.png").exists()
    with pytest.raises(DevocoreError):
        extract_zip(b"not a zip", tmp_path / "x")


def test_train_command_on_a_folder_saves_a_user_model(tmp_path, capsys):
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    for i, image in enumerate(blobs(24, size=16)):
        Image.fromarray(image).save(data / f"b{i}.png")
    code = cli.main(["train", "gan", "--data", str(data), "--size", "16", "--base", "2", "--z-dim", "8",
                     "--batch", "4", "--steps", "4", "--eval-every", "2", "--out", str(tmp_path / "m")])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["steps"] == 4 and result["validation_fid"] >= 0
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["task"] == "gan" and card["architecture"] == "dcgan-generator"
    assert card["data_terms"] == "trained on the images in data: the terms of those images apply."


def _tiny_lineage_model(folder: Path) -> None:
    from devocore import nets

    net = nets.build("resnet18-lineage", in_channels=1, curve_len=10)
    with torch.no_grad():
        net.stage_curves.copy_(torch.linspace(0, 5, 10)[:, None].repeat(1, 8))
    registry.save_model(net, folder, {"task": "lineage", "architecture": "resnet18-lineage",
                                      "config": {"in_channels": 1, "curve_len": 10}, "input_size": 32})


def test_lineage_model_scores_samples_and_serves_as_the_fid_encoder(tmp_path, monkeypatch, tiny_generator):
    from devocore import config

    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    monkeypatch.setattr(config, "SHIPPED_MODEL_DIR", tmp_path / "no-shipped-models")
    assert "randomly initialised" in gan.default_encoder().description  # no lineage model yet
    _tiny_lineage_model(tmp_path / "tiny-lineage")
    encoder = gan.default_encoder()
    assert "tiny-lineage" in encoder.description and encoder.input_size == 32
    samples = gan.sample(tiny_generator, 3, seed=0)
    assert encoder(samples).shape == (3, 512)
    table = gan.predict_populations(samples, encoder.module)
    assert list(table.columns) == ["sample", "A", "E", "M", "P", "C", "D", "Z", "total"]
    assert table["sample"].tolist() == [0, 1, 2] and (table["total"] >= 0).all()


def test_eval_command_prints_the_figures_as_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path / "models"))
    GanTrainer(blobs(8), GanConfig(size=16, z_dim=8, base=2, batch=4)).run(1).save(
        tmp_path / "models" / "tiny-eval", {"training_data": "blobs", "training_command": "test"})
    code = cli.main(["eval", "gan", "--model", "tiny-eval", "--n", "16", "--cache", str(tmp_path / "cache"),
                     "--grid", str(tmp_path / "grid.png"), "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("fid", "kid", "trivial_fid", "real_fid", "trivial_kid", "real_kid"):
        assert isinstance(figures[key], float)
    assert figures["n"] == 8 and (tmp_path / "grid.png").read_bytes().startswith(b"\x89PNG")
