"""Reference developmental time: the reference curves a model carries (StageCurves), the line from frame index
to reference time fitted to a movie, and the stage band; plus the temporal helpers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from devocore.errors import DevocoreError
from devocore.lineage.config import LINEAGES, MAX_COUNT


# Multiples of the prior's rate where the rate prior has equal modes ((1, 2, 3) would favour movies that keep
# every 2nd or 3rd frame too); one mode was chosen: extra modes did worse on training data.
STRIDES = (1,)


# Weight of the rate prior against the mean absolute log-count error; chosen on training data (the real
# training movie and the rendered EPIC tables the network never saw, whole and in clips) with
# tools/experiments/lineage_late.py.
PRIOR_STRENGTH = 0.003


# Past the last reference time where the network's bias is known (the card's ``timeline_bias.censor_from``),
# a frame whose estimate lies below the reference costs only this fraction of its error: crowded late frames
# are undercounted by an unknown amount, so they say "at least this far", not "this far". 1.0: no censoring, the
# choice on training clips for the embryo-crop network, which keeps counting late (0.3 suited the earlier network,
# whose late counts fell).
CENSOR_WEIGHT = 1.0


# ... but only while the estimate is short by at most this much log(1 + total): a frame far below the reference
# (a clip's early frames when the line slid late) pays its full error, so the line cannot escape into the
# censored part (np.inf: no cap).
CENSOR_CAP = np.inf


# A frame whose estimate already reaches what the network typically reports at ``censor_from``, placed by the
# line past ``censor_from``, costs this fraction of its error when its estimate lies ABOVE the line's (None:
# the full error). Beyond the known bias an estimate can be too high as well as too low; at full cost such
# frames pull a late clip's line too steep. An option (0.1 suited the earlier network); off by the choice on
# training clips (tools/experiments/lineage_late.py).
ABOVE_WEIGHT: float | None = None


# With a bias: the line may not place the clip's first frame later than where the typical estimate first exceeds
# the median of the first START_FRAMES estimates by START_MARGIN log(1 + total) (None: no bound). Only applied
# when that point lies before ``censor_from``. An option (0.3 suited the earlier network); off by the choice on
# training clips.
START_MARGIN: float | None = None


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
        if np.isfinite(censor_from) and (CENSOR_WEIGHT != 1.0 or ABOVE_WEIGHT is not None):  # else nothing changes
            past = tau > censor_from
            error = np.where(past & (diff < 0) & (diff >= -CENSOR_CAP), CENSOR_WEIGHT * error, error)
            if ABOVE_WEIGHT is not None:
                level = float(np.interp(censor_from, np.arange(len(ref)), ref))
                error = np.where(past & (diff > 0) & (y[None, :] >= level), ABOVE_WEIGHT * error, error)
        return (error * w[None, :]).sum(axis=1)

    @staticmethod
    def latest_start(y: np.ndarray, ref: np.ndarray, censor_from: float) -> float:
        """Latest reference time the first frame may have (:data:`START_MARGIN`; inf when unbounded).

        Example:
            >>> ref = np.linspace(0.0, 5.0, 51)  # typical estimate at reference steps 0..50
            >>> StageCurves.latest_start(np.full(9, 1.0), ref, 40.0)  # START_MARGIN None (the default): unbounded
            inf
            >>> import devocore.lineage.timeline as timeline; timeline.START_MARGIN = 0.3  # the option on
            >>> StageCurves.latest_start(np.full(9, 1.0), ref, 40.0)
            13.0
            >>> StageCurves.latest_start(np.full(9, 4.0), ref, 40.0)  # past censor_from: unbounded
            inf
            >>> timeline.START_MARGIN = None
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
        step = max(1, -(-len(frames) // 200))
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
