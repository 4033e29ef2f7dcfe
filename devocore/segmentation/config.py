"""What a segmentation run is asked (SegmentConfig) and what it gives (Result)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


TASKS = ("nucleus", "membrane")
TABLE_COLUMNS = ["id", "centroid_x", "centroid_y", "area_px", "area_um2", "mean_intensity", "eccentricity"]


@dataclass(frozen=True)
class SegmentConfig:
    """What the page, the CLI and Python ask of a segmentation.

    Attributes:
        model: model name (a folder in assets/models or the user model folder).
        threshold: probability above which a pixel is foreground (nucleus) or membrane.
        pixel_size: micrometres per pixel, for areas in um^2; None leaves them empty.
        min_size: smallest instance kept, in pixels of the original image; 0 picks
            one from the image size.
        batch: frames per network call for stacks and videos.
        z_step: micrometres between the slices of a z-stack, for cell volumes in um^3 (with pixel_size).
        channel: which channel of a multi-channel image to segment, counted from 1; None uses the model's
            channel recipe, else the mean of the channels.
        zoom: the network sees each plane at this many times its usual input size (256 px): about the frame's
            width over the embryo's for an embryo small in a wide field (:func:`~devocore.segmentation.field_note`).
    """

    model: str = "nucleus"
    threshold: float = 0.5
    pixel_size: float | None = None
    min_size: int = 0
    batch: int = 8
    z_step: float | None = None
    channel: int | None = None
    zoom: float = 1.0


@dataclass
class Result:
    """One segmented image.

    Attributes:
        probability: Y x X float32 in 0..1, the network's output at the image's size (for a plane over
            ``cells.WORK_PIXELS``, at ``cells.work_shape`` of it, where its labels were made).
        labels: Y x X uint16 instance labels, 0 = background.
        table: one row per instance (see ``TABLE_COLUMNS``).
        threshold: the threshold used.
        task: "nucleus" or "membrane".
    """

    probability: np.ndarray
    labels: np.ndarray
    table: pd.DataFrame
    threshold: float
    task: str
    extra: dict = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        """Y x X bool: nuclei (nucleus task) or cells (membrane task)."""
        return self.labels > 0

    @property
    def count(self) -> int:
        return len(self.table)
