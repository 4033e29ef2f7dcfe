"""`python -m devocore train nucleus --images --masks`: bad data gets one clear line (exit 2) and is never
modified; good data trains, saves a model folder the registry lists, and prints the comparison."""
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from devocore import cli, registry
from devocore.train import user_data

TINY = ["--epochs", "1", "--steps", "2", "--batch", "2", "--size", "64", "--crop", "64", "--decoder-channels", "64"]


def tree_hash(folder):
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def pairs(tmp_path):
    images, masks = user_data.example_dataset(tmp_path / "data", n=4, size=64)
    return tmp_path / "data", images, masks


def _labels_300():
    labels = np.arange(300, dtype=np.uint16).reshape(15, 20).repeat(4, 0).repeat(4, 1)[:64, :64]
    return np.pad(labels, ((0, 4), (0, 0)))[:64]


@pytest.mark.parametrize("damage, message", [
    ("unmatched", "1 image(s) have no mask: emb_99.png"),
    ("wrong_size", "is 32 x 32 pixels but its image"),
    ("labels_300", "different values, but a binary mask"),
    ("empty", "has no PNG, JPEG or TIFF files"),
    ("swapped", "is not a microscope image: only two values (0 and 255): a binary mask, not a microscope image. "
                "Its mask 'emb_00.png' looks like one: are the image and mask folders swapped?"),
])
def test_bad_data_gets_one_clear_line_and_is_not_modified(pairs, tmp_path, capsys, damage, message):
    root, images, masks = pairs
    if damage == "unmatched":
        Image.fromarray(np.zeros((64, 64), np.uint8)).save(images / "emb_99.png")
    elif damage == "wrong_size":
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(masks / "emb_01_mask.png")
    elif damage == "labels_300":
        Image.fromarray(_labels_300()).save(masks / "emb_02_mask.png")
    elif damage == "swapped":  # the masks given as the images and the other way round
        images, masks = masks, images
    else:
        for f in masks.iterdir():
            f.unlink()
    before = tree_hash(root)
    code = cli.main(["train", "nucleus", "--images", str(images), "--masks", str(masks),
                     "--out", str(tmp_path / "model"), *TINY])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert tree_hash(root) == before
    assert not (tmp_path / "model").exists()


def test_cli_trains_on_pairs_saves_a_listed_model_and_compares(pairs, capsys, monkeypatch, tmp_path):
    root, images, masks = pairs
    before = tree_hash(root)
    out = registry.config.user_model_dir() / "my-nuclei"
    code = cli.main(["train", "nucleus", "--images", str(images), "--masks", str(masks), "--out", str(out),
                     "--val-fraction", "0.25", "--json", *TINY])
    assert code == 0
    printed = capsys.readouterr().out
    figures = json.loads(printed.strip().splitlines()[-1])
    assert figures["pairs"] == 4 and figures["validation_files"] == 1
    assert {row["model"] for row in figures["comparison"]} == {"my-nuclei", "classical baseline"}
    assert "my-nuclei" in [m.name for m in registry.list_models("segmentation")]
    model = registry.load_model("my-nuclei")
    assert model.card["train_config"]["size"] == 64 and "4 image/mask pairs" in model.card["training_data"]
    assert tree_hash(root) == before


def _start_model_and_args_without(pairs, tmp_path, option):
    """Train the start model tmp_path/m64 with TINY; return TINY's train arguments less ``option`` and its value."""
    _, images, masks = pairs
    base = ["train", "nucleus", "--images", str(images), "--masks", str(masks), "--val-fraction", "0.25",
            "--no-compare", *TINY]
    assert cli.main([*base, "--out", str(tmp_path / "m64")]) == 0
    i = base.index(option)
    return base[:i] + base[i + 2:]


def test_size_is_the_start_models_unless_given(pairs, capsys, tmp_path):
    without = _start_model_and_args_without(pairs, tmp_path, "--size")
    # fine-tuned without --size: the start model's input size (64), not the default 256
    assert cli.main([*without, "--init", str(tmp_path / "m64"), "--out", str(tmp_path / "same")]) == 0
    assert json.loads((tmp_path / "same" / "card.json").read_text())["input_size"] == 64
    # an explicit --size wins: the images are resized to it and the card says so
    assert cli.main([*without, "--size", "96", "--init", str(tmp_path / "m64"), "--out", str(tmp_path / "big")]) == 0
    card = json.loads((tmp_path / "big" / "card.json").read_text())
    assert card["input_size"] == 96 and card["train_config"]["size"] == 96
    capsys.readouterr()
    assert cli.main([*without, "--size", "100", "--out", str(tmp_path / "odd")]) == 2
    assert "--size 100 is not a multiple of 32" in capsys.readouterr().err
    assert cli.main(["train", "nucleus", "--epochs", "1", "--size", "100", "--out", str(tmp_path / "odd")]) == 2
    assert "--size 100 is not a multiple of 32" in capsys.readouterr().err  # simulated frames too
    assert not (tmp_path / "odd").exists()


def test_decoder_channels_given_with_init_put_its_encoder_under_a_new_decoder(pairs, capsys, tmp_path):
    import torch
    from safetensors.torch import load_file

    without = _start_model_and_args_without(pairs, tmp_path, "--decoder-channels")
    # not given: the start model's decoder (64), as before
    assert cli.main([*without, "--init", str(tmp_path / "m64"), "--out", str(tmp_path / "same")]) == 0
    card = json.loads((tmp_path / "same" / "card.json").read_text())
    assert card["config"]["decoder_pyramid_channels"] == 64 and card["train_config"]["decoder_channels"] == 64
    # given and different: a 128-channel decoder under the start model's encoder
    capsys.readouterr()
    assert cli.main([*without, "--decoder-channels", "128", "--lr", "0", "--init", str(tmp_path / "m64"),
                     "--out", str(tmp_path / "wide")]) == 0
    assert "new decoder of 128 channels (its own has 64)" in capsys.readouterr().out
    card = json.loads((tmp_path / "wide" / "card.json").read_text())
    assert card["config"]["decoder_pyramid_channels"] == 128 and card["config"]["decoder_segmentation_channels"] == 64
    assert card["train_config"]["decoder_channels"] == 128
    start, wide = (load_file(tmp_path / name / "weights.safetensors") for name in ("m64", "wide"))
    assert wide["decoder.p5.weight"].shape[0] == 128 and start["decoder.p5.weight"].shape[0] == 64
    encoder = [k for k in start if k.startswith("encoder.") and k.endswith(("weight", "bias"))]
    assert encoder and all(torch.equal(start[k], wide[k]) for k in encoder)  # rate 0: the encoder as it started


def test_a_colour_label_mask_gives_one_cell_per_colour_and_a_jpeg_cannot_hold_labels(tmp_path):
    from devocore.train.pairs import Pair, PairError, load_pair

    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8), dtype=np.uint8)).save(tmp_path / "a.png")
    colours = np.zeros((8, 8, 3), np.uint8)
    colours[:4, :4] = (255, 0, 0)
    colours[:4, 4:] = (255, 128, 0)  # same red as the first cell: reading one channel merged them
    colours[4:, :4] = (0, 0, 255)
    Image.fromarray(colours).save(tmp_path / "m.png")
    _, labels = load_pair(Pair("a", tmp_path / "a.png", tmp_path / "m.png"), binary=False)
    assert len(np.unique(labels)) == 4 and labels[6, 6] == 0
    assert len({labels[0, 0], labels[0, 6], labels[6, 0]}) == 3
    Image.fromarray(colours).save(tmp_path / "m.jpg")
    with pytest.raises(PairError, match="is a JPEG, which cannot keep each cell's own number"):
        load_pair(Pair("a", tmp_path / "a.png", tmp_path / "m.jpg"), binary=False)
    _, binary = load_pair(Pair("a", tmp_path / "a.png", tmp_path / "m.jpg"), binary=True)
    assert binary[0, 0] == 1 and binary[6, 6] == 0
