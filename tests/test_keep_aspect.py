"""Models trained on images with their aspect kept (card ``keep_aspect``): training and inference see the same
shapes, and a non-square image is not squeezed to a square."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from devocore import nets, registry
from devocore.errors import DevocoreError
from devocore.segmentation import Predictor, input_shape
from devocore.train import finetune, user_data
from devocore.train.segmentation import TrainConfig, train

TINY = TrainConfig(task="nucleus", epochs=2, steps=4, batch=2, crop=64, size=64, decoder_channels=64, lr=3e-3,
                   amp=False, keep_aspect=True)


def test_input_shape_keeps_the_aspect_on_the_short_side():
    assert input_shape((256, 356), 256) == (256, 256)
    assert input_shape((256, 356), 256, keep_aspect=True) == (256, 352)  # 356 rounded to a multiple of 32
    assert input_shape((512, 712), 256, keep_aspect=True) == (256, 352)  # the same picture, twice the pixels
    assert input_shape((700, 100), 64, keep_aspect=True) == (256, 64)  # long side at most 4 x the size
    assert input_shape((64, 64), 64, keep_aspect=True) == (64, 64)


def _model(keep_aspect: bool):
    net = nets.build("fpn", decoder_channels=64).eval()
    net.card = {"input_size": 64, "target": "nucleus", **({"keep_aspect": True} if keep_aspect else {})}
    return net


@pytest.mark.parametrize("keep_aspect, seen", [(False, (64, 64)), (True, (64, 128))])
def test_predictor_feeds_the_network_the_cards_shape(keep_aspect, seen):
    net = _model(keep_aspect)
    shapes = []
    predictor = Predictor(net, bf16=False)
    predictor.model.register_forward_pre_hook(lambda module, args: shapes.append(tuple(args[0].shape[-2:])))
    prob = predictor.probability(np.zeros((100, 200), np.uint8))
    assert prob.shape == (100, 200)
    assert shapes and set(shapes) == {seen}


def test_predictor_batches_planes_of_other_shapes_one_by_one():
    predictor = Predictor(_model(True), bf16=False)
    rng = np.random.default_rng(0)
    wide, tall = rng.integers(0, 255, (64, 128), np.uint8), rng.integers(0, 255, (128, 64), np.uint8)
    both = predictor.probabilities([wide, tall])
    assert [p.shape for p in both] == [(64, 128), (128, 64)]
    np.testing.assert_allclose(both[0], predictor.probability(wide), atol=1e-5)
    np.testing.assert_allclose(both[1], predictor.probability(tall), atol=1e-5)


def _stripes(n: int = 4):
    """Images 64 x 128 with one bright vertical stripe 16 px wide; the mask is the stripe."""
    images, masks = [], []
    for i in range(n):
        image = np.zeros((64, 128), np.float32)
        mask = np.zeros((64, 128), np.uint8)
        x0 = 16 + 20 * i
        image[:, x0:x0 + 16], mask[:, x0:x0 + 16] = 1.0, 1
        images.append(image)
        masks.append(mask)
    names = [f"emb{i}.png" for i in range(n)]
    return user_data.Dataset(images, masks, names, names, "nucleus", "stripes", True)


@pytest.mark.parametrize("keep_aspect, shape, width", [(False, (64, 64), 8), (True, (64, 128), 16)])
def test_training_pairs_keep_the_aspect_only_when_asked(keep_aspect, shape, width):
    data = _stripes()
    source = user_data.PairSource(data.subset([0, 1, 2]), data.subset([3]), 64, 64, 2, 0.0, keep_aspect)
    image, target = source._train[0]
    assert image.shape == target.shape == shape
    assert int(target.sum(axis=1)[0]) == width  # the stripe's width as the network sees it
    x, t = source.batch(np.random.default_rng(0))
    assert tuple(x.shape) == tuple(t.shape) == (2, 1, 64, 64)
    val_x, val_t = source.validation()
    assert tuple(val_x.shape[-2:]) == shape


def test_validation_images_of_other_shapes_are_mirrored_out_to_the_largest():
    data = _stripes(3)
    data.images[2], data.masks[2] = data.images[2][:, :96], data.masks[2][:, :96]  # 64 x 96
    source = user_data.PairSource(data.subset([0]), data.subset([1, 2]), 64, 64, 2, 0.0, keep_aspect=True)
    val_x, val_t = source.validation()
    assert tuple(val_x.shape) == tuple(val_t.shape) == (2, 1, 64, 128)
    # the 64 x 96 image is mirrored at its right edge: column 96 repeats column 95
    np.testing.assert_array_equal(val_x[1, 0, :, 96].numpy(), val_x[1, 0, :, 95].numpy())


def test_a_model_trained_with_keep_aspect_says_so_and_passes_it_on(tmp_path):
    torch.set_num_threads(1)
    data = _stripes()
    source = user_data.PairSource(data.subset([0, 1, 2]), data.subset([3]), 64, 64, 2, 0.0, keep_aspect=True)
    result = train(TINY, out=tmp_path / "wide", data=source)
    assert result["model"].card["keep_aspect"] is True
    card = json.loads((tmp_path / "wide" / "card.json").read_text())
    assert card["keep_aspect"] is True and card["train_config"]["keep_aspect"] is True
    info = registry.ModelInfo("wide", tmp_path / "wide", card, "user")
    registry.verify(info)
    # a square run from that model drops the flag again: the card always says how the model was trained
    square = train(replace(TINY, keep_aspect=False), model=result["model"],
                   data=user_data.PairSource(data.subset([0, 1, 2]), data.subset([3]), 64, 64, 2, 0.0))
    assert "keep_aspect" not in square["model"].card


def test_keep_aspect_with_a_channel_recipe_is_a_clear_error(tmp_path):
    with pytest.raises(DevocoreError, match="one-channel images only"):
        finetune.load_pairs(tmp_path, tmp_path, "nucleus", TINY, recipe="0")
