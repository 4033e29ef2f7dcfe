"""From a worm's mask to its midline: N ordered points from one end to the other.

The mask is thinned to a one-pixel skeleton; its longest path is the body
axis. That path is smoothed, extended along its end tangents to the mask's
tips (a skeleton stops about half a body width short of them), and resampled
to ``n_points`` points equally spaced along its arc. A worm that touches or
crosses itself has no single axis: those masks are reported as coiled, with
the reason, and get no midline.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np
from scipy import ndimage, sparse
from scipy.sparse import csgraph
from skimage.morphology import skeletonize

from devocore.tracking.segment import PALE_FRACTION, PALE_SIGMAS, Blob, fill_small_holes

log = logging.getLogger(__name__)

#: Share of a body's median contrast at which parts that meet only through blurred edges come apart.
CORE_LEVEL = 0.75
#: Depth (share of the body's median contrast) of a contrast valley that is cut as the seam between two
#: body parts lying side by side.
VALLEY_DEPTH = 0.1


@dataclass
class Midline:
    """A worm's body axis in frame pixels.

    Attributes:
        points: N x 2 float (x, y) from one end (``points[0]``) to the other; None when coiled.
        widths: N float body widths (pixels) at the points; None when coiled.
        length: arc length in pixels (nan when coiled).
        coiled: the worm touches or crosses itself; ``reason`` says how it was seen.
        reason: empty, or why there is no midline ("loop", "branch", "thick", "short").
        area: mask area in pixels.
    """

    points: np.ndarray | None
    widths: np.ndarray | None
    length: float
    coiled: bool = False
    reason: str = ""
    area: int = 0

    def flipped(self) -> "Midline":
        """The same midline listed from the other end."""
        if self.points is None:
            return self
        return Midline(self.points[::-1].copy(), self.widths[::-1].copy(), self.length, self.coiled,
                       self.reason, self.area)


def coiled_midline(reason: str, area: int = 0) -> Midline:
    """A Midline that says the worm is coiled (no points)."""
    return Midline(points=None, widths=None, length=float("nan"), coiled=True, reason=reason, area=area)


def longest_path(skeleton: np.ndarray) -> list[tuple[int, int]]:
    """Pixels (row, col) of the longest path through a skeleton, end to end.

    Two breadth-first searches (farthest pixel from anywhere, then farthest
    from that), exact on trees, which worm skeletons are; done on a sparse
    graph of the pixels' 8-neighbourhoods.

    Example:
        >>> s = np.zeros((5, 7), bool); s[2, 1:6] = True; s[1, 3] = True
        >>> p = longest_path(s); (p[0], p[-1], len(p)) in [((2, 1), (2, 5), 5), ((2, 5), (2, 1), 5)]
        True
    """
    rows, cols = np.nonzero(skeleton)
    n = len(rows)
    if n == 0:
        return []
    if n == 1:
        return [(int(rows[0]), int(cols[0]))]
    index = np.full((skeleton.shape[0] + 2, skeleton.shape[1] + 2), -1, np.int64)
    index[rows + 1, cols + 1] = np.arange(n)
    src, dst = [], []
    for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each undirected edge once
        other = index[rows + 1 + dr, cols + 1 + dc]
        keep = other >= 0
        src.append(np.nonzero(keep)[0])
        dst.append(other[keep])
    src, dst = np.concatenate(src), np.concatenate(dst)
    graph = sparse.coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)).tocsr()
    order = csgraph.breadth_first_order(graph, 0, directed=False, return_predecessors=False)
    far = int(order[-1])
    order, parent = csgraph.breadth_first_order(graph, far, directed=False, return_predecessors=True)
    node = int(order[-1])
    path = []
    while node >= 0:
        path.append((int(rows[node]), int(cols[node])))
        node = int(parent[node])
    return path


def arc_length(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length (N,) along N x 2 points, starting at 0."""
    steps = np.hypot(*np.diff(points, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(steps)])


def resample(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points equally spaced along the arc of N x 2 ``points``.

    Example:
        >>> resample(np.array([[0.0, 0.0], [10.0, 0.0]]), 3).tolist()
        [[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]]
    """
    s = arc_length(points)
    if s[-1] <= 0:
        return np.repeat(points[:1], n, axis=0)
    t = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])])


def trimmed(midline: Midline, length: float, from_start: bool) -> Midline:
    """The midline cut to ``length`` pixels of arc, dropping the rest at its first end (``from_start``) or its last.

    The cut midline keeps its number of points, equally spaced again, and its listing order.

    Example:
        >>> m = Midline(np.column_stack([np.linspace(0, 40, 5), np.zeros(5)]), np.ones(5), 40.0)
        >>> trimmed(m, 20.0, from_start=True).points[:, 0].tolist()
        [20.0, 25.0, 30.0, 35.0, 40.0]
    """
    pts, widths = (midline.points[::-1], midline.widths[::-1]) if from_start else (midline.points, midline.widths)
    s = arc_length(pts)
    t = np.linspace(0.0, min(length, s[-1]), len(pts))
    cut = np.column_stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])])
    cut_widths = np.interp(t, s, widths)
    if from_start:
        cut, cut_widths = cut[::-1], cut_widths[::-1]
    return Midline(cut.copy(), cut_widths.copy(), float(arc_length(cut)[-1]), area=midline.area)


def _extend(points: np.ndarray, mask: np.ndarray, back: float, limit: float, cone_deg: float = 50.0
            ) -> np.ndarray:
    """Prolong the end ``points[-1]`` to the tip of the mask ahead of it.

    The tip is the middle of the farthest mask pixels (within ``limit``) in a
    cone around the end's direction, so a blunt or slightly bent end still
    gets its midline to the centre of its tip. Only pixels joined to the end
    through the mask in that cone count: in a C-shaped worm whose ends face each
    other across a gap, the other end is not this end's tip.
    """
    s = arc_length(points)
    i = int(np.searchsorted(s, s[-1] - back))
    i = min(max(i, 0), len(points) - 2)
    direction = points[-1] - points[i]
    norm = float(np.hypot(*direction))
    if norm == 0:
        return points
    direction /= norm
    end = points[-1]
    r0, r1 = int(max(0, np.floor(end[1] - limit))), int(min(mask.shape[0], np.ceil(end[1] + limit) + 1))
    c0, c1 = int(max(0, np.floor(end[0] - limit))), int(min(mask.shape[1], np.ceil(end[0] + limit) + 1))
    window = mask[r0:r1, c0:c1].astype(bool)
    if not window.any():
        return points
    rows, cols = np.mgrid[r0:r1, c0:c1]
    vx, vy = cols - end[0], rows - end[1]
    dist = np.hypot(vx, vy)
    along = vx * direction[0] + vy * direction[1]
    near = dist <= 1.5
    ahead = window & (along > 0.5) & (along >= np.cos(np.radians(cone_deg)) * dist) & (dist <= limit)
    _, parts = cv2.connectedComponents((ahead | (window & near)).astype(np.uint8), connectivity=8)
    joined = np.unique(parts[near & window])
    ahead &= np.isin(parts, joined[joined > 0])
    if not ahead.any():
        return points
    far = ahead & (dist >= dist[ahead].max() - 1.0)
    tip = np.array([vx[far].mean(), vy[far].mean()]) + end
    return np.vstack([points, tip])


def _cut_end_forks(rc: np.ndarray, skeleton: np.ndarray, width: float) -> np.ndarray:
    """Cut a path (K x 2 row, col) at the last fork within 1.5 body widths of either end.

    A blunt end forks the skeleton into spurs towards its corners; the path
    follows one of them, off the body's axis. Cut there; the end is then
    prolonged along the axis.
    """
    if len(rc) < 8:
        return rc
    counts = cv2.filter2D(skeleton.astype(np.uint8), -1, np.ones((3, 3), np.float32),
                          borderType=cv2.BORDER_CONSTANT)
    junction = counts[rc[:, 0].astype(int), rc[:, 1].astype(int)] >= 4  # itself + 3 neighbours
    arc = arc_length(rc.astype(float))
    reach = 1.5 * width
    start, stop = 0, len(rc)
    near_start = np.nonzero(junction & (arc < reach))[0]
    near_stop = np.nonzero(junction & (arc > arc[-1] - reach))[0]
    if near_start.size:
        start = int(near_start.max())
    if near_stop.size:
        stop = int(near_stop.min()) + 1
    return rc[start:stop] if stop - start >= 8 else rc


def close_slits(mask: np.ndarray, contrast: np.ndarray | None = None, sigma: float = 0.0) -> np.ndarray:
    """Close slits and notches narrower than about half the body width (a pale core open at an end).

    The closing disk is sized from the mask itself: half of its widest part.
    With ``contrast`` given, a closed slit open to the plate is kept only where
    it still shows body contrast (median contrast above ``PALE_SIGMAS`` noise
    ``sigma`` and ``PALE_FRACTION`` of the body's median: a pale body core); a
    gap of plate between two body parts lying close, which their blurred edges
    lift well above the noise but not to a body's contrast, stays open, so they
    are not merged into one thick part. Small
    enclosed holes are closed whatever their contrast: inside a body it can read
    as plate (seen where a worm lies over an artefact of the background), and
    larger holes are left to :func:`~devocore.tracking.segment.fill_small_holes`.

    Example:
        >>> m = np.zeros((20, 40), bool); m[4:16, 3:37] = True; m[9:11, 3:12] = m[9:11, 26:37] = False
        >>> c = np.where(m, 50.0, 0.0).astype(np.float32); c[9:11, 3:12] = 20.0  # left slit: pale core
        >>> c[9:11, 26:37] = 6.0  # right slit: plate lit by the blurred edges around it
        >>> closed = close_slits(m, c, sigma=1.0)
        >>> bool(closed[9:11, 4:11].all()), bool(closed[9:11, 27:36].any())
        (True, False)
    """
    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)
    if not dist.any():
        return mask
    width = 2.0 * float(dist.max())
    k = int(max(3, round(0.5 * width))) | 1
    padded = np.pad(mask, k).astype(np.uint8)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    closed = closed[k:-k, k:-k].astype(bool)
    if contrast is None:
        return closed
    added = (closed & ~mask).view(np.uint8)
    n, labels = cv2.connectedComponents(added, connectivity=8)
    if n <= 1:
        return closed
    index = np.arange(1, n)
    enclosed = ndimage.minimum(ndimage.binary_fill_holes(mask), labels, index) > 0
    level = max(PALE_SIGMAS * sigma, PALE_FRACTION * float(np.median(contrast[mask])))
    pale = ndimage.median(contrast, labels, index) > level
    return mask | np.concatenate([[False], enclosed | pale])[labels]


def core_mask(blob: Blob, level: float = CORE_LEVEL) -> np.ndarray:
    """The blob's pixels whose lightly smoothed contrast reaches ``level`` of its median contrast.

    Example:
        >>> c = np.zeros((9, 15), np.float32); c[1:8, 1:7] = c[1:8, 8:14] = 40; c[2:7, 7] = 15  # a faint bridge
        >>> b = Blob(mask=c > 10, contrast=c, x0=0, y0=0, area=89, centroid=(7.0, 4.0))
        >>> bool(core_mask(b)[4, 7]), bool(core_mask(b)[4, 3])
        (False, True)
    """
    smooth = cv2.GaussianBlur(blob.contrast, (3, 3), 0.7)
    return blob.mask & (smooth > level * float(np.median(blob.contrast[blob.mask])))


def valley_cut(blob: Blob, width: float, depth: float = VALLEY_DEPTH, around_holes: bool = False) -> Blob:
    """The blob with the seams between body parts lying side by side cut out.

    A tail folded back along the body leaves a narrow line of lower contrast
    between the two parts, too shallow for a global level (the body's own
    contrast varies more along it) but plain against the pixels a quarter of a
    body width to either side. Pixels whose smoothed contrast lies at least
    ``depth`` of the median contrast under both such neighbours, along any of
    four directions, are removed from the mask and their contrast set to 0 (so
    that :func:`close_slits` does not close the cut again). With
    ``around_holes``, only seams that come within 2 px of plate enclosed by
    the blob are cut.

    Example:
        >>> c = np.zeros((12, 30), np.float32); c[1:11, 1:29] = 40; c[5:7, 1:25] = 30  # a seam from the left
        >>> cut = valley_cut(Blob(mask=c > 10, contrast=c, x0=0, y0=0, area=280, centroid=(15.0, 6.0)), width=8)
        >>> bool(cut.mask[5, 10]), bool(cut.mask[2, 10]), bool(cut.mask[5, 28])
        (False, True, True)
    """
    reach = max(2, int(round(0.25 * width)))
    smooth = cv2.GaussianBlur(blob.contrast.astype(np.float32), (0, 0), 0.8)
    padded = np.pad(smooth, reach, mode="constant")
    h, w = smooth.shape
    valley = np.zeros_like(smooth)
    for dy, dx in ((0, reach), (reach, 0), (reach, reach), (reach, -reach)):
        ahead = padded[reach + dy:reach + dy + h, reach + dx:reach + dx + w]
        behind = padded[reach - dy:reach - dy + h, reach - dx:reach - dx + w]
        valley = np.maximum(valley, np.minimum(ahead, behind) - smooth)
    seam = blob.mask & (valley > depth * float(np.median(blob.contrast[blob.mask])))
    if around_holes:
        # only seams that reach the plate enclosed by the body: where a ring is closed
        holes = ndimage.binary_fill_holes(blob.mask) & ~blob.mask
        _, pieces = cv2.connectedComponents(seam.astype(np.uint8), connectivity=8)
        closing = np.unique(pieces[seam & ndimage.binary_dilation(holes, iterations=2)])
        seam = np.isin(pieces, closing[closing > 0])
    return replace(blob, mask=blob.mask & ~seam, contrast=np.where(seam, 0, blob.contrast).astype(blob.contrast.dtype))


def core_parts(blob: Blob, level: float, min_area: int) -> list[Blob]:
    """The blob cut along the gaps of its :func:`core_mask` at ``level``.

    Core pieces of at least ``min_area`` pixels are seeds; every pixel of the
    blob goes to the nearest seed, so each part gets back its blurred edge.
    Fewer than two seeds give no parts. Parts keep the blob's box.

    Example:
        >>> c = np.zeros((9, 15), np.float32); c[1:8, 1:7] = c[1:8, 8:14] = 40; c[2:7, 7] = 15  # a faint bridge
        >>> b = Blob(mask=c > 10, contrast=c, x0=0, y0=0, area=89, centroid=(7.0, 4.0))
        >>> sorted(part.area for part in core_parts(b, 0.75, min_area=10))
        [42, 47]
    """
    core = core_mask(blob, level)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(core.view(np.uint8), connectivity=8)
    seeds = [k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] >= min_area]
    if len(seeds) < 2:
        return []
    labels[~np.isin(labels, seeds)] = 0
    _, (rows, cols) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    nearest = labels[rows, cols]
    parts = []
    for k in seeds:
        mask = blob.mask & (nearest == k)
        ys, xs = np.nonzero(mask)
        parts.append(replace(blob, mask=mask, area=int(mask.sum()),
                             centroid=(float(xs.mean()) + blob.x0, float(ys.mean()) + blob.y0)))
    return parts


def extract_midline(blob: Blob, n_points: int = 49, ref_length: float | None = None,
                    ref_width: float | None = None) -> Midline:
    """The midline of one blob, or a coiled Midline saying why there is none.

    Two parts of a body lying close merge at the half-maximum boundary through
    their blurred edges. So when the worm's usual length is known, a blob seen
    as too thick is tried once more on its :func:`core_mask`, where such parts
    come apart, and then (when its usual width is known too) with the seam
    between them cut out (:func:`valley_cut`); a blob enclosing plate (a loop)
    is tried with the seams that reach the enclosed plate cut, which opens a
    ring closed only by a tail or head lying against the body. Parts that truly
    touch or cross stay merged and the worm stays coiled.

    Args:
        blob: from :func:`devocore.tracking.segment.find_blobs`.
        n_points: number of points returned.
        ref_length: the worm's usual length (pixels) when known: a much shorter
            skeleton means the body folds on itself.
        ref_width: the worm's usual width; a much thicker part means two body
            parts lie side by side.
    """
    midline = _midline_of(blob, n_points, ref_length, ref_width)
    if midline.coiled:
        for candidate in _retries(blob, midline.reason, ref_length, ref_width):
            retry = _midline_of(candidate, n_points, ref_length, ref_width)
            if not retry.coiled:
                return retry
    return midline


def _retries(blob: Blob, reason: str, ref_length: float | None, ref_width: float | None) -> Iterator[Blob]:
    """The blob cut where parts of one body may only lie close, in the order :func:`extract_midline` tries them."""
    if not ref_length:
        return
    if reason == "thick":
        yield replace(blob, mask=core_mask(blob))
        if ref_width:
            yield valley_cut(blob, ref_width)
    elif reason == "loop" and ref_width:
        yield valley_cut(blob, ref_width, around_holes=True)


def _midline_of(blob: Blob, n_points: int, ref_length: float | None, ref_width: float | None) -> Midline:
    """:func:`extract_midline` on the blob's own mask."""
    mask, largest_hole = fill_small_holes(close_slits(blob.mask, blob.contrast, blob.sigma),
                                          contrast=blob.contrast, sigma=blob.sigma)
    area = int(mask.sum())
    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    skeleton = skeletonize(mask)
    path = longest_path(skeleton)
    if len(path) < 4:
        return coiled_midline("short", area)
    rc = np.array(path, dtype=float)
    half = dist[rc[:, 0].astype(int), rc[:, 1].astype(int)]
    width = 2.0 * float(np.median(half))
    if largest_hole > max(4.0, 0.1 * width * width):
        return coiled_midline("loop", area)
    off_path = skeleton.copy()
    off_path[rc[:, 0].astype(int), rc[:, 1].astype(int)] = False
    if off_path.any():
        n_lab, lab = cv2.connectedComponents(off_path.astype(np.uint8), connectivity=8)
        sizes = np.bincount(lab.ravel())[1:]
        if sizes.size and sizes.max() > 1.5 * width:
            return coiled_midline("branch", area)
    usual_width = ref_width if ref_width else width
    if np.percentile(2.0 * half, 95) > 1.9 * usual_width:
        return coiled_midline("thick", area)

    xy = _cut_end_forks(rc, skeleton, width)[:, ::-1]
    dense = resample(xy, max(4, int(np.ceil(arc_length(xy)[-1])) + 1))
    sigma = max(1.0, 0.25 * width)
    if len(dense) > 6:
        dense = np.column_stack([ndimage.gaussian_filter1d(dense[:, k], sigma, mode="nearest") for k in (0, 1)])
    # The last pixels of a skeleton bend towards a corner of the end: drop them and
    # prolong the body's own direction instead.
    trim = 0.3 * width
    arc = arc_length(dense)
    if arc[-1] > 6 * trim:
        dense = dense[(arc >= trim) & (arc <= arc[-1] - trim)]
    back = max(2.0, 0.75 * width)
    dense = _extend(dense, mask, back, limit=3.0 * width)
    dense = _extend(dense[::-1], mask, back, limit=3.0 * width)[::-1]
    points = resample(dense, n_points)
    length = float(arc_length(points)[-1])
    if ref_length and length < 0.75 * ref_length:
        return coiled_midline("short", area)
    if area > 1.6 * length * width + 4 * width * width:
        return coiled_midline("thick", area)
    # the distance to the nearest background pixel centre overshoots the edge by half a pixel
    widths = np.maximum(2.0 * _bilinear(dist, points) - 1.0, 0.0)
    points = points + np.array([blob.x0, blob.y0], dtype=float)
    return Midline(points=points, widths=widths, length=length, area=area)


def _bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return ndimage.map_coordinates(image, [xy[:, 1], xy[:, 0]], order=1, mode="nearest")
