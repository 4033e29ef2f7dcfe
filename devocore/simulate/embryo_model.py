"""A synthetic C. elegans embryo with exact ground truth.

:func:`simulate` grows an embryo along the real lineage (Sulston names, cell-cycle
lengths per cell from :mod:`devocore.simulate.lineage_tree`, calibrated on EPIC
tables), with small per-embryo variation. Nuclei live in 3D inside an ellipsoidal
eggshell (about 50 x 30 x 30 um), are pushed apart by a soft-sphere model, shrink as
they divide, and daughters start along the division axis their names say (a/p along
x, l/r along y, d/v along z, as the axes of the EPIC tables).

The result, :class:`EmbryoHistory`, gives EPIC-format tables and per-frame lineage
populations; the renderers in :mod:`devocore.simulate.embryo_render` turn it into
time-lapse frames, nucleus slices and membrane images. Import both through
:mod:`devocore.simulate.embryo`.

Example:
    >>> h = simulate(seed=0, n_frames=40)
    >>> int(h.populations().iloc[-1][["A", "E", "M", "P", "C", "D", "Z"]].sum()) == len(h.frame(39).ids)
    True
    >>> list(h.cells_table().columns)[:4]
    ['cellTime', 'cell', 'time', 'none']
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from devocore.errors import DevocoreError
from devocore.simulate import lineage_tree as lt

log = logging.getLogger(__name__)

EPIC_COLUMNS = ["cellTime", "cell", "time", "none", "global", "local", "blot", "cross",
                "z", "x", "y", "size", "gweight"]
# EPIC pixel geometry (x, y pixels of ~0.087 um; z planes ~1 um apart) and the usual centre
# of the embryo in EPIC tables, so simulated tables overlay real ones.
EPIC_UM_PER_PX = 0.087
EPIC_UM_PER_PLANE = 1.0
EPIC_CENTER = (335.0, 255.0, 15.0)
SHELL_UM = (25.0, 15.0, 15.0)  # eggshell semi-axes (x = anterior-posterior)
# Nucleus diameter at the 4-cell stage and its shrink per generation, from EPIC `size`
# medians (about 78 px at 4 cells, 35 px at 400 cells: x0.886 per doubling).
NUC_DIAM_4CELL_UM = 6.8
NUC_SHRINK_PER_GEN = 0.886
MITOSIS_FRACTION = 0.05  # last part of the cycle shown as condensed chromosomes
# Division axes in simulator coordinates, which follow the EPIC tables: x = anterior-posterior
# (anterior at low x), y = left-right (left at low y: ABpl/ABal sit ~15 um below ABpr/ABar in
# the EPIC y), z = the remaining (dorsal-ventral) axis, across focal planes.
_AXES = {"ap": np.array([1.0, 0, 0]), "lr": np.array([0, 1.0, 0]), "dv": np.array([0, 0, 1.0])}
# The first two cleavages are skewed (EPIC 4-cell stage: ABp lies beside, not behind, ABa).
_SPECIAL_AXES = {"AB": np.array([0.82, 0.57, 0.0]), "P1": np.array([0.96, 0.27, 0.0])}


@dataclass(frozen=True)
class FrameState:
    """The nuclei alive in one frame.

    Attributes:
        ids: (N,) int indices into :attr:`EmbryoHistory.cells`.
        xyz: (N, 3) float32 nucleus centres in um, embryo centre at 0 (x = A-P, y = L-R, z = D-V).
        diameter: (N,) float32 nucleus diameters in um.
        phase: (N,) float32 progress through the cell cycle, 0 at birth, 1 at division.
        reporter: (N,) float32 simulated reporter level in [0, 1].
    """

    ids: np.ndarray
    xyz: np.ndarray
    diameter: np.ndarray
    phase: np.ndarray
    reporter: np.ndarray


@dataclass
class EmbryoHistory:
    """A simulated embryo: its cells and the nuclei of every frame.

    Attributes:
        seed: the random seed.
        frame_interval_s: seconds between frames.
        shell: eggshell semi-axes in um (x, y, z).
        cells: one row per cell ever alive: ``cell`` (Sulston name), ``parent``, ``birth_s``,
            ``division_s`` (inf if it did not divide), ``group`` (A/E/M/P/C/D/Z), ``generation``.
            Times are seconds relative to the first frame.
        frames: one :class:`FrameState` per frame.
    """

    seed: int
    frame_interval_s: float
    shell: tuple[float, float, float]
    cells: pd.DataFrame
    frames: list[FrameState] = field(repr=False)

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def frame(self, t: int) -> FrameState:
        """The nuclei of frame ``t`` (0-based)."""
        if not 0 <= t < len(self.frames):
            raise DevocoreError(f"frame {t} is outside 0..{len(self.frames) - 1}")
        return self.frames[t]

    def names(self, t: int) -> list[str]:
        """Sulston names of the nuclei of frame ``t``, in the order of :meth:`frame`."""
        return self.cells["cell"].to_numpy()[self.frames[t].ids].tolist()

    def cells_table(self) -> pd.DataFrame:
        """All nuclei of all frames in EPIC format (one row per nucleus per frame).

        Columns ``cellTime, cell, time, none, global, local, blot, cross, z, x, y, size,
        gweight`` as in the EPIC CSVs: ``time`` starts at 1, ``x, y`` and ``size`` (diameter)
        in EPIC pixels (0.087 um), ``z`` the focal plane (1 um apart); ``blot`` and friends
        carry the simulated reporter (0 without one); ``none`` the histone signal.
        """
        names = self.cells["cell"].to_numpy()
        parts = []
        for t, fs in enumerate(self.frames):
            n = len(fs.ids)
            cell = names[fs.ids]
            rep = np.round(fs.reporter * 3000.0).astype(np.int64)
            parts.append(pd.DataFrame({
                "cellTime": [f"{c}:{t + 1}" for c in cell],
                "cell": cell,
                "time": np.full(n, t + 1, dtype=np.int64),
                "none": np.round(20000.0 + 4000.0 * fs.phase).astype(np.int64),
                "global": rep, "local": rep, "blot": rep, "cross": rep,
                "z": np.round(fs.xyz[:, 2] / EPIC_UM_PER_PLANE + EPIC_CENTER[2], 1),
                "x": np.round(fs.xyz[:, 0] / EPIC_UM_PER_PX + EPIC_CENTER[0]).astype(np.int64),
                "y": np.round(fs.xyz[:, 1] / EPIC_UM_PER_PX + EPIC_CENTER[1]).astype(np.int64),
                "size": np.round(fs.diameter / EPIC_UM_PER_PX).astype(np.int64),
                "gweight": np.zeros(n, dtype=np.int64),
            }))
        if not parts:
            return pd.DataFrame(columns=EPIC_COLUMNS)
        return pd.concat(parts, ignore_index=True)[EPIC_COLUMNS]

    def populations(self) -> pd.DataFrame:
        """Cells per lineage per frame: ``frame, A, E, M, P, C, D, Z`` (frame starts at 1).

        Grouping as in ``epic_population_curves.csv`` (see
        :func:`devocore.simulate.lineage_tree.lineage_group`).
        """
        groups = self.cells["group"].to_numpy()
        rows = []
        for t, fs in enumerate(self.frames):
            g = groups[fs.ids]
            rows.append([t + 1] + [int(np.count_nonzero(g == k)) for k in lt.GROUPS])
        return pd.DataFrame(rows, columns=["frame", *lt.GROUPS])

    def counts(self) -> np.ndarray:
        """(T,) number of nuclei per frame."""
        return np.array([len(f.ids) for f in self.frames])


def cell_radius(gen: np.ndarray, shell: tuple[float, float, float]) -> np.ndarray:
    """Radius (um) of the cell around a nucleus: the egg's volume halves at each division."""
    r0 = 0.93 * float(np.prod(shell)) ** (1.0 / 3.0)
    return r0 * 2.0 ** (-gen / 3.0)


def relax(xyz: np.ndarray, radius: np.ndarray, shell: np.ndarray, rng: np.random.Generator,
           iterations: int = 3, jitter_um: float | np.ndarray = 0.08) -> np.ndarray:
    """Soft-sphere repulsion between cells and confinement in the ellipsoidal shell.

    ``jitter_um`` (scalar or one value per cell) is the random step per iteration.
    """
    jitter = np.broadcast_to(np.asarray(jitter_um, dtype=float), (len(xyz),))[:, None]
    from scipy.spatial import cKDTree

    n = len(xyz)
    reach_max = 1.8 * float(radius.max()) if n else 0.0
    for _ in range(iterations):
        if n > 1:
            pairs = cKDTree(xyz).query_pairs(reach_max, output_type="ndarray")
            if len(pairs):
                i, j = pairs[:, 0], pairs[:, 1]
                diff = xyz[i] - xyz[j]
                dist = np.sqrt((diff ** 2).sum(1)) + 1e-6
                overlap = np.clip(0.9 * (radius[i] + radius[j]) - dist, 0.0, None)
                push = 0.25 * (overlap / dist)[:, None] * diff
                move = np.zeros_like(xyz)
                np.add.at(move, i, push)
                np.add.at(move, j, -push)
                xyz = xyz + move
        xyz = xyz + rng.normal(0.0, 1.0, xyz.shape) * jitter
        # keep each cell's centre inside the shell shrunk by most of its radius
        inner = np.maximum(shell[None, :] - 0.8 * radius[:, None], 0.5)
        q = np.sqrt(((xyz / inner) ** 2).sum(1))
        out = q > 1.0
        xyz[out] /= q[out, None]
    return xyz


def simulate(seed: int = 0, n_frames: int = 200, frame_interval_s: float = 75.0,
             max_cells: int = 400, reporter: str | None = None, tempo: float | None = None,
             relax_iterations: int = 3) -> EmbryoHistory:
    """Grow one embryo and record ``n_frames`` frames, ``frame_interval_s`` apart.

    Frame 0 is taken between the 2- and 4-cell stages, like the first frames of the EPIC
    movies. Per embryo, the pace of development varies by about 4% (``tempo``), each cell's
    cycle by about 5%, and the eggshell's size by about 4%.

    Args:
        seed: random seed; the same seed gives the same embryo.
        n_frames: frames to record.
        frame_interval_s: seconds between frames (EPIC tables: about 75).
        max_cells: no division happens once this many nuclei are alive.
        reporter: optional cell name (e.g. ``"E"``, ``"MSp"``, ``"ABa"``) whose descendants
            express a reporter ramping up one cycle after that cell is born.
        tempo: multiply every cycle length (default: drawn around 1.0).
        relax_iterations: mechanical relaxation steps per frame.

    Returns:
        The :class:`EmbryoHistory`.
    """
    if n_frames < 1 or n_frames > 5000:
        raise DevocoreError(f"n_frames must be between 1 and 5000, got {n_frames}")
    if frame_interval_s <= 0:
        raise DevocoreError(f"frame_interval_s must be positive, got {frame_interval_s}")
    if max_cells < 1:
        raise DevocoreError(f"max_cells must be at least 1, got {max_cells}")
    rng = np.random.default_rng(seed)
    if tempo is None:
        tempo = float(np.clip(rng.normal(1.0, 0.04), 0.9, 1.1))
    shell = np.array(SHELL_UM) * float(np.clip(rng.normal(1.0, 0.04), 0.9, 1.1))
    frame_s = lt.EPIC_FRAME_S * tempo

    names: list[str] = []
    parents: list[str] = []
    birth: list[float] = []
    division: list[float] = []
    gens: list[int] = []
    size_jitter: list[float] = []

    def cycle_s(name: str) -> float:
        return lt.cycle_frames(name) * frame_s * float(np.exp(rng.normal(0.0, 0.05)))

    def add(name: str, parent: str, t_birth: float) -> int:
        names.append(name)
        parents.append(parent)
        birth.append(t_birth)
        division.append(t_birth + cycle_s(name))
        gens.append(lt.generation(name))
        size_jitter.append(float(np.exp(rng.normal(0.0, 0.06))))
        return len(names) - 1

    # internal clock: P0 divides at 0; the first frame falls around AB's division
    alive = [add("AB", "P0", 0.0), add("P1", "P0", 0.0)]
    xyz = np.array([[-0.4 * shell[0], 0, 0], [0.45 * shell[0], 0, 0]], dtype=np.float64)
    # EPIC tables start between 4 frames before and 5 frames after AB divides (median +1)
    t_start = division[0] + rng.uniform(-3.0, 5.0) * frame_s
    step = frame_interval_s
    # pre-roll in steps no longer than one EPIC frame, then one step per recorded frame
    n_pre = int(np.ceil(t_start / min(step, frame_s))) if t_start > 0 else 0
    times = [t_start * k / n_pre for k in range(1, n_pre)] if n_pre > 1 else []
    times += [t_start + k * step for k in range(n_frames)]
    reporter_root = reporter
    frames: list[FrameState] = []
    for k, t in enumerate(times):
        record = k >= len(times) - n_frames
        # divisions due by now (daughters may divide again within a long step)
        changed = True
        while changed:
            changed = False
            new_alive, new_xyz = [], []
            for slot, i in enumerate(alive):
                can = len(new_alive) + len(alive) - slot + 1 <= max_cells
                if division[i] <= t and np.isfinite(division[i]) and can:
                    a_name, b_name = lt.daughters(names[i])
                    a = add(a_name, names[i], division[i])
                    b = add(b_name, names[i], division[i])
                    axis = _SPECIAL_AXES.get(names[i], _AXES[lt.division_axis(names[i])]) + rng.normal(0.0, 0.15, 3)
                    if gens[i] < 3:  # the first cleavages stay in one plane (a flat 4-cell rhombus)
                        axis[2] = 0.0
                    axis /= np.linalg.norm(axis)
                    half = 0.5 * cell_radius(np.array([gens[a]]), tuple(shell))[0]
                    new_alive += [a, b]
                    new_xyz += [xyz[slot] - half * axis, xyz[slot] + half * axis]
                    changed = True
                else:
                    if division[i] <= t and np.isfinite(division[i]):
                        division[i] = np.inf  # the cap stopped it: it never divides
                    new_alive.append(i)
                    new_xyz.append(xyz[slot])
            alive, xyz = new_alive, np.array(new_xyz)
        gen_alive = np.array([gens[i] for i in alive], dtype=float)
        radius = cell_radius(gen_alive, tuple(shell))
        # no random kicks before the 8-cell stage, so the early embryo stays flat as in EPIC
        xyz = relax(xyz, radius, shell, rng, iterations=relax_iterations,
                     jitter_um=0.08 * np.clip((gen_alive - 2.0) / 2.0, 0.0, 1.0))
        if record:
            ids = np.array(alive, dtype=np.int64)
            b = np.array([birth[i] for i in ids])
            d = np.array([division[i] for i in ids])
            cyc = np.where(np.isfinite(d), d - b, lt.cycle_frames("ABa") * frame_s * 4)
            phase = np.clip((t - b) / cyc, 0.0, 1.0)
            gen = np.array([gens[i] for i in ids], dtype=float)
            diam = (NUC_DIAM_4CELL_UM * NUC_SHRINK_PER_GEN ** (gen - 2.0)
                    * np.array([size_jitter[i] for i in ids]) * (0.92 + 0.16 * phase))
            rep = np.zeros(len(ids))
            if reporter_root:
                for j, i in enumerate(ids):
                    if names[i].startswith(reporter_root):
                        root = names.index(reporter_root) if reporter_root in names else i
                        onset = birth[root] + (division[root] - birth[root] if np.isfinite(division[root])
                                               else 0.0)
                        rep[j] = np.clip((t - onset) / (20 * frame_s), 0.0, 1.0)
            frames.append(FrameState(ids=ids, xyz=xyz.astype(np.float32), diameter=diam.astype(np.float32),
                                     phase=phase.astype(np.float32), reporter=rep.astype(np.float32)))
    cells = pd.DataFrame({
        "cell": names, "parent": parents,
        "birth_s": np.array(birth) - t_start, "division_s": np.array(division) - t_start,
        "group": [lt.lineage_group(n) for n in names], "generation": gens,
    })
    log.debug("simulated embryo seed=%d: %d frames, %d cells at the end", seed, n_frames, len(alive))
    return EmbryoHistory(seed=seed, frame_interval_s=float(frame_interval_s),
                         shell=tuple(float(s) for s in shell), cells=cells, frames=frames)


def ab_milestones(populations: pd.DataFrame, targets=(4, 8, 16, 32, 64, 128)) -> dict[int, float]:
    """First frame (1-based, as in the table) at which column ``A`` reaches each target."""
    a = populations["A"].to_numpy()
    frames = populations["frame"].to_numpy()
    out = {}
    for n in targets:
        hit = np.nonzero(a >= n)[0]
        out[int(n)] = float(frames[hit[0]]) if len(hit) else float("nan")
    return out
