"""From a movie frame to the network's input: the nucleus channel, a small square, and whether an embryo is there."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from devocore.errors import DevocoreError
from devocore.io.pixels import EMBRYO_MARGIN, embryo_box, shrunk  # noqa: F401  (re-exported: lineage.embryo_box)


def nucleus_channel(frame: np.ndarray, channel: str = "auto") -> np.ndarray:
    """The nuclei as one Y x X plane.

    RGB frames of histone-GFP movies carry nuclei in green and a reporter in
    red; "auto" takes green unless it is (nearly) empty, then the brightest channel.
    A number ("1", "2", ...) takes that channel of a multi-channel frame (from 1).

    Example:
        >>> rgb = np.zeros((2, 2, 3), np.uint8); rgb[..., 1] = 7
        >>> int(nucleus_channel(rgb)[0, 0]), int(nucleus_channel(rgb, "2")[0, 0])
        (7, 7)
    """
    if frame.ndim == 2:
        return frame
    if frame.ndim != 3:
        raise DevocoreError(f"A frame must be Y x X or Y x X x C; this one has shape {frame.shape}.")
    if str(channel).isdigit():
        if not 1 <= int(channel) <= frame.shape[-1]:
            raise DevocoreError(f"Channel {channel} was asked for, but the frames have {frame.shape[-1]} "
                                f"channel(s): choose one from 1 to {frame.shape[-1]}.")
        return frame[..., int(channel) - 1]
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
        raise DevocoreError(f"Unknown channel '{channel}'. Available options are: auto, green, red, blue, mean, or a "
                            "channel's number (from 1).")
    green = frame[..., 1]
    peaks = [float(np.percentile(frame[::4, ::4, c], 99.9)) for c in range(frame.shape[-1])]
    if peaks[1] >= 0.2 * max(peaks):
        return green
    return frame[..., int(np.argmax(peaks))]


def to_square(plane: np.ndarray, size: int) -> np.ndarray:
    """Resize so the longer side is ``size`` and pad (with the median) to size x size; float32."""
    import cv2

    plane = np.asarray(plane)
    h, w = plane.shape
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    if scale < 1:  # (a huge 8- or 16-bit plane is shrunk in its own dtype: io.shrunk)
        small = shrunk(plane, (nw, nh))
    else:
        small = cv2.resize(plane.astype(np.float32), (nw, nh), interpolation=cv2.INTER_LINEAR)
    out = np.full((size, size), float(np.median(small)), np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out


def crops_embryo(model) -> bool:
    """Whether a lineage model was trained on frames cropped to the embryo (its card's ``input_crop``)."""
    card = getattr(model, "card", None)
    return isinstance(card, dict) and card.get("input_crop") == "embryo"


def turn(plane: np.ndarray, angle: float) -> np.ndarray:
    """``plane`` turned by ``angle`` degrees (counter-clockwise as shown, y down) on a canvas large enough to hold
    all of it, the corners filled with its median (the background); in its own dtype where it is uint8, uint16 or
    float32 (a float copy of a frame of 8000 x 8000 px would be 256 MB), else float32.

    Example:
        >>> import cv2
        >>> from devocore.io.pixels import embryo_axis
        >>> img = np.zeros((20, 40), np.uint8); img[9:11, 10:30] = 9
        >>> turn(img, 90).shape, round(embryo_axis(turn(img, 90))[0])
        ((40, 20), 90)
        >>> bar = cv2.line(np.zeros((100, 100), np.uint8), (20, 33), (80, 67), 200, 5)  # 30 degrees, x towards y
        >>> round(embryo_axis(bar)[0]), abs(embryo_axis(turn(bar, 30))[0]) < 2
        (30, True)
    """
    import cv2

    plane = np.asarray(plane)
    if plane.dtype not in (np.uint8, np.uint16, np.float32):
        plane = plane.astype(np.float32)
    h, w = plane.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(angle), 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(round(h * sin + w * cos)), int(round(h * cos + w * sin))
    matrix[0, 2] += (nw - w) / 2.0
    matrix[1, 2] += (nh - h) / 2.0
    return cv2.warpAffine(plane, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=float(np.median(plane[::4, ::4])))


def preprocess(frame: np.ndarray, size: int, channel: str = "auto", crop: bool = False, angle: float = 0.0,
               region: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, float]:
    """One frame -> (size x size float32 in 0..1, contrast).

    The background (median) maps to 0 and the 99.9th percentile to 1, so the
    result does not depend on the bit depth, gain or offset of the camera.
    ``contrast`` (99.9th percentile minus median, in the input's units) tells
    frames with nuclei from empty ones. With ``crop`` the square shows the
    embryo (:func:`embryo_box`) rather than the whole field, so the embryo fills
    it whatever the magnification (models whose card says ``"input_crop": "embryo"``). ``angle`` (degrees,
    :func:`movie_angle`) turns the plane first, so that the embryo lies along the x axis as in training; before
    that, ``region`` (y0, y1, x0, x1) keeps one embryo of several in the field (:func:`devocore.io.embryo_region`).

    Example:
        >>> img = np.zeros((20, 40), np.uint16); img[8:12, 18:22] = 1000
        >>> x, c = preprocess(img, 16)
        >>> x.shape, float(x.max()), c > 0
        ((16, 16), 1.0, True)
    """
    plane = nucleus_channel(frame, channel)
    if region is not None:
        plane = np.asarray(plane)[region[0]:region[1], region[2]:region[3]]
    if angle:
        plane = turn(plane, angle)
    box = embryo_box(plane) if crop else None
    if box is not None:
        plane = np.asarray(plane)[box[0]:box[1], box[2]:box[3]]
    square = to_square(plane, size)
    lo = float(np.median(square))
    hi = float(np.percentile(square, 99.9))
    contrast = hi - lo
    scaled = (square - lo) / max(contrast, 1e-6)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32), contrast


#: The embryo's long axis is turned to the x axis only when it lies further off than this (degrees): the training
#: frames lie along it within a spread of 12 (:func:`devocore.simulate.epic_movie.random_look`), and a turn of a
#: degree or two would only blur the frames.
ANGLE_MIN = 10.0
#: Below this ratio of long to short axis an embryo shows no direction (a real embryo's nuclei, 1.5-2.1 from the
#: 4-cell stage on in the training movie).
ELONGATION_MIN = 1.2


def movie_angle(planes: Iterable[np.ndarray]) -> float:
    """The turn (degrees, for :func:`preprocess`) that lays the embryo of a movie along the x axis, as in the
    frames the model learnt from: the median direction of its long axis (:func:`~devocore.io.embryo_axis`) over
    ``planes`` (a few nucleus planes spread over the movie), or 0 when it lies within :data:`ANGLE_MIN` of the x
    axis or shows no direction.

    Example:
        >>> img = np.zeros((200, 200), np.uint8); img[90:110, 40:160] = 200
        >>> movie_angle([img]), movie_angle([img.T, img.T, img])
        (0.0, 90.0)
    """
    from devocore.io.pixels import embryo_axis

    axes = [axis for axis in map(embryo_axis, planes) if axis is not None and axis[1] >= ELONGATION_MIN]
    if not axes:
        return 0.0
    angles = np.array([a for a, _ in axes])
    gaps = np.abs((angles[:, None] - angles[None, :] + 90.0) % 180.0 - 90.0)  # axes: 180 degrees = the same
    median = float(angles[int(np.argmin(gaps.sum(axis=1)))])
    return median if abs(median) > ANGLE_MIN else 0.0


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


#: In a colour movie, green is the nuclei (histone-GFP) unless another colour shows structure in more frames by at
#: least this much (mean :func:`structure` over the frames looked at). The training EPIC movie: green (nuclei)
#: 0.955, red (a reporter, dark in the first frames) 0.778, blue 0.495; with red and green swapped, as in a
#: movie of histone-mCherry nuclei and a GFP reporter, red would be taken by 0.177.
COLOUR_MARGIN = 0.15


def choose_channel(frames: Iterable[np.ndarray]) -> tuple[int, list[float]] | None:
    """The channel that shows the nuclei, from 1, with each channel's mean :func:`structure` over ``frames``;
    None for grey frames, and for colour frames (RGB or RGBA) where green is the nuclei.

    Of a microscope's channels (2, or 5 and more), the one with the most structure is taken. The lineaging
    marker (histone-GFP) shows every nucleus from the first frame on; a reporter starts dark and lights up in
    some cells later, and an empty channel holds noise. In the training EPIC movie, read as channels, the nuclei
    (green) score 0.91-0.98 in each of ten frames spread over it, the reporter (red) 0.21-0.55 in the first half
    and 0.86-0.99 after, the empty blue channel 0.12-0.57. A colour movie keeps green unless red or blue beats it
    by :data:`COLOUR_MARGIN` (nuclei in red, histone-mCherry, with a GFP reporter or nothing in green).

    Example:
        >>> y, x = np.mgrid[:64, :64]
        >>> nuclei = (np.sin(x / 4.0) * np.sin(y / 4.0) > 0.5) * 200.0
        >>> noise = np.random.default_rng(0).integers(0, 30, (64, 64))
        >>> choose_channel([np.stack([noise, nuclei], axis=-1)])[0]
        2
        >>> choose_channel([np.stack([nuclei, noise, noise], axis=-1)])[0], choose_channel([np.stack([noise, nuclei,
        ...     noise], axis=-1)])
        (1, None)
    """
    sums, colour = None, False
    for count, frame in enumerate(frames, 1):  # one frame held at a time
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[-1] == 1:
            return None
        colour = frame.shape[-1] in (3, 4)
        scores = np.array([structure(frame[..., c]) for c in range(3 if colour else frame.shape[-1])])
        sums = scores if sums is None else sums + scores
    if sums is None:
        return None
    means = [round(float(v) / count, 2) for v in sums]
    best = int(np.argmax(means))
    if colour and float(sums[best] - sums[1]) / count < COLOUR_MARGIN:
        return None
    return best + 1, means


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
