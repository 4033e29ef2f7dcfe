"""Which model fits an image (nuclei or membranes), and whether a result looks implausible."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from devocore import io
from devocore.errors import DevocoreError
from devocore.io.content import GUESS_MIN_PEAKS, GUESS_NOISE_MADS, GUESS_SIGMAS  # noqa: F401 (re-exported)
from devocore.segmentation.config import Result


def card_task(card: dict) -> str:
    """The target ("nucleus" or "membrane") of a model card (its ``target``, else its ``name``).

    Example:
        >>> card_task({"name": "my-cells", "target": "membrane"}), card_task({"name": "nucleus"})
        ('membrane', 'nucleus')
    """
    target = card.get("target") or card.get("name", "nucleus")
    return "membrane" if "membrane" in str(target) else "nucleus"


def task_of(model) -> str:
    """The target ("nucleus" or "membrane") of a loaded model, from its card."""
    return card_task(getattr(model, "card", {}) or {})


def model_for(task: str, models: Sequence[dict]) -> str | None:
    """The model to run for ``task``: the one named ``task``, else the first whose target is ``task``.

    Args:
        task: "nucleus" or "membrane".
        models: rows with ``name`` and optionally ``target`` (as ``ui_cache.models_table`` gives them).

    Example:
        >>> rows = [{"name": "my-nuc", "target": "nucleus"}, {"name": "my-cells", "target": "membrane"}]
        >>> model_for("membrane", rows), model_for("nucleus", rows), model_for("nucleus", rows[1:])
        ('my-cells', 'my-nuc', None)
    """
    names = [row["name"] for row in models]
    if task in names:
        return task
    return next((row["name"] for row in models if card_task(row) == task), None)


def unfit(plane: np.ndarray, what: str) -> str | None:
    """A warning when ``plane`` (grey or RGB) is not a microscope image to segment, naming it ``what``; or None.

    The reasons are :func:`devocore.io.content_problem`'s (an empty image, a mask or label image, bright field),
    for which a Batch run skips a file; a single image is segmented all the same, with this warning.

    Example:
        >>> print(unfit(np.zeros((8, 8), np.uint8), "'blank.png'"))  # doctest: +NORMALIZE_WHITESPACE
        'blank.png' does not look like a fluorescence microscope image: one value (0) in every pixel:
        an empty image. Its segmentation likely means nothing.
        >>> unfit(np.random.default_rng(0).poisson(5.0, (32, 32)), "'nuclei.png'") is None
        True
    """
    problem = io.content_problem(plane)
    return (f"{what} does not look like a fluorescence microscope image: {problem}. Its segmentation likely means "
            "nothing.") if problem else None


def marks_note(plane: np.ndarray, what: str) -> str | None:
    """A note when a colour ``plane`` carries white or grey marks (:func:`devocore.io.burned_in_marks`: a time
    stamp, scale bar or text burned in), naming it ``what``; else None.

    Example:
        >>> rgb = np.zeros((40, 40, 3), np.uint8); rgb[4:20, 4:20] = (0, 200, 0); rgb[30:37, :] = 255
        >>> marks_note(rgb, "'a.png'")[:68], marks_note(rgb[..., 1], "'a.png'")
        ("'a.png' carries white or grey marks on its colour (about 280 pixels)", None)
    """
    marks = io.burned_in_marks(plane)
    if marks < io.OVERLAY_MIN_PIXELS:
        return None
    return (f"{what} carries white or grey marks on its colour (about {marks:,} pixels): a time stamp, scale bar or "
            "text burned in? They may be segmented as objects: crop them away, or give the picture without them.")


def other_kind(planes: Iterable[np.ndarray], task: str) -> str | None:
    """A note when ``planes`` look like the other kind of image than ``task`` ("nucleus" or "membrane") by
    :func:`guess_from_planes`, else None.

    Example:
        >>> yy, xx = np.mgrid[0:128, 0:128]
        >>> lines = ((np.abs(yy - 64) < 2) | (np.abs(xx - 40) < 2) | (np.abs(xx - 100) < 2)).astype(float)
        >>> other_kind([lines], "nucleus"), other_kind([lines], "membrane")
        ('looks like membranes, not nuclei: check the task and the results', None)
    """
    looks = guess_from_planes(planes)
    if looks == task:
        return None
    kinds = {"nucleus": "nuclei", "membrane": "membranes"}
    return f"looks like {kinds[looks]}, not {kinds[task]}: check the task and the results"


#: A plane whose frame is at least this many times the box around its embryo (:func:`devocore.io.embryo_box`)
#: along each axis gets :func:`field_note`, per task. Measured by `tools/experiments/segmentation_field.py`: the
#: membrane model's training slices (CShaper) give 1.05-1.51 (median 1.14), the bundled membrane example set in a
#: field twice as wide 1.97, and there the model finds 3 of its 7 cells. Nuclei mark only part of an early embryo,
#: so their box runs smaller: the nucleus model's training slices (CTC) give 1.00-2.29 (median 1.20), the bundled
#: nuclei example 2.13 as it is (11 nuclei found), 2.76 in a field 1.5 times as wide (11 found) and 3.56 in one
#: twice as wide (4 found).
FIELD_NOTE_RATIO = {"membrane": 1.8, "nucleus": 3.0}
#: The median of that measure over the membrane model's training slices: the zoom :func:`field_note` suggests makes
#: a membrane image's embryo fill this share again (the bundled membrane example, set in a field twice as wide,
#: measures 1.97: zoom 2 finds its 7 cells, zoom 1 3).
EMBRYO_FILL_RATIO = 1.14


def field_note(plane: np.ndarray, task: str, what: str, zoom: float = 1.0) -> str | None:
    """A note when ``plane`` shows its embryo small in a wide field (:data:`FIELD_NOTE_RATIO`), naming it ``what``;
    else None, and None when it is segmented at a ``zoom`` other than 1 (the fix the note names is taken). The
    network sees every plane at 256 px, so such an embryo's cells or nuclei come out too small for it, and it misses
    or merges them.

    Example:
        >>> yy, xx = np.mgrid[0:512, 0:512]
        >>> wide = (np.abs(np.hypot(yy - 256, xx - 256) - 90) < 3).astype(np.float32)  # one ring, 180 px across
        >>> field_note(wide, "membrane", "'wide.png'")[:63], field_note(wide, "nucleus", "'wide.png'")
        ("'wide.png' shows the embryo in about 47 % of its width and 47 %", None)
    """
    if task not in FIELD_NOTE_RATIO or zoom != 1:
        return None
    gray = io.to_gray(np.asarray(plane))
    box = io.embryo_box(gray) if gray.ndim == 2 else None
    if box is None:
        return None
    y0, y1, x0, x1 = box
    tall, wide = gray.shape[0] / max(1, y1 - y0), gray.shape[1] / max(1, x1 - x0)
    if min(tall, wide) < FIELD_NOTE_RATIO[task]:
        return None
    # the zoom that gives the embryo its training slices' share of the frame (membranes; nuclei: at least 2)
    zoom = max(1.5, math.ceil(2 * min(tall, wide) / EMBRYO_FILL_RATIO) / 2) if task == "membrane" else 2
    fix = ("Crop the image to the embryo (Fiji: draw a rectangle around it, Image > Crop) and segment the crop, or "
           f"segment it zoomed (Zoom {'about' if task == 'membrane' else 'at least'} {zoom:g} on the Segmentation "
           f"page; `segment --zoom {zoom:g}`, or for a folder `batch --zoom {zoom:g}`).")
    if task == "membrane":
        return (f"{what} shows the embryo in about {100 / wide:.0f} % of its width and {100 / tall:.0f} % of its "
                "height; the membrane model was trained on images the embryo fills, and in a field this wide it may "
                f"miss or merge cells. {fix}")
    return (f"{what} shows nuclei in only about {100 / wide:.0f} % of its width and {100 / tall:.0f} % of its "
            "height. If the embryo is small in a wide field, the nucleus model (trained on images the embryo fills) "
            f"may miss or merge nuclei. {fix}")


def implausible(result: Result, image_task: str | None = None) -> str | None:
    """Why a result looks wrong to a biologist (one sentence), or None when nothing stands out.

    Fewer than 5 objects covering most of the plane, or one of them a quarter of it, is what a
    model of the wrong kind gives (a membrane model on the nuclei example finds 3 "cells", one
    35 % of the image); ``image_task``, the image's guessed kind (:func:`guess_task`), names the
    likely cause.

    Example:
        >>> from devocore.segmentation.cells import measure
        >>> labels = np.zeros((40, 40), np.uint16); labels[:, :20] = 1; labels[:, 20:] = 2
        >>> result = Result(np.zeros((40, 40), np.float32), labels, measure(labels), 0.5, "membrane")
        >>> implausible(result, "nucleus")
        'Only 2 cells cover 100% of the image, which is implausible: this image looks like nuclei; try a nucleus model.'
    """
    if result.count >= 5 or not result.labels.size:
        return None
    covered = float(result.mask.mean())
    labels = result.labels
    counts = np.zeros(int(labels.max()) + 1, np.int64)  # counted in row blocks: no int64 copy of a huge plane
    rows = labels.reshape(labels.shape[0], -1) if labels.ndim > 1 else labels.reshape(1, -1)
    for start in range(0, rows.shape[0], 256):
        counts += np.bincount(rows[start:start + 256].ravel(), minlength=counts.size)
    largest = float(counts[1:].max(initial=0)) / labels.size
    if covered <= 0.5 and largest <= 0.25:
        return None
    what = "nuclei" if result.task == "nucleus" else "cells"
    if image_task and image_task != result.task:
        looks = "nuclei" if image_task == "nucleus" else "membranes"
        hint = f"this image looks like {looks}; try a {image_task} model."
    else:
        hint = "check that the model fits the image (nuclei or membranes) and try another threshold."
    return f"Only {result.count} {what} cover {covered:.0%} of the image, which is implausible: {hint}"


GUESS_BLOB_RATIO = io.MEMBRANE_BLOB_RATIO  # below it, thin lines: membranes; at or above, round blobs: nuclei


def guess_task(image: np.ndarray, planes: int = 5) -> str:
    """Whether an image shows nuclei or membranes: "nucleus" or "membrane".

    Nuclei are bright compact blobs on a dark background; membranes are thin bright lines
    forming a network. At each bright structure (a local maximum of the scale-normalised
    Hessian response, over widths 1.5..8 px) the ratio of the two curvatures is near 1 for
    a blob and near 0 for a line (:func:`devocore.io.blob_ratio`); the strength-weighted mean ratio below
    ``GUESS_BLOB_RATIO`` (:data:`devocore.io.MEMBRANE_BLOB_RATIO`, 0.24) means membranes. An image with almost
    nothing standing out of the noise counts as nuclei. Separates every real CTC nucleus slice (ratios >= 0.356),
    CShaper membrane slice (<= 0.196) and EPIC movie frame (>= 0.25 but the last frame of one, 0.18) of the
    training and evaluation data; 17 of 400 simulated slices fall on the wrong side.

    Args:
        image: one plane (Y x X grey or Y x X x 3 RGB) or a stack / video (N x Y x X), any dtype.
        planes: for a stack, how many evenly spaced planes vote (planes with nothing to judge abstain).

    Example:
        >>> yy, xx = np.mgrid[0:128, 0:128]
        >>> blobs = sum(np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 30.0) for y, x in [(30, 30), (30, 90), (90, 60)])
        >>> lines = ((np.abs(yy - 64) < 2) | (np.abs(xx - 40) < 2) | (np.abs(xx - 100) < 2)).astype(float)
        >>> guess_task(blobs), guess_task(lines), guess_task(np.zeros((64, 64)))
        ('nucleus', 'membrane', 'nucleus')
    """
    image = np.asarray(image)
    if image.ndim == 2 or (image.ndim == 3 and image.shape[-1] in (3, 4)):
        stack = [image]
    elif image.ndim == 3:
        stack = [image[i] for i in voting_planes(len(image), planes)]
    else:
        raise DevocoreError(f"Expected an image (Y x X) or a stack (N x Y x X), got an array of shape {image.shape}.")
    return guess_from_planes(stack)


def voting_planes(count: int, planes: int = 5) -> list[int]:
    """Indices of the evenly spaced planes of a ``count``-plane stack that vote in :func:`guess_task`.

    Example:
        >>> voting_planes(31)
        [0, 8, 15, 22, 30]
    """
    return np.unique(np.linspace(0, count - 1, max(1, planes)).round().astype(int)).tolist()


def guess_from_planes(planes: Iterable[np.ndarray]) -> str:
    """:func:`guess_task`'s vote over planes given one at a time (a large stack's :func:`voting_planes`,
    decoded as they are needed)."""
    votes = [ratio < GUESS_BLOB_RATIO for ratio in map(io.blob_ratio, planes) if not np.isnan(ratio)]
    return "membrane" if votes and sum(votes) > len(votes) / 2 else "nucleus"


#: What each channel of a plane shows, by the blob ratio of its bright structures.
CHANNEL_KINDS = {"nucleus": "nuclei", "membrane": "membranes"}


def channel_kinds(plane: np.ndarray) -> list[str]:
    """What each channel of a Y x X x C plane shows: "nuclei", "membranes" or "little" (fewer than
    :data:`~devocore.io.content.GUESS_MIN_PEAKS` structures stand out of its noise); an RGBA plane's alpha is left
    out.

    Example:
        >>> yy, xx = np.mgrid[0:128, 0:128]
        >>> blobs = sum(np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 30.0) for y, x in [(30, 30), (30, 90), (90, 60)])
        >>> lines = ((np.abs(yy - 64) < 2) | (np.abs(xx - 40) < 2) | (np.abs(xx - 100) < 2)).astype(float)
        >>> channel_kinds(np.dstack([lines, blobs, np.zeros((128, 128))]))
        ['membranes', 'nuclei', 'little']
    """
    colour = plane[..., :3] if plane.shape[-1] == 4 else plane
    ratios = [io.blob_ratio(colour[..., c]) for c in range(colour.shape[-1])]
    return ["little" if np.isnan(r) else "membranes" if r < GUESS_BLOB_RATIO else "nuclei" for r in ratios]


def channel_for(kinds: Sequence[str], task: str | None = None) -> int | None:
    """The channel (from 0) to segment for ``task`` ("nucleus", "membrane"; None: nuclei if a channel shows them,
    else membranes) given :func:`channel_kinds`: in a colour picture green (GFP) first, else the first channel that
    shows the kind wanted; None (the mean of the channels) when none shows it.

    Example:
        >>> channel_for(["membranes", "nuclei"]), channel_for(["membranes", "nuclei"], "membrane")
        (1, 0)
        >>> channel_for(["nuclei", "nuclei", "little"]), channel_for(["little", "membranes"], "nucleus")
        (1, None)
    """
    wanted = CHANNEL_KINDS[task] if task else "nuclei" if "nuclei" in kinds else "membranes"
    order = [1, 0, 2] if len(kinds) == 3 else range(len(kinds))
    return next((c for c in order if kinds[c] == wanted), None)
