"""The simulated C. elegans embryo, one import for its three parts.

* :mod:`devocore.simulate.embryo_model`: the embryo growing along the real lineage
  (:func:`simulate`, :class:`EmbryoHistory`).
* :mod:`devocore.simulate.embryo_render`: time-lapse frames, nucleus slices, membrane images.
* :mod:`devocore.simulate.embryo_export`: files (TIFF stacks, videos, examples).

Example:
    >>> h = simulate(seed=0, n_frames=40)
    >>> int(h.populations().iloc[-1][["A", "E", "M", "P", "C", "D", "Z"]].sum()) == len(h.frame(39).ids)
    True
"""
from __future__ import annotations

from devocore.simulate.embryo_model import (  # noqa: F401  (public names)
    EmbryoHistory,
    FrameState,
    ab_milestones,
    cell_radius,
    simulate,
    EPIC_COLUMNS,
    EPIC_UM_PER_PX,
    EPIC_UM_PER_PLANE,
    EPIC_CENTER,
    SHELL_UM,
    NUC_DIAM_4CELL_UM,
    NUC_SHRINK_PER_GEN,
    MITOSIS_FRACTION,
)
from devocore.simulate.embryo_render import (
    DEFAULTS,
    Appearance,
    membrane_image,
    nucleus_slice,
    render_timelapse_frame,
    sample_appearance,
    timelapse,
)
from devocore.simulate.embryo_export import write_embryo, write_examples, write_video

__all__ = ["EmbryoHistory", "FrameState", "simulate", "ab_milestones", "Appearance", "DEFAULTS", "sample_appearance",
           "render_timelapse_frame", "timelapse", "nucleus_slice", "membrane_image", "write_examples",
           "write_embryo", "write_video"]
