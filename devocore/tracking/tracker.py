"""Tracking worms through a video: detection, identity, midlines, measures.

Frames stream through :class:`Tracker` one at a time. Each frame's blobs are
matched to the worms already followed by the Hungarian algorithm on predicted
positions (constant velocity), gated by a fraction of the body length. A blob
that holds the predicted positions (centroid and last midline moved there) of
two or more worms and is larger than one worm is two worms touching, unless
its core (the blob at a higher share of its contrast) falls apart into one
piece per worm, each of that worm's usual area and length: worms lying close,
whose blurred outlines merge, are then measured each on its own piece.
Otherwise those worms are flagged ``touching`` for the frame and not measured.
Blobs nobody claims start new worms (entering the view); worms unseen for
``max_missing`` frames end (leaving). When the frames end, each worm's ends are
oriented head first (:mod:`devocore.tracking.headtail`) and its measures
computed. Memory grows with the output table only.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from devocore import io
from devocore.config import is_cloud
from devocore.errors import NoFramesError
from devocore.progress import ProgressFn
from devocore.tracking.headtail import orient, trim_overlong, turning_angles
from devocore.tracking.midline import CORE_LEVEL, Midline, core_parts, extract_midline, resample
from devocore.tracking.segment import (Background, Levels, background_from_frames, compact_gray, find_blobs,
                                       frame_contrast, is_flat, threshold_of, worm_width)

log = logging.getLogger(__name__)

#: With one field of view the threshold is re-estimated every this many frames.
THRESHOLD_EVERY = 25
#: Most objects of worm size followed in one frame, the largest first (the rest are left out, with a warning):
#: real plates hold a few to tens of worms, and a frame of thousands of specks (a grid of bright dots, noise)
#: would otherwise cost minutes per frame, each speck measured and matched with every other (issue #31).
MAX_BLOBS = 200
#: A midline this much longer than the worm's usual length is two worms end to end.
LONGER_THAN_ONE = 1.35
#: A blob with this many times the worm's usual area holds more than one worm.
LARGER_THAN_ONE = 1.5
#: Worms crossing keep their pace; worms in contact for longer than TOUCH_PASS frames stay
#: together: their predicted velocity then shrinks by TOUCH_SLOWDOWN each frame.
TOUCH_PASS = 25
TOUCH_SLOWDOWN = 0.8
#: After this many frames in a row of a length that does not fit, the usual length is learned again.
RELEARN_AFTER = 12
#: Contrast levels (shares of a merged blob's median contrast) at which worms lying close are sought apart.
PART_LEVELS = (CORE_LEVEL, 0.85, 0.95)
#: A part is one worm when its area and midline length are within this factor of the worm's usual ones.
PART_FIT = 1.2
#: In a worm's frame-indexed sequence a gap in the frame numbers counts as at most this many frames.
GAP_CAP = 1000
#: A worm is long and thin (an adult about 12 times as long as wide, a larva more): its midline length squared over
#: its area (about length over mean width) has a median of 9-10 over the measured rows of the simulated worms and
#: the bundled plate video; the nuclei of the bundled embryo movies, followed as "worms", give 2.2-2.3 (measured
#: afterwards: the real wormpose frames 12). Below this median the objects followed are not worms and
#: :attr:`TrackResult.unfit` says so.
WORM_ELONGATION = 4.0
#: A track stays in place when its centroid's 5th-95th percentile range, in x and in y, is under this share of the
#: square root of its median area (about its midline length over 3 for a worm). On the bundled plate video the two
#: worms range over 2.1 and 2.8 times; the digits of a time stamp drawn into it range over 0.02-0.21.
STILL_SPREAD = 0.5
#: ... over at least this many rows (a short track is in place whatever it is).
STILL_MIN_ROWS = 20
#: Worms wider than this (pixels, :func:`~devocore.tracking.segment.worm_width`) are tracked in frames shrunk so that
#: they are :data:`WORM_WIDTH` px wide: the smooth plate's median filter (`segment.PLATE_SMOOTHING`, 61 px) no longer
#: erases wider ones. `tools/experiments/tracking_scale.py --as-given`: the bundled plate video measures 14.8 px;
#: upscaled 2x, 30.0 px, it still gives its 2 worms at its own size; 2.25x (33.6 px) gave 5 worms and 3x (45.2 px) 10,
#: tracked shrunk 2 each. 45 simulated videos of 1-5 worms (seeds 6001-9203) measure up to 23 px (touching and coiled
#: worms make the largest object wider), so the bound lies above them. Measured on :data:`WIDTH_FRAMES` frames spread
#: over the input (not on crops or fewer than 5 frames).
WIDE_WORM = 30
WORM_WIDTH = 15
#: Worms thinner than this (pixels) are tracked in frames enlarged (at most :data:`MAX_ENLARGE` times, and to at most
#: :data:`WORK_PIXELS`) so that they are :data:`THIN_WORM_WIDTH` px wide. Same script: shrunk to 0.25x (worms
#: measured 4.4 px wide) the video gave 113 of 300 rows "ok" at its own size, 0.2x (4.0 px) 23, 0.15x (2.8 px) 12 of
#: 91; enlarged, 268, 226 and 103 of 149 (0.15x: one worm, the other is under ``min_area``). At 0.3x, also 4.4 px, 280
#: as it is and 282 enlarged.
THIN_WORM = 4.5
THIN_WORM_WIDTH = 9.0
MAX_ENLARGE = 3.0
WIDTH_FRAMES = 7
#: A track whose median area is under this share of the largest track's is a speck, not a worm, and is left out of
#: the table. ``min_area`` (30 px) keeps specks out at the bundled plate video's size, but they grow with the pixels:
#: upscaled 2x (1280 x 960), its specks (32-37 px, 0.8 % of the larger worm) were followed as 3 more "worms". An L1
#: larva is about 5 % of an adult's area; an egg about 2 %.
SPECK_FRACTION = 0.02
#: A frame shows nothing to track, and is skipped, when it is flat (:func:`~devocore.tracking.segment.is_flat`: a
#: black, white or overexposed frame) or when more than this share of it stands out from the plate as a worm would (a
#: camera's first dark frames over its noise, the lid lifted). Left in, such a frame was one "worm" as large as the
#: frame, and its threshold held for the next 25 frames: the bundled plate video after 10 black frames lost both worms.
BLANK_COVER = 0.5
#: Frame rate (frames per second) assumed when neither the settings nor the file give one.
DEFAULT_FPS = 25.0
#: Status of a worm in a frame.
OK, COILED, TOUCHING, EDGE = "ok", "coiled", "touching", "edge"


@dataclass(frozen=True)
class TrackConfig:
    """Settings of one tracking run (defaults suit 1-20 worms at 5-30 fps).

    Attributes:
        n_points: midline points from head to tail.
        min_area: smallest blob, in pixels, taken as a worm.
        px_per_mm: image scale; adds the ``*_mm`` columns when given.
        fps: frame rate; None uses the file's own (else :data:`DEFAULT_FPS`, 25, with a warning).
        background_frames: frames sampled for the median background.
        max_missing: frames a worm may go undetected before its track ends.
        max_jump: largest centroid jump between frames as a fraction of body length.
        crops: frames are crops centred on one worm (size may vary): no
            background model, each frame thresholded on its own. None decides
            from the input (a folder of frames of different sizes).
        speed_window_s: window for the speed estimate.
        n_curvature: number of stations in the curvature profile.
        max_gap: frames without a midline that head/tail continuity may bridge.
    """

    n_points: int = 49
    min_area: int = 30
    px_per_mm: float | None = None
    fps: float | None = None
    background_frames: int = 25
    max_missing: int = 10
    max_jump: float = 0.5
    crops: bool | None = None
    speed_window_s: float = 0.4
    n_curvature: int = 9
    max_gap: int = 5


@dataclass
class _Obs:
    frame: int
    status: str
    centroid: tuple[float, float]
    midline: Midline | None = None
    area: int = 0
    note: str = ""


@dataclass
class _Track:
    ident: int
    obs: list[_Obs] = field(default_factory=list)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    missing: int = 0
    odd_run: int = 0
    lengths: list[float] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    areas: list[int] = field(default_factory=list)
    pose: np.ndarray | None = None  # every 4th point of the last measured midline, relative to its centroid

    def last_seen(self) -> _Obs:
        return self.obs[-1]

    def last_measured(self) -> _Obs:
        """The latest observation whose centroid was measured, not coasted on a prediction while touching."""
        return next((o for o in reversed(self.obs) if o.status != TOUCHING), self.obs[-1])

    def predict(self, frame: int) -> np.ndarray:
        last = self.last_seen()
        return np.asarray(last.centroid) + self.velocity * (frame - last.frame)

    def expected(self, frame: int) -> np.ndarray:
        """Points (x, y) where the worm should lie: its predicted centroid and its last midline moved there.

        A bent worm's centroid can lie off its body; its midline cannot.
        """
        at = self.predict(frame)
        return at[None] if self.pose is None else np.vstack([at, self.pose + at])

    def ref(self, values: list) -> float | None:
        return float(np.median(values[-50:])) if len(values) >= 3 else None


@dataclass
class TrackResult:
    """What :func:`track` returns.

    Attributes:
        table: one row per frame and worm (see :func:`measure` for the columns).
        n_frames: frames read.
        fps: frame rate used for times and speeds.
        fps_assumed: True when neither the settings nor the file gave the frame rate and ``fps`` is
            :data:`DEFAULT_FPS`, a guess (times and speeds follow it).
        shape: (height, width) of the first frame.
        crops: whether frames were treated as crops of one worm.
        seconds: wall time of the tracking itself.
        cpu_seconds: processor time it used (less than ``seconds`` on a busy machine).
        frame_numbers: the number of each frame read, in order (the ``frame`` column uses them): from the
            file names of a folder whose names carry numbers, else positions 0, 1, ...
        numbering: ``"file names"`` or ``"position"``.
        scale: working pixels per original pixel: frames larger than :data:`WORK_PIXELS`, or whose worms are
            wider than :data:`WIDE_WORM` px, are tracked at a smaller size, frames whose worms are thinner than
            :data:`THIN_WORM` px at a larger one (1.0: at their own); the table is always in the original frame's
            pixels.
        levels: the map of 16-bit or float grey levels onto the 0-255 scale the frames were tracked on
            (:class:`~devocore.tracking.segment.Levels`); None for 8-bit frames, tracked as they are.
        blank_frames: the numbers of the frames skipped as showing nothing to track (:func:`is_blank`).
    """

    table: pd.DataFrame
    n_frames: int
    fps: float
    shape: tuple[int, int]
    crops: bool
    seconds: float
    cpu_seconds: float = float("nan")
    frame_numbers: np.ndarray | None = None
    numbering: str = "position"
    scale: float = 1.0
    fps_assumed: bool = False
    levels: Levels | None = None
    blank_frames: tuple[int, ...] = ()

    def __post_init__(self):
        if self.frame_numbers is None:
            self.frame_numbers = np.arange(self.n_frames)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=int)

    @property
    def unfit(self) -> str | None:
        """A warning when the objects followed are not worm-shaped (see :func:`not_worms`), else None.

        Tracks that stay in place (:attr:`still`) are left out of the judgement when others move: a time stamp's
        round digits do not make the worms beside them round."""
        table = self.table
        if not self.crops and len(table):
            still = table["worm"].isin(still_objects(table))
            if not still.all():
                table = table[~still]
        return not_worms(table)

    def number_at(self, index: int) -> int:
        """The frame number of the frame at position ``index``."""
        return int(self.frame_numbers[index])

    @property
    def still(self) -> str | None:
        """A note naming the tracks that stay in place (see :func:`still_objects`), else None; crops are not judged,
        nor objects that are not worms (:attr:`unfit` says so)."""
        ids = [] if self.crops or self.unfit else still_objects(self.table)
        if not ids:
            return None
        listed = ", ".join(map(str, ids[:8])) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
        which = f"worm {ids[0]} stays" if len(ids) == 1 else f"worms {listed} stay"
        return (f"{which} in place while followed: a paralysed or resting worm, or something drawn into "
                "the frames or lying on the plate (a time stamp, a scale bar, an egg, debris) followed as a worm. "
                "Check on the overlay; crop a time stamp or scale bar away before tracking.")

    @property
    def blank(self) -> str | None:
        """A note naming the frames skipped as showing nothing to track (:func:`is_blank`), else None."""
        return self.blank_note()

    def blank_note(self, offset: int = 0) -> str | None:
        """:attr:`blank`, with ``offset`` added to the frame numbers (a table shown from 1)."""
        if not self.blank_frames:
            return None
        count = len(self.blank_frames)
        return (f"{count} of {self.n_frames} frames show nothing to track (black, white, or dark or light all over: "
                f"a shutter, the lamp, the lid) and were skipped: {'frame' if count == 1 else 'frames'} "
                f"{io.frame_list([n + offset for n in self.blank_frames], most=6)} (the table's frame numbers).")

    @property
    def frames_per_second(self) -> float:
        return self.n_frames / self.seconds if self.seconds > 0 else float("inf")

    @property
    def frames_per_cpu_second(self) -> float:
        return self.n_frames / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")


def not_worms(table: pd.DataFrame) -> str | None:
    """A warning when the objects in a tracking table are not worm-shaped, else None.

    Judged on the rows measured as one whole worm (status ``ok``): the median of their midline length squared
    over their area, about how many times longer than wide they are, is under :data:`WORM_ELONGATION`. Round
    objects (nuclei, cells, eggs, specks) then were followed as worms, and their tracks mean nothing.

        >>> rows = pd.DataFrame({"status": ["ok", "ok", "touching"], "length_px": [20.0, 22.0, None],
        ...                      "area_px": [300, 320, 900]})
        >>> print(not_worms(rows))  # doctest: +NORMALIZE_WHITESPACE
        The objects followed are not worm-shaped: their midlines are a median 1.4 times as long as the objects
        are wide (a worm's: 8 or more). Is this a video of worms? Tracks of round objects (nuclei, cells, eggs)
        mean nothing.
        >>> rows["length_px"] = [90.0, 92.0, None]; rows["area_px"] = [680, 700, 1400]
        >>> not_worms(rows) is None
        True
    """
    if table.empty or not {"status", "length_px", "area_px"} <= set(table.columns):
        return None
    ok = table[(table["status"] == "ok") & (table["area_px"] > 0)]
    elongation = (ok["length_px"] ** 2 / ok["area_px"]).dropna()
    if elongation.empty or elongation.median() >= WORM_ELONGATION:
        return None
    return (f"The objects followed are not worm-shaped: their midlines are a median {elongation.median():.1f} times "
            "as long as the objects are wide (a worm's: 8 or more). Is this a video of worms? Tracks of round "
            "objects (nuclei, cells, eggs) mean nothing.")


def still_objects(table: pd.DataFrame) -> list[int]:
    """The ids of the tracks whose centroid stays in place (:data:`STILL_SPREAD`, :data:`STILL_MIN_ROWS`).

        >>> rows = pd.DataFrame({"worm": [1] * 20 + [2] * 20, "area_px": 400.0,
        ...                      "centroid_x": [*range(0, 100, 5), *[50.0, 51.0] * 10], "centroid_y": 10.0})
        >>> still_objects(rows)
        [2]
    """
    if table.empty or not {"worm", "centroid_x", "centroid_y", "area_px"} <= set(table.columns):
        return []
    placed = table.dropna(subset=["centroid_x", "centroid_y"]).groupby("worm")[["centroid_x", "centroid_y"]]
    spread = (placed.quantile(0.95) - placed.quantile(0.05)).max(axis=1)  # grouped: 100x a loop over 300 tracks
    size = np.sqrt(table.groupby("worm")["area_px"].median()).reindex(spread.index)
    still = (placed.size() >= STILL_MIN_ROWS) & (size > 0) & (spread < STILL_SPREAD * size)
    return [int(worm) for worm in spread.index[still]]


def is_blank(image: np.ndarray, contrast: np.ndarray, threshold: float) -> bool:
    """Whether a frame shows nothing to track: it is flat (:func:`~devocore.tracking.segment.is_flat`), or more than
    :data:`BLANK_COVER` of its ``contrast`` lies above ``threshold``.

    Example:
        >>> plate = np.full((40, 40), 200, np.uint8); plate[10:14, 5:35] = 60  # a worm
        >>> contrast = 200.0 - plate
        >>> is_blank(plate, contrast, 70.0), is_blank(np.zeros_like(plate), np.full((40, 40), 200.0), 70.0)
        (False, True)
    """
    return is_flat(image) or bool(np.mean(contrast[::4, ::4] > threshold) > BLANK_COVER)


class Tracker:
    """Streaming multi-worm tracker: call :meth:`add` per frame, then :meth:`finish`."""

    def __init__(self, config: TrackConfig = TrackConfig(), background: Background | None = None):
        self.config = config
        self.background = background
        self.active: list[_Track] = []
        self.done: list[_Track] = []
        self.next_id = 1
        self.frame = -1  # the number of the frame being tracked (its position unless add() is given one)
        self.index = -1  # its position in the stream
        self.shape: tuple[int, int] | None = None
        self._threshold: float | None = None
        self.capped = 0  # frames with more than MAX_BLOBS objects
        self.blank: list[int] = []  # numbers of the frames skipped as showing nothing to track (see is_blank)
        self._threshold_age = 0  # frames tracked since the threshold was estimated
        self.step = 0  # the smallest step between two frames' numbers: 1, or k where every k-th frame was kept

    # ------------------------------------------------------------------ per frame
    def add(self, image: np.ndarray, number: int | None = None) -> None:
        """Detect, match and measure the worms of the next frame.

        Args:
            image: the frame (Y x X gray or RGB).
            number: its frame number (rising; gaps allowed: times and speeds follow the numbers);
                None numbers it by position (one more than the last).
        """
        self.index += 1
        number = self.frame + 1 if number is None else int(number)
        if number <= self.frame:
            raise ValueError(f"frame numbers must rise; got {number} after {self.frame}")
        if self.index > 0:
            self.step = number - self.frame if not self.step else min(self.step, number - self.frame)
        self.frame = number
        cfg = self.config
        if self.shape is None:
            self.shape = tuple(np.asarray(image).shape[:2])
        contrast, sigma = frame_contrast(image, None if cfg.crops else self.background,
                                         None if self.background is None else self.background.polarity)
        due = cfg.crops or self._threshold is None or self._threshold_age >= THRESHOLD_EVERY
        threshold = threshold_of(contrast, sigma) if due else self._threshold
        if not cfg.crops and is_blank(image, contrast, threshold):
            self.blank.append(number)  # its worms are not missed: they were not to be seen
            return
        self._threshold, self._threshold_age = threshold, 1 if due else self._threshold_age + 1
        blobs = find_blobs(contrast, sigma, min_area=cfg.min_area, threshold=self._threshold)
        del contrast
        if len(blobs) > MAX_BLOBS:  # largest first: a worm among specks is kept
            if not self.capped:
                log.warning("frame %d (counted from 1) holds %d objects of worm size; only the %d largest are "
                            "followed in such frames", self.index + 1, len(blobs), MAX_BLOBS)
            self.capped += 1
            del blobs[MAX_BLOBS:]
        if cfg.crops:
            blobs = blobs[:1]
            if blobs:
                blobs[0].centroid = (0.0, 0.0)  # crops move with the worm: one identity, no position
        height, width = self.shape
        claimed = self._touching(blobs)
        parts = self._parted(blobs, claimed)
        tracks = [t for t in self.active if t.ident not in claimed]
        free = [i for i in range(len(blobs)) if i not in claimed.values()]
        pairs = self._assign(tracks, [blobs[i] for i in free])
        matched_tracks, matched_blobs = set(), set()
        for ti, bj in pairs:
            track, index = tracks[ti], free[bj]
            self._observe(track, blobs[index], height, width)
            matched_tracks.add(track.ident)
            matched_blobs.add(index)
        for track in self.active:
            if track.ident in parts:
                part, midline = parts[track.ident]
                self._observe(track, part, height, width, midline)
            elif track.ident in claimed:
                blob = blobs[claimed[track.ident]]
                track.obs.append(_Obs(self.frame, TOUCHING, tuple(track.predict(self.frame)), area=blob.area,
                                      note="merged"))
                track.missing = 0
                _slow_down(track)
            elif track.ident not in matched_tracks:
                track.missing += 1
        for i in free:
            if i not in matched_blobs and self._plausible_new(blobs[i]):
                track = _Track(self.next_id)
                self.next_id += 1
                self._observe(track, blobs[i], height, width)
                self.active.append(track)
        for track in [t for t in self.active if t.missing > cfg.max_missing]:
            self.active.remove(track)
            self.done.append(track)

    def _touching(self, blobs) -> dict[int, int]:
        """Worms expected in one blob larger than one worm: {worm id: blob index}.

        A worm is expected in the blob that holds most of its :meth:`_Track.expected` points.
        """
        claimed: dict[int, int] = {}
        if self.config.crops or len(self.active) < 2:
            return claimed
        inside: dict[int, list[_Track]] = {}
        # each blob's box (x0, y0, x1, y1): a point rounds to a hit only within 2 px of it
        boxes = np.array([(b.x0, b.y0, b.x0 + b.mask.shape[1], b.y0 + b.mask.shape[0]) for b in blobs]).reshape(-1, 4)
        for track in self.active:
            if track.missing > 2 or not blobs:
                continue
            points = track.expected(self.frame)
            xs, ys = np.rint(np.asarray(points, float)).T  # expected() gives at least the predicted centroid
            near = ((boxes[:, 0] - 2 <= xs.max()) & (boxes[:, 2] + 1 >= xs.min()) & (boxes[:, 1] - 2 <= ys.max())
                    & (boxes[:, 3] + 1 >= ys.min()))
            hits = [_hits(blob, points) if close else 0 for blob, close in zip(blobs, near)]
            if max(hits):
                inside.setdefault(int(np.argmax(hits)), []).append(track)
        for j, members in inside.items():
            if len(members) < 2:
                continue
            single = max(t.ref(t.areas) or 0 for t in members)
            if single and blobs[j].area > 1.3 * single:
                # a blob holds as many worms as its area allows; the others lost their worm
                room = max(2, int(round(blobs[j].area / single)))
                cx, cy = blobs[j].centroid
                members.sort(key=lambda t: float(np.hypot(*(t.predict(self.frame) - (cx, cy)))))
                for t in members[:room]:
                    claimed[t.ident] = j
        return claimed

    def _parted(self, blobs, claimed: dict[int, int]) -> dict:
        """Worms of merged blobs that lie apart on the blob's core: {worm id: (its part, its midline)}."""
        members: dict[int, list[_Track]] = {}
        for track in self.active:
            if track.ident in claimed:
                members.setdefault(claimed[track.ident], []).append(track)
        parts = {}
        for j, tracks in members.items():
            parts.update(self._part(blobs[j], tracks))
        return parts

    def _part(self, blob, tracks: list[_Track]) -> dict:
        """One part per worm when the blob's core falls apart into pieces that each look like one of them."""
        areas = [t.ref(t.areas) for t in tracks]
        if not all(areas):
            return {}
        for level in PART_LEVELS:
            # core pieces under a third of a worm are fragments of one (a pale head), not worms
            parts = core_parts(blob, level, min_area=max(self.config.min_area, int(0.3 * min(areas))))
            if len(parts) != len(tracks):
                continue
            pairs = self._assign(tracks, parts)
            if len(pairs) != len(tracks):
                continue
            found = {}
            for i, j in pairs:
                midline = self._one_worm(tracks[i], parts[j])
                if midline is None:
                    break
                found[tracks[i].ident] = (parts[j], midline)
            else:
                return found
        return {}

    def _one_worm(self, track: _Track, part) -> Midline | None:
        """The part's midline when the part has the worm's usual area and that midline its usual length."""
        area, length = track.ref(track.areas), track.ref(track.lengths)
        if not (area and length and area / PART_FIT <= part.area <= PART_FIT * area):
            return None
        midline = extract_midline(part, self.config.n_points, ref_length=length, ref_width=track.ref(track.widths))
        return midline if not midline.coiled and length / PART_FIT <= midline.length <= PART_FIT * length else None

    def _assign(self, tracks: list[_Track], blobs) -> list[tuple[int, int]]:
        if not tracks or not blobs:
            return []
        if self.config.crops:
            return [(0, 0)]
        cost = np.zeros((len(tracks), len(blobs)))
        gates = np.zeros(len(tracks))
        for i, t in enumerate(tracks):
            p = t.predict(self.frame)
            cost[i] = [np.hypot(p[0] - b.centroid[0], p[1] - b.centroid[1]) for b in blobs]
            length = t.ref(t.lengths) or np.sqrt(max(t.areas[-5:] or [100])) * 3.0
            gates[i] = max(10.0, self.config.max_jump * length) * (1 + 0.5 * min(t.missing, 4))
        big = 1e6
        rows, cols = linear_sum_assignment(np.where(cost <= gates[:, None], cost, big))
        return [(r, c) for r, c in zip(rows, cols) if cost[r, c] <= gates[r]]

    def _plausible_new(self, blob) -> bool:
        """A new worm: not a fragment, and not two worms already followed lying together."""
        singles = [a for a in (t.ref(t.areas) for t in self.active) if a]
        if not singles:
            return True
        typical = float(np.median(singles))
        return 0.4 * typical <= blob.area <= LARGER_THAN_ONE * typical

    def _observe(self, track: _Track, blob, height: int, width: int, midline: Midline | None = None) -> None:
        """Record the worm in ``blob``; ``midline``, when given, was already extracted from it with the
        worm's usual length and width (the midline is extracted again at the frame's edge, without them)."""
        at_edge = (not self.config.crops and (blob.x0 <= 0 or blob.y0 <= 0 or blob.x0 + blob.mask.shape[1] >= width
                                              or blob.y0 + blob.mask.shape[0] >= height))
        ref_length = None if at_edge else track.ref(track.lengths)
        if midline is None or at_edge:
            midline = extract_midline(blob, self.config.n_points, ref_length=ref_length,
                                      ref_width=track.ref(track.widths))
        status = EDGE if at_edge else (COILED if midline.coiled else OK)
        if status == OK and ref_length and midline.length > LONGER_THAN_ONE * ref_length:
            status = TOUCHING  # longer than the worm: it lies end to end with another
        ref_area = track.ref(track.areas)
        if status != EDGE and ref_area and blob.area > LARGER_THAN_ONE * ref_area:
            status = TOUCHING  # more pixels than one worm: merged with another
        odd = status == TOUCHING or midline.reason == "short"
        track.odd_run = track.odd_run + 1 if odd else 0
        if track.odd_run > RELEARN_AFTER:
            # The usual length was learned from a wrong blob (two worms end to end): learn it again.
            track.lengths.clear()
            track.widths.clear()
            track.odd_run = 0
            midline = extract_midline(blob, self.config.n_points)
            status = EDGE if at_edge else (COILED if midline.coiled else OK)
        centroid = blob.centroid
        if status == TOUCHING and track.obs:
            # a merged blob's centroid is nobody's position: coast on the prediction
            track.obs.append(_Obs(self.frame, status, tuple(track.predict(self.frame)), None, blob.area, "long"))
            track.missing = 0
            _slow_down(track)
            return
        if track.obs:
            last = track.last_measured()
            step = (np.asarray(centroid) - np.asarray(last.centroid)) / max(1, self.frame - last.frame)
            track.velocity = step if len(track.obs) < 2 else 0.6 * step + 0.4 * track.velocity
        track.obs.append(_Obs(self.frame, status, centroid, midline if status != TOUCHING else None, blob.area,
                              midline.reason if status != TOUCHING else "long"))
        track.missing = 0
        if status == OK or not track.areas:
            track.areas.append(blob.area)
        if status == OK:
            track.pose = midline.points[::4] - np.asarray(centroid)
            track.lengths.append(midline.length)
            track.widths.append(float(np.median(midline.widths)))

    # ------------------------------------------------------------------ at the end
    def finish(self, fps: float, min_frames: int = 3) -> pd.DataFrame:
        """Orient every worm head first and return the table of measures."""
        tracks = sorted(self.done + self.active, key=lambda t: t.ident)
        self.done, self.active = tracks, []
        tables = []
        new_id = 0
        areas = {t.ident: float(np.median([o.area for o in t.obs])) for t in tracks if len(t.obs) >= min_frames}
        largest = max(areas.values(), default=0.0)
        specks = {i for i, area in areas.items() if area < SPECK_FRACTION * largest}
        if specks:
            log.info("left out %d tracks under %.0f %% of the largest worm's area (specks)", len(specks),
                     100 * SPECK_FRACTION)
        for track in tracks:
            if len(track.obs) < min_frames or track.ident in specks:
                continue
            new_id += 1
            tables.append(measure(track.obs, new_id, fps, self.config, step=max(1, self.step)))
        if not tables:
            return pd.DataFrame(columns=base_columns(self.config))
        return pd.concat(tables, ignore_index=True).sort_values(["frame", "worm"], ignore_index=True)


def _hits(blob, points: np.ndarray) -> int:
    """How many of the points (x, y) lie within 2 px of the blob's mask."""
    count = 0
    for x, y in points:
        r, c = int(round(y)) - blob.y0, int(round(x)) - blob.x0
        near = blob.mask[max(0, r - 2):max(0, r + 3), max(0, c - 2):max(0, c + 3)]
        count += bool(near.size and near.any())
    return count


def _slow_down(track: _Track) -> None:
    """Damp a touching worm's predicted motion once the contact has lasted TOUCH_PASS frames."""
    recent = track.obs[-TOUCH_PASS - 1:]
    if len(recent) > TOUCH_PASS and all(o.status == TOUCHING for o in recent):
        track.velocity = track.velocity * TOUCH_SLOWDOWN


def base_columns(config: TrackConfig) -> list[str]:
    """The table's columns in order."""
    cols = ["frame", "time_s", "worm", "status", "note", "head_x", "head_y", "tail_x", "tail_y", "centroid_x",
            "centroid_y", "area_px", "length_px", "head_tail_px", "curvature_deg", "speed_px_s", "direction",
            "head_confidence"]
    if config.px_per_mm:
        cols += ["centroid_x_mm", "centroid_y_mm", "length_mm", "head_tail_mm", "speed_mm_s"]
    cols += [f"curv_{i}" for i in range(1, config.n_curvature + 1)]
    cols += [f"mid_x_{i:02d}" for i in range(config.n_points)] + [f"mid_y_{i:02d}" for i in range(config.n_points)]
    return cols


def curvature_profile(points: np.ndarray, n_stations: int = 9) -> np.ndarray:
    """Signed bending (degrees) at ``n_stations`` joints evenly spaced from head to tail.

    The midline is resampled to ``n_stations + 2`` points; positive is a left turn
    on screen when walking from head to tail.

    Example:
        >>> straight = np.column_stack([np.arange(20.0), np.zeros(20)])
        >>> float(np.abs(curvature_profile(straight)).max())
        0.0
    """
    return np.degrees(turning_angles(resample(points, n_stations + 2)))


def measure(obs: list[_Obs], worm: int, fps: float, config: TrackConfig, step: int = 1) -> pd.DataFrame:
    """One worm's rows: orientation, positions, length, curvature, speed and direction; ``step``: the input's
    smallest step between frame numbers (k where every k-th frame was kept)."""
    midlines = [o.midline if o.status in (OK, EDGE) else None for o in obs]
    frames = np.array([o.frame for o in obs])
    # Orientation works on a frame-indexed sequence: insert None for missed frames. Numbers that go up by the
    # input's step (every k-th frame kept: 0, 2, 4, ...) are one step each, not gaps. A gap longer than GAP_CAP
    # steps (sparse frame numbers) counts as GAP_CAP: it breaks the run either way.
    steps = np.minimum(np.maximum(1, np.round(np.diff(frames) / step)).astype(int), GAP_CAP)
    gaps_ok = bool(np.all(steps == 1))
    pos = dict(zip(frames.tolist(), np.concatenate([[0], np.cumsum(steps)]).astype(int).tolist()))
    seq_len = pos[int(frames[-1])] + 1
    seq: list[Midline | None] = [None] * seq_len
    cents = np.full((seq_len, 2), np.nan)
    for o, m in zip(obs, midlines):
        seq[pos[o.frame]] = m
        cents[pos[o.frame]] = o.centroid
    if not gaps_ok:
        cents = pd.DataFrame(cents).interpolate(limit_direction="both").to_numpy()
    usual = [m.length for o, m in zip(obs, midlines) if o.status == OK and m is not None and m.points is not None]
    if len(usual) >= 3:
        seq = trim_overlong(seq, float(np.median(usual)), config.max_gap)
    mid_cents = np.array([m.points.mean(axis=0) if m is not None and m.points is not None else c
                          for m, c in zip(seq, cents)])
    # after touching another worm (or vanishing) the identity is less sure: start a new run
    breaks = {pos[o.frame] for o in obs if o.status == TOUCHING}
    breaks |= {pos[int(f)] for f, g in zip(frames[1:], steps) if g > 1}
    orientation = orient(seq, None if config.crops else mid_cents, align=bool(config.crops), max_gap=config.max_gap,
                         breaks=breaks)
    rows = []
    for o in obs:
        k = pos[o.frame]
        m = orientation.midlines[k]
        row = {"frame": o.frame, "worm": worm, "status": o.status, "note": o.note, "area_px": o.area,
               "centroid_x": o.centroid[0], "centroid_y": o.centroid[1]}
        if m is not None and m.points is not None:
            p = m.points
            prof = curvature_profile(p, config.n_curvature)
            row.update(head_x=p[0, 0], head_y=p[0, 1], tail_x=p[-1, 0], tail_y=p[-1, 1],
                       centroid_x=float(p[:, 0].mean()), centroid_y=float(p[:, 1].mean()),
                       length_px=m.length, head_tail_px=float(np.hypot(*(p[0] - p[-1]))),
                       curvature_deg=float(np.mean(np.abs(prof))), head_confidence=orientation.confidence[k])
            row.update({f"curv_{i + 1}": v for i, v in enumerate(prof)})
            row.update({f"mid_x_{i:02d}": v for i, v in enumerate(p[:, 0])})
            row.update({f"mid_y_{i:02d}": v for i, v in enumerate(p[:, 1])})
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=base_columns(config))
    table["time_s"] = table["frame"] / fps
    table["status"] = table["status"].astype(str)
    table["note"] = table["note"].fillna("").astype(str)
    if config.crops:
        table[["centroid_x", "centroid_y"]] = np.nan  # crop coordinates are not positions on the plate
        table["direction"] = ""
    else:
        _speed(table, fps, config)
    if config.px_per_mm:
        s = float(config.px_per_mm)
        for col in ("centroid_x", "centroid_y", "length", "head_tail"):
            table[f"{col}_mm"] = table[col if col.startswith("centroid") else f"{col}_px"] / s
        table["speed_mm_s"] = table["speed_px_s"] / s
    return table


def _speed(table: pd.DataFrame, fps: float, config: TrackConfig) -> None:
    half = max(1, int(round(config.speed_window_s * fps / 2)))
    t = table["frame"].to_numpy(float)
    x, y = table["centroid_x"].to_numpy(float), table["centroid_y"].to_numpy(float)
    n = len(t)
    lo = np.clip(np.searchsorted(t, t - half), 0, n - 1)
    hi = np.clip(np.searchsorted(t, t + half, side="right") - 1, 0, n - 1)
    dt = (t[hi] - t[lo]) / fps
    with np.errstate(invalid="ignore", divide="ignore"):
        vx = np.where(dt > 0, (x[hi] - x[lo]) / dt, np.nan)
        vy = np.where(dt > 0, (y[hi] - y[lo]) / dt, np.nan)
    speed = np.hypot(vx, vy)
    table["speed_px_s"] = speed
    hx = table["head_x"].to_numpy(float) - x
    hy = table["head_y"].to_numpy(float) - y
    along = vx * hx + vy * hy
    length = np.nanmedian(table["length_px"]) if table["length_px"].notna().any() else np.nan
    moving = speed > 0.02 * length  # more than 2% of a body length per second
    direction = np.where(np.isnan(along) | ~moving, "", np.where(along > 0, "forward", "reversal"))
    table["direction"] = direction


# ---------------------------------------------------------------------------- running it

def _sample_frames(source, count: int, prepare=None) -> list[np.ndarray]:
    """About ``count`` frames spread over a FrameSource (:func:`devocore.io.sample_frames`).

    ``prepare`` (a function of one frame) is applied to each frame as it is read, so that only prepared
    frames are kept (huge frames are shrunk one at a time)."""
    if prepare is not None:
        return [prepare(frame) for frame in io.sample_frames(source, count)]
    return list(io.sample_frames(source, count))


#: Most frames, and pixels, held back to build a background before tracking starts: the pixels are 100 MB of
#: 8-bit frames, 200 MB of 16-bit ones (kept as they are, mapped onto 0-255 one at a time) or 400 MB of float ones.
BUFFER_FRAMES = 300
BUFFER_PIXELS = 100_000_000


def _buffer_frames(shape: tuple[int, ...]) -> int:
    return int(max(2, min(BUFFER_FRAMES, BUFFER_PIXELS // max(1, shape[0] * shape[1]))))


def _held(frame: np.ndarray) -> np.ndarray:
    """A frame as it is held back: its compact grey levels, a 16-bit grey frame as it is (not as float32)."""
    frame = np.asarray(frame)
    return frame if frame.dtype == np.uint16 and frame.ndim == 2 else compact_gray(frame)


MIN_FRAME_SIDE = 16  # pixels; smaller frames hold no worm (and the plate smoothing works at quarter size)


def _check_frame_size(shape: tuple[int, ...], what: str) -> None:
    io.check_min_side(shape, what, "tracking", MIN_FRAME_SIDE)


def _sized(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    for index, frame in enumerate(frames):
        _check_frame_size(np.shape(frame), f"Frame {index + 1} is")
        yield frame


def _varying_sizes(frames: list[np.ndarray]) -> bool:
    return len({np.asarray(f).shape[:2] for f in frames}) > 1


def track_frames(frames: Iterable[np.ndarray], config: TrackConfig = TrackConfig(),
                 background: Background | None = None, total: int | None = None,
                 progress: ProgressFn | None = None, numbers: Sequence[int] | None = None,
                 numbering: str | None = None, levels: Levels | None = None) -> TrackResult:
    """Track worms in a stream of frames (Y x X gray or RGB arrays).

    Without ``background`` (and not in crop mode) the first
    ``config.background_frames`` frames are buffered to build one.
    ``numbers`` gives each frame's number (strictly rising; gaps stay gaps in
    ``frame``, ``time_s`` and speeds); None numbers frames by position.
    ``levels`` maps 16-bit or float frames onto the 0-255 scale, one map for
    all of them; None takes it from the buffered frames (none is needed for
    8-bit frames). A ``background`` given is on the scale the frames are
    tracked on: with ``levels``, on the mapped one.

    Example:
        >>> from devocore.tracking import synthetic
        >>> frames, _ = synthetic.clip(n_frames=30, n_worms=1, seed=0, speed=3.0)
        >>> result = track_frames(frames, TrackConfig(fps=10))
        >>> sorted(result.table["worm"].unique().tolist())
        [1]
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    iterator: Iterator[np.ndarray] = _sized(frames)
    buffered: list[np.ndarray | None] = []
    if background is None:
        # Frames further apart make a cleaner median: buffer up to BUFFER_FRAMES, as compact grey levels.
        for frame in iterator:
            buffered.append(_held(frame))
            if len(buffered) >= _buffer_frames(buffered[0].shape):
                break
        if not buffered:
            raise NoFramesError("There are no frames to track.")
        if levels is None:
            levels = Levels.of(buffered)  # None for 8-bit frames: tracked as they are
        if config.crops is None:
            config = replace(config, crops=_varying_sizes(buffered))
        if not config.crops:
            chosen = buffered[::background_step(len(buffered), config.background_frames)]
            background = background_from_frames(chosen if levels is None else [levels(f) for f in chosen])
    elif config.crops is None:
        config = replace(config, crops=False)
    if levels is not None:
        iterator = map(levels, iterator)
    fps_assumed = not config.fps
    fps = config.fps or DEFAULT_FPS
    tracker = Tracker(config, background)

    def stream():
        for i, frame in enumerate(buffered):  # mapped one at a time, and let go once tracked
            buffered[i] = None
            yield frame if levels is None else levels(frame)
        yield from iterator

    read: list[int] = []
    for i, frame in enumerate(stream()):
        if numbers is not None and i >= len(numbers):
            raise ValueError(f"{len(numbers)} frame numbers were given for more frames than that")
        tracker.add(frame, None if numbers is None else numbers[i])
        read.append(tracker.frame)
        if progress is not None and total and tracker.index % 10 == 0:
            progress(min(0.99, (tracker.index + 1) / total), f"frame {tracker.index + 1} of {total}")
    if tracker.index < 0:
        raise NoFramesError("There are no frames to track.")
    # a worm seen in under 3 frames is noise in a movie, but all there is in a still image or a 2-frame clip
    table = tracker.finish(fps, min_frames=min(3, tracker.index + 1))
    seconds = time.perf_counter() - start
    if tracker.capped:
        log.warning("%d of %d frames held more than %d objects of worm size; only the %d largest of each were "
                    "followed", tracker.capped, tracker.index + 1, MAX_BLOBS, MAX_BLOBS)
    if progress is not None:
        progress(1.0, "done")
    if tracker.blank:
        log.warning("%d of %d frames show nothing to track and were skipped: %s", len(tracker.blank),
                    tracker.index + 1, io.frame_list(tracker.blank, most=6))
    log.info("tracked %d frames, %d worms in %.1f s", tracker.index + 1, table["worm"].nunique(), seconds)
    return TrackResult(table=table, n_frames=tracker.index + 1, fps=fps, shape=tracker.shape, crops=bool(config.crops),
                       seconds=seconds, cpu_seconds=time.process_time() - cpu_start, frame_numbers=np.array(read),
                       numbering=numbering or ("position" if numbers is None else "given"), fps_assumed=fps_assumed,
                       levels=levels, blank_frames=tuple(tracker.blank))


def background_step(count: int, background_frames: int) -> int:
    """Every how many of ``count`` held frames one goes into the median background (about ``background_frames``).

    Example:
        >>> background_step(150, 25), background_step(10, 25)
        (6, 1)
    """
    return max(1, count // max(2, background_frames))


def background_pass(frames: Iterable[np.ndarray], count: int, background_frames: int) -> Background | None:
    """The background :func:`track_frames` would make from ``count`` frames it held back, made in one pass that
    keeps only the frames it is made of; None when the pass read another number of frames or frames of
    different sizes (crops), where :func:`track_frames` decides.

    Example:
        >>> from devocore.tracking import synthetic
        >>> frames, _ = synthetic.clip(n_frames=30, n_worms=1, seed=0, speed=3.0)
        >>> held = [compact_gray(f) for f in frames]
        >>> made = background_pass(iter(frames), 30, 25)
        >>> bool(np.array_equal(made.image, background_from_frames(held).image))
        True
    """
    step = background_step(count, background_frames)
    kept: list[np.ndarray] = []
    sizes: set[tuple[int, ...]] = set()
    read = 0
    for read, frame in enumerate(frames, 1):
        if read > count:
            return None
        sizes.add(np.shape(frame)[:2])
        if (read - 1) % step == 0:
            kept.append(compact_gray(frame))
    if read != count or len(sizes) != 1:
        return None
    return background_from_frames(kept)


#: Frames larger than this (pixels) are shrunk to it as they are read and tracked at that size; positions,
#: lengths, areas and speeds are converted back to the original pixels. An 8000 x 8000 frame would otherwise
#: take gigabytes and minutes per frame (issue #31); worms are tens of pixels wide at any size worth tracking.
WORK_PIXELS = 5_000_000

_X_COLUMNS = ("head_x", "tail_x", "centroid_x")
_Y_COLUMNS = ("head_y", "tail_y", "centroid_y")
_LENGTH_COLUMNS = ("length_px", "head_tail_px", "speed_px_s")


def work_size(shape: Sequence[int], work_pixels: int | None = None) -> tuple[int, int]:
    """(height, width) at which frames of ``shape`` are tracked: their own, or shrunk to ``work_pixels``.

    Example:
        >>> work_size((8000, 8000), 4_000_000)
        (2000, 2000)
        >>> work_size((480, 640))
        (480, 640)
    """
    limit = WORK_PIXELS if work_pixels is None else work_pixels
    height, width = int(shape[0]), int(shape[1])
    if height * width <= limit:
        return height, width
    factor = float(np.sqrt(limit / (height * width)))
    return max(MIN_FRAME_SIDE, int(height * factor)), max(MIN_FRAME_SIDE, int(width * factor))


def _resize_frames(frames: Iterable[np.ndarray], factor: tuple[float, float]) -> Iterator[np.ndarray]:
    """Frames as compact grey levels, each resized by ``factor`` (y, x) as it is read (area averaging when
    shrunk, linear when enlarged)."""
    import cv2

    for frame in frames:
        gray = compact_gray(frame)
        del frame
        size = (max(1, int(round(gray.shape[1] * factor[1]))), max(1, int(round(gray.shape[0] * factor[0]))))
        yield cv2.resize(gray, size, interpolation=cv2.INTER_AREA if factor[0] < 1 else cv2.INTER_LINEAR)


def _preparer(factor: tuple[float, float] | None):
    """One frame -> its compact grey copy at the size it is tracked at (resized by ``factor``; None: as it is)."""
    return (lambda frame: next(_resize_frames([frame], factor))) if factor else compact_gray


def to_original_pixels(table: pd.DataFrame, factor: tuple[float, float]) -> pd.DataFrame:
    """A table measured on frames resized by ``factor`` (y, x), in the original frame's pixels."""
    fy, fx = factor
    table = table.copy()
    xs = [c for c in table.columns if c in _X_COLUMNS or c.startswith("mid_x_")]
    ys = [c for c in table.columns if c in _Y_COLUMNS or c.startswith("mid_y_")]
    table[xs] = table[xs].astype(float) / fx
    table[ys] = table[ys].astype(float) / fy
    lengths = [c for c in _LENGTH_COLUMNS if c in table.columns]
    table[lengths] = table[lengths].astype(float) / float(np.sqrt(fx * fy))
    if "area_px" in table.columns:
        table["area_px"] = (table["area_px"].astype(float) / (fx * fy)).round()
    return table


def _worm_scaled(source, work: tuple[int, int], factor: tuple[float, float] | None) -> tuple[int, int]:
    """The size at which to track ``source``'s frames, given ``work`` (its own, or shrunk by ``factor`` for huge
    frames): ``work`` shrunk where the worms are wider than :data:`WIDE_WORM`, enlarged where they are thinner than
    :data:`THIN_WORM`, as measured on :data:`WIDTH_FRAMES` frames (:func:`~devocore.tracking.segment.worm_width`;
    not on crops or fewer than 5 frames, where the plate is not their median and a plate's dark rim would be
    measured)."""
    probe = _sample_frames(source, WIDTH_FRAMES, _preparer(factor))
    if probe and probe[0].dtype != np.uint8 and (mapped := Levels.of(probe)) is not None:
        probe = [mapped(f) for f in probe]  # 16-bit or float frames on the 0-255 scale, as they are tracked
    wide = worm_width(probe) if len(probe) >= 5 and len({f.shape for f in probe}) == 1 else None
    if wide is None or THIN_WORM <= wide <= WIDE_WORM:
        return work
    if wide > WIDE_WORM:
        scale = WORM_WIDTH / wide
    else:
        scale = min(MAX_ENLARGE, THIN_WORM_WIDTH / wide, float(np.sqrt(WORK_PIXELS / (work[0] * work[1]))))
        if scale < 1.05:
            return work
    log.warning("'%s': the worms are about %.1f px wide, %s than the tracker follows well (%g-%d px); the frames "
                "are tracked %s so that they are about %.0f px wide", source.name, wide / (factor or (1.0,))[0],
                "more" if scale < 1 else "less", THIN_WORM, WIDE_WORM, "shrunk" if scale < 1 else "enlarged",
                wide * scale)
    return max(MIN_FRAME_SIDE, int(round(work[0] * scale))), max(MIN_FRAME_SIDE, int(round(work[1] * scale)))


def track(path: str | Path, config: TrackConfig = TrackConfig(), progress: ProgressFn | None = None) -> TrackResult:
    """Track the worms of a video file or a folder of frames (natural name order).

    Frames of a folder whose file names carry numbers (``00700.png``) are numbered by them: the ``frame``
    column, ``time_s`` (number / fps) and speeds follow those numbers, gaps included. Otherwise (videos,
    stacks, names without numbers) frames are numbered by position from 0; ``TrackResult.numbering`` says which.
    16-bit and float frames are mapped onto the 0-255 scale by one :class:`~devocore.tracking.segment.Levels`
    taken from frames sampled across the input, so they give the tracks their 8-bit copy gives.

    Args:
        path: MP4/AVI/MOV video, TIFF stack or folder of images.
        config: settings; ``config.fps`` None takes the file's frame rate.
        progress: optional callback (fraction, message).

    Raises:
        DevocoreError subclasses for unreadable input.
    """
    from devocore.io import open_frames

    with open_frames(path, time_lapse=True) as source:  # a hyperstack's slices are not time points
        _check_frame_size(source.shape, f"The frames of '{source.name}' are")
        fps = config.fps or source.fps
        fps_assumed = not fps
        if fps_assumed:
            log.warning("'%s' does not state its frame rate; assuming %g fps (set fps to change)", source.name,
                        DEFAULT_FPS)
            fps = DEFAULT_FPS
        config = replace(config, fps=float(fps))
        height, width = source.shape[:2]
        work = work_size((height, width))
        factor = (work[0] / height, work[1] / width)
        work = _worm_scaled(source, work, factor if work != (height, width) else None)  # wide or thin worms
        factor, resized = (work[0] / height, work[1] / width), work != (height, width)

        def read() -> Iterable[np.ndarray]:  # the frames at the size they are tracked at, from the first
            return _resize_frames(source, factor) if resized else source

        frames: Iterable[np.ndarray] = read()
        if resized:
            area = factor[0] * factor[1]
            log.warning("'%s': frames of %d x %d pixels are tracked at %d x %d (scale %.3g); the table is in the "
                        "original pixels", source.name, width, height, work[1], work[0], float(np.sqrt(area)))
            config = replace(config, min_area=max(4, int(round(config.min_area * area))),
                             px_per_mm=config.px_per_mm * float(np.sqrt(area)) if config.px_per_mm else None)
        background = None
        prepare = _preparer(factor if resized else None)
        samples, levels = None, None
        if not _eight_bit(source):
            # one map of the grey levels for the whole input, from samples across it, whichever way it is read
            samples = _sample_frames(source, config.background_frames, prepare)
            levels = Levels.of(samples)
            if levels is not None:
                log.info("'%s': grey levels %.4g-%.4g are tracked as 0-255", source.name, levels.low,
                         levels.low + 255 / levels.gain)
        if len(source) > _buffer_frames(work):
            # Too long to hold back the frames for the background: seek to samples across it.
            if samples is None:
                samples = _sample_frames(source, config.background_frames, prepare if resized else None)
            if not samples:
                raise NoFramesError(f"'{source.name}' holds no frame that could be decoded.")
            if config.crops is None:
                config = replace(config, crops=_varying_sizes(samples))
            if levels is not None:
                samples = [levels(f) for f in samples]
            background = None if config.crops else background_from_frames(samples)
        elif is_cloud() and config.crops is not True:
            # under the cloud profile the frames are read twice instead of all held at once (about 45 MB for the
            # example's 150 frames of 640 x 480): first the ones the background is made of, then the stream
            background = background_pass(read() if levels is None else map(levels, read()), len(source),
                                         config.background_frames)
            if background is not None:
                config = replace(config, crops=False)
                frames = (compact_gray(frame) for frame in read())  # as track_frames hands on held frames
        if source.frame_numbers is not None:
            log.info("'%s': frames numbered by %s (%d-%d)", source.name, source.numbering, source.frame_numbers[0],
                     source.frame_numbers[-1])
        result = track_frames(frames, config, background, total=len(source), progress=progress,
                              numbers=source.frame_numbers, numbering=source.numbering, levels=levels)
    result = replace(result, fps_assumed=fps_assumed)
    if resized:
        result = replace(result, table=to_original_pixels(result.table, factor), shape=(height, width),
                         scale=float(np.sqrt(factor[0] * factor[1])))
    return result


def _eight_bit(source) -> bool:
    """Whether a FrameSource gives 8-bit frames (videos always do; a folder is judged by its first image)."""
    from devocore.io import FolderFrames, StackFrames, VideoFrames

    if isinstance(source, VideoFrames):
        return True
    if isinstance(source, StackFrames):
        return source.image.dtype == np.uint8
    if isinstance(source, FolderFrames):
        return source.dtype == np.uint8
    return False
