"""The engine's boundaries: no streamlit in devocore, the CLI, the device, the registry."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from devocore import cli, nets, registry
from devocore.device import choose_device
from devocore.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]


def test_no_devocore_module_but_ui_cache_imports_streamlit():
    code = (
        "import importlib, pkgutil, sys\n"
        "import devocore\n"
        "names = [m.name for m in pkgutil.walk_packages(devocore.__path__, 'devocore.')\n"
        "         if m.name not in ('devocore.ui_cache', 'devocore.__main__')]\n"
        "for n in names: importlib.import_module(n)\n"
        "print(len(names), 'streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    count, imported = out.stdout.split()
    assert int(count) >= 8
    assert imported == "False"


def test_ui_cache_does_import_streamlit():
    out = subprocess.run([sys.executable, "-c", "import sys, devocore.ui_cache; print('streamlit' in sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_device_env_override(monkeypatch):
    monkeypatch.setenv("DEVOCORE_DEVICE", "cpu")
    choice = choose_device()
    assert choice.name == "cpu" and "DEVOCORE_DEVICE" in choice.reason
    monkeypatch.setenv("DEVOCORE_DEVICE", "tpu")
    assert choose_device().name == "cpu" and "not a device" in choose_device().reason


def test_training_follows_the_device_choice_and_never_mps(monkeypatch):
    import torch

    from devocore.device import training_device
    from devocore.train.segmentation import TrainConfig, train

    # a machine with a GPU, as Devoscope's code sees it (torch's own checks still see none, so a CPU run works)
    monkeypatch.setattr(torch.cuda, "is_available",
                        lambda: sys._getframe(1).f_globals["__name__"].startswith("devocore"))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Test GPU")
    monkeypatch.delenv("DEVOCORE_DEVICE", raising=False)
    monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    assert training_device().name == "cuda"
    monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
    assert training_device().name == "cpu" and "cloud" in training_device().reason
    monkeypatch.delenv("DEVOSCOPE_PROFILE")
    monkeypatch.setenv("DEVOCORE_DEVICE", "cpu")
    assert training_device().name == "cpu"
    # before, training took CUDA whenever there was one: here it would have failed moving the model there
    result = train(TrainConfig(task="nucleus", epochs=1, steps=1, batch=2, size=64, crop=64, val_images=2))
    assert next(result["model"].parameters()).device.type == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setenv("DEVOCORE_DEVICE", "mps")
    assert training_device().name == "cpu" and "CUDA GPU or the CPU" in training_device().reason


def test_gan_training_follows_the_device_choice(monkeypatch):
    import numpy as np
    import pytest
    import torch

    from devocore.train.gan import GanConfig, GanTrainer

    images = np.random.default_rng(0).integers(0, 255, (4, 32, 32), dtype=np.uint8)
    config = GanConfig(size=32, batch=2)
    monkeypatch.setattr(torch.cuda, "is_available",
                        lambda: sys._getframe(1).f_globals["__name__"].startswith("devocore"))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Test GPU")
    monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    monkeypatch.setenv("DEVOCORE_DEVICE", "cpu")
    trainer = GanTrainer(images, config)
    assert trainer.device == "cpu" and next(trainer.generator.parameters()).device.type == "cpu"
    trainer.step()  # trains there
    # with the GPU Devoscope sees, it goes there (before, GAN training stayed on the CPU); torch finds none here
    monkeypatch.delenv("DEVOCORE_DEVICE")
    with pytest.raises((RuntimeError, AssertionError), match="NVIDIA|CUDA"):
        GanTrainer(images, config)


def test_cli_info_json_lists_device():
    out = subprocess.run([sys.executable, "-m", "devocore", "info", "--json"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["device"] == "cpu" and "models" in info


def test_cli_info_prints_the_models_figures_to_four_significant_digits(capsys):
    assert cli.main(["info"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "(shipped" in line]
    assert any("nucleus (shipped" in line and "val_iou=0.8186," in line for line in lines), lines
    assert not [line for line in lines if re.search(r"\d\.\d{6,}", line)], lines  # was nmae_timeline=0.0441239942...


def test_cli_input_error_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    def boom(args):
        from devocore.io import read_image
        read_image(tmp_path / "missing.png")

    parser = cli.build_parser()
    args = parser.parse_args(["info"])
    monkeypatch.setattr(cli, "build_parser", lambda: _Fixed(parser, args, boom))
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: 'missing.png' does not exist."]


class _Fixed:
    def __init__(self, parser, args, run):
        self.parser, self.args = parser, args
        args._run = run

    def parse_args(self, argv):
        return self.args


def test_cli_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "devocore", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "info" in out.stdout


@nets.architecture("test-linear")
def _linear(width: int = 3):
    return torch.nn.Linear(width, 2)


def test_registry_round_trip_gives_identical_output(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    torch.manual_seed(0)
    module = _linear(4)
    card = {"task": "test", "architecture": "test-linear", "config": {"width": 4}}
    registry.save_model(module, tmp_path / "tiny", card, half=False)
    loaded = registry.load_model("tiny")
    x = torch.randn(5, 4)
    with torch.inference_mode():
        assert torch.equal(loaded(x), module(x))
    assert loaded.card["source"] == "user" and not loaded.training
    assert [m.name for m in registry.list_models("test")] == ["tiny"]


def test_registry_refuses_tampered_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    registry.save_model(_linear(), tmp_path / "tiny", {"task": "test", "architecture": "test-linear"})
    weights = tmp_path / "tiny" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x00\x00\x00\x01")
    with pytest.raises(ModelError, match="does not match the checksum"):
        registry.load_model("tiny")


def test_registry_missing_weights_say_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    folder = tmp_path / "ghost"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"task": "t", "architecture": "test-linear",
                                                  "training_command": "python -m devocore train ghost"}))
    with pytest.raises(ModelError, match="train ghost"):
        registry.load_model("ghost")


def test_unknown_model_names_the_options(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match="No model named 'nope'. Available models"):
        registry.load_model("nope")


def test_unknown_architecture_names_the_options():
    with pytest.raises(ModelError, match="Available options are"):
        nets.build("no-such-net")
