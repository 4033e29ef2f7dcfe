"""Nucleus and membrane segmentation: probability maps, instances, tables.

One inference path serves the page, the CLI and Python:

* :class:`Predictor` turns grey images into probability maps (resize to the
  model's input size, batch, ``torch.inference_mode``, channels-last, bfloat16
  on CPUs with native support when it agrees with fp32).
* :func:`postprocess` turns a probability map into instances at a threshold,
  without running the network again (keep the map, change the threshold).
* :func:`segment` does both for one image; :func:`segment_frames` streams a
  video or stack frame by frame; :func:`labels_3d` links a stack's slices.

The package: :mod:`.config` (what a run is asked and gives), :mod:`.cells` (probability map to
labelled cells and tables), :mod:`.guess` (which model fits an image), :mod:`.predict` (running the
network), :mod:`.export` (pictures and files), :mod:`.evaluate` (scores against labels and the baseline).

Example:
    >>> import numpy as np
    >>> prob = np.zeros((32, 32), np.float32); prob[4:12, 4:12] = 0.9; prob[20:28, 18:26] = 0.8
    >>> result = postprocess(prob, task="nucleus", threshold=0.5)
    >>> int(result.labels.max()), list(result.table.columns[:3])
    (2, ['id', 'centroid_x', 'centroid_y'])
"""
from __future__ import annotations

from devocore.segmentation.config import TABLE_COLUMNS, TASKS, Result, SegmentConfig
from devocore.segmentation.cells import (FRAGMENT_FRACTION, SEED_FRACTION, SEED_OPENING, WORK_PIXELS,
                                         cells_from_membrane, default_min_size, enclosed_regions, fill_holes,
                                         input_shape, instances, labels_3d, link_slices, max_hole, measure, postprocess, relabel,
                                         remove_small, resize, split_touching, table_3d, to_input,
                                         work_shape)
from devocore.segmentation.guess import (FIELD_NOTE_RATIO, GUESS_BLOB_RATIO, GUESS_MIN_PEAKS, GUESS_NOISE_MADS,
                                         GUESS_SIGMAS, card_task, channel_for, channel_kinds, field_note,
                                         guess_from_planes, guess_task, implausible, marks_note, model_for, other_kind,
                                         task_of, unfit, voting_planes)
from devocore.segmentation.predict import (BATCH_PIXELS, Predictor, batched_probabilities, load, segment,
                                           segment_frames)
from devocore.segmentation.export import (PALETTE, channel_choice, outlines, overlay, save_png, segment_path,
                                          write_labels_tiff, write_stream)
from devocore.segmentation.evaluate import baseline, evaluate_pairs, match_counts, pixel_scores, truth_instances

__all__ = ["TASKS", "TABLE_COLUMNS", "SegmentConfig", "Result", "FRAGMENT_FRACTION", "WORK_PIXELS", "work_shape", "input_shape", "to_input",
           "default_min_size", "fill_holes", "max_hole", "remove_small", "relabel", "split_touching",
           "enclosed_regions", "SEED_FRACTION", "SEED_OPENING", "cells_from_membrane", "instances",
           "measure", "postprocess", "resize", "labels_3d", "link_slices", "table_3d", "card_task",
           "task_of", "model_for", "implausible", "unfit", "marks_note", "GUESS_SIGMAS", "GUESS_BLOB_RATIO", "GUESS_MIN_PEAKS",
           "GUESS_NOISE_MADS", "guess_task", "guess_from_planes", "other_kind", "FIELD_NOTE_RATIO", "field_note",
           "channel_kinds", "channel_for",
           "voting_planes", "BATCH_PIXELS",
           "Predictor", "segment",
           "batched_probabilities", "segment_frames", "load", "PALETTE", "outlines", "overlay",
           "write_labels_tiff", "save_png", "segment_path", "channel_choice", "write_stream", "pixel_scores",
           "match_counts",
           "truth_instances", "baseline", "evaluate_pairs"]
