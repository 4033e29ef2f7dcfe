"""Train the membrane segmenter (FPN, ResNet-18) on simulated membrane slices."""
from devocore.commands import _train_seg


def add_arguments(parser) -> None:
    _train_seg.add_arguments(parser, "membrane")


def run(args) -> dict:
    return _train_seg.run(args, "membrane")
