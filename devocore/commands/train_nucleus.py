"""Train the nucleus segmenter (FPN, ResNet-18) on simulated confocal slices."""
from devocore.commands import _train_seg


def add_arguments(parser) -> None:
    _train_seg.add_arguments(parser, "nucleus")


def run(args) -> dict:
    return _train_seg.run(args, "nucleus")
