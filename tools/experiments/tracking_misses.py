"""Development check: why scored worm-frames get no midline (what recall misses are made of).

Simulates each (worms, seed) video, tracks it, and for every truth row that
:func:`devocore.tracking.evaluate.compare_truth` scores (in view, not touching another worm,
not touching itself) but that has no midline, counts the tracker's status and note
(``coiled:thick``, ``coiled:loop``, ``touching:...``) or ``undetected``.
Scored rows and the matching gate are those of :func:`devocore.tracking.evaluate.scoring`. For development
seeds only; report seeds are scored, never examined.

    PYTHONPATH=. python tools/experiments/tracking_misses.py --worms 3,5 --seeds 5001,5002,5003,5004,5005,5006
"""
from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

import numpy as np

from devocore.simulate.worm import write_videos
from devocore.tracking import TrackConfig, track
from devocore.tracking.evaluate import match_frame, scoring


def misses(table, truth) -> collections.Counter:
    """Reasons for the scored truth rows of one video that got no midline."""
    truth = truth.reset_index(drop=True)
    gate, scored, _ = scoring(truth)
    ours_by_frame = {f: g.reset_index(drop=True) for f, g in table.groupby("frame")}
    counts: collections.Counter = collections.Counter()
    for frame, t in truth.groupby("frame"):
        t = t.reset_index()
        ours = ours_by_frame.get(frame, table.iloc[:0])
        matched = {c: r for r, c in match_frame(ours, t, gate)}
        for c in range(len(t)):
            if not scored.loc[t.iloc[c]["index"]]:
                continue
            counts["scored"] += 1
            if c not in matched:
                counts["undetected"] += 1
            elif np.isnan(ours.iloc[matched[c]]["head_x"]):
                row = ours.iloc[matched[c]]
                counts[f"{row.get('status', '')}:{row.get('note', '')}"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worms", default="3,5")
    parser.add_argument("--seeds", default="5001,5002,5003,5004,5005,5006")
    parser.add_argument("--n-frames", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="devoscope-misses-"))
    total: collections.Counter = collections.Counter()
    for worms, seed, path, truth in write_videos(map(int, args.worms.split(",")), map(int, args.seeds.split(",")),
                                                 folder, args.n_frames):
        counts = misses(track(path, TrackConfig(fps=25.0)).table, truth)
        print(f"{worms} worms, seed {seed}: {dict(counts)}", flush=True)
        total.update(counts)
    scored = total.pop("scored", 0)
    print(f"scored rows {scored}, without a midline {sum(total.values())}")
    for reason, n in total.most_common():
        print(f"{n:6d}  {reason}")


if __name__ == "__main__":
    main()
