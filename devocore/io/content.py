"""What an image holds: whether a grey plane looks like a microscope image at all.

A file with one value, a binary mask or a label image (flat regions of a few values) is not one, and a picture
with a light background (bright field) does not fit an analysis of fluorescence. :func:`content_problem` says
which, in words; the Batch runs skip such files, and the ``segment`` command and the Segmentation page warn.
:func:`blob_ratio` says whether the bright structures are round (nuclei) or thin lines (membranes).
:func:`burned_in_marks` counts the white or grey pixels of a colour picture: a time stamp or scale bar burned in.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from devocore.io.pixels import to_gray


# Share of neighbouring pixel pairs, both off the most common value, that differ. Real microscope
# images differ almost everywhere (noise): >= 0.76 on 65 CTC nucleus slices, >= 0.90 on 67 CShaper
# membrane slices, >= 0.86 on simulated slices; label and mask images differ only where two labels
# touch: <= 0.015 on the bundled masks and 0.0 on the CTC masks and CShaper label images (train/).
FLAT_PAIRS = 0.05
# (median - 1st percentile) / (99th - 1st percentile): where the background sits in the intensity range.
# Fluorescence has a dark background (<= 0.32 on simulated slices, <= 0.03 on the CTC slices, the median
# of 5 frames <= 0.1 on the EPIC movies); the bright-field worm video sits at 0.62-0.70.
LIGHT_BACKGROUND = 0.5
# A larger plane is judged on every k-th pixel of every k-th row, down to about this many pixels.
JUDGED_PIXELS = 1_000_000


def _flat_share(plane: np.ndarray) -> tuple[float, int]:
    """Share of neighbouring pixel pairs off the most common value that differ, and how many pairs."""
    values, counts = np.unique(plane, return_counts=True)
    off = plane != values[np.argmax(counts)]
    pairs = differ = 0
    for a, b, fa, fb in ((plane[:, 1:], plane[:, :-1], off[:, 1:], off[:, :-1]),
                         (plane[1:], plane[:-1], off[1:], off[:-1])):
        both = fa & fb
        pairs += int(both.sum())
        differ += int((a[both] != b[both]).sum())
    return differ / max(pairs, 1), pairs


def light_background(plane: np.ndarray) -> float:
    """Where the background (the median) sits between the 1st and 99th percentiles: near 0 for fluorescence."""
    low, median, high = np.percentile(plane, [1, 50, 99])
    return float((median - low) / (high - low)) if high > low else 0.0


def judged_view(plane: np.ndarray) -> np.ndarray:
    """A view of every k-th pixel of every k-th row of a Y x X (x C) plane, about :data:`JUDGED_PIXELS` pixels."""
    step = max(1, int(np.ceil(np.sqrt(plane.shape[0] * plane.shape[1] / JUDGED_PIXELS))))
    return plane[::step, ::step]


def content_problem(plane: np.ndarray, fluorescence: bool = True) -> str | None:
    """Why an image (Y x X, or Y x X x C: judged on its channels' mean) does not fit an analysis of microscope
    images, or None when it fits.

    A file with one value, a binary mask, a label image (flat regions of a few values) and, when
    ``fluorescence``, a picture with a light background (bright field: dark objects on light) do not. A plane
    over :data:`JUDGED_PIXELS` is judged on its :func:`judged_view`.

    >>> content_problem(np.zeros((32, 32), np.uint8))
    'one value (0) in every pixel: an empty image'
    >>> content_problem(np.random.default_rng(0).poisson(1.0, (32, 32))) is None
    True
    """
    plane = to_gray(judged_view(np.asarray(plane)))  # the subsample first: a huge colour plane is not copied whole
    low, high = plane.min(), plane.max()
    if low == high:
        return f"one value ({low:g}) in every pixel: an empty image"
    values = np.unique(plane)
    if len(values) == 2:
        return f"only two values ({values[0]:g} and {values[1]:g}): a binary mask, not a microscope image"
    share, pairs = _flat_share(plane)
    if pairs >= 100 and share < FLAT_PAIRS:
        return (f"a label or mask image: {len(values)} values in flat regions "
                f"({100 * share:.1f} % of neighbouring pixels differ; a microscope image has noise)")
    if fluorescence and light_background(plane) > LIGHT_BACKGROUND:
        return ("a light background with dark objects (bright field?); this task expects fluorescence "
                "(bright objects on a dark background)")
    return None


GUESS_SIGMAS = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0)  # structure widths (px, after binning to <= 512 px) looked at
GUESS_MIN_PEAKS = 3  # fewer distinct structures than this: nothing to judge, nuclei assumed
GUESS_NOISE_MADS = 8  # a structure stands out when its response exceeds the median by this many MADs
# Below this blob ratio (:func:`blob_ratio`) the bright structures are thin lines (membranes), at or above it round
# blobs (nuclei). Chosen in the gap on the training data: its 666 CShaper membrane slices 0.044-0.195, its 650 CTC
# nucleus slices 0.356-0.815, the frames of its EPIC movie 0.25 and up (0.18 on the last frame). Measured afterwards
# on the evaluation data: CShaper 0.046-0.196, CTC 0.401-0.707, the frames of its EPIC movie 0.27 and up. The
# simulators overlap (nuclei from 0.18, membranes up to 0.29): 17 of 400 simulated 256-px slices fall on the wrong
# side (at 0.4, 64 of them, 3 CTC training slices and the EPIC frames after about the 50-cell stage would).
MEMBRANE_BLOB_RATIO = 0.24


def _hessian_eigenvalues(x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The larger and the smaller eigenvalue of the Hessian of ``x`` smoothed by a Gaussian of ``sigma``, at each
    pixel: what skimage's ``hessian_matrix_eigvals(hessian_matrix(x, sigma, use_gaussian_derivatives=False))``
    gives, without importing ``skimage.feature.corner`` (which imports scipy.stats: 0.5-0.8 s once per process,
    a sixth of the Lineage run on the bundled movie).
    """
    smooth = ndi.gaussian_filter(x, sigma, mode="constant", cval=0.0, truncate=4.0)
    d_row, d_col = np.gradient(smooth)
    h_rr, h_rc, h_cc = np.gradient(d_row, axis=0), np.gradient(d_row, axis=1), np.gradient(d_col, axis=1)
    half_gap = np.sqrt(((h_rr - h_cc) / 2) ** 2 + h_rc ** 2)
    mean = (h_rr + h_cc) / 2
    return mean + half_gap, mean - half_gap


#: Where at least this share of the bright pixels of a plane sit at its highest level, the camera was saturated
#: (over-exposed) so much that touching nuclei merge: the training EPIC movie's frames 0.0-0.1 %, at twice its
#: brightness 51-72 %; the lineage network's rendered training frames, whose brightness is drawn up to twice the
#: 8-bit range, about a third at most.
SATURATED_SHARE = 0.4


def saturated_share(plane: np.ndarray) -> float:
    """The share of a plane's bright pixels (a fifth of the way from its 1st to its 99.8th percentile and up) that
    sit at its highest level: near 0 for a well exposed picture, high for an over-exposed one, whose brightest
    structures are flat plateaus at the camera's maximum. Counted on every n-th pixel of planes over 1024 px.

    Example:
        >>> y, x = np.mgrid[:64, :64]
        >>> blob = np.exp(-((x - 32) ** 2 + (y - 32) ** 2) / 80.0)
        >>> round(saturated_share((200 * blob).astype(np.uint8)), 3), round(saturated_share(np.minimum(600 * blob,
        ...     255).astype(np.uint8)), 2)
        (0.002, 0.36)
    """
    plane = np.asarray(plane)
    step = max(1, int(np.ceil(max(plane.shape[:2]) / 1024)))  # every step-th pixel: levels kept, no big float copy
    x = plane[::step, ::step].astype(np.float32)
    lo, hi = np.percentile(x, [1, 99.8])
    return float(_saturated(x, float(lo), float(hi))[0])


def _saturated(x: np.ndarray, lo: float, hi: float) -> tuple[float, np.ndarray]:
    top = x >= float(x.max())
    bright = np.count_nonzero(x > lo + 0.2 * (hi - lo))
    return (np.count_nonzero(top) / bright if bright and hi > lo else 0.0), top


def _domes(x: np.ndarray, lo: float, hi: float) -> np.ndarray | float:
    """Where a plane is saturated (:data:`SATURATED_SHARE`), a dome on each plateau at its top level (the distance
    to the plateau's edge, up to 0.5 of the plane's range), so that a saturated nucleus is a blob again rather
    than a ring of edges; 0 elsewhere, and for planes that are not saturated."""
    share, top = _saturated(x, lo, hi)
    if share < SATURATED_SHARE:
        return 0.0
    distance = ndi.distance_transform_edt(top)
    return (0.5 * distance / max(float(distance.max()), 1.0)).astype(np.float32)


def _structure_shape(plane: np.ndarray, max_side: int = 512) -> tuple[float, int]:
    """(blob ratio, number of structures) of one grey plane; see :func:`blob_ratio`."""
    from skimage.feature import peak_local_max

    grey = to_gray(np.asarray(plane))
    factor = int(np.ceil(max(grey.shape) / max_side))
    if factor > 1:  # bin by area averaging: thin membranes stay visible as dimmer lines
        h, w = (grey.shape[0] // factor) * factor, (grey.shape[1] // factor) * factor
        step = factor * 64  # rows binned at a time: no float copy of a huge plane
        x = np.concatenate([grey[r:min(h, r + step), :w].astype(np.float32).reshape(-1, factor, w // factor, factor)
                            .mean(axis=(1, 3)) for r in range(0, h, step)])
    else:
        x = grey.astype(np.float32)
    x = ndi.median_filter(x, 3)  # hot pixels are not blobs
    lo, hi = np.percentile(x, [1, 99.8])
    x = np.clip((x - lo) / max(float(hi - lo), 1e-6), 0, 1) + _domes(x, lo, hi)
    strength = np.zeros(x.shape, np.float32)
    ratio = np.zeros(x.shape, np.float32)
    for sigma in GUESS_SIGMAS:
        big, small = _hessian_eigenvalues(x, sigma)
        # bright structure: the most negative curvature, scale-normalised; its partner tells line from blob
        response = sigma * sigma * np.maximum(-small, 0)
        shape = np.clip(big / np.minimum(small, -1e-9), 0, 1)
        better = response > strength
        strength = np.where(better, response, strength)
        ratio = np.where(better, shape, ratio)
    median = float(np.median(strength))
    mad = 1.4826 * float(np.median(np.abs(strength - median)))
    floor = max(0.2 * float(strength.max()), median + GUESS_NOISE_MADS * mad)
    peaks = peak_local_max(strength, min_distance=2, threshold_abs=floor)
    if len(peaks) < GUESS_MIN_PEAKS:
        return float("nan"), len(peaks)
    weights = strength[peaks[:, 0], peaks[:, 1]]
    return float(np.sum(ratio[peaks[:, 0], peaks[:, 1]] * weights) / np.sum(weights)), len(peaks)


def blob_ratio(plane: np.ndarray) -> float:
    """How round the bright structures of a grey (or colour) plane are: the strength-weighted mean ratio of the
    two curvatures at them, near 1 for blobs (nuclei) and near 0 for lines (membranes); NaN when fewer than
    :data:`GUESS_MIN_PEAKS` structures stand out of the noise. The measure
    :func:`devocore.segmentation.guess_task` votes with, and Lineage's check for membranes.
    """
    return _structure_shape(plane)[0]


#: Burned-in annotations (a time stamp, a scale bar, as Fiji and microscope software draw them into an exported
#: movie) are white or grey: in a colour frame, pixels whose three channels are nearly equal (spread under
#: OVERLAY_SPREAD of the frame's peak) and bright (all above OVERLAY_LEVEL of it), counted where the frame's other
#: bright pixels are in colour (a grey movie stored as colour shows its nuclei in white). In the 254 frames of the
#: training EPIC movie a median of 1 pixel a frame of 390,000 and at most 128 (bright nuclei) look so; a white time
#: stamp and scale bar drawn into its frames (tools/experiments/lineage_overlays.py) about 3,000. They are named,
#: not taken out: a movie that shows its nuclei in grey beside a coloured reporter (a composite with a grey
#: look-up table) looks the same, and taking those pixels out cost it its nuclei (nMAE 0.04 -> 0.66).
OVERLAY_SPREAD = 0.1
OVERLAY_LEVEL = 0.25
OVERLAY_MIN_PIXELS = 256


def burned_in_marks(frame: np.ndarray) -> int:
    """How many pixels of a colour frame (Y x X x 3 or 4) are white or grey and bright while its other bright
    pixels are in colour: a time stamp or scale bar burned in (see :data:`OVERLAY_LEVEL`); 0 for other frames.

    Example:
        >>> rgb = np.zeros((40, 40, 3), np.uint8); rgb[4:20, 4:20] = (0, 200, 0); rgb[30:37, :] = 255  # nuclei; a bar
        >>> burned_in_marks(rgb), burned_in_marks(np.repeat(rgb[..., 1:2], 3, axis=-1))  # grey stored as colour: 0
        (280, 0)
    """
    marks = marks_mask(frame)
    return 0 if marks is None else int(np.count_nonzero(marks))


def marks_mask(frame: np.ndarray) -> np.ndarray | None:
    """Where a colour frame shows white or grey marks on its colour (:func:`burned_in_marks`), as a Y x X mask;
    None for grey frames and colour frames with nothing bright in colour (a grey picture, whose nuclei are white).

    Example:
        >>> rgb = np.zeros((40, 40, 3), np.uint8); rgb[4:20, 4:20] = (0, 200, 0); rgb[30:37, :] = 255
        >>> np.flatnonzero(marks_mask(rgb).any(axis=1)).tolist()
        [30, 31, 32, 33, 34, 35, 36]
    """
    if frame.ndim != 3 or frame.shape[-1] not in (3, 4):
        return None
    red, green, blue = frame[..., 0], frame[..., 1], frame[..., 2]  # per channel: 20x faster than min(axis=-1)
    low, high = np.minimum(np.minimum(red, green), blue), np.maximum(np.maximum(red, green), blue)
    peak = float(high.max())
    if peak <= 0:
        return None
    grey = (high - low) <= OVERLAY_SPREAD * peak
    if np.count_nonzero((high >= OVERLAY_LEVEL * peak) & ~grey) < OVERLAY_MIN_PIXELS:
        return None  # nothing bright in colour: a grey picture, whose nuclei are white
    return (low >= OVERLAY_LEVEL * peak) & grey
