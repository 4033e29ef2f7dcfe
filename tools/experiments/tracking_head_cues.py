"""Development check: how often each head/tail vote points the right way on simulated videos.

Simulates each (worms, seed) video, tracks it, splits every worm into the runs that
:func:`devocore.tracking.headtail.consistent_runs` makes, and compares the sign of each
vote of :func:`devocore.tracking.headtail.votes` with the simulator's true head, weighting
runs by their frames. Used on development seeds only (5001-5006), never on report seeds.

    PYTHONPATH=. python tools/experiments/tracking_head_cues.py --seeds 5001,5002,5003,5004,5005,5006 --worms 1,3,5
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from devocore.simulate.worm import write_videos
from devocore.tracking import TrackConfig
from devocore.tracking import headtail
from devocore.tracking import tracker as tr


def _tracks(path: Path) -> list:
    """The tracker's worms (with their per-frame observations) for one video."""
    kept = {}
    finish = tr.Tracker.finish

    def keep(self, fps, min_frames=3):
        kept["tracker"] = self
        return finish(self, fps, min_frames)

    tr.Tracker.finish = keep
    try:
        tr.track(path, TrackConfig())
    finally:
        tr.Tracker.finish = finish
    return kept["tracker"].done


def run_votes(tracks, truth) -> list[tuple[int, int, dict]]:
    """(frames, true sign, votes) for every run of at least 5 frames."""
    by_frame = truth.groupby("frame")
    out = []
    for t in tracks:
        f0 = t.obs[0].frame
        seq = [None] * (t.obs[-1].frame - f0 + 1)
        for o in t.obs:
            seq[o.frame - f0] = o.midline if o.status in (tr.OK, tr.EDGE) else None
        breaks = {o.frame - f0 for o in t.obs if o.status == tr.TOUCHING}
        ordered, runs = headtail.consistent_runs(seq, False, 5, breaks)
        for r in sorted(set(runs) - {-1}):
            idx = [i for i, x in enumerate(runs) if x == r]
            if len(idx) < 5:
                continue
            mids = [ordered[i] for i in idx]
            v = headtail.votes(mids, np.array([m.points.mean(axis=0) for m in mids]))
            right = []
            for i in idx[::5]:
                p, g = ordered[i].points, by_frame.get_group(i + f0)
                w = g.iloc[int(np.argmin(np.hypot(g.centroid_x - p[:, 0].mean(), g.centroid_y - p[:, 1].mean())))]
                right.append(np.hypot(w.head_x - p[0, 0], w.head_y - p[0, 1])
                             < np.hypot(w.tail_x - p[0, 0], w.tail_y - p[0, 1]))
            out.append((len(idx), 1 if np.mean(right) > 0.5 else -1, v))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="5001,5002,5003")
    parser.add_argument("--worms", default="1,3,5")
    parser.add_argument("--n-frames", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="devoscope-cues-"))
    found = []
    for _, _, path, truth in write_videos(map(int, args.worms.split(",")), map(int, args.seeds.split(",")),
                                          folder, args.n_frames):
        found += run_votes(_tracks(path), truth)
    for key in ("motion", "wave", "swing", "taper"):
        with_key = [(n, s, v[key]) for n, s, v in found if key in v]
        right = sum(n for n, s, x in with_key if np.sign(x) == s)
        total = sum(n for n, _, _ in with_key)
        print(f"{key}: right on {right / total:.3f} of {total} run-frames")


if __name__ == "__main__":
    main()
