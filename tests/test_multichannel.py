"""Multi-channel training (issue 30): tiles from a large image, channel recipes, hyper-labelled stacks,
the label vs label-free comparison."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from devocore import channels, subimages
from devocore.cli import main


def _micrograph(seed=0, size=2048, n=60, radius=14):
    """A 3-channel 2048 x 2048 micrograph with ``n`` known round cells on a jittered grid (some near the
    border), and its instance labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    labels = np.zeros((size, size), np.uint16)
    step = size // 8
    spots = [(r, c) for r in range(8) for c in range(8)]
    chosen = rng.permutation(len(spots))[:n]
    centres = []
    for k, s in enumerate(chosen, start=1):
        r, c = spots[s]
        cy = int(np.clip(r * step + step // 2 + rng.integers(-60, 61), radius, size - radius - 1))
        cx = int(np.clip(c * step + step // 2 + rng.integers(-60, 61), radius, size - radius - 1))
        y0, x0 = cy - radius - 1, cx - radius - 1
        win = (yy[y0:y0 + 2 * radius + 3, x0:x0 + 2 * radius + 3] - cy) ** 2 \
            + (xx[y0:y0 + 2 * radius + 3, x0:x0 + 2 * radius + 3] - cx) ** 2 <= radius ** 2
        labels[y0:y0 + 2 * radius + 3, x0:x0 + 2 * radius + 3][win] = k
        centres.append((cy, cx))
    image = np.stack([(labels > 0) * 200 + rng.integers(0, 30, labels.shape) for _ in range(3)]).astype(np.uint8)
    return image, labels, centres


def test_subimages_one_tile_per_cell_and_negatives_touch_no_cell(tmp_path):
    import tifffile

    image, labels, centres = _micrograph()
    tifffile.imwrite(tmp_path / "micro.tif", image, imagej=True, metadata={"axes": "CYX"})
    tifffile.imwrite(tmp_path / "cells.tif", labels)
    out = tmp_path / "tiles"
    code = main(["subimages", str(tmp_path / "micro.tif"), "--masks", str(tmp_path / "cells.tif"), "--size", "128",
                 "--negatives", "0.3", "--out", str(out)])
    assert code == 0
    index = pd.read_csv(out / "index.csv")
    cells = index[~index["negative"]]
    negatives = index[index["negative"]]
    assert sorted(cells["cell_id"]) == list(range(1, len(centres) + 1))  # one tile per cell
    assert len(negatives) == round(0.3 * len(centres))
    for row in cells.itertuples():
        cy, cx = centres[row.cell_id - 1]
        tile = tifffile.imread(out / "images" / row.file)
        assert tile.shape == (3, 128, 128)
        assert row.y <= cy < row.y + 128 and row.x <= cx < row.x + 128
        if 64 <= cy < 2048 - 64 and 64 <= cx < 2048 - 64:  # centred unless shifted in at the border
            assert abs(row.y + 64 - cy) <= 1 and abs(row.x + 64 - cx) <= 1
        mask = tifffile.imread(out / "masks" / row.file)
        assert mask[cy - row.y, cx - row.x] > 0
        assert np.array_equal(tile, image[:, row.y:row.y + 128, row.x:row.x + 128])
    for row in negatives.itertuples():
        assert labels[row.y:row.y + 128, row.x:row.x + 128].max() == 0
        assert tifffile.imread(out / "masks" / row.file).max() == 0


@pytest.mark.parametrize("layout", ["CYX-imagej", "YXC-plain", "CYX-plain"])
def test_read_channels_honours_the_layout(tmp_path, layout):
    import tifffile

    cyx = np.stack([np.full((20, 30), v, np.uint16) for v in (1, 2, 3)])
    if layout == "CYX-imagej":
        tifffile.imwrite(tmp_path / "a.tif", cyx, imagej=True, metadata={"axes": "CYX"})
    elif layout == "YXC-plain":
        tifffile.imwrite(tmp_path / "a.tif", np.moveaxis(cyx, 0, -1), photometric="minisblack", planarconfig="contig")
    else:
        tifffile.imwrite(tmp_path / "a.tif", cyx, photometric="minisblack")
    got = subimages.read_channels(tmp_path / "a.tif")
    assert got.shape == (3, 20, 30) and got[:, 0, 0].tolist() == [1, 2, 3]


# ----------------------------------------------------------------------------- recipes

@pytest.mark.parametrize("text, kinds", [
    ("0", ["channel"]), ("random(0,1,2)", ["random"]), ("drop(1, 0.3)", ["drop"]), ("merge(0,2)", ["merge"]),
    ("merge(0:0.2, 2:0.5)", ["merge"]), (" merge(0,1) ; drop(2,0.5);3 ", ["merge", "drop", "channel"]),
])
def test_valid_recipes_parse_and_round_trip(text, kinds):
    recipe = channels.parse(text)
    assert [p.kind for p in recipe] == kinds
    assert channels.parse(channels.text(recipe)) == recipe


@pytest.mark.parametrize("text, position", [
    ("merge(0,x)", 8), ("drop(1)", 6), ("foo(1)", 0), ("0 1", 2), ("merge(0:2)", 8), ("random(0:0.5)", 8),
    ("0;", 2), ("0;#", 2), ("merge(0,0)", 8), ("drop(1, 0.3", 11),
])
def test_bad_recipes_point_at_the_position(text, position):
    with pytest.raises(channels.RecipeError) as info:
        channels.parse(text)
    assert info.value.position == position
    assert f"character {position + 1}" in str(info.value)
    assert info.value.pointer().splitlines()[1] == " " * position + "^"


def test_recipe_at_inference_is_deterministic_and_documented_choices():
    image = np.stack([np.full((4, 4), v, np.float32) for v in (0.1, 0.5, 0.9)])
    recipe = channels.parse("random(2,0,1); drop(1, 0.99); merge(0:0.01, 2:0.01)")
    first = channels.apply(image, recipe)
    assert np.array_equal(first, channels.apply(image, recipe))
    # random -> its first channel, drop -> kept, merge -> every channel included
    assert np.allclose(first[:, 0, 0], [0.9, 0.5, 0.5])
    # in training the random parts vary, and a seed repeats them
    draws = [channels.apply(image, recipe, np.random.default_rng(s))[:, 0, 0].tolist() for s in range(20)]
    assert len({tuple(np.round(d, 3)) for d in draws}) > 1
    assert channels.apply(image, recipe, np.random.default_rng(3)).tolist() == \
        channels.apply(image, recipe, np.random.default_rng(3)).tolist()
    with pytest.raises(channels.RecipeError, match="uses channel 3"):
        channels.apply(image, "3")


# ----------------------------------------------------------------------------- models, cards, compare

def test_hyperstack_channels_share_one_set_of_masks():
    from devocore.simulate.hyperstack import render

    image, nuclei, cells = render(seed=4, size=128)
    assert image.shape == (4, 128, 128)
    inside, outside = nuclei > 0, (cells == 0)
    nuclear, cytoplasm = image[0].astype(float), image[2].astype(float)
    # the nuclear label is bright on the nuclei, the cytoplasm label dark there (the same nuclei)
    assert nuclear[inside].mean() > nuclear[~inside & ~outside].mean() + 20
    assert cytoplasm[inside].mean() < cytoplasm[~inside & ~outside].mean() - 20
    assert all((cells[nuclei == k] == k).all() for k in range(1, int(nuclei.max()) + 1))


def test_card_round_trip_keeps_the_recipe_and_inference_applies_it(tmp_path, monkeypatch):
    import torch

    from devocore import nets, registry, segmentation

    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path / "models"))
    torch.manual_seed(0)
    net = nets.build("unet34-ps", in_channels=2).eval()
    card = {"name": "two", "task": "segmentation", "target": "nucleus", "architecture": "unet34-ps",
            "config": {"encoder": "resnet34", "in_channels": 2, "classes": 1}, "input_size": 64,
            "channels": channels.text("random(2,0); drop(1, 0.5)")}
    registry.save_model(net, tmp_path / "models" / "two", card)
    loaded = segmentation.load("two", "cpu")
    assert loaded.card["channels"] == "random(2,0); drop(1,0.5)"
    predictor = segmentation.Predictor(loaded, bf16=False)
    rng = np.random.default_rng(0)
    plane = rng.integers(0, 255, (64, 64, 3)).astype(np.uint8)  # Y x X x C, as io.read_image gives
    a, b = predictor.probability(plane), predictor.probability(plane)
    assert a.shape == (64, 64) and np.array_equal(a, b)  # deterministic
    # the recipe at inference: channel 2, then channel 1 (never dropped); channel 0 is not seen
    changed = plane.copy()
    changed[..., 0] = 0
    assert np.allclose(predictor.probability(changed), a, atol=1e-6)
    swapped = plane[..., [0, 1, 0]]
    assert not np.allclose(predictor.probability(swapped), a, atol=1e-4)
    with pytest.raises(channels.RecipeError):
        predictor.probability(plane[..., 0])  # one channel: the recipe needs three


def test_train_compare_tiny_run_prints_json_with_scores(tmp_path, capsys):
    from devocore.simulate.hyperstack import write_set

    done = write_set(tmp_path / "hyper", n=6, size=64)
    code = main(["train", "compare", "--images", done["images"], "--masks", done["masks"], "--channels", "0",
                 "merge(0, 3)", "--size", "64", "--crop", "64", "--epochs", "1", "--steps", "1", "--batch", "2",
                 "--plot", str(tmp_path / "bars.png"), "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["split"]["held_out"] >= 1 and sum(figures["split"].values()) == 6
    assert [r["recipe"] for r in figures["results"]] == ["0", "merge(0,3)"]
    for row in figures["results"]:
        for key in ("iou", "iou_std", "iou_iqr", "f1", "f1_std", "f1_iqr", "dice"):
            assert 0.0 <= row[key] <= 1.0
        assert row["images"] == figures["split"]["held_out"]
    from PIL import Image

    assert Image.open(tmp_path / "bars.png").size[0] > 100


def test_train_with_channels_writes_the_recipe_into_the_card(tmp_path):
    from devocore.simulate.hyperstack import write_set

    done = write_set(tmp_path / "hyper", n=4, size=64)
    out = tmp_path / "model"
    code = main(["train", "nucleus", "--images", done["images"], "--masks", done["masks"], "--instance-masks",
                 "--channels", "merge(0,1); drop(3,0.5)", "--size", "64", "--crop", "64", "--epochs", "1",
                 "--steps", "1", "--batch", "2", "--decoder-channels", "64", "--no-compare", "--out", str(out)])
    assert code == 0
    card = json.loads((out / "card.json").read_text())
    assert card["channels"] == "merge(0,1); drop(3,0.5)" and card["config"]["in_channels"] == 2


def test_swapped_multichannel_folders_are_named_as_such(tmp_path, capsys):
    from devocore.simulate.hyperstack import write_set

    done = write_set(tmp_path / "hyper", n=3, size=64)
    code = main(["train", "nucleus", "--images", done["masks"], "--masks", done["images"], "--instance-masks",
                 "--channels", "merge(0,1)", "--out", str(tmp_path / "model")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.endswith("are the image and mask folders swapped?")
    assert "is not a microscope image: a label or mask image" in err and not (tmp_path / "model").exists()


def test_bad_recipe_on_the_command_line_is_one_line_exit_2(tmp_path, capsys):
    from devocore.simulate.hyperstack import write_set

    done = write_set(tmp_path / "hyper", n=3, size=64)
    code = main(["train", "compare", "--images", done["images"], "--masks", done["masks"], "--channels", "drop(1)"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "character 7" in err


def test_icnr_starts_pixel_shuffle_as_nearest_neighbour_upsampling():
    import torch

    from devocore.nets.unet_ps import icnr_

    conv = torch.nn.Conv2d(3, 2 * 4, 1)
    icnr_(conv.weight, 2)
    torch.nn.init.zeros_(conv.bias)
    y = torch.nn.PixelShuffle(2)(conv(torch.randn(1, 3, 5, 5)))
    blocks = y.unfold(2, 2, 2).unfold(3, 2, 2)  # every 2 x 2 output block holds one value
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))


@pytest.mark.parametrize("kind", ["colour labels", "black and white JPEG"])
def test_subimages_reads_colour_label_masks_and_jpeg_masks_as_their_cells(tmp_path, kind):
    import cv2

    from devocore.subimages import read_labels

    yy, xx = np.mgrid[0:300, 0:300]
    centres = [(50 + 100 * r, 50 + 100 * c) for r in range(3) for c in range(3)]
    labels = np.zeros((300, 300), np.uint16)
    for k, (cy, cx) in enumerate(centres, start=1):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= 20 ** 2] = k
    if kind == "colour labels":  # one colour per cell, some differing only in green or blue
        palette = np.array([[0, 0, 0], [255, 0, 0], [255, 128, 0], [255, 0, 128], [0, 255, 0], [0, 255, 128],
                            [0, 0, 255], [128, 0, 255], [128, 128, 0], [0, 128, 128]], np.uint8)  # RGB
        path = tmp_path / "cells.png"
        cv2.imwrite(str(path), palette[labels][..., ::-1])
    else:
        path = tmp_path / "cells.jpg"
        cv2.imwrite(str(path), ((labels > 0) * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
    found = read_labels(path)
    # before: the red channel only (some cells lost or merged), or every JPEG grey level a "cell" (63 of them)
    assert len(np.unique(found[found > 0])) == len(centres)
    assert all(found[cy, cx] > 0 for cy, cx in centres)
    assert len({int(found[cy, cx]) for cy, cx in centres}) == len(centres)
