"""Small synthetic tables with a known answer, for examples and tests.

* :func:`embryo_table`: a toy embryo in EPIC format. Cells divide on a Sulston
  schedule, daughters are placed on either side of their mother along the axis
  their name says (a/p, l/r), and nuclei push each other apart inside an
  ellipsoidal eggshell, so founder lineages occupy territories as in real
  embryos (AB anterior, C dorsal-posterior, E central, ...). It is a stand-in
  when the embryo simulator (:mod:`devocore.simulate.embryo`) is absent.
* :func:`behaviour_table`: wells x behaviour features with strain labels, each
  strain a cluster along a few hidden directions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from devocore.embedding.align import EPIC_Z_SCALE

# Frames (about a minute each) between a cell's birth and its division, from the usual Sulston timing.
_CYCLE = {"AB": 16.0, "P1": 18.0, "EMS": 20.0, "P2": 20.0, "MS": 22.0, "E": 32.0, "C": 22.0,
          "P3": 26.0, "D": 30.0, "P4": 45.0}
# Named daughters and the body-frame direction (ap, dv, lr) from the first to the second.
_NAMED = {"P1": ("EMS", "P2", (1.0, -0.6, 0.0)), "EMS": ("MS", "E", (1.0, -0.3, 0.0)),
          "P2": ("C", "P3", (0.6, -1.0, 0.0)), "P3": ("D", "P4", (1.0, -0.5, 0.0)),
          "P4": ("Z2", "Z3", (0.0, 0.0, 1.0))}
_SHELL = np.array([0.5, 0.3, 0.3])  # half-axes (ap, dv, lr) in embryo lengths


def _daughters(name: str, generation: int) -> tuple[str, str, tuple[float, float, float]]:
    if name in _NAMED:
        return _NAMED[name]
    if name == "AB":
        return "ABa", "ABp", (1.0, 0.3, 0.0)
    if name.startswith("AB") and generation == 2:  # ABa, ABp divide left/right (the 8-cell stage)
        return name + "l", name + "r", (0.0, 0.0, -1.0)
    if generation % 3 == 1 and len(name) > 3:  # some later divisions are dorsal/ventral
        return name + "d", name + "v", (0.0, -1.0, 0.0)
    return name + "a", name + "p", (1.0, 0.0, 0.0)


def embryo_table(seed: int = 0, n_frames: int = 150, length_px: float = 500.0,
                 rotation: np.ndarray | None = None, offset=(320.0, 250.0, 200.0)) -> pd.DataFrame:
    """A toy embryo as an EPIC table (``cellTime, cell, time, x, y, z, size, blot``).

    Args:
        seed: random seed (timing jitter, placement noise).
        n_frames: time points (about 350 nuclei after 150).
        length_px: embryo length in pixels.
        rotation: 3 x 3 rotation applied to the body frame (ap, dv, lr) before
            placing it on the slide; by default AP along x (anterior at low x).
        offset: position of the embryo's centre (x, y, z in pixels; z is then
            divided by :data:`EPIC_Z_SCALE`, as focal planes).

    Example:
        >>> t = embryo_table(seed=1, n_frames=30)
        >>> sorted(t.loc[t.time == 1, "cell"])
        ['AB', 'P1']
    """
    rng = np.random.default_rng(seed)
    from devocore.lineage_names import generation as gen_of

    # live cells: name -> [position (body units), birth frame, cycle length]
    start = {"AB": np.array([-0.18, 0.0, 0.0]), "P1": np.array([0.22, 0.0, 0.0])}
    cells = {n: [p, 1, _CYCLE.get(n, 18.0) * rng.uniform(0.9, 1.1)] for n, p in start.items()}
    body_to_lab = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]) if rotation is None else np.asarray(rotation)
    rows = []
    for t in range(1, n_frames + 1):
        for name in [n for n, (_, born, cyc) in cells.items() if t - born >= cyc and n not in ("Z2", "Z3")]:
            pos, _, _ = cells.pop(name)
            g = gen_of(name)
            first, second, direction = _daughters(name, g)
            d = np.asarray(direction) / np.linalg.norm(direction)
            step = 0.25 * 2 ** (-g / 3)
            for child, sign in ((first, -1.0), (second, 1.0)):
                base = _CYCLE.get(child, _CYCLE.get(child[:2] if child.startswith(("AB", "MS")) else child[:1], 20))
                cycle = base * (1 + 0.08 * max(0, gen_of(child) - 4)) * rng.uniform(0.9, 1.1)
                cells[child] = [pos + sign * step * d + rng.normal(0, 0.005, 3), t, cycle]
        names = list(cells)
        pos = np.stack([cells[n][0] for n in names])
        radius = np.array([0.3 * 2 ** (-gen_of(n) / 3) for n in names])
        for _ in range(4):  # nuclei push apart, the shell pushes them in
            diff = pos[:, None, :] - pos[None, :, :]
            dist = np.linalg.norm(diff, axis=-1) + np.eye(len(pos))
            reach = 0.9 * (radius[:, None] + radius[None, :])
            push = np.clip(reach - dist, 0, None) / dist
            np.fill_diagonal(push, 0.0)
            pos = pos + 0.25 * (push[..., None] * diff).sum(axis=1)
            scaled = np.linalg.norm(pos / np.clip(_SHELL - radius[:, None] * 0.5, 0.05, None), axis=1)
            pos = np.where((scaled > 1)[:, None], pos / scaled[:, None], pos)
        pos = pos + rng.normal(0, 0.002, pos.shape)
        for n, p in zip(names, pos):
            cells[n][0] = p
        lab = pos @ body_to_lab.T * length_px + np.asarray(offset)
        for n, (x, y, z), r in zip(names, lab, radius):
            rows.append((f"{n}:{t}", n, t, x, y, z / EPIC_Z_SCALE, 2 * r * length_px * 0.8,
                         rng.normal(1000, 200)))
    table = pd.DataFrame(rows, columns=["cellTime", "cell", "time", "x", "y", "z", "size", "blot"])
    table[["x", "y", "size"]] = table[["x", "y", "size"]].round(1)
    table["z"] = table["z"].round(2)
    return table


def random_rotation(seed: int) -> np.ndarray:
    """A random proper 3 x 3 rotation.

    Example:
        >>> r = random_rotation(3)
        >>> bool(np.allclose(r @ r.T, np.eye(3))), round(float(np.linalg.det(r)), 6)
        (True, 1.0)
    """
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def behaviour_table(seed: int = 0, n_per_strain: int = 30, n_features: int = 24,
                    strains=("N2", "CB4856", "JU258"), separation: float = 3.0) -> pd.DataFrame:
    """Wells x behaviour features with a ``strain`` and a ``well`` label column.

    Each strain is shifted along its own hidden direction by ``separation``
    standard deviations; the features mix three hidden factors plus noise, with
    very different scales (so standardising matters).

    Example:
        >>> t = behaviour_table(n_per_strain=5, n_features=4)
        >>> t.shape, sorted(t.strain.unique())
        ((15, 6), ['CB4856', 'JU258', 'N2'])
    """
    rng = np.random.default_rng(seed)
    n_hidden = 3
    mixing = rng.normal(size=(n_hidden, n_features))
    scales = 10 ** rng.uniform(-2, 3, n_features)
    centres = rng.normal(size=(len(strains), n_hidden))
    centres = separation * centres / np.linalg.norm(centres, axis=1, keepdims=True)
    rows, labels = [], []
    for k, strain in enumerate(strains):
        hidden = centres[k] + rng.normal(size=(n_per_strain, n_hidden))
        rows.append(hidden @ mixing + 0.5 * rng.normal(size=(n_per_strain, n_features)))
        labels += [strain] * n_per_strain
    values = np.concatenate(rows) * scales
    names = ["speed", "curvature_head", "curvature_mid", "curvature_tail", "omega_turns", "reversal_rate",
             "pause_fraction", "body_length", "width_mid", "angular_velocity", "path_range", "dwelling",
             "speed_head_tip", "speed_tail_tip", "forward_fraction", "backward_fraction", "reversal_length",
             "turn_rate", "bend_frequency", "wave_amplitude", "wave_length", "body_area", "width_head",
             "foraging_speed"]
    columns = [names[j] if j < len(names) else f"feature_{j:02d}" for j in range(n_features)]
    table = pd.DataFrame(values, columns=columns)
    table.insert(0, "strain", labels)
    table.insert(1, "well", [f"W{i:03d}" for i in range(len(table))])
    return table
