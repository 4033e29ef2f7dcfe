"""Simulate a C. elegans embryo and write its time-lapse, tables and image/mask pairs.

Writes DIR/timelapse.mp4 (or .avi), DIR/populations.csv (frame, A, E, M, P, C, D, Z),
DIR/cells.csv (EPIC format), DIR/nuclei/*.png + DIR/nuclei_masks/*.png and
DIR/membrane/*.png + DIR/membrane_masks/*.png (16-bit instance ids).
With --examples DIR it writes the app's small demo files instead.

Example:
    python -m devocore simulate embryo --frames 200 --size 256 --seed 0 --out sim_embryo
"""
from __future__ import annotations

import json
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--frames", type=int, default=200, help="number of frames (default 200)")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--interval", type=float, default=75.0, help="seconds between frames (default 75)")
    parser.add_argument("--max-cells", type=int, default=400, help="stop dividing at this many cells")
    parser.add_argument("--slices", type=int, default=8, help="nucleus and membrane image/mask pairs")
    parser.add_argument("--reporter", default="E", help="cell whose descendants express the red reporter "
                        "('' for none; default E)")
    parser.add_argument("--out", type=Path, help="output folder")
    parser.add_argument("--examples", type=Path, help="write the app's demo files into this folder instead")
    parser.add_argument("--json", action="store_true", help="print what was written as one JSON line")


def run(args) -> dict:
    from devocore.errors import DevocoreError
    from devocore.progress import terminal
    from devocore.simulate import embryo

    if args.examples:
        paths = embryo.write_examples(args.examples)
        result = {"examples": [str(p) for p in paths], "bytes": sum(p.stat().st_size for p in paths)}
    else:
        if args.out is None:
            raise DevocoreError("give --out DIR (or --examples DIR)")
        history = embryo.simulate(seed=args.seed, n_frames=args.frames, frame_interval_s=args.interval,
                                  max_cells=args.max_cells, reporter=args.reporter or None)
        written = embryo.write_embryo(args.out, size=args.size, seed=args.seed, slices=args.slices,
                                      history=history, progress=None if args.json else terminal("embryo"))
        pops = history.populations()
        result = {"out": str(args.out), "frames": history.n_frames, "cells_at_end": int(history.counts()[-1]),
                  "files": {k: str(v) for k, v in written.items()},
                  "ab_milestones_frame": embryo.ab_milestones(pops)}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0
