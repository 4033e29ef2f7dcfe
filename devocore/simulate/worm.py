"""Crawling C. elegans on an agar plate, with exact ground truth.

The body is a midline of fixed arc length that *follows its own leading end*:
the leading end (the head when crawling forward, the tail in a reversal) lays
down a path whose heading oscillates as a sine of the distance travelled, and
the rest of the body slides along that path, as on agar where the body hardly
slips sideways. So the undulation is a travelling wave that runs head to tail
in forward crawling and tail to head in reversals, and the head truly is the
anterior end of the body.

Behaviour is a small state machine per worm: forward runs with wandering speed
and direction, pauses, reversals, and omega-like turns (a tight loop of the
head, often right after a reversal). Except in reversals the head also sweeps
from side to side (foraging) on top of the body wave. Near the frame's border
the leading end steers back towards the centre (unless ``bounded=False``), so
worms stay mostly in view but cross the border now and then.

Conventions: pixel coordinates, x = column, y = row, (0, 0) the centre of the
top-left pixel (as in OpenCV). Frames are H x W uint8 grey. Midlines run from
head to tail at equal arc-length steps.

Example:
    >>> video = simulate_video(seed=1, n_frames=3, n_worms=2, size=(120, 160), length_px=60)
    >>> frame = next(video.frames())
    >>> frame.shape, frame.dtype.name
    ((120, 160), 'uint8')
    >>> len(video.truth), list(video.truth.columns[:4])
    (6, ['frame', 'worm', 'head_x', 'head_y'])
"""
from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from devocore.config import LIMITS
from devocore.errors import DevocoreError

log = logging.getLogger(__name__)

N_MIDLINE = 49
BEHAVIOURS = ("forward", "reverse", "turn", "pause")
FORWARD, REVERSE, TURN, PAUSE = range(4)
TRUTH_COLUMNS = ["frame", "worm", "head_x", "head_y", "tail_x", "tail_y", "centroid_x", "centroid_y",
                 "length_px", "in_view", "touching", "width_px", "speed_px_s", "behaviour"]
TOUCH_GAP_PX = 1.0  # bodies closer than this look merged once blurred


def midline_columns(n_points: int = N_MIDLINE) -> list[str]:
    """Names of the midline columns of the truth table: all x (head first), then all y.

    >>> midline_columns(3)
    ['mid_x_00', 'mid_x_01', 'mid_x_02', 'mid_y_00', 'mid_y_01', 'mid_y_02']
    """
    return [f"mid_x_{i:02d}" for i in range(n_points)] + [f"mid_y_{i:02d}" for i in range(n_points)]


def width_profile(u: np.ndarray) -> np.ndarray:
    """Relative body width (max 1) at arc-length fraction ``u`` from the head (0) to the tail (1).

    The head is blunt and rounded, the tail a long pointed taper, as in adults.

    >>> np.round(width_profile(np.array([0.0, 0.5, 1.0])), 2).tolist()
    [0.25, 1.0, 0.06]
    """
    u = np.asarray(u, dtype=float)
    head = 0.25 + 0.75 * np.sin(0.5 * np.pi * np.clip(u / 0.25, 0.0, 1.0))
    tail = np.clip((1.0 - u) / 0.38, 0.0, 1.0) ** 0.85
    return np.maximum(np.minimum(head, tail), 0.06)


def half_widths(points: np.ndarray, width: float) -> np.ndarray:
    """Half-width of the body (px) at each point of a midline (head first) of maximum ``width``.

    The :func:`width_profile`, narrowed within a few pixels of each end so that the drawn body
    ends exactly at the first and last midline points: the truth's head is the body's tip.

    >>> half_widths(np.array([[0.0, 0], [1, 0], [50, 0], [99, 0], [100, 0]]), 10.0).round(2).tolist()
    [0.0, 1.0, 5.0, 0.3, 0.0]
    """
    c = _arc(points)
    radii = 0.5 * width * width_profile(c / max(c[-1], 1e-12))
    return np.minimum(radii, np.minimum(c, c[-1] - c))


# ----------------------------------------------------------------------------- appearance

@dataclass(frozen=True)
class WormAppearance:
    """How the plate and the worms look; grey levels 0-255. The frame size is given to :func:`simulate_video`.

    Attributes:
        dark_on_light: brightfield look (dark worm on a light plate); False gives light worms on a dark plate.
        background: mean grey level of the plate.
        contrast: fraction of the gap between the plate and black (dark on light) or white
            (light on dark) that the middle of the body covers.
        illumination: relative fall-off of the light from its brightest spot to the farthest corner.
        noise_sd: sd of the per-frame Gaussian noise, grey levels.
        n_specks: dirt specks (dust, bubbles, debris) on the plate.
        blur_sigma: Gaussian blur of the optics, px.
        head_lightness: the head (pharynx) is this fraction less contrasted than the mid-body.
        core_lightness: the body's core is this fraction less contrasted than its edges.
        flicker: sd of the frame-to-frame brightness change, relative.
    """

    dark_on_light: bool = True
    background: float = 150.0
    contrast: float = 0.55
    illumination: float = 0.12
    noise_sd: float = 3.0
    n_specks: int = 30
    blur_sigma: float = 0.9
    head_lightness: float = 0.15
    core_lightness: float = 0.3
    flicker: float = 0.01

    def __post_init__(self):
        checks = {"background": 0 <= self.background <= 255, "contrast": 0 < self.contrast <= 1,
                  "illumination": 0 <= self.illumination < 1, "noise_sd": self.noise_sd >= 0,
                  "n_specks": self.n_specks >= 0, "blur_sigma": self.blur_sigma >= 0,
                  "head_lightness": 0 <= self.head_lightness < 1, "core_lightness": 0 <= self.core_lightness < 1,
                  "flicker": self.flicker >= 0}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise DevocoreError(f"Worm appearance out of range: {', '.join(bad)} ({self}).")


def sample_appearance(rng: np.random.Generator) -> WormAppearance:
    """A random but realistic look, for training trackers on varied videos.

    Mostly brightfield (4 in 5), over the range of plate brightness, contrast, blur and noise
    seen on worm trackers.

    >>> sample_appearance(np.random.default_rng(0)) == sample_appearance(np.random.default_rng(0))
    True
    """
    dark = bool(rng.random() < 0.8)
    return WormAppearance(
        dark_on_light=dark,
        background=float(rng.uniform(110, 210) if dark else rng.uniform(10, 60)),
        contrast=float(rng.uniform(0.3, 0.7) if dark else rng.uniform(0.25, 0.6)),
        illumination=float(rng.uniform(0.0, 0.3)),
        noise_sd=float(rng.uniform(1.0, 8.0)),
        n_specks=int(rng.integers(0, 90)),
        blur_sigma=float(rng.uniform(0.5, 2.0)),
        head_lightness=float(rng.uniform(0.05, 0.25)),
        core_lightness=float(rng.uniform(0.0, 0.35)),
        flicker=float(rng.uniform(0.0, 0.02)),
    )


# ----------------------------------------------------------------------------- kinematics

@dataclass(frozen=True)
class Kinematics:
    """Crawling behaviour in body lengths (L) and seconds; each worm draws its own values around these.

    Attributes:
        forward_speed: mean forward speed, L/s (adults crawl about 0.1-0.3 mm/s).
        reverse_speed: mean reversal speed, L/s.
        wavelength: wavelength of the body wave, L.
        amplitude_rad: peak angle between the path and its mean direction, rad.
        run_s: mean duration of a forward run, s.
        reverse_s: mean duration of a reversal, s.
        pause_prob: chance that a run ends in a pause rather than a reversal.
        omega_prob: chance that a reversal is followed by an omega-like turn.
        wander: sd of the slow curvature of the path, rad per L.
        forage_rad: peak angle of the foraging head sweep (the bend of the neck), rad.
        forage_hz: frequency of the head sweep, Hz.
        neck: anterior share of the body that bends in a head sweep, L.
    """

    forward_speed: float = 0.2
    reverse_speed: float = 0.28
    wavelength: float = 0.65
    amplitude_rad: float = 0.8
    run_s: float = 12.0
    reverse_s: float = 1.8
    pause_prob: float = 0.15
    omega_prob: float = 0.5
    wander: float = 0.35
    # Foraging: crawling worms sweep the head from side to side on top of the body wave, faster
    # than the wave travels (Hart 2006, WormBook, "Behavior"), and suppress these head oscillations
    # while reversing (Alkema et al. 2005, Neuron 46:247, shown for reversals evoked by touch).
    # The bend sits in the head and neck, about the pharynx's share of an adult's length (1/8).
    # Amplitude and frequency are order-of-magnitude choices, not fitted to any recording.
    forage_rad: float = 0.5
    forage_hz: float = 1.5
    neck: float = 0.125


def _wrap(angle):
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _arc(pts: np.ndarray) -> np.ndarray:
    """Cumulative arc length along a polyline, starting at 0."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])


def resample(pts: np.ndarray, n: int) -> np.ndarray:
    """``n`` points at equal arc-length steps along the polyline ``pts`` (M x 2), ends kept.

    >>> resample(np.array([[0.0, 0.0], [4.0, 0.0]]), 3).tolist()
    [[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]]
    """
    c = _arc(pts)
    s = np.linspace(0.0, c[-1], n)
    return np.column_stack([np.interp(s, c, pts[:, 0]), np.interp(s, c, pts[:, 1])])


def _keep_length(pts: np.ndarray, length: float) -> np.ndarray:
    """The first ``length`` of arc of ``pts``, cut exactly (the lead end is ``pts[0]``)."""
    c = _arc(pts)
    if c[-1] <= length:
        return pts
    k = int(np.searchsorted(c, length))
    f = (length - c[k - 1]) / max(c[k] - c[k - 1], 1e-12)
    end = pts[k - 1] + f * (pts[k] - pts[k - 1])
    return np.vstack([pts[:k], end[None]])


class _Crawler:
    """One worm's body and behaviour. ``pts`` is a dense polyline from head to tail, in px."""

    def __init__(self, rng: np.random.Generator, length: float, width: float, kin: Kinematics, fps: float):
        self.rng, self.L, self.width, self.fps = rng, float(length), float(width), float(fps)
        jitter = lambda: rng.uniform(0.85, 1.15)  # noqa: E731 - individual variation
        self.fwd_speed = kin.forward_speed * self.L * jitter()
        self.rev_speed = kin.reverse_speed * self.L * jitter()
        self.lam = kin.wavelength * self.L * jitter()
        self.amp = kin.amplitude_rad * jitter()
        self.kin = kin
        self.h = self.L / 150.0  # path step, px
        n = int(math.ceil(self.L / self.h)) + 1
        self.pts = np.column_stack([np.linspace(0.0, -self.L, n), np.zeros(n)])
        self.direction, self.theta = 1, 0.0
        # the wave's phase starts at 0 or pi so that the path's mean direction is exactly
        # theta - amp * sin(psi) (see _steer)
        self.psi = float(rng.choice([0.0, np.pi]))
        self.kappa_wander, self.speed_ou = 0.0, 0.0
        self.turn_kappa, self.turn_left = 0.0, 0.0
        self.state, self.timer = FORWARD, self._duration(FORWARD)
        self.v = self.fwd_speed
        # a child stream, so that the head sweep leaves every seed's locomotion as it was
        sweep = rng.spawn(1)[0]
        self.forage_amp = kin.forage_rad * sweep.uniform(0.7, 1.3)
        self.forage_hz = kin.forage_hz * sweep.uniform(0.8, 1.2)
        self.forage_phase = sweep.uniform(0.0, 2 * np.pi)
        self.forage_level = 1.0  # share of the full sweep now: it fades out in reversals

    # -- behaviour
    def _duration(self, state: int) -> float:
        rng, kin = self.rng, self.kin
        if state == FORWARD:
            return max(1.0, rng.exponential(kin.run_s))
        if state == REVERSE:
            return 0.5 + rng.exponential(max(kin.reverse_s - 0.5, 0.1))
        if state == PAUSE:
            return rng.uniform(0.5, 2.5)
        return 8.0  # a turn ends when its angle is done; this is only a safeguard

    def _enter(self, state: int) -> None:
        self.state, self.timer = state, self._duration(state)
        if state == TURN:
            radius = self.L * self.rng.uniform(0.12, 0.2)
            self.turn_kappa = self.rng.choice([-1.0, 1.0]) / radius
            self.turn_left = self.rng.uniform(0.8, 1.2) * np.pi

    def _next_state(self) -> int:
        r = self.rng.random()
        if self.state == FORWARD:
            return PAUSE if r < self.kin.pause_prob else REVERSE
        if self.state == REVERSE:
            return TURN if r < self.kin.omega_prob else FORWARD
        if self.state == PAUSE:
            return REVERSE if r < 0.3 else FORWARD
        return FORWARD

    def _target_speed(self) -> float:
        if self.state == FORWARD:
            return self.fwd_speed * max(0.2, 1.0 + 0.25 * self.speed_ou)
        if self.state == REVERSE:
            return -self.rev_speed
        if self.state == TURN:
            return self.fwd_speed
        return 0.0

    # -- motion
    def step(self, dt: float, bounds: tuple[int, int] | None) -> None:
        """Advance by ``dt`` seconds; ``bounds`` = (H, W) makes the leading end steer back into view."""
        self.timer -= dt
        if self.timer <= 0 or (self.state == TURN and self.turn_left <= 0):
            self._enter(self._next_state())
        tau = 3.0  # s, correlation time of speed changes within a run
        self.speed_ou += -self.speed_ou * dt / tau + math.sqrt(2 * dt / tau) * self.rng.standard_normal()
        self.v += (self._target_speed() - self.v) * (1.0 - math.exp(-dt / 0.25))
        self.forage_phase = (self.forage_phase + 2 * np.pi * self.forage_hz * dt) % (2 * np.pi)
        target = 0.0 if self.state == REVERSE else 1.0
        self.forage_level += (target - self.forage_level) * (1.0 - math.exp(-dt / 0.3))
        self.advance(self.v * dt, bounds)

    def _lead(self) -> tuple[np.ndarray, np.ndarray]:
        """Leading point and the point a few steps behind it."""
        k = min(3, len(self.pts) - 1)
        return (self.pts[0], self.pts[k]) if self.direction > 0 else (self.pts[-1], self.pts[-1 - k])

    def advance(self, distance: float, bounds: tuple[int, int] | None = None) -> None:
        """Move the leading end ``distance`` px along its path (negative: backwards, tail first)."""
        d = abs(distance)
        if d < 1e-9:
            return
        sign = 1 if distance > 0 else -1
        if sign != self.direction:  # the other end now leads: pick up its direction
            self.direction = sign
            lead, behind = self._lead()
            self.theta = math.atan2(lead[1] - behind[1], lead[0] - behind[0])
            self.psi = float(self.rng.choice([0.0, np.pi]))
        n = max(1, int(math.ceil(d / self.h)))
        step = d / n
        s = np.arange(1, n + 1) * step
        kappa = self.amp * (2 * np.pi / self.lam) * np.cos(self.psi + 2 * np.pi * s / self.lam)
        # slow wander of the mean direction: an Ornstein-Uhlenbeck curvature over arc length
        sd = self.kin.wander / self.L
        kick = sd * math.sqrt(2 * d / self.L) * self.rng.standard_normal()
        self.kappa_wander += -self.kappa_wander * d / self.L + kick
        extra = self.kappa_wander
        if self.state == TURN and self.turn_left > 0:
            extra += self.turn_kappa
            self.turn_left -= abs(self.turn_kappa) * d
        lead, _ = self._lead()
        if bounds is not None:
            extra += self._steer(lead, bounds)
        theta = self.theta + np.cumsum((kappa + extra) * step)
        new = lead + np.cumsum(step * np.column_stack([np.cos(theta), np.sin(theta)]), axis=0)
        self.theta = float(theta[-1])
        self.psi = (self.psi + 2 * np.pi * d / self.lam) % (2 * np.pi)
        if sign > 0:
            self.pts = _keep_length(np.vstack([new[::-1], self.pts]), self.L)
        else:
            self.pts = _keep_length(np.vstack([new[::-1], self.pts[::-1]]), self.L)[::-1]
        if len(self.pts) > 3 * self.L / self.h:  # slow crawling leaves many tiny steps
            self.pts = resample(self.pts, int(math.ceil(self.L / self.h)) + 1)

    def _steer(self, lead: np.ndarray, bounds: tuple[int, int]) -> float:
        """Extra curvature turning the leading end back towards the centre as it nears the border.

        Gentle enough that bodies still cross the border now and then (``in_view`` false).
        """
        height, width = bounds
        inside = min(lead[0], width - 1 - lead[0], lead[1], height - 1 - lead[1])  # negative: outside
        margin = 0.6 * self.L
        if inside >= margin:
            return 0.0
        to_centre = math.atan2((height - 1) / 2 - lead[1], (width - 1) / 2 - lead[0])
        gain = min((margin - inside) / (0.5 * self.L), 1.0) * 6.0 / self.L
        # linear in the angle, so that a head-on approach to the border turns hardest
        mean_heading = self.theta - self.amp * math.sin(self.psi)  # steer the path, not the wiggle
        return gain * max(-1.0, min(1.0, _wrap(to_centre - mean_heading) / (np.pi / 2)))

    def place(self, cx: float, cy: float, heading: float) -> None:
        """Move the body rigidly: midline centroid to (cx, cy), tail-to-head direction to ``heading``."""
        mid = resample(self.pts, N_MIDLINE)
        rot = heading - math.atan2(*(mid[0] - mid[-1])[::-1])
        c, s = math.cos(rot), math.sin(rot)
        centred = self.pts - mid.mean(axis=0)
        self.pts = centred @ np.array([[c, s], [-s, c]]) + np.array([cx, cy])
        self.theta += rot

    def midline(self, n: int) -> np.ndarray:
        """The body (``n`` points, head first) with the head swept aside, see :meth:`swept`."""
        return resample(self.swept(), n)

    def swept(self) -> np.ndarray:
        """``pts`` with the neck bent by the current foraging angle; the path and the body length are kept.

        The bend grows evenly from the neck (``Kinematics.neck`` behind the head) to the tip, so
        the head's direction turns by the full angle while the rest of the body follows its path.
        """
        angle = self.forage_amp * self.forage_level * math.sin(self.forage_phase)
        arc = _arc(self.pts)
        j = int(np.searchsorted(arc, self.kin.neck * self.L))
        if abs(angle) < 1e-9 or j < 2:
            return self.pts
        towards_tip = self.pts[:j] - self.pts[1:j + 1]
        beta = angle * (1.0 - arc[:j] / arc[j])
        c, s = np.cos(beta), np.sin(beta)
        rotated = np.column_stack([c * towards_tip[:, 0] - s * towards_tip[:, 1],
                                   s * towards_tip[:, 0] + c * towards_tip[:, 1]])
        head = self.pts[j] + np.cumsum(rotated[::-1], axis=0)[::-1]
        return np.vstack([head, self.pts[j:]])


# ----------------------------------------------------------------------------- tracks

@dataclass
class WormTracks:
    """What every worm did in every frame (the ground truth, before rendering).

    Attributes:
        midlines: T x K x N x 2 float64, (x, y) px, head first, equal arc-length steps.
        lengths: K, body length px (arc length of the midline).
        widths: K, maximum body width px.
        speed: T x K, signed speed of the body along itself, px/s (negative in reversals).
        behaviour: T x K int, index into :data:`BEHAVIOURS`.
        in_view: T x K bool, the whole body is inside the frame.
        touching: T x K bool, the body touches or overlaps another worm.
        size: (H, W) of the frame.
        fps: frames per second.
    """

    midlines: np.ndarray
    lengths: np.ndarray
    widths: np.ndarray
    speed: np.ndarray
    behaviour: np.ndarray
    in_view: np.ndarray
    touching: np.ndarray
    size: tuple[int, int]
    fps: float

    def truth(self) -> pd.DataFrame:
        """One row per frame and worm: :data:`TRUTH_COLUMNS` then the midline (:func:`midline_columns`)."""
        t, k, n, _ = self.midlines.shape
        mid = self.midlines.reshape(t * k, n, 2)
        head, tail, centroid = mid[:, 0], mid[:, -1], mid.mean(axis=1)
        base = pd.DataFrame({
            "frame": np.repeat(np.arange(t), k), "worm": np.tile(np.arange(k), t),
            "head_x": head[:, 0], "head_y": head[:, 1], "tail_x": tail[:, 0], "tail_y": tail[:, 1],
            "centroid_x": centroid[:, 0], "centroid_y": centroid[:, 1],
            "length_px": np.tile(self.lengths, t), "in_view": self.in_view.ravel(),
            "touching": self.touching.ravel(), "width_px": np.tile(self.widths, t),
            "speed_px_s": self.speed.ravel(),
            "behaviour": np.asarray(BEHAVIOURS, dtype=object)[self.behaviour.ravel()],
        })
        points = pd.DataFrame(np.concatenate([mid[:, :, 0], mid[:, :, 1]], axis=1), columns=midline_columns(n))
        return pd.concat([base, points], axis=1)


def _touching(bodies: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """For each body (midline points, half-widths), whether another one comes within TOUCH_GAP_PX."""
    out = np.zeros(len(bodies), dtype=bool)
    for i in range(len(bodies)):
        for j in range(i + 1, len(bodies)):
            (p, r), (q, s) = bodies[i], bodies[j]
            reach = r.max() + s.max() + TOUCH_GAP_PX
            if np.any(p.min(0) - reach > q.max(0)) or np.any(q.min(0) - reach > p.max(0)):
                continue
            (p, r), (q, s) = _densify(p, r), _densify(q, s)  # close enough to matter: measure finely
            gap = np.hypot(p[:, None, 0] - q[None, :, 0], p[:, None, 1] - q[None, :, 1]) - r[:, None] - s[None, :]
            if gap.min() < TOUCH_GAP_PX:
                out[i] = out[j] = True
    return out


def _densify(points: np.ndarray, radii: np.ndarray, spacing: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Points about ``spacing`` px apart along a polyline, with the radii interpolated."""
    c = _arc(points)
    s = np.linspace(0.0, c[-1], max(int(math.ceil(c[-1] / spacing)) + 1, len(points)))
    return (np.column_stack([np.interp(s, c, points[:, 0]), np.interp(s, c, points[:, 1])]),
            np.interp(s, c, radii))


def _in_view(points: np.ndarray, radii: np.ndarray, size: tuple[int, int]) -> bool:
    height, width = size
    x, y = points[:, 0], points[:, 1]
    return bool(np.all((x - radii >= -0.5) & (x + radii <= width - 0.5) & (y - radii >= -0.5)
                       & (y + radii <= height - 0.5)))


def _check_args(seed: int, n_frames: int, n_worms: int, size: Sequence[int], fps: float,
                length_px: float | None) -> None:
    problems = []
    if int(seed) != seed or seed < 0:
        problems.append(f"seed must be a whole number >= 0 (got {seed})")
    if n_frames < 1:
        problems.append(f"the number of frames must be at least 1 (got {n_frames})")
    if not 1 <= n_worms <= 50:
        problems.append(f"the number of worms must be 1 to 50 (got {n_worms})")
    if n_frames > LIMITS.max_frames or n_frames * n_worms > 500_000:
        problems.append(f"at most {LIMITS.max_frames:,} frames and 500,000 worm-frames in one video "
                        f"(got {n_frames:,} frames x {n_worms} worms)")
    if len(size) != 2 or min(size) < 16 or size[0] * size[1] > 16_000_000:
        problems.append(f"size must be (height, width), each at least 16 px, at most 16 megapixels (got {size})")
    if not 0 < fps <= 1000:
        problems.append(f"fps must be in (0, 1000] (got {fps})")
    if length_px is not None and not 10 <= length_px <= 5000:
        problems.append(f"length_px must be 10 to 5000 px (got {length_px})")
    if problems:
        raise DevocoreError("Cannot simulate worms: " + "; ".join(problems) + ".")


def simulate_tracks(seed: int = 0, n_frames: int = 300, n_worms: int = 1, size: tuple[int, int] = (480, 640),
                    fps: float = 25.0, length_px: float | None = None, n_points: int = N_MIDLINE,
                    starts: Sequence[tuple[float, float, float]] | None = None,
                    kinematics: Kinematics | None = None, bounded: bool = True) -> WormTracks:
    """Simulate the worms' bodies and behaviour without rendering (fast).

    Args:
        seed: random seed; the same seed gives the same tracks.
        n_frames, n_worms, size, fps: the video to simulate; size is (H, W).
        length_px: body length; None draws one per video (80-160 px) with +-10% per worm.
        n_points: midline points per worm, head to tail.
        starts: optional (centroid_x, centroid_y, heading_rad) per worm at frame 0, heading the
            tail-to-head direction; default: random, away from the border.
        kinematics: behaviour parameters (defaults: :class:`Kinematics`).
        bounded: worms turn back as they near the border (they still cross it now and then).

    >>> tracks = simulate_tracks(seed=0, n_frames=5, n_worms=2, length_px=100)
    >>> tracks.midlines.shape, tracks.lengths.tolist()
    ((5, 2, 49, 2), [100.0, 100.0])
    """
    _check_args(seed, n_frames, n_worms, size, fps, length_px)
    if not 3 <= n_points <= 1000:
        raise DevocoreError(f"A midline needs 3 to 1000 points (got {n_points}).")
    if starts is not None and len(starts) != n_worms:
        raise DevocoreError(f"Give one start per worm: {n_worms} worms but {len(starts)} starts.")
    kin = kinematics or Kinematics()
    height, width = size
    rng = np.random.default_rng([seed, 0])
    mean_length = float(length_px) if length_px else rng.uniform(80.0, 160.0)
    worms, placed = [], []
    for w in range(n_worms):
        wrng = np.random.default_rng([seed, 100 + w])
        length = mean_length if length_px else mean_length * wrng.uniform(0.9, 1.1)
        crawler = _Crawler(wrng, length, length / wrng.uniform(9.0, 12.0), kin, fps)
        travelled = 0.0
        while travelled < 1.5 * crawler.L:  # settle into a natural wave before frame 0
            crawler.advance(crawler.h * 5)
            travelled += crawler.h * 5
        if starts is not None:
            cx, cy, heading = starts[w]
        else:
            for _ in range(50):  # start apart; touching should happen by crawling
                cx, cy = rng.uniform(0.2, 0.8) * (width - 1), rng.uniform(0.2, 0.8) * (height - 1)
                if all(math.hypot(cx - x, cy - y) > mean_length for x, y in placed):
                    break
            heading = rng.uniform(-np.pi, np.pi)
        placed.append((cx, cy))
        crawler.place(cx, cy, heading)
        worms.append(crawler)

    shape = (n_frames, n_worms)
    midlines = np.empty(shape + (n_points, 2))
    speed, behaviour = np.empty(shape), np.empty(shape, dtype=np.int8)
    in_view, touching = np.empty(shape, dtype=bool), np.empty(shape, dtype=bool)
    dt = 1.0 / fps
    for t in range(n_frames):
        if t:
            for crawler in worms:
                crawler.step(dt, size if bounded else None)
        bodies = []
        for w, crawler in enumerate(worms):
            midlines[t, w] = crawler.midline(n_points)
            speed[t, w], behaviour[t, w] = crawler.v, crawler.state
            bodies.append((midlines[t, w], half_widths(midlines[t, w], crawler.width)))
            in_view[t, w] = _in_view(*bodies[-1], size)
        touching[t] = _touching(bodies) if n_worms > 1 else False
    return WormTracks(midlines=midlines, lengths=np.array([c.L for c in worms]),
                      widths=np.array([c.width for c in worms]), speed=speed, behaviour=behaviour,
                      in_view=in_view, touching=touching, size=(int(height), int(width)), fps=float(fps))


# ----------------------------------------------------------------------------- rendering

def _background(size: tuple[int, int], look: WormAppearance, rng: np.random.Generator) -> np.ndarray:
    """The empty plate: uneven illumination, agar texture and dirt; H x W float32 grey levels."""
    import cv2

    height, width = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = rng.uniform(-0.2, 1.2) * width, rng.uniform(-0.2, 1.2) * height
    dist2 = (xx - cx) ** 2 + (yy - cy) ** 2
    far = max((x - cx) ** 2 + (y - cy) ** 2 for x in (0, width) for y in (0, height))
    light = look.background * (1.0 - look.illumination * dist2 / far) / (1.0 - look.illumination / 2)
    texture = rng.standard_normal((height // 8 + 2, width // 8 + 2)).astype(np.float32)
    texture = cv2.GaussianBlur(cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC), (0, 0), 3)
    light = light * (1.0 + 0.01 * texture / max(float(texture.std()), 1e-6))
    dirt = np.zeros((height, width), np.float32)
    for _ in range(look.n_specks):
        big = rng.random() < 0.15  # out-of-focus blobs: large and faint
        radius = rng.uniform(3, 10) if big else rng.uniform(0.6, 2.5)
        axes = (max(1, int(radius * 16)), max(1, int(radius * rng.uniform(0.35, 1.0) * 16)))
        centre = (int(rng.uniform(0, width) * 16), int(rng.uniform(0, height) * 16))
        strength = rng.uniform(0.05, 0.2) if big else rng.uniform(0.15, 0.7)
        layer = np.zeros_like(dirt)
        cv2.ellipse(layer, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(strength), -1, cv2.LINE_AA, 4)
        if big:
            layer = cv2.GaussianBlur(layer, (0, 0), radius / 2)
        np.maximum(dirt, layer, out=dirt)
    return _apply(light, dirt, look, look.contrast).astype(np.float32)


def _apply(image: np.ndarray, opacity: np.ndarray, look: WormAppearance, contrast: float) -> np.ndarray:
    """Darken (dark on light) or lighten (light on dark) ``image`` where ``opacity`` (0-1) is high."""
    if look.dark_on_light:
        return image * (1.0 - contrast * opacity)
    return image + contrast * opacity * (255.0 - image)


def _body_layer(mid: np.ndarray, width: float, size: tuple[int, int], head_lightness: float = 0.0,
                core_lightness: float = 0.0) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """One worm drawn as 0-255 opacity in its bounding box: ((rows, cols) slices, uint8 box); None if unseen."""
    import cv2

    pts = resample(mid, max(int(math.ceil(_arc(mid)[-1] / 0.8)) + 1, len(mid)))
    radii = half_widths(pts, width)
    height, wide = size
    margin = float(radii.max()) + 2
    x0, y0 = np.floor(pts.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + margin).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, wide), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    layer = np.zeros((y1 - y0, x1 - x0), np.uint8)
    u = np.linspace(0.0, 1.0, len(pts))
    shade = 255.0 * (1.0 - head_lightness * np.clip(1.0 - u / 0.12, 0.0, 1.0))
    fixed = np.round((pts - [x0, y0]) * 16).astype(np.int64)  # 4 fractional bits: sub-pixel circles
    # the whole body, then its lighter core: the cuticle edges look darker in brightfield
    passes = ((1.0, 0.0), (0.55, core_lightness)) if core_lightness > 0 else ((1.0, 0.0),)
    for scale, lightness in passes:
        rad = np.maximum(np.round(radii * scale * 16), 8).astype(np.int64)
        val = np.round(shade * (1.0 - lightness)).astype(np.int64)
        for (x, y), r, v in zip(fixed.tolist(), rad.tolist(), val.tolist()):
            cv2.circle(layer, (x, y), r, v, -1, cv2.LINE_AA, 4)
    return (slice(y0, y1), slice(x0, x1)), layer


@dataclass
class WormVideo:
    """A simulated video, rendered frame by frame on demand, and its truth.

    Attributes:
        tracks: the simulated bodies (:class:`WormTracks`).
        appearance: the look (:class:`WormAppearance`).
        seed: the seed of the per-frame noise.
        background: the empty plate, H x W float32 grey levels (before blur and noise).
    """

    tracks: WormTracks
    appearance: WormAppearance
    seed: int
    background: np.ndarray = field(repr=False)

    @property
    def size(self) -> tuple[int, int]:
        return self.tracks.size

    @property
    def fps(self) -> float:
        return self.tracks.fps

    def __len__(self) -> int:
        return self.tracks.midlines.shape[0]

    @cached_property
    def truth(self) -> pd.DataFrame:
        """Ground truth: one row per frame and worm (see :meth:`WormTracks.truth`)."""
        return self.tracks.truth()

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as H x W uint8 grey."""
        import cv2

        if not 0 <= index < len(self):
            raise DevocoreError(f"Frame {index} does not exist; the video has {len(self)} frames.")
        look = self.appearance
        rng = np.random.default_rng([self.seed, 7, index])
        image = self.background * np.float32(1.0 + look.flicker * rng.standard_normal())
        for w in range(self.tracks.midlines.shape[1]):
            drawn = _body_layer(self.tracks.midlines[index, w], self.tracks.widths[w], self.size,
                                look.head_lightness, look.core_lightness)
            if drawn is not None:  # one worm after the other: overlaps absorb like stacked filters
                box, layer = drawn
                image[box] = _apply(image[box], layer.astype(np.float32) * np.float32(1 / 255), look, look.contrast)
        if look.blur_sigma > 0:
            image = cv2.GaussianBlur(image, (0, 0), look.blur_sigma)
        if look.noise_sd > 0:
            image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(look.noise_sd)
        np.maximum(image, 0, out=image)
        return cv2.convertScaleAbs(image)  # rounds and saturates at 255

    def labels(self, index: int) -> np.ndarray:
        """Worm masks of frame ``index``: H x W uint8, 0 = plate, k + 1 = worm k (a later worm wins overlaps).

        A pixel belongs to a worm when at least half of it is covered by the body.
        """
        if not 0 <= index < len(self):
            raise DevocoreError(f"Frame {index} does not exist; the video has {len(self)} frames.")
        out = np.zeros(self.size, np.uint8)
        for w in range(self.tracks.midlines.shape[1]):
            drawn = _body_layer(self.tracks.midlines[index, w], self.tracks.widths[w], self.size)
            if drawn is not None:
                box, layer = drawn
                out[box][layer >= 128] = w + 1
        return out

    def frames(self) -> Iterator[np.ndarray]:
        """Yield every frame in order (H x W uint8), rendering one at a time."""
        for index in range(len(self)):
            yield self.frame(index)


def simulate_video(seed: int = 0, n_frames: int = 300, n_worms: int = 1, size: tuple[int, int] = (480, 640),
                   fps: float = 25.0, appearance: WormAppearance | None = None, length_px: float | None = None,
                   starts: Sequence[tuple[float, float, float]] | None = None,
                   kinematics: Kinematics | None = None, bounded: bool = True) -> WormVideo:
    """Simulate worms crawling on a plate; frames render lazily, the truth is ready at once.

    Args:
        seed: random seed; the same arguments give byte-identical frames and truth.
        n_frames: number of frames.
        n_worms: number of worms.
        size: (H, W) in px.
        fps: frames per second.
        appearance: the look; None uses the default brightfield :class:`WormAppearance`
            (pass ``sample_appearance(rng)`` for variety).
        length_px: body length; None draws it from the seed (80-160 px).
        starts: optional (centroid_x, centroid_y, heading_rad) per worm, see :func:`simulate_tracks`.
        kinematics: behaviour parameters.
        bounded: worms turn back as they near the border (they still cross it now and then);
            False lets them crawl out for good.
    """
    tracks = simulate_tracks(seed, n_frames, n_worms, tuple(size), fps, length_px, N_MIDLINE, starts, kinematics,
                             bounded)
    look = appearance or WormAppearance()
    background = _background(tracks.size, look, np.random.default_rng([seed, 1]))
    return WormVideo(tracks=tracks, appearance=look, seed=int(seed), background=background)


# ----------------------------------------------------------------------------- behaviour series

def behaviour_series(seed: int = 0, n_steps: int = 2000, fps: float = 25.0, with_states: bool = False,
                     kinematics: Kinematics | None = None) -> pd.DataFrame:
    """Posture and motion time series of one simulated 1 mm worm, without rendering.

    Columns: ``time_s``; ``head_tail_distance`` (mm); ``curvature``, the mean absolute
    turning angle along the midline per unit length (rad/mm); ``signed_curvature`` (its signed
    mean, rad/mm); ``speed``, the centroid's speed in mm/s, negative when it moves tail first
    (reversals). ``with_states`` adds ``behaviour`` (forward, reverse, turn, pause).

    >>> series = behaviour_series(seed=0, n_steps=50)
    >>> series.shape, list(series.columns)
    ((50, 5), ['time_s', 'head_tail_distance', 'curvature', 'signed_curvature', 'speed'])
    """
    if n_steps < 2:
        raise DevocoreError(f"A behaviour series needs at least 2 steps (got {n_steps}).")
    px_per_mm = 100.0
    tracks = simulate_tracks(seed, n_steps, 1, (480, 640), fps, px_per_mm, N_MIDLINE, kinematics=kinematics,
                             bounded=False)
    mid = tracks.midlines[:, 0] / px_per_mm
    seg = np.diff(mid, axis=1)
    seg_len = np.hypot(seg[..., 0], seg[..., 1])
    turn = _wrap(np.diff(np.arctan2(seg[..., 1], seg[..., 0]), axis=1))
    step = seg_len.mean(axis=1)
    centroid = mid.mean(axis=1)
    velocity = np.gradient(centroid, 1.0 / fps, axis=0)
    n = mid.shape[1]
    forward = mid[:, n // 2 - 3] - mid[:, n // 2 + 3]  # the body's head-ward direction at its middle
    sign = np.where(np.sum(velocity * forward, axis=1) < 0, -1.0, 1.0)
    out = pd.DataFrame({
        "time_s": np.arange(n_steps) / fps,
        "head_tail_distance": np.hypot(*(mid[:, 0] - mid[:, -1]).T),
        "curvature": np.abs(turn).mean(axis=1) / step,
        "signed_curvature": turn.mean(axis=1) / step,
        "speed": sign * np.hypot(velocity[:, 0], velocity[:, 1]),
    })
    if with_states:
        out["behaviour"] = np.asarray(BEHAVIOURS, dtype=object)[tracks.behaviour[:, 0]]
    return out


def curvature_series(seed: int = 0, n_steps: int = 2000, fps: float = 100.0, n_segments: int = 100,
                     kinematics: Kinematics | None = None) -> pd.DataFrame:
    """Body curvature along one simulated worm over time, like a curvature recording of a real worm.

    Columns: ``time_s`` then ``segment_000`` ... : the signed turning angle (rad) between
    consecutive pieces of the midline, which is cut into ``n_segments + 1`` equal pieces
    (head first); dividing by the piece length gives curvature.

    >>> series = curvature_series(seed=0, n_steps=20, n_segments=10)
    >>> series.shape, series.columns[1]
    ((20, 11), 'segment_000')
    """
    if n_steps < 1 or not 3 <= n_segments <= 1000:
        raise DevocoreError(f"Need at least 1 step and 3 to 1000 segments (got {n_steps}, {n_segments}).")
    tracks = simulate_tracks(seed, n_steps, 1, (480, 640), fps, 100.0, n_segments + 2, kinematics=kinematics,
                             bounded=False)
    seg = np.diff(tracks.midlines[:, 0], axis=1)
    turn = _wrap(np.diff(np.arctan2(seg[..., 1], seg[..., 0]), axis=1))
    out = pd.DataFrame(turn, columns=[f"segment_{i:03d}" for i in range(n_segments)])
    out.insert(0, "time_s", np.arange(n_steps) / fps)
    return out


# ----------------------------------------------------------------------------- files

def write_video(video: WormVideo | Iterable[np.ndarray], path: str | Path, fps: float | None = None) -> Path:
    """Write frames to ``path`` with OpenCV: MPEG-4 (mp4v) for .mp4, MJPG for .avi.

    If the .mp4 writer cannot be opened here, falls back to MJPG in a .avi beside it.

    Returns:
        The path actually written.
    """
    import cv2

    path = Path(path)
    fps = float(fps or getattr(video, "fps", None) or 25.0)
    frames = video.frames() if isinstance(video, WormVideo) else iter(video)
    first = next(frames, None)
    if first is None:
        raise DevocoreError("No frames to write.")
    height, width = first.shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    options = [(path, "mp4v"), (path.with_suffix(".avi"), "MJPG")] if path.suffix.lower() == ".mp4" \
        else [(path, "MJPG")]
    writer = None
    for target, codec in options:
        writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*codec), fps, (width, height), True)
        if writer.isOpened():
            path = target
            break
        log.warning("OpenCV cannot write %s with %s here", target.name, codec)
    if writer is None or not writer.isOpened():
        raise DevocoreError(f"OpenCV cannot write the video '{path.name}' here (tried "
                            f"{', '.join(c for _, c in options)}).")
    try:
        for frame in itertools.chain([first], frames):
            writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame)
    finally:
        writer.release()
    return path


def write_videos(worm_counts: Iterable[int], seeds: Iterable[int], folder: str | Path, n_frames: int = 300,
                 fps: float = 25.0) -> Iterator[tuple[int, int, Path, pd.DataFrame]]:
    """Simulate and write one video for every (number of worms, seed), one at a time.

    Yields:
        ``(n_worms, seed, path written, truth table)``; the path is what :func:`write_video` wrote
        (an .avi where .mp4 cannot be written).
    """
    seeds = list(seeds)
    for n_worms in worm_counts:
        for seed in seeds:
            video = simulate_video(seed=seed, n_frames=n_frames, n_worms=n_worms)
            path = write_video(video, Path(folder) / f"sim_w{n_worms}_s{seed}.mp4", fps=fps)
            yield n_worms, seed, path, video.truth


def draw_truth(frame: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    """A BGR copy of ``frame`` with the truth drawn on it: midline (green), head (red), tail (blue), worm number.

    Args:
        frame: H x W uint8 grey (or H x W x 3 BGR).
        rows: the truth rows of this frame (any number of worms).
    """
    import cv2

    image = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
    n = sum(1 for c in rows.columns if c.startswith("mid_x_"))
    for _, row in rows.iterrows():
        xs = row[[f"mid_x_{i:02d}" for i in range(n)]].to_numpy(float)
        ys = row[[f"mid_y_{i:02d}" for i in range(n)]].to_numpy(float)
        line = np.round(np.column_stack([xs, ys]) * 16).astype(np.int32)
        cv2.polylines(image, [line], False, (60, 200, 60), 1, cv2.LINE_AA, 4)
        head = (int(round(row.head_x * 16)), int(round(row.head_y * 16)))
        cv2.circle(image, head, 3 * 16, (40, 40, 230), -1, cv2.LINE_AA, 4)
        cv2.circle(image, (int(round(row.tail_x * 16)), int(round(row.tail_y * 16))), 2 * 16, (230, 120, 40), -1,
                   cv2.LINE_AA, 4)
        cv2.putText(image, str(int(row.worm)), (int(row.centroid_x) + 8, int(row.centroid_y) - 8),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (40, 40, 230), 1, cv2.LINE_AA)
    return image


def write_truth(truth: pd.DataFrame, path: str | Path) -> Path:
    """Write a truth table as CSV with coordinates to 1/1000 px."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    truth.to_csv(path, index=False, float_format="%.3f")
    return path


def write_examples(out_dir: str | Path, seed: int = 90) -> dict[str, Path]:
    """Write the bundled examples: ``tracking/worms.mp4`` + ``tracking/truth.csv`` and
    ``forecast/worm_series.csv`` under ``out_dir``.

    Seed 90 makes a tracking example that shows every case once: two worms crawl apart, touch
    for 30 of the 150 frames (flagged, not measured) and part again.

    Returns:
        The written files by role.
    """
    out_dir = Path(out_dir)
    started = time.perf_counter()
    video = simulate_video(seed=seed, n_frames=150, n_worms=2, size=(480, 640))
    files = {"video": write_video(video, out_dir / "tracking" / "worms.mp4"),
             "truth": write_truth(video.truth, out_dir / "tracking" / "truth.csv")}
    series = behaviour_series(seed=seed, n_steps=2000, fps=25.0)
    files["series"] = out_dir / "forecast" / "worm_series.csv"
    files["series"].parent.mkdir(parents=True, exist_ok=True)
    series.to_csv(files["series"], index=False, float_format="%.5g")
    log.info("wrote the worm examples in %.1f s", time.perf_counter() - started)
    return files
