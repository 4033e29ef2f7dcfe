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

Example:
    >>> import numpy as np
    >>> monotone(np.array([1.0, 3.0, 2.0, 4.0])).tolist()
    [1.0, 2.5, 2.5, 4.0]
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from devocore import style
from devocore.errors import DevocoreError, TableError
from devocore.progress import ProgressFn

log = logging.getLogger(__name__)

LINEAGES = style.LINEAGES  # A = AB, E, M = MS, P, C, D, Z = Z2/Z3 (names and colours: devocore.style)
COLUMNS = style.POPULATION_COLUMNS
METHODS = ("timeline", "stage", "net")
# Multiples of the prior's rate where the rate prior has equal modes ((1, 2, 3) would favour movies that keep
# every 2nd or 3rd frame too); one mode was chosen: extra modes did worse on training data.
STRIDES = (1,)
# Weight of the rate prior against the mean absolute log-count error; chosen on training data (the real
# training movie and 17 rendered EPIC tables the network never saw, whole and in clips) with
# tools/experiments/lineage_choose.py.
PRIOR_STRENGTH = 0.003
# Past the last reference time where the network's bias is known (the card's ``timeline_bias.censor_from``),
# a frame whose estimate lies below the reference costs only this fraction of its error: crowded late frames
# are undercounted by an unknown amount, so they say "at least this far", not "this far" (chosen on training clips).
CENSOR_WEIGHT = 0.3
# ... but only while the estimate is short by at most this much log(1 + total): a frame far below the reference
# (a clip's early frames when the line slid late) pays its full error, so the line cannot escape into the
# censored part (np.inf: no cap).
CENSOR_CAP = np.inf
# With a bias: the line may not place the clip's first frame later than where the typical estimate first exceeds
# the median of the first START_FRAMES estimates by START_MARGIN log(1 + total) (None: no bound). Only applied
# when that point lies before ``censor_from``.
START_MARGIN: float | None = 0.3
START_FRAMES = 5
# Frame 1 of a whole EPIC movie is near the first traced time point: a capped prior on where the line starts
# (z-score squared capped at OFFSET_CAP, so a clip that starts late pays at most OFFSET_STRENGTH x OFFSET_CAP).
OFFSET_STRENGTH = 0.02
OFFSET_CAP = 4.0
STAGE_BAND = (5.0, 95.0)  # percentiles of the bootstrap band
# Least half-width of the band (reference time points): the bootstrap sees only frame-to-frame noise, not the
# network's systematic errors; calibrated on the training movie (tools/experiments/lineage_choose.py prints
# the coverage).
BAND_FLOOR = 8.0
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
        channel: "auto" (green for RGB, the nuclei channel of histone-GFP movies),
            "green", "red", "blue", "mean".
        frame_interval_s: seconds between frames, for stage minutes (optional).
        keep_previews: keep a small uint8 copy of every frame (for the page).
    """

    model: str = "lineage"
    method: str = "timeline"
    monotone: bool = False
    smooth: int = 1
    batch_size: int = 16
    channel: str = "auto"
    frame_interval_s: float | None = None
    keep_previews: bool = False


@dataclass
class LineageResult:
    """Populations and stage per frame.

    Attributes:
        table: DataFrame ``frame, A, E, M, P, C, D, Z, total`` (int32 counts,
            frame numbered from 1 = the first frame), then the stage:
            ``stage_tp, stage_tp_lo, stage_tp_hi`` (float, reference time points
            after the 4-cell stage with a 90 % band) and, when the frame
            interval is known, ``stage_min, stage_min_lo, stage_min_hi``
            (minutes of this movie after the 4-cell stage), and ``embryo``
            (False for frames that show no embryo: black, empty or pure noise; see :func:`structure`).
        raw: N x 7 float32 network outputs, log(1 + count).
        weights: N float32, 0 for frames without signal or embryo (ignored by the fit).
        timeline: (offset, rate) of the fitted reference time, or None.
        previews: small uint8 frames when asked for, else empty.
    """

    table: pd.DataFrame
    raw: np.ndarray
    weights: np.ndarray
    timeline: tuple[float, float] | None = None
    previews: list = field(default_factory=list)


# ----------------------------------------------------------------------------- pixels

def nucleus_channel(frame: np.ndarray, channel: str = "auto") -> np.ndarray:
    """The nuclei as one Y x X plane.

    RGB frames of histone-GFP movies carry nuclei in green and a reporter in
    red; "auto" takes green unless it is (nearly) empty, then the brightest channel.

    Example:
        >>> rgb = np.zeros((2, 2, 3), np.uint8); rgb[..., 1] = 7
        >>> int(nucleus_channel(rgb)[0, 0])
        7
    """
    if frame.ndim == 2:
        return frame
    if frame.ndim != 3:
        raise DevocoreError(f"A frame must be Y x X or Y x X x C; this one has shape {frame.shape}.")
    if frame.shape[-1] == 1:
        return frame[..., 0]
    if frame.shape[-1] == 4:
        frame = frame[..., :3]
    if channel == "mean":
        return frame.mean(axis=-1)
    names = {"red": 0, "green": 1, "blue": 2}
    if channel in names:
        return frame[..., min(names[channel], frame.shape[-1] - 1)]
    if channel != "auto":
        raise DevocoreError(f"Unknown channel '{channel}'. Available options are: auto, green, red, blue, mean.")
    green = frame[..., 1]
    peaks = [float(np.percentile(frame[::4, ::4, c], 99.9)) for c in range(frame.shape[-1])]
    if peaks[1] >= 0.2 * max(peaks):
        return green
    return frame[..., int(np.argmax(peaks))]


def to_square(plane: np.ndarray, size: int) -> np.ndarray:
    """Resize so the longer side is ``size`` and pad (with the median) to size x size; float32."""
    import cv2

    plane = np.asarray(plane, dtype=np.float32)
    h, w = plane.shape
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(plane, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.full((size, size), float(np.median(small)), np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out


def preprocess(frame: np.ndarray, size: int, channel: str = "auto") -> tuple[np.ndarray, float]:
    """One frame -> (size x size float32 in 0..1, contrast).

    The background (median) maps to 0 and the 99.9th percentile to 1, so the
    result does not depend on the bit depth, gain or offset of the camera.
    ``contrast`` (99.9th percentile minus median, in the input's units) tells
    frames with nuclei from empty ones.

    Example:
        >>> img = np.zeros((20, 40), np.uint16); img[8:12, 18:22] = 1000
        >>> x, c = preprocess(img, 16)
        >>> x.shape, float(x.max()), c > 0
        ((16, 16), 1.0, True)
    """
    square = to_square(nucleus_channel(frame, channel), size)
    lo = float(np.median(square))
    hi = float(np.percentile(square, 99.9))
    contrast = hi - lo
    scaled = (square - lo) / max(contrast, 1e-6)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32), contrast


STRUCTURE_MIN = 0.5  # real embryo movies score 0.86-0.98, black or pure-noise frames under 0.02


def structure(frame: np.ndarray, channel: str = "auto", longest: int = 128) -> float:
    """How much the nucleus channel looks like objects rather than nothing or noise, 0..1.

    The correlation of neighbouring pixels, at no more than ``longest`` pixels a side (never enlarged,
    since enlarging makes noise look smooth): nuclei span several pixels, pixel noise does not, and a
    black or uniform frame has none. Below :data:`STRUCTURE_MIN` a frame shows no embryo.

    Example:
        >>> y, x = np.mgrid[:64, :64]
        >>> blobs = np.sin(x / 4.0) * np.sin(y / 4.0)
        >>> structure(blobs) > STRUCTURE_MIN, structure(np.zeros((64, 64)))
        (True, 0.0)
        >>> structure(np.random.default_rng(0).integers(0, 255, (64, 64))) < 0.2
        True
    """
    import cv2

    plane = np.asarray(nucleus_channel(frame, channel))
    if plane.dtype not in (np.uint8, np.uint16, np.float32):
        plane = plane.astype(np.float32)
    scale = longest / max(plane.shape)
    if scale < 1:  # shrunk in its own dtype: converting the full frame first would double the cost
        plane = cv2.resize(plane, (max(2, round(plane.shape[1] * scale)), max(2, round(plane.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    plane = plane.astype(np.float32)
    plane = plane - plane.mean()
    variance = float((plane * plane).mean())
    if not np.isfinite(variance) or variance <= 1e-12 or min(plane.shape) < 2:
        return 0.0
    down = float((plane[1:] * plane[:-1]).mean()) / variance
    across = float((plane[:, 1:] * plane[:, :-1]).mean()) / variance
    return max(0.0, min(down, across))


def signal_weights(contrast: np.ndarray, fraction: float = 0.15) -> np.ndarray:
    """1 for frames with nuclei, 0 for frames far dimmer than the video's typical frame.

    Example:
        >>> signal_weights(np.array([100.0, 90.0, 3.0, 110.0])).tolist()
        [1.0, 1.0, 0.0, 1.0]
    """
    contrast = np.asarray(contrast, dtype=np.float64)
    if contrast.size == 0:
        return contrast.astype(np.float32)
    typical = float(np.median(contrast))
    return (contrast >= fraction * typical).astype(np.float32) if typical > 0 else np.ones_like(contrast, np.float32)


# ----------------------------------------------------------------------------- temporal helpers

def monotone(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Non-decreasing least-squares fit (isotonic regression), weighted.

    Frames with weight 0 take the value of the fitted curve at their position.
    """
    from scipy.optimize import isotonic_regression

    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = w > 0
    if not keep.any():
        return values.copy()
    fitted = isotonic_regression(values[keep], weights=w[keep], increasing=True).x
    index = np.flatnonzero(keep)
    out = np.empty_like(values)
    # frames without signal take the fitted value of the previous frame with signal
    position = np.clip(np.searchsorted(index, np.arange(values.size), side="right") - 1, 0, None)
    out[:] = fitted[position]
    return out


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median over ``window`` frames centred on each frame (edges use what exists), per column.

    Example:
        >>> running_median(np.array([1.0, 9.0, 1.0, 1.0]), 3).tolist()
        [5.0, 1.0, 1.0, 1.0]
    """
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or values.shape[0] < 2:
        return values.copy()
    half = window // 2
    out = np.empty_like(values)
    for i in range(values.shape[0]):
        out[i] = np.median(values[max(0, i - half): i + half + 1], axis=0)
    return out


def to_counts(values: np.ndarray) -> np.ndarray:
    """Round to int32 counts in 0..MAX_COUNT (no wrap-around, unlike a uint8 cast).

    Example:
        >>> to_counts(np.array([-1.2, 2.6, 300.4, 1e12])).tolist()
        [0, 3, 300, 100000]
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=MAX_COUNT)
    return np.clip(np.rint(values), 0, MAX_COUNT).astype(np.int32)


# ----------------------------------------------------------------------------- reference curves

@dataclass(frozen=True)
class StageCurves:
    """Typical populations along a reference developmental time.

    Attributes:
        curves: T x 8 float (total, A, E, M, P, C, D, Z), one row per reference
            time step (about one EPIC frame), non-decreasing.
        prior: (offset, rate, offset_sd, rate_sd) of real embryos' time lines.
        bias: the network's typical error of log(1 + total) along the reference time, as
            (knots, log bias at the knots, censor_from), or None (no correction). The time line is fitted
            to reference + bias; past ``censor_from`` (where the bias is no longer known) estimates below the
            reference cost :data:`CENSOR_WEIGHT` of their error. Measured on training movies by
            ``tools/experiments/lineage_clips.py`` and carried in the model card (``timeline_bias``).
    """

    curves: np.ndarray
    prior: tuple[float, float, float, float] = (0.0, 1.0, 30.0, 0.3)
    bias: tuple | None = None

    @classmethod
    def from_model(cls, net) -> "StageCurves":
        """The curves a trained :class:`~devocore.nets.lineage_net.LineageNet` carries."""
        curves = net.stage_curves.detach().float().cpu().numpy().astype(np.float64)
        if not np.any(curves[:, 0] > 0):
            raise DevocoreError("This lineage model carries no reference curves; retrain it with "
                                "`python -m devocore train lineage`.")
        prior = tuple(float(v) for v in net.warp_prior.detach().float().cpu().numpy())
        card = getattr(net, "card", None)
        found = card.get("timeline_bias") if isinstance(card, dict) else None
        bias = None
        if isinstance(found, dict) and {"tau", "log_bias", "censor_from"} <= set(found):
            bias = (np.asarray(found["tau"], np.float64), np.asarray(found["log_bias"], np.float64),
                    float(found["censor_from"]))
        return cls(curves, prior, bias)  # type: ignore[arg-type]

    @property
    def log_total(self) -> np.ndarray:
        return np.log1p(self.curves[:, 0])

    def at(self, tau: np.ndarray) -> np.ndarray:
        """N x 7 populations at reference times ``tau`` (linear interpolation, clipped)."""
        tau = np.clip(np.asarray(tau, dtype=np.float64), 0, len(self.curves) - 1)
        return np.stack([np.interp(tau, np.arange(len(self.curves)), self.curves[:, k + 1])
                         for k in range(len(LINEAGES))], axis=1)

    def tau_of(self, log_total: np.ndarray) -> np.ndarray:
        """Reference time at which the typical embryo has this many cells (log(1 + total))."""
        ref = np.maximum.accumulate(self.log_total)
        grid = np.arange(len(ref), dtype=np.float64)
        # make strictly increasing for interpolation; plateaus map to their middle
        unique, first = np.unique(ref, return_index=True)
        last = np.r_[first[1:] - 1, len(ref) - 1]
        middle = (grid[first] + grid[last]) / 2
        return np.interp(np.asarray(log_total, dtype=np.float64), unique, middle)

    @property
    def four_cell(self) -> float:
        """Reference step where the typical embryo reaches 4 cells (the stage's zero).

        Example:
            >>> StageCurves(np.array([[1.0] * 8, [2.0] * 8, [6.0] * 8])).four_cell
            1.5
        """
        total = np.maximum.accumulate(self.curves[:, 0])
        reached = np.flatnonzero(total >= 4)
        if reached.size == 0:
            return float(len(total) - 1)
        i = int(reached[0])
        if i == 0:
            return 0.0
        return float(i - 1 + (4 - total[i - 1]) / max(total[i] - total[i - 1], 1e-9))

    def rate_prior(self, rate: np.ndarray, strides: Sequence[int] = STRIDES) -> np.ndarray:
        """Squared z-score of log(rate) under the prior, at its nearest mode (rate x 1, 2, ... strides).

        Example:
            >>> c = StageCurves(np.ones((5, 8)), (0.0, 1.0, 30.0, 0.2))
            >>> c.rate_prior(np.array([1.0, 2.0, 1.5])).round(2).tolist()
            [0.0, 12.01, 4.11]
            >>> c.rate_prior(np.array([1.0, 2.0, 1.5]), strides=(1, 2)).round(2).tolist()
            [0.0, 0.0, 2.07]
        """
        _, b0, _, sb = self.prior
        sd = max(sb / max(b0, 1e-6), 0.05)
        rate = np.maximum(np.asarray(rate, dtype=np.float64), 1e-6)
        modes = np.log(b0 * np.asarray(strides, dtype=np.float64))
        return np.min(((np.log(rate)[..., None] - modes) / sd) ** 2, axis=-1)

    def expected_log_total(self) -> tuple[np.ndarray, float]:
        """(what the network typically reports, log(1 + total), at each reference step; censor_from).

        The reference log total plus the network's known bias (none without :attr:`bias`); ``censor_from``
        is inf without a bias.

        Example:
            >>> c = StageCurves(np.full((4, 8), 1.0), bias=(np.array([0.0, 3.0]), np.array([0.0, 0.3]), 2.0))
            >>> e, censor = c.expected_log_total()
            >>> (e - np.log(2)).round(2).tolist(), censor
            ([0.0, 0.1, 0.2, 0.3], 2.0)
        """
        ref = np.maximum.accumulate(self.log_total)
        if self.bias is None:
            return ref, np.inf
        knots, values, censor_from = self.bias
        return ref + np.interp(np.arange(len(ref), dtype=np.float64), knots, values), float(censor_from)

    def _line_cost(self, frames, y, w, rate, offsets, ref, censor_from: float = np.inf) -> np.ndarray:
        tau = offsets[:, None] + rate * frames[None, :]
        diff = y[None, :] - np.interp(tau, np.arange(len(ref)), ref)
        error = np.abs(diff)
        if np.isfinite(censor_from):
            error = np.where((tau > censor_from) & (diff < 0) & (diff >= -CENSOR_CAP), CENSOR_WEIGHT * error, error)
        return (error * w[None, :]).sum(axis=1)

    @staticmethod
    def latest_start(y: np.ndarray, ref: np.ndarray, censor_from: float) -> float:
        """Latest reference time the first frame may have (:data:`START_MARGIN`; inf when unbounded).

        Example:
            >>> ref = np.linspace(0.0, 5.0, 51)  # typical estimate at reference steps 0..50
            >>> StageCurves.latest_start(np.full(9, 1.0), ref, 40.0)
            13.0
            >>> StageCurves.latest_start(np.full(9, 4.0), ref, 40.0)  # past censor_from: unbounded
            inf
        """
        if START_MARGIN is None or not np.isfinite(censor_from) or len(y) == 0:
            return np.inf
        y0 = float(np.median(y[:START_FRAMES]))
        reach = np.flatnonzero(np.maximum.accumulate(ref) >= y0 + START_MARGIN)
        return float(reach[0]) if reach.size and reach[0] < censor_from else np.inf

    def offset_prior(self, offset: np.ndarray, rate: float, cap: float = OFFSET_CAP) -> np.ndarray:
        """Capped squared z-score of where the line is at frame 1 (``offset + rate``) under the prior.

        Example:
            >>> c = StageCurves(np.ones((5, 8)), (40.0, 1.0, 5.0, 0.2))
            >>> c.offset_prior(np.array([40.0, 45.0, 140.0]), 1.0).tolist()
            [0.0, 1.0, 4.0]
        """
        a0, b0, sa, _ = self.prior
        z2 = ((np.asarray(offset, dtype=np.float64) + rate - (a0 + b0)) / max(sa, 1e-6)) ** 2
        return np.minimum(z2, cap)

    def fit_timeline(self, frames: np.ndarray, log_total: np.ndarray, weights: np.ndarray | None = None,
                     prior_strength: float = PRIOR_STRENGTH, offset_range: float | None = None,
                     strides: Sequence[int] = STRIDES, offset_strength: float = OFFSET_STRENGTH
                     ) -> tuple[float, float]:
        """Offset and rate of ``tau = offset + rate * frame`` best matching the estimates.

        Minimises the weighted mean absolute difference between ``log_total``
        and the reference log total at ``tau``, plus ``prior_strength`` times the
        rate prior (:meth:`rate_prior`) and ``offset_strength`` times the capped
        prior on where frame 1 lies (:meth:`offset_prior`). Every line that meets
        the reference is searched, and the cap keeps the cost of a late start
        small, so clips fit as well as whole movies. ``offset_range`` limits the
        offsets to the prior's offset +- that many steps (used to align training
        curves). Grid search (coarse, then fine around the best): exact and cheap.
        """
        frames = np.asarray(frames, dtype=np.float64)
        y = np.asarray(log_total, dtype=np.float64)
        w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.sum() <= 0:
            w = np.ones_like(y)
        w = w / w.sum()
        ref, censor = self.expected_log_total()
        latest = self.latest_start(y, ref, censor)
        n = len(ref)
        a0, b0, _, _ = self.prior
        # the coarse search needs no more than ~200 frames
        step = max(1, len(frames) // 200)
        fc, yc, wc = frames[::step], y[::step], w[::step]
        wc = wc / wc.sum() if wc.sum() > 0 else np.full(len(wc), 1.0 / len(wc))
        rates = b0 * np.geomspace(1 / 8, 8, 169)
        best = (np.inf, a0, b0)
        for b in rates:
            if offset_range is None:
                offsets = np.arange(-b * fc.max() - 2, n - b * fc.min() + 2, 1.0)
            else:
                offsets = np.arange(a0 - offset_range, a0 + offset_range + 1, 2.0)
            cost = self._line_cost(fc, yc, wc, b, offsets, ref, censor) + prior_strength * self.rate_prior(b, strides) \
                + offset_strength * self.offset_prior(offsets, b) \
                + np.where(offsets + b * frames[0] > latest, np.inf, 0.0)
            i = int(np.argmin(cost))
            if cost[i] < best[0]:
                best = (float(cost[i]), float(offsets[i]), float(b))
        # refine on every frame: rate to 0.2 %, offset to 0.1 step (the line pivots about the middle frame)
        _, a, b = best
        middle = float(np.median(frames))
        best = (np.inf, a, b)
        for r in b * np.exp(np.linspace(-0.03, 0.03, 31)):
            offsets = a + b * middle - r * middle + np.arange(-3.0, 3.01, 0.1)
            cost = self._line_cost(frames, y, w, r, offsets, ref, censor) \
                + prior_strength * self.rate_prior(r, strides) + offset_strength * self.offset_prior(offsets, r) \
                + np.where(offsets + r * frames[0] > latest, np.inf, 0.0)
            i = int(np.argmin(cost))
            if cost[i] < best[0]:
                best = (float(cost[i]), float(offsets[i]), float(r))
        return best[1], best[2]

    def timeline_band(self, frames: np.ndarray, log_total: np.ndarray, weights: np.ndarray | None,
                      timeline: tuple[float, float], n_boot: int = 40, block: int = 10, seed: int = 0,
                      prior_strength: float = PRIOR_STRENGTH) -> tuple[np.ndarray, np.ndarray]:
        """90 % band of the fitted reference time at every frame (moving-block bootstrap of the frames).

        Blocks of ``block`` consecutive frames are drawn with replacement (the
        network's errors are correlated from frame to frame) and the line is
        refitted near the fitted one, ``n_boot`` times; the band is the 5th to
        95th percentile of the refitted lines at each frame. Seeded: the same
        video gives the same band.
        """
        frames = np.asarray(frames, dtype=np.float64)
        y = np.asarray(log_total, dtype=np.float64)
        w0 = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
        a, b = timeline
        tau = a + b * frames
        n = len(frames)
        if n < 2 * block:
            return tau.copy(), tau.copy()
        ref, censor = self.expected_log_total()
        rng = np.random.default_rng(seed)
        middle = float(np.median(frames))
        rates = b * np.exp(np.linspace(-0.3, 0.3, 25))
        shifts = np.arange(-30.0, 30.5, 1.0)
        lines = []
        for _ in range(n_boot):
            starts = rng.integers(0, n - block + 1, size=int(np.ceil(n / block)))
            counts = np.bincount((starts[:, None] + np.arange(block)[None, :]).ravel(), minlength=n)[:n]
            w = w0 * counts
            if w.sum() <= 0:
                continue
            w = w / w.sum()
            best = (np.inf, a, b)
            for r in rates:
                offsets = a + b * middle - r * middle + shifts
                cost = self._line_cost(frames, y, w, r, offsets, ref, censor) + prior_strength * self.rate_prior(r) \
                    + OFFSET_STRENGTH * self.offset_prior(offsets, r)
                i = int(np.argmin(cost))
                if cost[i] < best[0]:
                    best = (float(cost[i]), float(offsets[i]), float(r))
            lines.append(best[1] + best[2] * frames)
        if not lines:
            return tau.copy(), tau.copy()
        lines = np.stack(lines)
        # spread of the refitted lines about their own median, centred on the fitted line (the local refit
        # grid may sit a fraction of a step off the full search), at least BAND_FLOOR on each side
        lo, mid, hi = np.percentile(lines, (STAGE_BAND[0], 50.0, STAGE_BAND[1]), axis=0)
        return tau - np.maximum(mid - lo, BAND_FLOOR), tau + np.maximum(hi - mid, BAND_FLOOR)


# ----------------------------------------------------------------------------- inference

def _batches(frames: Iterable[np.ndarray], size: int, channel: str, batch_size: int,
             keep_previews: bool) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, list]]:
    """Preprocess frames in a background thread; yield (B x size x size, contrasts, structures, previews)."""
    out: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def work() -> None:
        try:
            xs, cs, ss, ps = [], [], [], []
            for frame in frames:
                if stop.is_set():
                    return
                plane = nucleus_channel(frame, channel)  # once for both
                x, c = preprocess(plane, size)
                xs.append(x)
                cs.append(c)
                ss.append(structure(plane))
                if keep_previews:
                    ps.append(_preview(frame))
                if len(xs) == batch_size:
                    out.put((np.stack(xs), np.array(cs), np.array(ss), ps))
                    xs, cs, ss, ps = [], [], [], []
            if xs:
                out.put((np.stack(xs), np.array(cs), np.array(ss), ps))
            out.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            out.put(exc)

    thread = threading.Thread(target=work, name="lineage-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # drain so the worker can finish
            try:
                out.get(timeout=0.1)
            except queue.Empty:
                pass


def _preview(frame: np.ndarray, longest: int = 256) -> np.ndarray:
    import cv2

    from devocore.io import to_uint8

    image = to_uint8(np.asarray(frame))
    h, w = image.shape[:2]
    scale = longest / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return image


def run_network(net, frames: Iterable[np.ndarray], total: int | None = None, batch_size: int = 16,
                channel: str = "auto", keep_previews: bool = False,
                progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Network outputs for a stream of frames.

    Returns:
        (N x 7 float32 log(1 + count), N contrasts, N structures (see :func:`structure`), previews).
    """
    import torch

    size = int(net.card.get("input_size", 128)) if hasattr(net, "card") else 128
    first = next(net.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None else torch.float32
    net.eval()
    net = net.to(memory_format=torch.channels_last)
    outputs, contrasts, structures, previews = [], [], [], []
    done = 0
    with torch.inference_mode():
        for x, c, s, p in _batches(frames, size, channel, batch_size, keep_previews):
            batch = torch.from_numpy(x[:, None]).to(device=device, dtype=dtype)
            batch = batch.contiguous(memory_format=torch.channels_last)
            outputs.append(net(batch).float().cpu().numpy())
            contrasts.append(c)
            structures.append(s)
            previews.extend(p)
            done += len(x)
            if progress is not None:
                progress(min(1.0, done / total) if total else 0.0, f"frame {done}" + (f" of {total}" if total else ""))
    if not outputs:
        raise DevocoreError("The input holds no frames.")
    return np.concatenate(outputs).astype(np.float32), np.concatenate(contrasts), np.concatenate(structures), previews


def _log_total(est: np.ndarray) -> np.ndarray:
    return np.log1p(np.expm1(np.clip(est, 0, np.log1p(MAX_COUNT))).sum(axis=1))


def populations(raw: np.ndarray, curves: StageCurves | None, method: str = "timeline", monotonic: bool = False,
                smooth: int = 1, weights: np.ndarray | None = None
                ) -> tuple[np.ndarray, tuple[float, float] | None]:
    """N x 7 float populations from network outputs (log(1 + count)).

    Args:
        raw: N x 7 network outputs, frames in time order.
        curves: the model's reference curves (needed by "timeline" and "stage").
        method: one of :data:`METHODS`.
        monotonic: make every lineage non-decreasing over the frames.
        smooth: running-median window (frames).
        weights: per-frame weights (0 = no signal).

    Returns:
        (N x 7 populations, (offset, rate) for "timeline", else None).
    """
    if method not in METHODS:
        raise DevocoreError(f"Unknown method '{method}'. Available options are: {', '.join(METHODS)}.")
    raw = np.asarray(raw, dtype=np.float64)
    n = raw.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    est = running_median(raw, smooth) if smooth > 1 else raw
    if method != "net" and curves is None:
        raise DevocoreError(f"Method '{method}' needs a model with reference curves; use method 'net'.")
    if method == "timeline" and n < MIN_TIMELINE_FRAMES:
        method = "stage"
    timeline = None
    if method == "net":
        counts = np.expm1(np.clip(est, 0, np.log1p(MAX_COUNT)))
        if monotonic:
            counts = np.stack([monotone(counts[:, k], w) for k in range(counts.shape[1])], axis=1)
        return counts, None
    log_total = _log_total(est)
    if method == "timeline":
        frames = np.arange(1, n + 1, dtype=np.float64)
        timeline = curves.fit_timeline(frames, log_total, w)
        tau = timeline[0] + timeline[1] * frames
    else:
        if monotonic:
            log_total = monotone(log_total, w)
        tau = curves.tau_of(log_total)
    return curves.at(tau), timeline


def stage(raw: np.ndarray, curves: StageCurves, timeline: tuple[float, float] | None = None,
          weights: np.ndarray | None = None, smooth: int = 1, monotonic: bool = False
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Developmental stage of every frame: reference time points after the 4-cell stage, with a 90 % band.

    With a fitted ``timeline`` the stage is the line and the band comes from
    :meth:`StageCurves.timeline_band`. Without one, each frame's stage is read
    from its estimated total (:meth:`StageCurves.tau_of`) and the band is that
    +- 1.645 robust standard deviations of the frame-to-frame scatter.

    Returns:
        (stage, low, high), three N float arrays (reference time points).
    """
    raw = np.asarray(raw, dtype=np.float64)
    n = raw.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    est = running_median(raw, smooth) if smooth > 1 else raw
    log_total = _log_total(est)
    zero = curves.four_cell
    if timeline is not None:
        frames = np.arange(1, n + 1, dtype=np.float64)
        tau = timeline[0] + timeline[1] * frames
        lo, hi = curves.timeline_band(frames, log_total, w, timeline)
    else:
        if monotonic:
            log_total = monotone(log_total, w)
        tau = curves.tau_of(log_total)
        keep = w > 0
        scatter = tau[keep] - running_median(tau, 9)[keep] if keep.any() else np.zeros(1)
        half = 1.645 * 1.4826 * float(np.median(np.abs(scatter - np.median(scatter))))
        lo, hi = tau - half, tau + half
    return tau - zero, lo - zero, hi - zero


def predict_frames(frames: Iterable[np.ndarray], net, config: LineageConfig = LineageConfig(),
                   total: int | None = None, progress: ProgressFn | None = None) -> LineageResult:
    """Populations and stage for frames in time order (any iterable of Y x X [x C] arrays)."""
    raw, contrast, structures, previews = run_network(net, frames, total, config.batch_size, config.channel,
                                                      config.keep_previews, progress)
    embryo = (structures >= STRUCTURE_MIN) & (contrast > 0)
    weights = signal_weights(contrast)
    if embryo.any():  # frames without an embryo do not steer the timeline
        weights = weights * embryo
    try:
        curves = StageCurves.from_model(net)
    except DevocoreError:
        if config.method != "net":
            raise
        curves = None  # "net" needs no reference curves; the stage is then unknown
    values, timeline = populations(raw, curves, config.method, config.monotone, config.smooth, weights)
    counts = to_counts(values)
    table = pd.DataFrame(counts, columns=list(LINEAGES))
    table.insert(0, "frame", np.arange(1, len(table) + 1, dtype=np.int32))
    table["total"] = counts.sum(axis=1).astype(np.int32)
    if curves is not None:
        tp, lo, hi = stage(raw, curves, timeline, weights, config.smooth, config.monotone)
    else:
        tp = lo = hi = np.full(len(table), np.nan)
    table["stage_tp"], table["stage_tp_lo"], table["stage_tp_hi"] = (np.round(v, 1) for v in (tp, lo, hi))
    if config.frame_interval_s:
        # minutes of this movie: reference steps / (steps per frame) x seconds per frame
        per_frame = timeline[1] if timeline is not None else 1.0
        scale = config.frame_interval_s / 60.0 / max(per_frame, 1e-6)
        for suffix, v in (("", tp), ("_lo", lo), ("_hi", hi)):
            table[f"stage_min{suffix}"] = np.round(v * scale, 1)
    table["embryo"] = embryo
    if not embryo.all():
        log.info("%d of %d frames show no embryo (black, empty or pure noise); their counts mean nothing",
                 int((~embryo).sum()), len(embryo))
    return LineageResult(table, raw, weights, timeline, previews)


def no_embryo_warning(table: pd.DataFrame) -> str | None:
    """A one-line warning when some frames of a result table show no embryo, else None."""
    if "embryo" not in table or table["embryo"].all():
        return None
    missing = int((~table["embryo"].astype(bool)).sum())
    why = "(black, empty or pure noise)"
    if missing == len(table):
        return f"No frame shows an embryo {why}: the counts mean nothing (column 'embryo' is False)."
    return (f"{missing} of {len(table)} frames show no embryo {why}: their counts mean nothing "
            "(column 'embryo' is False).")


def predict(source, net, config: LineageConfig = LineageConfig(), progress: ProgressFn | None = None
            ) -> LineageResult:
    """Populations for every frame of a video, a folder of frames or an image/stack.

    Args:
        source: a path (video, folder, image, TIFF stack) or a numpy array
            (Y x X [x C] for one frame, T x Y x X [x C] for several).
        net: a loaded lineage model (``registry.load_model("lineage")``).

    Example::

        result = predict("embryo.mov", registry.load_model("lineage"))
        result.table.to_csv("populations.csv", index=False)
    """
    if isinstance(source, np.ndarray):
        frames = [source] if source.ndim == 2 or (source.ndim == 3 and source.shape[-1] in (1, 3, 4)) \
            else list(source)
        return predict_frames(frames, net, config, len(frames), progress)
    from devocore.io import open_frames

    with open_frames(source) as stream:
        return predict_frames(stream, net, config, stream.frame_count, progress)


# ----------------------------------------------------------------------------- clips

def parse_clip(spec: str, n_frames: int) -> np.ndarray:
    """0-based indices of the frames ``A:B[:S]`` (1-based, A..B inclusive, every S-th) of an n-frame movie.

    B past the movie's end stops at its last frame.

    Example:
        >>> parse_clip("2:9:3", 20).tolist()
        [1, 4, 7]
        >>> parse_clip("5:100", 7).tolist()
        [4, 5, 6]
    """
    parts = str(spec).split(":")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3) or numbers[0] < 1 or numbers[1] < numbers[0] or \
            (len(numbers) == 3 and numbers[2] < 1):
        raise DevocoreError(f"Frames '{spec}' are not A:B or A:B:S with 1 <= A <= B and S >= 1 "
                            "(1-based, B included; e.g. 1:100 or 1:389:2).")
    first, last = numbers[0], min(numbers[1], n_frames)
    if first > n_frames:
        raise DevocoreError(f"Frames '{spec}' start after the movie's last frame ({n_frames}).")
    return np.arange(first - 1, last, numbers[2] if len(numbers) == 3 else 1)


def select_frames(frames: Iterable[np.ndarray], indices: Sequence[int]) -> Iterator[np.ndarray]:
    """The frames at these 0-based positions of a stream, in order (the rest are decoded and dropped)."""
    wanted = set(int(i) for i in indices)
    last = max(wanted) if wanted else -1
    for i, frame in enumerate(frames):
        if i > last:
            return
        if i in wanted:
            yield frame


# ----------------------------------------------------------------------------- evaluation

def read_populations(source, name: str | None = None) -> pd.DataFrame:
    """Read an annotation table ``frame, A, E, M, P, C, D, Z`` (frame 1 = first frame)."""
    from devocore.io import read_table

    table = read_table(source, name, required=COLUMNS, numeric=COLUMNS)
    table = table.dropna(subset=list(COLUMNS))
    if table["frame"].duplicated().any():
        raise TableError(f"{name or 'the annotation table'} lists a frame more than once.")
    return table[list(COLUMNS)].sort_values("frame").reset_index(drop=True)


def baseline_curve(curves: pd.DataFrame, frames: Sequence[int]) -> pd.DataFrame:
    """The median real curve at each frame index (the image-blind baseline).

    Args:
        curves: ``embryo, frame, A, ..., Z`` for many embryos.
        frames: frame indices to predict.

    Example:
        >>> c = pd.DataFrame({"embryo": ["a", "a", "b", "b"], "frame": [1, 2, 1, 2],
        ...                   **{k: [0, 2, 2, 4] for k in LINEAGES}})
        >>> baseline_curve(c, [1, 2, 3])["A"].tolist()
        [1.0, 3.0, 3.0]
    """
    median = curves.groupby("frame")[list(LINEAGES)].median().sort_index()
    out = median.reindex(sorted(set(median.index) | set(frames))).ffill().bfill().reindex(list(frames))
    out = out.reset_index().rename(columns={"index": "frame"})
    out["frame"] = list(frames)
    return out[list(COLUMNS)]


def length_baseline_curve(curves: pd.DataFrame, frames: Sequence[int], n_frames: int) -> pd.DataFrame:
    """The median real curve at the same fraction of the movie (an image-blind baseline that knows the clock).

    Each real curve is read at ``(frame - 0.5) / its length``; the median over
    curves is taken at ``(frame - 0.5) / n_frames``. This is what EPIC-style
    annotations (a tracing spread over the whole movie) give without looking at
    a single pixel.

    Example:
        >>> c = pd.DataFrame({"embryo": ["a"] * 2 + ["b"] * 4, "frame": [1, 2, 1, 2, 3, 4],
        ...                   **{k: [0, 4, 0, 0, 4, 4] for k in LINEAGES}})
        >>> length_baseline_curve(c, [1, 2], 2)["A"].round(2).tolist()
        [0.0, 4.0]
        >>> length_baseline_curve(c, [1, 2, 3, 4], 4)["A"].round(2).tolist()
        [0.0, 0.5, 3.5, 4.0]
    """
    grid = (np.arange(1000) + 0.5) / 1000
    per = []
    for _, one in curves.sort_values("frame").groupby("embryo"):
        u = (one["frame"].to_numpy(np.float64) - 0.5) / len(one)
        per.append(np.stack([np.interp(grid, u, one[k].to_numpy(np.float64)) for k in LINEAGES], axis=1))
    median = np.median(np.stack(per), axis=0)
    u = (np.asarray(frames, dtype=np.float64) - 0.5) / n_frames
    out = pd.DataFrame({k: np.interp(u, grid, median[:, i]) for i, k in enumerate(LINEAGES)})
    out.insert(0, "frame", list(frames))
    return out


def evaluate(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Mean absolute error per lineage, normalised by the lineage's largest annotated count.

    Frames are matched on ``frame``; lineages never annotated above 0 are left
    out of the mean (their normalised error is undefined).

    Returns:
        dict with ``nmae`` (mean over lineages), ``mae`` and ``nmae_per`` (dicts
        per lineage), ``max_count`` and ``frames`` (how many were compared).

    Example:
        >>> t = pd.DataFrame({"frame": [1, 2], **{k: [0, 4] for k in LINEAGES}})
        >>> p = t.copy(); p["A"] = [1, 4]
        >>> r = evaluate(p, t)
        >>> r["mae"]["A"], r["nmae_per"]["A"], round(r["nmae"], 4)
        (0.5, 0.125, 0.0179)
    """
    merged = truth[list(COLUMNS)].merge(pred[list(COLUMNS)], on="frame", suffixes=("_true", "_pred"))
    if merged.empty:
        raise TableError("The predictions and the annotation share no frame number.")
    mae, nmae_per, max_count = {}, {}, {}
    for k in LINEAGES:
        err = (merged[f"{k}_pred"].astype(float) - merged[f"{k}_true"].astype(float)).abs()
        mae[k] = float(err.mean())
        max_count[k] = float(merged[f"{k}_true"].max())
        nmae_per[k] = mae[k] / max_count[k] if max_count[k] > 0 else float("nan")
    valid = [v for v in nmae_per.values() if np.isfinite(v)]
    return {"nmae": float(np.mean(valid)) if valid else float("nan"), "mae": mae, "nmae_per": nmae_per,
            "max_count": max_count, "frames": int(len(merged))}


# ----------------------------------------------------------------------------- a static plot

COLORS = {k: style.lineage_rgb(k) for k in (*LINEAGES, "total")}


def plot_png(pred: pd.DataFrame, truth: pd.DataFrame | None, path, title: str = "",
             size: tuple[int, int] = (1100, 560)):
    """Write a PNG of predicted (thin, dark) over annotated (broad, pale) curves per lineage, log axis.

    Drawn with PIL so no plotting library is needed. Returns the path.
    """
    from pathlib import Path

    from PIL import Image, ImageDraw

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    left, right, top, bottom = 70, 130, 40, 50
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    frames = pred["frame"].to_numpy()
    fmax = max(float(frames.max()), float(truth["frame"].max()) if truth is not None else 0.0, 2.0)
    ymax = float(np.log1p(max(pred[list(LINEAGES)].to_numpy().max(),
                              truth[list(LINEAGES)].to_numpy().max() if truth is not None else 0, 1)))

    def xy(f, v):
        x = left + (np.asarray(f, float) - 1) / (fmax - 1) * (width - left - right)
        y = height - bottom - np.log1p(np.asarray(v, float)) / ymax * (height - top - bottom)
        return list(zip(x.tolist(), y.tolist()))

    draw.rectangle([left, top, width - right, height - bottom], outline=(120, 120, 120))
    for tick in (1, 2, 5, 10, 20, 50, 100, 200, 500):
        if np.log1p(tick) <= ymax:
            (_, y), = xy([1], [tick])
            draw.line([left - 4, y, width - right, y], fill=(230, 230, 230))
            draw.text((left - 34, y - 6), f"{tick}", fill=(60, 60, 60))
    for tick in np.linspace(1, fmax, 6):
        (x, _), = xy([tick], [0])
        draw.text((x - 10, height - bottom + 6), f"{int(tick)}", fill=(60, 60, 60))
    draw.text((width // 2 - 20, height - 22), "frame", fill=(0, 0, 0))
    draw.text((8, top - 28), "cells (log scale)", fill=(0, 0, 0))
    draw.text((left, 10), title, fill=(0, 0, 0))
    if truth is not None:
        for k in LINEAGES:
            pale = tuple(int(c * 0.35 + 255 * 0.65) for c in COLORS[k])
            draw.line(xy(truth["frame"], truth[k]), fill=pale, width=6)
    for i, k in enumerate(LINEAGES):
        color = COLORS[k]
        draw.line(xy(frames, pred[k]), fill=color, width=2)
        draw.line([width - right + 15, top + 10 + i * 20, width - right + 40, top + 10 + i * 20], fill=color, width=3)
        draw.text((width - right + 46, top + 4 + i * 20), k, fill=(0, 0, 0))
    if truth is not None:
        draw.text((width - right + 15, top + 160), "thin: predicted", fill=(0, 0, 0))
        draw.text((width - right + 15, top + 176), "broad, pale: annotated", fill=(0, 0, 0))
    image.save(path)
    return path
