"""One fine-tune of a segmentation model on the user's image/mask pairs: the steps the Train view and
``python -m devocore train nucleus|membrane --images ... --masks ...`` share.

:func:`load_pairs` reads and splits the pairs (single-channel, or multi-channel with a channel recipe);
:func:`source_maker` re-wraps the same split at another batch size and augmentation (for the Optuna search);
:func:`initial_model` loads the model to start from (by name or folder); :func:`with_decoder` puts its encoder
under a new FPN decoder of another width; :func:`comparison` scores the
trained model beside its start model, any others and the classical baseline on
the validation images. Training itself is :func:`devocore.train.segmentation.train` with ``data=source``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from devocore.progress import ProgressFn
from devocore.train import compare, user_data


def load_pairs(images, masks, task: str, cfg, binary: bool = True, group_pattern: str | None = None,
               val_fraction: float = 0.2, recipe: str | None = None):
    """``(dataset, source, cfg)``: the pairs, their split wrapped for training, and ``cfg`` with the recipe.

    With a channel ``recipe`` the images are read with all their channels (:mod:`devocore.train.channel_data`)
    and the recipe is stored in ``cfg.channels`` (and so in the model card).
    """
    if recipe:
        from devocore import channels
        from devocore.errors import DevocoreError
        from devocore.train import channel_data

        if cfg.keep_aspect:
            raise DevocoreError("Keeping the images' aspect (--keep-aspect, or a start model trained so) works with "
                                "one-channel images only; leave out the channel recipe or start from another model.")

        cfg = replace(cfg, channels=channels.text(recipe))
        dataset = channel_data.load_dataset(images, masks, task, binary=binary, group_pattern=group_pattern,
                                            recipe=cfg.channels)
        return dataset, channel_data.prepare(dataset, cfg, cfg.channels, val_fraction, cfg.seed), cfg
    dataset = user_data.load_dataset(images, masks, task, binary=binary, group_pattern=group_pattern)
    return dataset, user_data.prepare(dataset, cfg, val_fraction, cfg.seed), cfg


def source_maker(source, size: int, crop: int) -> Callable[[int, float], object]:
    """``make_source(batch, strength)``: ``source``'s split (and channel recipe, if any) at another batch size
    and augmentation strength, as :func:`devocore.train.tuning.tune` asks for."""
    recipe = getattr(source, "recipe", None)

    def make_source(batch: int, strength: float):
        if recipe is not None:
            from devocore.train.channel_data import ChannelSource

            return ChannelSource(source.train_set, source.val_set, size, crop, batch, strength, recipe=recipe)
        return user_data.PairSource(source.train_set, source.val_set, size, crop, batch, strength,
                                    getattr(source, "keep_aspect", False))
    return make_source


def comparison(trained, trained_name: str, task: str, source, start=None, start_name: str | None = None,
               others: dict | None = None, progress: ProgressFn | None = None, trained_kind: str = "trained here",
               start_kind: str | None = None):
    """The table of :func:`devocore.train.compare.compare`: ``trained`` (named ``trained_name``, its card's kind
    set to ``trained_kind``), its start model (``start_name``; its kind set only when ``start_kind`` is given, so a
    shared cached model is left alone), ``others`` and the classical baseline, on ``source``'s validation images."""
    trained.card = dict(getattr(trained, "card", {}) or {}, target=task, kind=trained_kind)
    models = {trained_name: trained}
    if start is not None:
        if start_kind is not None:
            start.card = dict(getattr(start, "card", {}) or {}, kind=start_kind)
        models[start_name or "start model"] = start
    models.update(others or {})
    models["classical baseline"] = compare.BASELINE
    return compare.compare(models, source.validation_pairs(), task, progress=progress)


def decoder_channels(model) -> int:
    """The FPN pyramid channels of ``model`` (smp's default 256 when its card does not name them)."""
    return int(getattr(model, "card", {}).get("config", {}).get("decoder_pyramid_channels", 256))


def with_decoder(model, channels: int):
    """A new FPN with ``channels`` pyramid channels (half as many in the segmentation head), ``model``'s
    encoder weights and an untrained decoder; its card is ``model``'s with the new network config.

    Raises:
        DevocoreError when ``model`` is not an FPN (the decoder width is an FPN setting).
    """
    from devocore import nets
    from devocore.errors import DevocoreError

    card = dict(getattr(model, "card", {}))
    if card.get("architecture", "fpn") != "fpn":
        raise DevocoreError(f"--decoder-channels applies to FPN models; '{card.get('name', 'the start model')}' is "
                            f"{card['architecture']}.")
    config = dict(card.get("config", {}), decoder_pyramid_channels=channels,
                  decoder_segmentation_channels=channels // 2)
    new = nets.build("fpn", **config)
    encoder = {k: v for k, v in model.state_dict().items() if k.startswith("encoder.")}
    missing = new.load_state_dict(encoder, strict=False).missing_keys
    if any(k.startswith("encoder.") for k in missing):
        raise DevocoreError("The start model's encoder does not fit a ResNet FPN of its own config.")
    new.card = dict(card, config=config)
    return new.float().train()


def initial_model(init: str):
    """A model to fine-tune, by name or folder, in fp32 training mode (weights copied before any overwrite)."""
    from pathlib import Path

    from devocore import registry, segmentation

    if (Path(init) / registry.CARD).exists():
        model = registry.load_folder(init, f"--init '{Path(init).name}'")
    else:
        model = segmentation.load(init, "cpu")
    return model.float().train()
