"""What a lineage run is asked (LineageConfig) and gives (LineageResult), and the names of its columns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from devocore import style


LINEAGES = style.LINEAGES  # A = AB, E, M = MS, P, C, D, Z = Z2/Z3 (names and colours: devocore.style)
COLUMNS = style.POPULATION_COLUMNS
METHODS = ("timeline", "stage", "net")
MAX_COUNT = 100_000  # far above any embryo (~560 cells at hatching); guards the integer cast
MIN_TIMELINE_FRAMES = 8


@dataclass(frozen=True)
class LineageConfig:
    """Options of :func:`predict`.

    Attributes:
        model: registered model name.
        method: "timeline" (one time line fitted to the whole video, the
            default), "stage" (each frame on its own, through the reference
            curves) or "net" (raw network outputs). Videos shorter than 8
            frames fall back from "timeline" to "stage".
        monotone: make each lineage non-decreasing over the video (isotonic fit).
        smooth: running-median window over frames (1 = none) applied to the
            per-frame estimates before anything else.
        batch_size: frames per forward pass.
        channel: "auto" (green for RGB, the nuclei channel of histone-GFP movies; for frames of 2 or 5 and more
            microscope channels, the one that shows nuclei in the most frames: see
            :func:`devocore.lineage.pixels.choose_channel`), "green", "red", "blue", "mean", or a channel's
            number from 1 ("1", "2", ...).
        frame_interval_s: seconds between frames, for stage minutes (optional).
        keep_previews: keep a small uint8 copy of every frame (for the page).
        angle: degrees each frame is turned (counter-clockwise as shown) so that the embryo lies along the x axis,
            as in the frames the model learnt from; None: found from the movie by :func:`predict`
            (:func:`devocore.lineage.pixels.movie_angle`), 0 where it already lies within 10 degrees of it.
        embryos: "largest" (where the field shows several embryos apart from each other, only the largest is
            counted, and bright spots apart from the embryo are left out: :func:`devocore.io.embryo_region`) or
            "all" (the whole field).
        region: (y0, y1, x0, x1) of the frames that is counted; None: the whole frame (set by :func:`predict`
            where the field shows several embryos or spots apart).
    """

    model: str = "lineage"
    method: str = "timeline"
    monotone: bool = False
    smooth: int = 1
    batch_size: int = 16
    channel: str = "auto"
    frame_interval_s: float | None = None
    keep_previews: bool = False
    angle: float | None = None
    embryos: str = "largest"
    region: tuple[int, int, int, int] | None = None


@dataclass
class LineageResult:
    """Populations and stage per frame.

    Attributes:
        table: DataFrame ``frame, A, E, M, P, C, D, Z, total`` (int32 counts,
            frame numbered from 1 = the first frame, or by the numbers in the file
            names of a folder of frames; see :func:`numbered`), then the stage:
            ``stage_tp, stage_tp_lo, stage_tp_hi`` (float, reference time points
            after the 4-cell stage with a 90 % band) and, when the frame
            interval is known, ``stage_min, stage_min_lo, stage_min_hi``
            (minutes of this movie after the 4-cell stage), and ``embryo``
            (False for frames that show no embryo: black, empty or pure noise; see :func:`structure`).
        raw: N x 7 float32 network outputs, log(1 + count).
        weights: N float32, 0 for frames without signal or embryo (ignored by the fit).
        timeline: (offset, rate) of the fitted reference time, or None.
        previews: small uint8 frames when asked for, else empty.
        unfit: a warning when the movie is not a fluorescence picture of nuclei: its middle frame a mask, a label
            image or bright field (:func:`devocore.io.content_problem`), or its frames a quarter, half and three
            quarters in thin lines (membranes: :func:`devocore.lineage.inference.membranes_problem`); else None.
        notes: what a reader should know that is not a warning (which channel was taken as the nuclei).
        region: (y0, y1, x0, x1) of the frames that was counted, where the field showed several embryos or spots
            apart from the embryo (drawn as a box on the previews); None: the whole frame.
    """

    table: pd.DataFrame
    raw: np.ndarray
    weights: np.ndarray
    timeline: tuple[float, float] | None = None
    previews: list = field(default_factory=list)
    unfit: str | None = None
    notes: list = field(default_factory=list)
    region: tuple[int, int, int, int] | None = None
