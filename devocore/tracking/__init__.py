"""Worm tracking: segmentation, midlines, head/tail, identity and behaviour measures.

Example:
    >>> from devocore import tracking
    >>> frames, truth = tracking.synthetic.clip(n_frames=30, n_worms=1, seed=1, speed=3.0)
    >>> result = tracking.track_frames(frames, tracking.TrackConfig(fps=10))
    >>> bool((result.table["status"] == "ok").mean() > 0.9)
    True
"""
from devocore.tracking import synthetic
from devocore.tracking.midline import Midline, extract_midline, resample
from devocore.tracking.tracker import (TrackConfig, Tracker, TrackResult, curvature_profile, still_objects, track,
                                      track_frames)

__all__ = ["Midline", "TrackConfig", "TrackResult", "Tracker", "curvature_profile", "extract_midline", "resample",
           "still_objects", "synthetic", "track", "track_frames"]
