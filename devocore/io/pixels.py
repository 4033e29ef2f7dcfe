"""Grey planes and intensities: channel to grey, percentile normalisation, 8-bit display copies, square crops,
the box around an embryo."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from devocore.errors import DevocoreError


def to_gray(image: np.ndarray, channel: str | int = "mean") -> np.ndarray:
    """A 2-D (or stack of 2-D) grey image from Y x X [x C] pixels.

    Args:
        image: ... x Y x X or ... x Y x X x C (C = 3 means RGB).
        channel: "mean" for the channel mean, "green" for histone-GFP movies,
            or a channel index.

    Example:
        >>> int(to_gray(np.ones((2, 2, 3), np.uint8) * [0, 9, 3], "green")[0, 0])
        9
    """
    if image.ndim >= 3 and image.shape[-1] in (2, 3, 4):
        if channel == "mean":
            if image.shape[-1] == 3 and image.dtype in (np.uint8, np.uint16):
                # the rounded mean of three integers, (sum + 1) // 3 (a third is never a half), 15x faster
                # (3 x 65535 + 1 fits in 32 bits, 3 x 255 + 1 in 16: half the memory traffic for 8-bit)
                total = image[..., 0].astype(np.uint16 if image.dtype == np.uint8 else np.uint32)
                total += image[..., 1]
                total += image[..., 2]
                total += 1
                total //= 3
                return total.astype(image.dtype)
            return image.mean(axis=-1).astype(np.float32) if image.dtype.kind == "f" else \
                image.mean(axis=-1).round().astype(image.dtype)
        index = {"red": 0, "green": 1, "blue": 2}.get(channel, channel)
        return image[..., int(index)]
    return image


def pick_channel(plane: np.ndarray, channel: int | None, what: str = "the image") -> np.ndarray:
    """Channel ``channel`` (counted from 1) of a Y x X x C plane; the plane itself when ``channel`` is None.

    Example:
        >>> plane = np.dstack([np.zeros((2, 2)), np.ones((2, 2))])
        >>> float(pick_channel(plane, 2).max()), pick_channel(plane, None).shape
        (1.0, (2, 2, 2))
    """
    if channel is None:
        return plane
    count = plane.shape[-1] if plane.ndim == 3 else 1
    if not 1 <= channel <= count:
        raise DevocoreError(f"{what} has {count} channel{'s' if count > 1 else ''}; choose a channel from 1 to "
                            f"{count}, not {channel}.")
    return plane if plane.ndim == 2 else plane[..., channel - 1]


#: Grey frames that a lossy video codec stored as colour come back with channels a few levels apart: OpenCV's MJPG,
#: mp4v and XVID give up to 2 of 255 (the bundled worm video: 2). 8-bit channels at most this far apart are one grey.
CODEC_CHANNEL_LEVELS = 3


def distinct_channels(plane: np.ndarray) -> int:
    """How many channels a plane has when they differ (0 for a grey plane or a grey one stored as colour, 8-bit
    channels within :data:`CODEC_CHANNEL_LEVELS` of each other included).

    Example:
        >>> distinct_channels(np.zeros((2, 2, 3))), distinct_channels(np.dstack([np.zeros((2, 2)), np.ones((2, 2))]))
        (0, 2)
        >>> codec = np.dstack([np.full((2, 2), 40, np.uint8), np.full((2, 2), 42, np.uint8)])  # a grey video's frame
        >>> distinct_channels(codec), distinct_channels(codec.astype(np.uint16))
        (0, 2)
    """
    if plane.ndim != 3 or plane.shape[-1] < 2:
        return 0
    colour = plane[..., :3] if plane.shape[-1] == 4 else plane  # RGBA: the alpha channel is not a picture
    first = colour[..., 0]
    if colour.dtype == np.uint8:
        first = first.astype(np.int16)
        alike = all(int(np.abs(first - colour[..., c]).max()) <= CODEC_CHANNEL_LEVELS
                    for c in range(1, colour.shape[-1]))
    else:
        alike = all(np.array_equal(first, colour[..., c]) for c in range(1, colour.shape[-1]))
    return 0 if alike else colour.shape[-1]


#: file endings of lossy formats: a mask saved so keeps only black and white, never exact label numbers
LOSSY_SUFFIXES = (".jpg", ".jpeg")


def mask_values(image: np.ndarray, lossy: bool = False) -> np.ndarray:
    """A mask or label image (Y x X, or Y x X x C) as one Y x X array of values, 0 = background.

    A grey image is kept as it is; a colour one whose channels are equal is its first channel; one whose
    cells differ by colour (as label tools export them) gets one number per colour, black staying 0.
    ``lossy`` (a JPEG): compression blurs every edge into many grey levels, so only black and white can be
    told apart; the image is thresholded half-way between its darkest and brightest value (foreground 255).

    Example:
        >>> colours = np.zeros((2, 3, 3), np.uint8); colours[0, 0] = (255, 0, 0); colours[1, 2] = (0, 0, 255)
        >>> mask_values(colours).tolist()
        [[2, 0, 0], [0, 0, 1]]
        >>> mask_values(np.array([[3, 250], [9, 241]], np.uint8), lossy=True).tolist()
        [[0, 255], [0, 255]]
    """
    if image.ndim == 3:
        colour = image[..., :3] if image.shape[-1] >= 3 else image
        if all(np.array_equal(colour[..., 0], colour[..., c]) for c in range(1, colour.shape[-1])):
            image = colour[..., 0]
        elif not lossy:
            _, codes = np.unique(colour.reshape(-1, colour.shape[-1]), axis=0, return_inverse=True)
            codes = codes.reshape(colour.shape[:2]).astype(np.int32)
            # colours in sorted order: black, the background, comes first and so is 0 when it is there
            return codes if np.all(colour == 0, axis=-1).any() else codes + 1
        else:
            image = to_gray(colour)
    if lossy:
        low, high = float(image.min()), float(image.max())
        return np.where(image > (low + high) / 2, 255, 0).astype(np.uint8)
    return image


def normalize(image: np.ndarray, low: float = 1.0, high: float = 99.8) -> np.ndarray:
    """Float32 pixels in 0..1, stretched between two percentiles.

    Works the same for 8-, 16- and 32-bit inputs, so models see one range.

    Example:
        >>> out = normalize(np.arange(100, dtype=np.uint16).reshape(10, 10), 0, 100)
        >>> float(out.min()), float(out.max())
        (0.0, 1.0)
    """
    image = np.asarray(image)
    if image.size and image.dtype in (np.uint8, np.uint16):
        # 8- and 16-bit pixels: the same percentiles from a histogram, and the stretch as a lookup table
        lo, hi = integer_percentiles(image, (low, high))
        if hi <= lo:
            hi = lo + 1.0
        levels = np.arange(256 if image.dtype == np.uint8 else 65536, dtype=np.float64)
        table = np.clip((levels - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
        if image.dtype == np.uint8:
            import cv2  # its table lookup is 4x faster than numpy's indexing, with the same values

            return cv2.LUT(np.ascontiguousarray(image).reshape(-1, 1), table).reshape(image.shape)
        return table[image]
    array = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(array, [low, high]) if array.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return np.clip((array - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


#: Pixels counted per step by :func:`_histogram` (np.bincount makes an int64 copy of what it counts).
HISTOGRAM_CHUNK = 1 << 22


def _histogram(image: np.ndarray) -> np.ndarray:
    """Counts of each level of 8- or 16-bit pixels (int64), like ``np.bincount(image.ravel())`` (trailing zero
    counts aside) but counted in chunks, so a huge image needs no int64 copy of itself (512 MB at 64 megapixels)."""
    flat = image.ravel()
    if image.dtype not in (np.uint8, np.uint16):
        return np.bincount(flat)
    counts = np.zeros(256 if image.dtype == np.uint8 else 65536, np.int64)
    for start in range(0, flat.size, HISTOGRAM_CHUNK):
        counts += np.bincount(flat[start:start + HISTOGRAM_CHUNK], minlength=counts.size)
    return counts


def integer_percentiles(image: np.ndarray, percents: Sequence[float]) -> list[float]:
    """``np.percentile(image, percents)`` (linear interpolation) of 8- or 16-bit pixels, from their histogram.

    Example:
        >>> integer_percentiles(np.array([0, 10, 20, 30], np.uint8), [0, 50, 100])
        [0.0, 15.0, 30.0]
    """
    if image.dtype == np.uint8 and image.size < 2 ** 24:
        import cv2  # the same counts as np.bincount, 2x faster (float32 holds counts exactly up to 2**24)

        flat = np.ascontiguousarray(image).reshape(-1, 1)
        counts = cv2.calcHist([flat], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    else:
        counts = _histogram(image)
    cumulative = np.cumsum(counts)
    n = image.size
    values = []
    for percent in percents:
        rank = (n - 1) * percent / 100.0
        below = int(np.floor(rank))
        # the value at sorted position k is the first level whose cumulative count exceeds k
        a, b = np.searchsorted(cumulative, [below, min(below + 1, n - 1)], side="right")
        values.append(float(a + (rank - below) * (b - a)))
    return values


def to_uint8(image: np.ndarray) -> np.ndarray:
    """8-bit pixels for display: 8-bit input unchanged, anything else stretched.

    Example:
        >>> to_uint8(np.array([[0, 65535]], np.uint16)).tolist()
        [[0, 255]]
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16 and image.size:
        # the same stretch as a 65536-entry lookup table of 8-bit values: no float copy of a huge image
        lo, hi = integer_percentiles(image, (0.0, 100.0))
        if hi <= lo:
            hi = lo + 1.0
        levels = np.arange(65536, dtype=np.float64)
        table = np.clip((levels - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
        return (table * 255).round().astype(np.uint8)[image]
    return (normalize(image, 0.0, 100.0) * 255).round().astype(np.uint8)


def square_gray(image: np.ndarray, size: int) -> np.ndarray:
    """Any 2-D image (grey or RGB, any dtype) -> size x size uint8 grey, centre-cropped square.

    Example:
        >>> square_gray(np.zeros((30, 40, 3), np.uint16), 16).shape
        (16, 16)
    """
    import cv2

    grey = to_uint8(to_gray(np.asarray(image), "mean" if np.asarray(image).ndim == 3 else 0))
    if grey.ndim != 2:
        raise DevocoreError(f"Expected a single 2-D image, got an array of shape {grey.shape}.")
    h, w = grey.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = np.ascontiguousarray(grey[top:top + side, left:left + side])
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


EMBRYO_MARGIN = 0.06  # of the embryo's extent, on each side of the crop


#: Planes over this many pixels are shrunk in their own dtype (8 or 16 bit) before they become float32, whose copy of
#: a frame of 8000 x 8000 px would take 256 MB; smaller planes are shrunk as float32, as the models learnt from.
BIG_PLANE = 16_000_000


def shrunk(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``plane`` resized to ``size`` (width, height) by area averaging, as float32; a plane over :data:`BIG_PLANE`
    pixels in 8 or 16 bit is shrunk in its own dtype first.

    Example:
        >>> shrunk(np.full((10, 20), 7, np.uint16), (10, 5)).dtype, shrunk(np.full((10, 20), 7, np.uint16), (10, 5))[0, 0]
        (dtype('float32'), np.float32(7.0))
    """
    import cv2

    plane = np.asarray(plane)
    if not (plane.size > BIG_PLANE and plane.dtype in (np.uint8, np.uint16)):
        plane = plane.astype(np.float32)
    return cv2.resize(plane, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def at_most(image: np.ndarray, longest: int) -> np.ndarray:
    """``image`` (Y x X or Y x X x C) shrunk by area averaging to at most ``longest`` pixels a side, in its own dtype
    where it is uint8, uint16 or float32 (else float32); as it is when it is no larger.

    Example:
        >>> small = at_most(np.zeros((3000, 2000, 5), np.uint16), 1024)
        >>> small.shape, small.dtype
        ((1024, 683, 5), dtype('uint16'))
    """
    import cv2

    image = np.asarray(image)
    scale = longest / max(image.shape[:2])
    if scale >= 1:
        return image
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        image = image.astype(np.float32)
    size = (max(2, round(image.shape[1] * scale)), max(2, round(image.shape[0] * scale)))
    if image.ndim == 2:
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.stack([cv2.resize(np.ascontiguousarray(image[..., c]), size, interpolation=cv2.INTER_AREA)
                     for c in range(image.shape[-1])], axis=-1)


def _embryo_pixels(plane: np.ndarray, longest: int = 128) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(ys, xs, scale): the embryo's pixels on a copy of ``plane`` at most ``longest`` pixels a side (smoothed over
    about two nuclei; pixels more than a fifth of the way from the 10th to the 99.5th percentile), or None when
    no embryo shows."""
    import cv2

    plane = np.asarray(plane)
    h, w = plane.shape
    scale = min(1.0, longest / max(h, w))
    if scale < 1:
        small = shrunk(plane, (max(2, round(w * scale)), max(2, round(h * scale))))
    else:
        small = plane.astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), max(1.0, 0.02 * max(small.shape)))
    lo, hi = float(np.percentile(small, 10)), float(np.percentile(small, 99.5))
    if hi - lo <= 1e-6:
        return None
    ys, xs = np.nonzero(small > lo + 0.2 * (hi - lo))
    if ys.size < 0.005 * small.size:
        return None
    return ys, xs, scale


def _pixel_mask(found: tuple[np.ndarray, np.ndarray, float], shape: tuple[int, ...]) -> np.ndarray:
    """The embryo's pixels (:func:`_embryo_pixels` of a plane of ``shape``) as a uint8 mask on the small copy."""
    ys, xs, scale = found
    mask = np.zeros((max(2, round(shape[0] * scale)), max(2, round(shape[1] * scale))), np.uint8)
    mask[ys, xs] = 1
    return mask


def _joined(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """(count + 1, labels) of the groups of ``mask`` whose pixels lie closer than :data:`EMBRYO_REACH` of its
    longer side (label 0: apart from every group)."""
    import cv2

    reach = max(3, round(EMBRYO_REACH * max(mask.shape))) | 1
    joined = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    return cv2.connectedComponents(joined, connectivity=8)


def embryo_box(plane: np.ndarray, longest: int = 128) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) around the embryo (its blurred nuclei or membranes above the background), or None when none
    shows.

    Found on a copy at most ``longest`` pixels a side: the plane is smoothed over about two nuclei, and
    pixels more than a fifth of the way from the 10th to the 99.5th percentile (background to nuclei) are embryo.

    Example:
        >>> img = np.zeros((100, 200), np.uint8); img[30:60, 50:130] = 200
        >>> y0, y1, x0, x1 = embryo_box(img)
        >>> 22 <= y0 <= 30 and 60 <= y1 <= 68 and 40 <= x0 <= 50 and 130 <= x1 <= 140
        True
        >>> embryo_box(np.zeros((100, 200), np.uint8)) is None
        True
    """
    found = _embryo_pixels(plane, longest)
    if found is None:
        return None
    ys, xs, scale = found
    h, w = np.shape(plane)
    y0, y1, x0, x1 = ys.min() / scale, (ys.max() + 1) / scale, xs.min() / scale, (xs.max() + 1) / scale
    my, mx = EMBRYO_MARGIN * (y1 - y0), EMBRYO_MARGIN * (x1 - x0)
    return (max(0, int(y0 - my)), min(h, int(np.ceil(y1 + my))), max(0, int(x0 - mx)), min(w, int(np.ceil(x1 + mx))))


#: Groups of nuclei are one embryo when closer than this fraction of the field's longer side (at most 128 px).
EMBRYO_REACH = 0.04
#: A second group of nuclei is another embryo when its area over the movie is at least this fraction of the
#: largest group's (a piece of an embryo cut by the frame's edge, or debris, is smaller).
SECOND_EMBRYO = 0.5


def embryo_groups(planes, longest: int = 128) -> list[tuple[int, tuple[int, int, int, int], int]]:
    """Groups of nuclei apart from each other over a movie, largest first: (area on the copy at most ``longest``
    pixels a side, (y0, y1, x0, x1) in the planes' pixels with a margin of :data:`EMBRYO_MARGIN`, in how many of
    the planes it shows).

    The embryo's pixels (:func:`embryo_box`) of every plane in ``planes`` (a few frames spread over a movie, all of
    one size) are joined; then pixels closer than :data:`EMBRYO_REACH` of the field are one group. Over a movie the
    nuclei of one embryo move and divide and fill it, so its pieces join even where a single early frame shows
    separate nuclei; embryos side by side stay apart. Empty when no plane shows an embryo.

    Example:
        >>> img = np.zeros((100, 300), np.uint8); img[30:70, 20:120] = 200; img[30:70, 180:280] = 200
        >>> [(box[2] < 20, 120 <= box[3] < 135, seen) for _, box, seen in embryo_groups([img, img])][:1]
        [(True, True, 2)]
        >>> len(embryo_groups([img])), len(embryo_groups([img[:, :150]]))
        (2, 1)
    """
    union, shape, scale, each = None, None, 1.0, []
    for plane in planes:
        found = _embryo_pixels(plane, longest)
        if found is None:
            continue
        ys, xs, scale = found
        if union is None:
            shape = np.shape(plane)
            union = _pixel_mask(found, shape)
        if np.shape(plane) == shape:
            union[ys, xs] = 1
            each.append((ys, xs))
    if union is None:
        return []
    count, labels = _joined(union)
    seen = np.zeros(count, int)
    for ys, xs in each:
        seen[np.unique(labels[ys, xs])] += 1
    groups = []
    for label in range(1, count):
        ys, xs = np.nonzero((labels == label) & (union > 0))
        if not ys.size:
            continue
        y0, y1, x0, x1 = ys.min() / scale, (ys.max() + 1) / scale, xs.min() / scale, (xs.max() + 1) / scale
        my, mx = EMBRYO_MARGIN * (y1 - y0), EMBRYO_MARGIN * (x1 - x0)
        groups.append((int(ys.size), (max(0, int(y0 - my)), min(shape[0], int(np.ceil(y1 + my))),
                                      max(0, int(x0 - mx)), min(shape[1], int(np.ceil(x1 + mx)))), int(seen[label])))
    return sorted(groups, key=lambda group: -group[0])


#: Bright spots apart from the one embryo (debris, a bead) are left out where they widen its box by more than this
#: factor in height or width: the training movie with a nucleus-sized spot 300 px beside the embryo went from nMAE
#: 0.038 to 0.180.
SPOT_WIDENING = 1.1
#: Frames (of those looked at) that must show an embryo before the field is judged to hold several: over fewer,
#: the nuclei of one early embryo may not have moved enough to join.
GROUP_FRAMES = 8
#: In each of the half of the frames with the most embryo pixels, each embryo found is one piece for at least this
#: share of its pixels: an embryo's nuclei pack it by then, while separate groups of a few early nuclei are several
#: pieces in some of those frames.
SOLID_SHARE = 0.9


def embryo_region(planes, longest: int = 128) -> tuple[int, tuple[int, int, int, int]] | None:
    """(how many embryos, (y0, y1, x0, x1) of the largest) where the frames of a movie (``planes``: nucleus
    planes of frames spread over it, all of one size) show several embryos apart from each other, or one embryo
    and bright spots apart from it that would widen its box by more than :data:`SPOT_WIDENING` (debris, a bead);
    else None (the whole field is the embryo's).

    Embryos are :func:`embryo_groups` whose areas over the movie are within :data:`SECOND_EMBRYO` of the largest;
    smaller groups that show in at least half of the planes are spots (debris stays; noise does not). Judged where
    at least :data:`GROUP_FRAMES` planes show an embryo and, in each of the half of them with the most embryo
    pixels, each embryo is one solid piece (:data:`SOLID_SHARE`). On short clips of early embryos (8-10 frames from
    the 4-cell stage on) the groups of a few nuclei each are several pieces, and the field is left whole; embryos
    that touch are one group, and so are not told apart.

    Example:
        >>> img = np.zeros((100, 300), np.uint8); img[30:70, 20:120] = 200; img[35:65, 180:280] = 200
        >>> count, box = embryo_region([img] * 8)
        >>> count, box[2] < 20 and 120 <= box[3] < 135
        (2, True)
        >>> embryo_region([img] * 7) is None, embryo_region([img[:, :150]] * 8) is None
        (True, True)
        >>> spot = img[:, :150].copy(); spot[90:94, 140:144] = 255  # one embryo and a speck of debris
        >>> count, box = embryo_region([spot] * 8)
        >>> count, box[3] < 135
        (1, True)
    """
    import cv2

    planes = list(planes)
    found = [_embryo_pixels(plane, longest) for plane in planes]
    shown = [(f[0].size, i) for i, f in enumerate(found) if f is not None]
    if len(shown) < GROUP_FRAMES:
        return None
    groups = embryo_groups(planes, longest)
    embryos = [box for area, box, _ in groups if area >= SECOND_EMBRYO * groups[0][0]]
    if len(embryos) == 1:  # one embryo: cut to it only where spots apart from it, in half the planes, widen its box
        y0, y1, x0, x1 = embryos[0]
        boxes = np.array([box for area, box, seen in groups if box == embryos[0] or 2 * seen >= len(shown)])
        if (boxes[:, 1].max() - boxes[:, 0].min() <= SPOT_WIDENING * (y1 - y0)
                and boxes[:, 3].max() - boxes[:, 2].min() <= SPOT_WIDENING * (x1 - x0)):
            return None
    for _, index in sorted(shown)[len(shown) // 2:]:  # the half of the planes with the most embryo pixels
        mask, scale = _pixel_mask(found[index], np.shape(planes[index])), found[index][2]
        for y0, y1, x0, x1 in embryos:
            part = np.ascontiguousarray(mask[int(y0 * scale):int(np.ceil(y1 * scale)),
                                             int(x0 * scale):int(np.ceil(x1 * scale))])
            count, _, stats, _ = cv2.connectedComponentsWithStats(part, connectivity=8)
            areas = stats[1:, cv2.CC_STAT_AREA]
            if count < 2 or areas.max() < SOLID_SHARE * areas.sum():
                return None
    return len(embryos), embryos[0]


def embryo_axis(plane: np.ndarray, longest: int = 128) -> tuple[float, float] | None:
    """(angle, elongation) of the embryo's long axis: the angle in degrees from the image's x axis towards its y
    axis (down), in (-90, 90], and the ratio of the long axis to the short one (1 for a round embryo), from the
    second moments of the pixels :func:`embryo_box` finds, of the largest group of them (nuclei closer than
    :data:`EMBRYO_REACH` of the field joined); None when no embryo shows.

    Example:
        >>> img = np.zeros((200, 200), np.uint8); img[90:110, 40:160] = 200
        >>> angle, elongation = embryo_axis(img)
        >>> round(angle), elongation > 3
        (0, True)
        >>> round(embryo_axis(img.T)[0])
        90
    """
    found = _embryo_pixels(plane, longest)
    if found is None:
        return None
    ys, xs, _ = found
    # the embryo's nuclei joined into one piece; a time stamp or scale bar apart from it is left out
    count, labels = _joined(_pixel_mask(found, np.shape(plane)))
    if count > 2:
        groups = labels[ys, xs]
        keep = groups == 1 + int(np.argmax(np.bincount(groups, minlength=count)[1:]))
        ys, xs = ys[keep], xs[keep]
    y, x = ys - ys.mean(), xs - xs.mean()
    cxx, cyy, cxy = float((x * x).mean()), float((y * y).mean()), float((x * y).mean())
    angle = 0.5 * np.degrees(np.arctan2(2 * cxy, cxx - cyy))
    spread = np.hypot(0.5 * (cxx - cyy), cxy)
    major, minor = 0.5 * (cxx + cyy) + spread, 0.5 * (cxx + cyy) - spread
    angle = 90.0 if angle <= -90.0 else angle
    return float(angle), float(np.sqrt(major / max(minor, 1e-9)))
