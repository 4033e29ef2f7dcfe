"""Training on the user's pairs: fine-tuning helps on another microscope; LR finder, Optuna, comparison."""
import copy
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from devocore import registry
from devocore.errors import DevocoreError
from devocore.train import compare, user_data
from devocore.train.pairs import PairError
from devocore.train.segmentation import TrainConfig, loss_fn, train

TINY = TrainConfig(task="nucleus", epochs=2, steps=10, batch=4, crop=64, size=64, val_images=4,
                   decoder_channels=64, lr=3e-3, amp=False)


@pytest.fixture(scope="module")
def starting_model():
    """A tiny nucleus model pre-trained for a few steps on the simulator's own look."""
    torch.set_num_threads(1)
    model = train(TINY)["model"]
    model.card = {"input_size": 64, "target": "nucleus", "config": {"encoder": "resnet18", "in_channels": 1,
                  "classes": 1, "decoder_pyramid_channels": 64, "decoder_segmentation_channels": 32}}
    return model


@pytest.fixture(scope="module")
def other_microscope(tmp_path_factory):
    """Simulated nuclei drawn with another noise model and blur, as user folders."""
    images, masks = user_data.example_dataset(tmp_path_factory.mktemp("pairs"), n=10, size=64)
    dataset = user_data.load_dataset(images, masks, "nucleus")
    return user_data.prepare(dataset, replace(TINY, batch=4), val_fraction=0.3, seed=0)


def test_split_is_by_group_and_seeded():
    groups = [f"emb{i // 3}" for i in range(12)]
    train_idx, val_idx = user_data.split(groups, 0.25, seed=3)
    assert {groups[i] for i in train_idx}.isdisjoint({groups[i] for i in val_idx})
    assert sorted(train_idx + val_idx) == list(range(12))
    assert user_data.split(groups, 0.25, seed=3) == (train_idx, val_idx)
    assert user_data.group_of("emb12_t003.png", r"^(emb\d+)") == "emb12"
    with pytest.raises(PairError, match="at least 2"):
        user_data.split(["a"], 0.2)


def test_fine_tuning_on_another_microscope_beats_the_starting_model(starting_model, other_microscope, tmp_path):
    pairs = other_microscope.validation_pairs()
    out = tmp_path / "finetuned"
    result = train(replace(TINY, epochs=5, lr=2e-3), out=out, model=copy.deepcopy(starting_model),
                   data=other_microscope)
    tuned = result["model"]
    tuned.card = dict(starting_model.card)
    table = compare.compare({"start": starting_model, "fine-tuned": tuned, "baseline": compare.BASELINE}, pairs)
    scores = table.set_index("model")["iou"]
    assert scores["fine-tuned"] > scores["start"] + 0.1, table
    assert scores["fine-tuned"] > 0.3, table
    # the saved folder is a verified model folder whose card describes the user's data
    info = registry.ModelInfo("finetuned", out, json.loads((out / "card.json").read_text()), "user")
    registry.verify(info)
    assert "pairs" in info.card["training_data"] and info.card["metrics"]["val_iou"] > 0
    assert info.card["data_terms"] == "trained on your own images: their terms apply."
    assert info.card["validation_files"] == other_microscope.val_set.names


def test_stop_flag_ends_training_and_keeps_the_best(other_microscope):
    records = []
    result = train(replace(TINY, epochs=50), data=other_microscope, stop=lambda: len(records) >= 1,
                   on_epoch=records.append)
    assert result["epochs"] == 2 and len(records) == 2  # stopped during epoch 2, after its first batch


def test_loss_options_weigh_foreground():
    logits = torch.full((1, 1, 8, 8), -2.0)
    target = torch.zeros(1, 1, 8, 8)
    target[..., :2, :2] = 1
    plain, weighted = loss_fn(logits, target, "bce"), loss_fn(logits, target, "bce", fg_weight=4.0)
    assert weighted > plain  # missed foreground costs more
    assert loss_fn(logits, target, "bce+dice") == pytest.approx(float(plain + loss_fn(logits, target, "dice")))
    with pytest.raises(DevocoreError, match="Available options"):
        train(replace(TINY, loss="focal"))


def test_lr_finder_sweeps_and_suggests(starting_model, other_microscope):
    from devocore.train.lr_finder import find_lr

    before = {k: v.clone() for k, v in starting_model.state_dict().items()}
    found = find_lr(starting_model, other_microscope, steps=20, start=1e-5, end=10.0)
    assert found.rates[0] == pytest.approx(1e-5) and all(b > a for a, b in zip(found.rates, found.rates[1:]))
    assert found.rates[0] <= found.suggested <= found.rates[-1]
    assert len(found.table()) == len(found.rates)
    assert all(torch.equal(v, starting_model.state_dict()[k]) for k, v in before.items())  # a copy was swept


def test_optuna_two_trials_give_a_trials_table(other_microscope):
    from devocore.train.finetune import source_maker
    from devocore.train.tuning import tune

    make_source = source_maker(other_microscope, 64, 64)
    resized = make_source(2, 0.5)
    assert (resized.batch_size, resized.strength, resized.train_set) == (2, 0.5, other_microscope.train_set)
    result = tune(replace(TINY, epochs=2, steps=3), make_source, n_trials=2, seed=0)
    assert len(result.trials) == 2
    assert {"lr", "batch", "fg_weight", "aug_strength", "val_iou", "state"} <= set(result.trials.columns)
    assert set(result.best_params) == {"lr", "batch", "fg_weight", "aug_strength"}
    assert 0 <= result.best_iou <= 1


def test_comparison_scores_every_model_on_the_same_pairs(starting_model):
    image = np.zeros((64, 64), np.uint8)
    truth = np.zeros((64, 64), bool)
    yy, xx = np.mgrid[0:64, 0:64]
    for cy, cx in ((16, 16), (40, 44)):
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 < 36
        image[disk], truth[disk] = 200, True
    table = compare.compare({"start": starting_model, "classical": compare.BASELINE}, [(image, truth)])
    assert list(table.columns) == compare.COLUMNS
    row = table.set_index("model").loc["classical"]
    assert row["iou"] > 0.7 and row["f1"] == 1.0  # two bright disks: Otsu finds both


def test_augmentation_moves_image_and_mask_together():
    from devocore.train.augment import augment_pair, preview

    rng = np.random.default_rng(0)
    image = np.zeros((48, 48), np.float32)
    image[10:20, 25:40] = 1.0
    for _ in range(20):
        a, b = augment_pair(rng, image, (image > 0.5).astype(np.float32), strength=0.0)
        assert np.array_equal(a > 0.5, b > 0.5)  # geometry only: image and mask stay aligned
    grid = preview(image, image > 0.5, n=6, columns=3)
    assert grid.shape == (2 * 48 + 2, 3 * 48 + 4, 3) and grid.dtype == np.uint8


def test_zip_upload_is_extracted_and_its_folders_found(tmp_path):
    import io as _io
    import zipfile

    from devocore import io

    images, masks = user_data.example_dataset(tmp_path / "src", n=3, size=32)
    buffer = _io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in list(images.iterdir()) + list(masks.iterdir()):
            archive.write(path, f"my data/{path.parent.name}/{path.name}")
    io.extract_zip(buffer.getvalue(), tmp_path / "out", name="pairs.zip")
    found = user_data.find_pair_folders(tmp_path / "out")
    assert [p.name for p in found] == ["images", "masks"]
    assert len(user_data.load_dataset(*found)) == 3
    with pytest.raises(PairError, match="needs two folders"):
        user_data.find_pair_folders(images)


@pytest.mark.skipif(not (registry.config.SHIPPED_MODEL_DIR / "nucleus").is_dir(), reason="no shipped nucleus model")
def test_fine_tuning_the_shipped_nucleus_model_beats_it_on_another_microscope(tmp_path):
    """Dark nuclei on a bright background (another contrast, noise and blur): the shipped model fails there;
    a few epochs of fine-tuning on 8 of the user's pairs lift validation IoU on that look above it."""
    from PIL import Image

    torch.manual_seed(0)
    cfg = TrainConfig(task="nucleus", epochs=3, steps=6, batch=4, crop=128, size=128, val_images=4,
                      decoder_channels=64, lr=1e-3, amp=False)
    images, masks = user_data.example_dataset(tmp_path, n=12, size=128)
    for path in images.iterdir():
        pixels = np.asarray(Image.open(path)).astype(float)
        Image.fromarray((255 - 0.8 * pixels).clip(0, 255).astype(np.uint8)).save(path)
    source = user_data.prepare(user_data.load_dataset(images, masks, "nucleus"), cfg, val_fraction=0.3, seed=0)
    shipped = registry.load_model("nucleus")
    tuned = train(cfg, model=copy.deepcopy(shipped), data=source)["model"]
    tuned.card = dict(shipped.card)
    scores = compare.compare({"shipped": shipped, "fine-tuned": tuned}, source.validation_pairs()).set_index("model")
    assert scores.loc["fine-tuned", "iou"] > scores.loc["shipped", "iou"] + 0.3, scores


def test_finetune_loads_pairs_and_compares_trained_start_and_baseline(starting_model, tmp_path):
    """The steps the Train view and `train nucleus --images` share (devocore/train/finetune.py)."""
    from devocore.train import finetune

    images, masks = user_data.example_dataset(tmp_path, n=6, size=64)
    dataset, source, cfg = finetune.load_pairs(images, masks, "nucleus", replace(TINY, batch=2), val_fraction=0.34)
    assert len(dataset) == 6 and len(source.train_set) + len(source.val_set) == 6 and cfg.channels in (None, "")
    shared_card = dict(starting_model.card)
    table = finetune.comparison(copy.deepcopy(starting_model), "mine", "nucleus", source, start=starting_model,
                                start_name="start")
    assert set(table["model"]) == {"mine", "start", "classical baseline"}
    assert table.set_index("model").loc["mine", "kind"] == "trained here"
    assert starting_model.card == shared_card  # a shared start model's card is left alone without start_kind
    assert (table["images"] == len(source.val_set)).all()
