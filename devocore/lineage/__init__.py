"""Lineage populations (A, E, M, P, C, D, Z) and developmental stage for every frame of an embryo time-lapse.

The network (:mod:`devocore.nets.lineage_net`) looks at one frame and estimates
``log(1 + count)`` of each lineage. A single frame is ambiguous, a whole video
much less so: C. elegans development is nearly invariant, so the populations of
all seven lineages follow from *how far development has gone*. The default
``"timeline"`` method therefore fits one straight line from frame index to a
reference developmental time (offset and rate, 2 numbers for the whole video)
to the per-frame estimates of the total cell count (L1, frames without signal
ignored), and reads the seven populations off the reference curves the model
carries. The line is fitted to what the network typically reports at each
reference time (the reference plus its bias measured on training movies, carried
in the model card), and crowded late frames, which it undercounts by an unknown
amount, only count in part when they fall short; the clip's first frame may not
be placed much later than its first estimates allow, so the line cannot slide into
that cheap part. A clip that shows only part of development is thus placed right. The reference curves are the median of 251 exact EPIC lineage curves
(one row per time point) aligned on one axis, one step per time point of the
median embryo; in an EPIC movie frame n shows time point n, so the rate has a
weak prior near one step per frame (its spread learned from the same curves),
and a capped prior says where frame 1 of a whole movie usually lies; beyond the
cap the offset is free, so a clip that starts late is fitted as well.
``"stage"`` reads each frame on its own through the reference curves;
``"net"`` returns the network's seven outputs as they are (optionally smoothed
over time and made non-decreasing).

Every frame also gets its developmental stage: reference time points after
the 4-cell stage (``stage_tp``) with a 90 % band from a moving-block bootstrap
of the frames (``stage_tp_lo``, ``stage_tp_hi``), and the same in minutes of
this movie when the frame interval is known (``stage_min``...).

Counts are returned as int32 (never uint8, which wrapped at 256 in DevoLearn).
Frames are read by a background thread, preprocessed to a small square and
run in batches, so memory stays flat in the video's length.

The package: :mod:`.config` (what a run is asked and gives), :mod:`.pixels` (frame to network input),
:mod:`.timeline` (reference curves and the fitted line), :mod:`.inference` (running the model over a
movie), :mod:`.measure` (scores against an annotation, baselines), :mod:`.figures` (a PNG of the curves).

Example:
    >>> import numpy as np
    >>> monotone(np.array([1.0, 3.0, 2.0, 4.0])).tolist()
    [1.0, 2.5, 2.5, 4.0]
"""
from __future__ import annotations

from devocore.lineage.config import (COLUMNS, LINEAGES, MAX_COUNT, METHODS, MIN_TIMELINE_FRAMES, LineageConfig,
                                     LineageResult)
from devocore.lineage.pixels import (STRUCTURE_MIN, choose_channel, crops_embryo, embryo_box, movie_angle,
                                     nucleus_channel, preprocess, signal_weights, structure, to_square, turn)
from devocore.lineage.timeline import (ABOVE_WEIGHT, BAND_FLOOR, CENSOR_CAP, CENSOR_WEIGHT, OFFSET_CAP,
                                       OFFSET_STRENGTH, PRIOR_STRENGTH, STAGE_BAND, START_FRAMES, START_MARGIN, STRIDES,
                                       StageCurves, monotone, running_median, to_counts)
from devocore.lineage.inference import (frame_list, frame_steps, log_total_count, no_embryo_warning, numbered,
                                        parse_clip, populations, predict, predict_frames, projection_note, run_network,
                                        select_frames, stage, timeline_formula, with_nucleus_channel,
                                        with_placement, judged, looked_frames)
from devocore.lineage.measure import baseline_curve, evaluate, length_baseline_curve, read_populations
from devocore.lineage.figures import COLORS, plot_png

__all__ = ["LINEAGES", "COLUMNS", "METHODS", "MAX_COUNT", "MIN_TIMELINE_FRAMES", "LineageConfig", "LineageResult",
           "nucleus_channel", "to_square", "preprocess", "embryo_box", "crops_embryo", "STRUCTURE_MIN", "structure",
           "signal_weights", "choose_channel", "with_nucleus_channel", "with_placement", "judged",
           "looked_frames",
           "projection_note", "movie_angle", "turn",
           "STRIDES", "PRIOR_STRENGTH", "CENSOR_WEIGHT", "CENSOR_CAP", "ABOVE_WEIGHT", "START_MARGIN", "START_FRAMES",
           "OFFSET_STRENGTH", "OFFSET_CAP", "STAGE_BAND", "BAND_FLOOR", "monotone", "running_median",
           "to_counts", "StageCurves", "run_network", "frame_steps", "numbered", "log_total_count", "populations",
           "stage", "predict_frames", "frame_list", "no_embryo_warning", "predict", "parse_clip", "select_frames",
           "timeline_formula",
           "read_populations", "baseline_curve", "length_baseline_curve", "evaluate", "COLORS", "plot_png"]
