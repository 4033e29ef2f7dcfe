"""Finding worms in a frame: background model, polarity, threshold, clean-up.

Two ways to separate a worm from its plate, chosen by the caller:

* videos with a fixed field of view: a background image (the median of frames
  sampled across the video, where moving worms vanish) is subtracted;
* folders of cropped frames whose size varies: each frame is its own reference;
  the background level and noise come from the frame's border.

Either way the threshold sits half-way between the plate and the typical worm
contrast (a full-width-at-half-maximum boundary) and never below a few noise
standard deviations, so it adapts to each video without tuning.

The tracker works on the 0-255 scale of 8-bit frames: 16-bit and float movies
are first mapped onto it by :class:`Levels`, one offset and gain for the whole
movie, so that they are tracked as their 8-bit copy would be.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from devocore.errors import UnsupportedFormatError

log = logging.getLogger(__name__)

#: A pixel whose contrast is at least this many noise sigmas is surely worm.
SURE_SIGMAS = 8.0
#: The threshold never falls below this many noise sigmas.
MIN_SIGMAS = 4.0
#: A pixel that changed by this many noise sigmas across the samples, and whose median is
#: this far on the worms' side of the smooth plate, holds a slow worm's ghost.
GHOST_SIGMAS = 6.0
#: A gap in the threshold whose median contrast exceeds this many noise sigmas is a pale body core, not plate.
PALE_SIGMAS = 1.5
#: ... and, for a slit open to the plate, this fraction of the body's median contrast (half the threshold):
#: the plate between two body parts lying 1 to 3 px apart, lit by the blur of both, reads as about a tenth.
PALE_FRACTION = 0.25
#: Width (pixels) of the median filter that gives the smooth plate; wider than a worm.
PLATE_SMOOTHING = 61


def gray(frame: np.ndarray) -> np.ndarray:
    """Y x X float32 gray levels from a gray or RGB(A) frame of any dtype."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        if frame.shape[2] >= 3 and frame.dtype == np.uint8:
            frame = cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY)
        else:
            frame = frame[..., :3].mean(axis=2) if frame.shape[2] > 1 else frame[..., 0]
    return frame.astype(np.float32, copy=False)


def compact_gray(frame: np.ndarray) -> np.ndarray:
    """Y x X gray levels in the least memory: uint8 for 8-bit frames, float32 otherwise."""
    frame = np.asarray(frame)
    if frame.dtype == np.uint8 and frame.ndim == 2:
        return frame
    if frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] >= 3:
        return cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY)
    return gray(frame)


#: The standard deviation of rounding to whole grey levels (1 / sqrt(12)): the least noise :func:`_robust_sigma` gives
#: where noise under one level leaves most pixels at the plate's level. A dim video saved by a codec comes back with
#: its dark plate smoothed flat (the bundled plate video at 0.06x its brightness, as MP4: 90 % of the deviations
#: 0), and a noise of 0 let every level above the plate pass the threshold.
QUANTISATION_SIGMA = 1 / np.sqrt(12)


def _robust_sigma(values: np.ndarray) -> float:
    """The noise's standard deviation from the median absolute deviation of ``values``; where noise under a grey
    level leaves over half of them at the median (a dim 8-bit video: 0), from the spread of their central 90 %,
    at least :data:`QUANTISATION_SIGMA`.

    Example:
        >>> dim = np.array([0] * 60 + [1] * 20 + [-1] * 20 + [90] * 5, np.float32)  # noise of 0.6 levels; a worm
        >>> round(_robust_sigma(np.array([0, 1, -1, 2, -2, 0, 50], np.float32)), 2), round(_robust_sigma(dim), 2)
        (1.48, 0.63)
    """
    med = np.median(values)
    mad = float(np.median(np.abs(values - med)))
    if mad == 0:  # before, 0: every level above the plate passed the threshold (a quarter as bright: 298 "worms")
        low, high = np.percentile(values, (5, 95))
        return max(float(values[(values >= low) & (values <= high)].std()), QUANTISATION_SIGMA) + 1e-3
    return 1.4826 * mad + 1e-3


def polarity_of(deviation: np.ndarray, sigma: float) -> int:
    """+1 when the worm is darker than the plate, -1 when lighter.

    ``deviation`` is background minus frame; the worm is the side whose strong
    deviations weigh more.
    """
    strong = np.abs(deviation) > SURE_SIGMAS * sigma
    dark = float(deviation[strong & (deviation > 0)].sum())
    light = float(-deviation[strong & (deviation < 0)].sum())
    return 1 if dark >= light else -1


def _smooth_plate(image: np.ndarray, size: int = PLATE_SMOOTHING) -> np.ndarray:
    """A median filter wide enough to erase worms, computed at quarter size for speed.

    OpenCV filters this wide only 8-bit pixels: an image on the 0-255 scale is filtered as it is; any other
    (16-bit or float levels, not mapped by :class:`Levels`) is mapped onto 0-255 by its own range and back, so
    the filter is as wide at any bit depth (a 5-pixel float filter left slow worms in the background).
    """
    small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA).astype(np.float32)
    k = max(3, (size // 4) | 1)
    low, high = (0.0, 255.0) if small.min() >= 0 and small.max() <= 255 else \
        (float(v) for v in np.percentile(small, LEVEL_PERCENTILES))
    gain = 255.0 / max(high - low, 1e-6)
    small = cv2.medianBlur(np.clip((small - low) * gain, 0, 255).astype(np.uint8), k).astype(np.float32)
    if (low, high) != (0.0, 255.0):
        small = small / gain + low
    return cv2.resize(small, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)


#: Percentiles of a movie's grey levels that :class:`Levels` maps to 0 and 255 (a few hot or dead pixels
#: do not squeeze the plate and the worms into a few levels).
LEVEL_PERCENTILES = (0.01, 99.99)
#: Most frames whose levels :meth:`Levels.of` reads (as many as a background is made of).
LEVEL_FRAMES = 25


@dataclass(frozen=True)
class Levels:
    """One movie's grey levels mapped linearly onto the 0-255 scale that the tracker's settings are made for.

    8-bit frames need no map (:meth:`of` gives None); 16-bit and float frames get one offset and gain for the
    whole movie, taken from frames sampled across it (the :data:`LEVEL_PERCENTILES` of their levels). The same
    map for every frame, never a per-frame stretch: the background is subtracted from each frame, so all must
    share one scale. Mapped frames stay float32 (no 16-bit detail is lost to rounding).

    Example:
        >>> frame = np.array([[1000, 2000, 3000]], np.uint16)
        >>> levels = Levels.of([frame])
        >>> levels(frame).round().astype(int).tolist()
        [[0, 128, 255]]
        >>> Levels.of([np.zeros((4, 4), np.uint8)]) is None
        True
    """

    low: float
    gain: float

    @classmethod
    def of(cls, frames) -> "Levels | None":
        """The map for a movie from some of its frames (gray or RGB, any dtype); None when all are 8-bit.

        At most :data:`LEVEL_FRAMES` of them, spread over the list, are looked at."""
        frames = list(frames)
        grays = [compact_gray(f) for f in frames[::max(1, -(-len(frames) // LEVEL_FRAMES))]]
        if not grays or all(g.dtype == np.uint8 for g in grays):
            return None
        pixels = np.concatenate([g[::2, ::2].ravel() for g in grays]).astype(np.float32)
        low, high = (float(v) for v in np.percentile(pixels, LEVEL_PERCENTILES))
        if not high > low:  # a flat movie: any gain maps it to one level
            high = low + 1.0
        return cls(low=low, gain=255.0 / (high - low))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The frame's Y x X float32 gray levels on the 0-255 scale (outliers may fall outside it)."""
        out = compact_gray(frame).astype(np.float32)  # a copy: the caller's frame is never changed
        out -= self.low
        out *= self.gain
        return out


#: A frame is flat, with nothing to see, when its grey levels span at most this many (of 0-255, from its 0.5th to its
#: 99.5th percentile): a black, white or overexposed frame.
FLAT_LEVELS = 3.0


def is_flat(frame: np.ndarray) -> bool:
    """Whether ``frame`` (on the 0-255 scale) is flat: see :data:`FLAT_LEVELS`.

    Example:
        >>> plate = np.full((40, 40), 200, np.uint8); plate[10:14, 5:35] = 60
        >>> is_flat(plate), is_flat(np.full((40, 40), 255, np.uint8))
        (False, True)
    """
    sub = compact_gray(np.asarray(frame)[::4, ::4])
    if sub.dtype == np.uint8:  # from the histogram: 3x faster than percentiles, in every frame tracked
        above = np.cumsum(cv2.calcHist([np.ascontiguousarray(sub)], [0], None, [256], [0, 256]).ravel())
        low, high = np.searchsorted(above, (0.005 * sub.size, 0.995 * sub.size), side="right")
    else:
        low, high = np.percentile(sub, (0.5, 99.5))
    return bool(high - low <= FLAT_LEVELS)


#: A frame is shifted to the background's level only when it lies more than this many noise sigmas off: a dim
#: plate's levels are a mix of two values, and shifting by a fraction of a level moved many of them across the threshold
#: (the bundled plate video at 0.06x its brightness, as MP4: 86 "worms").
SHIFT_SIGMAS = 3.0


def plate_level(frame: np.ndarray) -> float:
    """A frame's plate level in grey levels: the mean of the middle 80 % of every 4th pixel of every 4th row (worms
    cover little of a plate; a mean, not a median, so that it moves smoothly with the light).

    Each frame is shifted to the background's level before the background is subtracted, and the background's
    samples to their median level: a lamp's flicker, its drift as it warms up, a camera's automatic exposure.
    Before, the bundled plate video with a flicker of 5 % from frame to frame gave 7 "worms" over 56 rows, and with
    its brightness drifting from 0.85 to 1.15 times no worm at all (the noise measured across the samples was the
    drift). A shift, not a gain: it does not depend on where a camera's offset puts black, so 16-bit frames with an
    offset give the tracks of their 8-bit copy.

    Example:
        >>> frame = np.full((40, 40), 100, np.uint8); frame[:20] = 102; frame[0, :8] = 0  # a dark speck
        >>> plate_level(frame)
        100.95
    """
    sub = compact_gray(frame)[::4, ::4]
    count = sub.size
    cut = count // 10
    if sub.dtype == np.uint8:  # from the histogram: 20x faster than a sort
        bins = cv2.calcHist([np.ascontiguousarray(sub)], [0], None, [256], [0, 256]).ravel().astype(np.int64)
        above = np.cumsum(bins)
        kept = np.clip(np.minimum(above, count - cut) - np.maximum(above - bins, cut), 0, None)
        return float(kept @ np.arange(256)) / float(kept.sum())
    middle = np.partition(sub, (cut, count - cut - 1), axis=None)[cut:count - cut]
    return float(middle.mean(dtype=np.float64))


def _at_level(frame: np.ndarray, level: float, target: float) -> np.ndarray:
    """``frame`` (compact grey) shifted from its plate ``level`` to ``target`` (:func:`plate_level`); 8-bit stays
    8-bit (by whole levels, saturated)."""
    shift = target - level
    if frame.dtype == np.uint8:
        whole = int(round(shift))
        return frame if whole == 0 else cv2.add(frame, whole) if whole > 0 else cv2.subtract(frame, -whole)
    return (frame + np.float32(shift)).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Background:
    """A background image with its noise level and the worms' polarity.

    Attributes:
        image: Y x X float32 plate without worms.
        sigma: noise standard deviation of a frame against the image.
        polarity: +1 dark worms on a light plate, -1 light worms on a dark plate.
        level: the plate's level (:func:`plate_level`) each frame is shifted to; None: none.
    """

    image: np.ndarray
    sigma: float
    polarity: int
    level: float | None = None


def background_from_frames(frames: list[np.ndarray]) -> Background:
    """A plate image from sampled frames, their noise and the worms' polarity.

    The plate is the per-pixel median of the samples, except where a worm lay
    in most samples yet moved away at least once (the median keeps such a
    slow worm as a ghost), with the part of it joined to those pixels that lay
    still in every sample: there the plate comes from a median filter of the
    median image, wide enough to erase worms. Dark specks that never move stay
    in the background. Flat frames (:func:`is_flat`: black, white) are left out when others are given: one white frame
    among the samples made every dark speck of the plate a slow worm's ghost, taken out of the plate and so
    followed as a worm. The samples are shifted to their median plate level first (:func:`plate_level`).

    Example:
        >>> plate = np.full((20, 20), 200.0); moved = [plate.copy() for _ in range(3)]
        >>> for i, f in enumerate(moved): f[5:8, 2 + 5 * i:6 + 5 * i] = 50
        >>> bg = background_from_frames(moved)
        >>> float(bg.image[6, 3]), bg.polarity
        (200.0, 1)
    """
    frames = [compact_gray(f) for f in frames]
    frames = [f for f in frames if not is_flat(f)] or frames
    levels = [plate_level(f) for f in frames]
    target = float(np.median(levels))
    # the noise with every sample at the plate's level (on every 4th pixel, exactly): samples further off are shifted
    coarse = np.stack([f[::4, ::4].astype(np.float32) + np.float32(target - level) for f, level in zip(frames, levels)])
    noise = _robust_sigma((np.median(coarse, axis=0)[None] - coarse).ravel())
    stack = np.stack([_at_level(f, level, target) if abs(level - target) > SHIFT_SIGMAS * noise else f
                      for f, level in zip(frames, levels)])
    median = np.median(stack, axis=0).astype(np.float32)
    smooth = _smooth_plate(median)
    # under 5 samples (a still image, a very short clip) their median keeps the worms: the plate is then the
    # median filtered wide enough to erase them, and the noise is measured against it
    few = len(frames) < 5
    deviation = (smooth if few else median)[None, ::4, ::4] - stack[:, ::4, ::4].astype(np.float32)
    sigma = _robust_sigma(deviation.ravel())
    # Polarity against the smooth plate, not the median: a worm that sat still in most
    # samples is in the median, and where it left, the frames look lighter than it.
    polarity = polarity_of(smooth[None, ::4, ::4] - stack[:, ::4, ::4].astype(np.float32), sigma)
    image = median
    if few:
        image = smooth
    else:
        spread = stack.max(axis=0).astype(np.float32) - stack.min(axis=0)
        dark = (smooth - median) * polarity > GHOST_SIGMAS * sigma
        ghost = (spread > GHOST_SIGMAS * sigma) & dark
        if ghost.any():
            # the part of a slow worm that lay in every sample belongs to the ghost it is joined to
            _, labels = cv2.connectedComponents(dark.view(np.uint8), connectivity=8)
            ghost = np.isin(labels, np.unique(labels[ghost]))
            image = np.where(ghost, smooth, median).astype(np.float32)
            log.debug("background: %d ghost pixels of slow worms replaced by the smooth plate", int(ghost.sum()))
    return Background(image=image, sigma=sigma, polarity=polarity, level=target)


def frame_contrast(frame: np.ndarray, background: Background | None, polarity: int | None = None
                   ) -> tuple[np.ndarray, float]:
    """Worm contrast (positive where the worm is) and the noise sigma.

    Without a background the frame's border gives the plate level and noise
    (cropped frames: the worm does not fill the border).
    """
    g = gray(frame)
    if background is not None:
        if background.image.shape != g.shape:
            raise UnsupportedFormatError(
                f"A frame of size {g.shape[1]}x{g.shape[0]} differs from the first frames "
                f"({background.image.shape[1]}x{background.image.shape[0]}); track them as crops.")
        if background.level is not None:  # a lamp's flicker or drift, where it is more than the noise
            level = plate_level(frame)
            if abs(level - background.level) > SHIFT_SIGMAS * background.sigma:
                g = _at_level(g, level, background.level)
        if background.polarity > 0:
            return cv2.subtract(background.image, g), background.sigma
        return cv2.subtract(g, background.image), background.sigma
    border = np.concatenate([g[:2].ravel(), g[-2:].ravel(), g[:, :2].ravel(), g[:, -2:].ravel()])
    level = float(np.median(border))
    sigma = _robust_sigma(border)
    deviation = level - g
    if polarity is None:
        polarity = polarity_of(deviation, sigma)
    return deviation * polarity, sigma


#: :func:`worm_width` measures a frame's largest object only when it has at least this many pixels.
WIDTH_MIN_AREA = 20


def worm_width(frames: Sequence[np.ndarray]) -> float | None:
    """The worms' width in pixels: twice the largest inscribed radius of each frame's largest object, the median
    over up to 5 of ``frames`` (compact grey, one size); None when no object of :data:`WIDTH_MIN_AREA` px shows.

    Against a background made of the frames when there are at least 5 of them, else against each frame's border.

    Example:
        >>> frame = np.full((60, 80), 200, np.uint8); frame[20:32, 10:70] = 40  # a bar 12 px wide
        >>> round(worm_width([frame]))
        12
    """
    background = background_from_frames(list(frames)) if len(frames) >= 5 else None
    widths = []
    for frame in list(frames)[::max(1, len(frames) // 5)]:
        contrast, sigma = frame_contrast(frame, background)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(foreground(contrast, sigma).view(np.uint8))
        if count < 2:
            continue
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if stats[largest, cv2.CC_STAT_AREA] < WIDTH_MIN_AREA:  # noise on an empty plate, not a worm
            continue
        widths.append(2 * float(cv2.distanceTransform((labels == largest).view(np.uint8), cv2.DIST_L2, 5).max()))
    return float(np.median(widths)) if widths else None


def threshold_of(contrast: np.ndarray, sigma: float) -> float:
    """Half the typical contrast of sure worm pixels, at least ``MIN_SIGMAS`` noise sigmas."""
    sure = contrast[contrast > SURE_SIGMAS * sigma]
    if sure.size < 10:
        return float(SURE_SIGMAS * sigma)
    return float(max(MIN_SIGMAS * sigma, 0.5 * np.median(sure)))


def foreground(contrast: np.ndarray, sigma: float, threshold: float | None = None) -> np.ndarray:
    """Y x X bool worm pixels: the lightly smoothed contrast above the threshold."""
    thr = threshold_of(contrast, sigma) if threshold is None else threshold
    smooth = cv2.GaussianBlur(contrast, (3, 3), 0.7)
    return smooth > thr


def fill_small_holes(mask: np.ndarray, max_fraction: float = 0.02, max_gap_radius: float = 1.5,
                     contrast: np.ndarray | None = None, sigma: float = 0.0) -> tuple[np.ndarray, int]:
    """Fill threshold gaps; return the mask and the area of the largest hole left.

    A hole smaller than ``max_fraction`` of the object, a thin sliver (at
    most ``max_gap_radius`` pixels from its rim everywhere and long), or a
    narrow hole (up to twice that) whose pixels still differ from the plate
    (``contrast`` above ``PALE_SIGMAS`` noise ``sigma``: a pale core along the body) is a
    gap in the threshold. A larger enclosed hole of plate means the worm
    touches itself around it (a coil).
    """
    m = mask.astype(np.uint8)
    inverse = 1 - m
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    h, w = m.shape
    out = mask.copy()
    biggest = 0
    limit = max(4, max_fraction * m.sum())
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if x == 0 or y == 0 or x + bw == w or y + bh == h:
            continue  # touches the border: plate, not a hole
        hole = labels[y:y + bh, x:x + bw] == i
        if area > limit:
            radius = float(cv2.distanceTransform(np.pad(hole, 1).view(np.uint8), cv2.DIST_L2, 3).max())
            sliver = radius <= max_gap_radius and area >= 6 * np.pi * radius * radius
            pale = (contrast is not None and radius <= 2 * max_gap_radius
                    and float(np.median(contrast[y:y + bh, x:x + bw][hole])) > PALE_SIGMAS * sigma)
            if not (sliver or pale):
                biggest = max(biggest, int(area))
                continue
        out[y:y + bh, x:x + bw] |= hole
    return out, biggest


@dataclass
class Blob:
    """One connected object: its mask inside a bounding box and where the box sits.

    Attributes:
        mask: h x w bool, the object only.
        contrast: h x w float32 worm contrast in the box.
        x0, y0: the box's top-left corner in the frame.
        area: pixel count.
        centroid: (x, y) in frame pixels.
        sigma: noise standard deviation of the contrast.
    """

    mask: np.ndarray
    contrast: np.ndarray
    x0: int
    y0: int
    area: int
    centroid: tuple[float, float]
    sigma: float = 0.0


def find_blobs(contrast: np.ndarray, sigma: float, min_area: int = 30, pad: int = 3,
               threshold: float | None = None) -> list[Blob]:
    """Connected worm-like objects of at least ``min_area`` pixels, largest first.

    Objects are found by their outer contours (much faster than labelling the
    whole frame); each object's mask is its filled contour intersected with the
    thresholded pixels, so holes stay holes.

    Example:
        >>> c = np.zeros((30, 40), np.float32); c[5:10, 5:30] = 50; c[20:24, 10:14] = 50
        >>> [b.area for b in find_blobs(c, 1.0, min_area=10, threshold=25)]
        [125, 16]
    """
    mask = foreground(contrast, sigma, threshold).view(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    h, w = mask.shape
    blobs = []
    for contour in contours:
        x, y, bw, bh = cv2.boundingRect(contour)
        if bw * bh < min_area:
            continue
        xa, ya = max(0, x - pad), max(0, y - pad)
        xb, yb = min(w, x + bw + pad), min(h, y + bh + pad)
        inside = np.zeros((yb - ya, xb - xa), np.uint8)
        cv2.drawContours(inside, [contour], -1, 1, thickness=-1, offset=(-xa, -ya))
        own = (inside & mask[ya:yb, xa:xb]).astype(bool)
        area = int(own.sum())
        if area < min_area:
            continue
        rows, cols = np.nonzero(own)
        blobs.append(Blob(mask=own, contrast=contrast[ya:yb, xa:xb], x0=xa, y0=ya, area=area,
                          centroid=(float(cols.mean()) + xa, float(rows.mean()) + ya), sigma=sigma))
    blobs.sort(key=lambda b: -b.area)
    return blobs
