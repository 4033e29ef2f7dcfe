"""Which end is the head: consistent through time, with a confidence.

As in Tierpsy Tracker, the ends are first made consistent from frame to frame
(each midline is listed in the order closest to the previous one), which
splits a worm's frames into runs whose order is known up to one flip. Each run
is then oriented as a whole by votes that each hold for a crawling worm:

* motion: worms mostly crawl forward, so the centroid moves towards the head
  (only when frames share one field of view, not for crops);
* body wave: during forward crawling the bending wave travels from head to tail;
* head swing: the head sweeps from side to side more than the tail does
  (Tierpsy's head/tail angular-speed test). The sweep of an end is read against
  its own moving average, so the fast foraging sweep of the head counts and the
  slow turning that both ends share as the body follows its path (the wave, turns)
  does not. Worms stop sweeping the head in reversals, where the ends then hardly
  differ: a long reversal weakens this vote but does not turn it round, unlike
  motion and wave;
* taper: the tail narrows to a point, the head stays blunt. Computed and
  logged but weighted 0: in thresholded bright-field masks the translucent
  nose often makes the head end the thinner one, so the cue is unreliable.

The score is a weighted sum of the votes in -1..1; its magnitude gives the
confidence. Weights are design choices fixed in :data:`WEIGHTS`. Runs of
:data:`SWING_ALONE` frames or more follow the head swing alone. Midlines that
ran on past one end are cut back first (:func:`trim_overlong`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from devocore.tracking.midline import Midline, trimmed

log = logging.getLogger(__name__)

#: Weight of each vote. Motion and wave both point the wrong way in reversals; the head swing
#: does not, so it weighs most.
WEIGHTS = {"motion": 2.0, "wave": 1.0, "swing": 8.0, "taper": 0.0}
#: Frames of the moving average an end's direction is compared with (about 0.35 s at 25 fps):
#: shorter than the body wave's period, about as long as the head sweep's.
SWING_WINDOW = 9
#: Midlines more than this share shorter or longer than their run's median (an end cut short where the
#: body still touches itself) are left out of the head swing: their misplaced ends would fake a sweep.
WHOLE_TOLERANCE = 0.1
#: Consecutive midlines whose two orders fit almost equally well start a new run.
AMBIGUOUS_RATIO = 0.7
#: A midline this much longer than the worm's usual length ran on past one end into a body part that end
#: touches (a head against its own body in a turn): it is cut back to the usual length at that end.
OVERLONG = 1.12
#: Runs of at least this many frames (4 s at 25 fps) are oriented by the head swing alone: over that long the
#: sweeps add up to a clear vote, while motion and wave, which reversals turn round, can still be outvoted by
#: long reversals.
SWING_ALONE = 100


def order_distance(a: np.ndarray, b: np.ndarray, align: bool) -> tuple[float, float]:
    """Mean point distance between midlines ``a`` and ``b`` as listed and with ``b`` flipped.

    With ``align`` both are centred first (cropped frames move with the worm).
    """
    if align:
        a = a - a.mean(axis=0)
        b = b - b.mean(axis=0)
    same = float(np.mean(np.hypot(*(a - b).T)))
    flip = float(np.mean(np.hypot(*(a - b[::-1]).T)))
    return same, flip


def trim_overlong(midlines: list[Midline | None], usual: float, max_gap: int = 5) -> list[Midline | None]:
    """Cut midlines longer than ``OVERLONG`` x ``usual`` back to ``usual`` at the end that ran on.

    A worm does not stretch: a midline much longer than usual has run past one end
    into a part of the body that end touches, and that end lies tens of pixels
    off. Which end it is follows from continuity: of the two cuts, the one that
    fits the nearest measured midline (an earlier one within ``max_gap`` frames,
    else a later one) better, by the margin that separates the two orders of a
    midline in :func:`consistent_runs`. Without such a neighbour, or without a
    clear answer, the midline is left as it is.

    Example:
        >>> x = np.linspace(0.0, 96.0, 49)
        >>> worm = Midline(np.column_stack([x, np.zeros(49)]), np.ones(49), 96.0)
        >>> ran_on = Midline(np.column_stack([np.linspace(0.0, 120.0, 49), np.zeros(49)]), np.ones(49), 120.0)
        >>> out = trim_overlong([worm, ran_on], usual=96.0)
        >>> [round(float(v), 1) for v in out[1].points[[0, -1], 0]]
        [0.0, 96.0]
    """
    out = list(midlines)
    long = [i for i, m in enumerate(out)
            if m is not None and m.points is not None and m.length > OVERLONG * usual]
    if not long:
        return out
    fits = [i for i, m in enumerate(out) if m is not None and m.points is not None and m.length <= OVERLONG * usual]
    pending = set(long)

    def cut(i: int, j: int) -> None:
        ref = out[j].points
        cuts = [trimmed(out[i], usual, from_start) for from_start in (True, False)]
        d = [min(order_distance(ref, c.points, False)) for c in cuts]
        if min(d) < AMBIGUOUS_RATIO * max(d):
            out[i] = cuts[int(np.argmin(d))]
            fits.append(i)
        pending.discard(i)

    for i in long:  # forwards: from the last midline that fits, a cut one included
        before = [j for j in fits if i - max_gap - 1 <= j < i]
        if before:
            cut(i, max(before))
    for i in reversed(sorted(pending)):  # the rest backwards, from the next one that fits
        after = [j for j in fits if i < j <= i + max_gap + 1]
        if after:
            cut(i, min(after))
    return out


def consistent_runs(midlines: list[Midline | None], align: bool, max_gap: int = 5,
                    breaks: set[int] | frozenset = frozenset()) -> tuple[list[Midline | None], list[int]]:
    """List every midline in the order of its predecessor; return them and a run id per frame.

    Frames without a midline get run -1. A new run starts after a gap longer
    than ``max_gap`` frames, when the order is ambiguous, or after a frame in
    ``breaks`` (where the worm touched another and its identity is less sure).
    """
    out: list[Midline | None] = []
    runs: list[int] = []
    run, last, last_i = -1, None, -10 ** 9
    broken = False
    for i, m in enumerate(midlines):
        broken = broken or i in breaks
        if m is None or m.points is None:
            out.append(m)
            runs.append(-1)
            continue
        new_run = last is None or i - last_i > max_gap or broken
        broken = False
        if not new_run:
            same, flip = order_distance(last.points, m.points, align)
            if min(same, flip) > AMBIGUOUS_RATIO * max(same, flip):
                new_run = True
            elif flip < same:
                m = m.flipped()
        if new_run:
            run += 1
        out.append(m)
        runs.append(run)
        last, last_i = m, i
    return out, runs


def _angles(points: np.ndarray, k: int) -> tuple[float, float]:
    head = points[0] - points[k]
    tail = points[-1] - points[-1 - k]
    return float(np.arctan2(head[1], head[0])), float(np.arctan2(tail[1], tail[0]))


def turning_angles(points: np.ndarray) -> np.ndarray:
    """Signed turning angles (radians) at the interior points of an N x 2 polyline.

    Positive is a left turn as seen on screen (image y points down).

    Example:
        >>> pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, -1.0]])  # right, then up on screen
        >>> float(np.round(np.degrees(turning_angles(pts))[0]))
        90.0
    """
    seg = np.diff(points, axis=0)
    theta = np.arctan2(-seg[:, 1], seg[:, 0])  # y flipped: angles as seen on screen
    return np.angle(np.exp(1j * np.diff(theta)))


def swing_vote(pts: np.ndarray, window: int = SWING_WINDOW) -> float | None:
    """Vote in -1..1 that ``points[0]`` sweeps more than the other end; None when neither moves.

    Runs of ``window`` frames or fewer give None.

    Args:
        pts: T x N x 2 consistently ordered midlines.
        window: frames of the moving average that each end's direction is compared with.

    The sweep of an end is how far its direction (its first sixth of the body)
    strays from its own moving average, summed over all frames: the fast sweep
    of a foraging head, not the slow turning of an end that follows the body's
    path, which both ends share.

    Example:
        >>> t = np.arange(60.0)[:, None]; x = np.linspace(0, 48, 49)[None, :]
        >>> pts = np.stack([x + 0 * t, 3 * np.sin(t / 3) * np.clip(1 - x / 8, 0, 1)], axis=2)
        >>> round(swing_vote(pts), 2)
        1.0
    """
    k = max(1, pts.shape[1] // 6)
    angles = np.unwrap(np.array([_angles(p, k) for p in pts]), axis=0)  # T x 2: head end, other end
    half = window // 2
    if len(angles) <= 2 * half:
        return None
    # frames with the whole window inside the run: an end turning steadily (a tail through a turn) adds nothing
    away = angles[half:-half] - uniform_filter1d(angles, 2 * half + 1, axis=0)[half:-half]
    head, tail = np.abs(away).sum(axis=0)
    return float((head - tail) / (head + tail)) if head + tail > 0 else None


def whole_frames(midlines: list[Midline], tolerance: float = WHOLE_TOLERANCE) -> np.ndarray:
    """Which midlines of a run are within ``tolerance`` of its median length (a T bool mask).

    Example:
        >>> mids = [Midline(np.zeros((49, 2)), np.ones(49), length) for length in (100.0, 98.0, 70.0, 101.0)]
        >>> whole_frames(mids).tolist()
        [True, True, False, True]
    """
    lengths = np.array([m.length for m in midlines])
    return np.abs(lengths - np.median(lengths)) <= tolerance * np.median(lengths)


def votes(midlines: list[Midline], centroids: np.ndarray | None) -> dict[str, float]:
    """Votes in -1..1 that ``points[0]`` is the head, for a run of consistently ordered midlines."""
    pts = np.stack([m.points for m in midlines])  # T x N x 2
    n_t, n = pts.shape[:2]
    result: dict[str, float] = {}
    if centroids is not None and n_t >= 3:
        velocity = np.gradient(centroids, axis=0)
        head_dir = pts[:, 0] - pts[:, n // 2]
        head_dir /= np.linalg.norm(head_dir, axis=1, keepdims=True) + 1e-9
        along = np.sum(velocity * head_dir, axis=1)
        total = np.sum(np.abs(along))
        if total > 0.05 * n_t:  # the worm moves at all (more than ~0.05 px per frame)
            result["motion"] = float(np.sum(along) / total)
    if n_t >= 3:
        swing = swing_vote(pts[whole_frames(midlines)])
        if swing is not None:
            result["swing"] = swing
        curv = np.stack([turning_angles(p) for p in pts])  # T x (N-2)
        curv = curv - curv.mean(axis=1, keepdims=True)
        shift = max(1, n // 25)
        a, b = curv[:-1], curv[1:]
        to_tail = float(np.sum(a[:, :-shift] * b[:, shift:]))
        to_head = float(np.sum(a[:, shift:] * b[:, :-shift]))
        if abs(to_tail) + abs(to_head) > 0:
            result["wave"] = float((to_tail - to_head) / (abs(to_tail) + abs(to_head)))
    widths = np.stack([m.widths for m in midlines])
    edge = max(2, n // 10)
    w_head = float(np.median(widths[:, 1:edge + 1]))
    w_tail = float(np.median(widths[:, -edge - 1:-1]))
    if w_head + w_tail > 0:
        result["taper"] = float(np.clip(4.0 * (w_head - w_tail) / (w_head + w_tail), -1, 1))
    return result


@dataclass
class Orientation:
    """Per-frame result of :func:`orient`: midlines head first and a confidence in 0..1."""

    midlines: list[Midline | None]
    confidence: np.ndarray
    runs: list[int]


def orient(midlines: list[Midline | None], centroids: np.ndarray | None = None, align: bool = False,
           max_gap: int = 5, breaks: set[int] | frozenset = frozenset()) -> Orientation:
    """Put the head first in every midline of one worm's frames.

    Args:
        midlines: one entry per frame (None or coiled where there is no midline).
        centroids: T x 2 centroid positions when frames share one field of view
            (gives the motion vote); None for cropped frames.
        align: centre midlines before comparing consecutive frames (crops).
        max_gap: frames without a midline that a run may bridge.
        breaks: frames after which a run may not continue (touching another worm).
    """
    ordered, runs = consistent_runs(midlines, align, max_gap, breaks)
    confidence = np.zeros(len(ordered))
    for run in sorted(set(runs) - {-1}):
        idx = [i for i, r in enumerate(runs) if r == run]
        run_cents = None if centroids is None else np.asarray(centroids, float)[idx]
        v = votes([ordered[i] for i in idx], run_cents)
        if len(idx) >= SWING_ALONE and "swing" in v:
            score = v["swing"]
        else:
            weight = sum(WEIGHTS[key] for key in v)
            score = sum(WEIGHTS[key] * val for key, val in v.items()) / weight if weight else 0.0
        if score < 0:
            for i in idx:
                ordered[i] = ordered[i].flipped()
        conf = min(1.0, abs(score) * min(1.0, len(idx) / 10.0) * 2.0)
        confidence[idx] = conf
        log.debug("run %d (%d frames): votes %s -> score %.2f", run, len(idx), v, score)
    return Orientation(midlines=ordered, confidence=confidence, runs=runs)
