"""Example inputs drawn by the simulators, one call per kind: what a page shows before the user brings a file.

``example("nucleus" | "membrane", seed)`` is one simulated segmentation slice and its labels,
``example("lineage", seed, n_frames=..., curves=...)`` an embryo movie and its true populations,
``example("embryo-frames", n=..., size=...)`` a stack of histone-GFP frames (the GAN view's training set).

Example:
    >>> image, labels = example("nucleus", seed=1, size=64)
    >>> image.shape, int(labels.max()) > 0
    ((64, 64), True)
"""
from __future__ import annotations

KINDS = ("nucleus", "membrane", "lineage", "embryo-frames")


def example(kind: str, seed: int = 0, **options):
    """The example of ``kind`` (see the module's docstring) for ``seed``; ``options`` go to its simulator."""
    if kind in ("nucleus", "membrane"):
        from devocore.simulate.slices import sample

        return sample(kind, seed, **options)
    if kind == "lineage":
        from devocore.simulate.epic_movie import example_movie

        return example_movie(options.pop("curves", None), seed=seed, **options)
    if kind == "embryo-frames":
        from devocore.simulate.embryo_frames import render_embryo_frames

        options.setdefault("frames_per_embryo", 8)
        options.setdefault("n_frames", 120)
        return render_embryo_frames(options.pop("n"), options.pop("size", 128), first_seed=900_000 + seed, **options)
    raise ValueError(f"No example of kind '{kind}'; kinds: {', '.join(KINDS)}.")
