"""Time the embryo simulator: growing an embryo, one time-lapse frame, a nucleus slice, a membrane (one CPU core).

Prints a table; with --json the figures as one JSON object on the last line:
simulate_s_240_frames, frame_ms_256_early (about 25 nuclei), frame_ms_256_late (about 380 nuclei),
frame_ms_752x512_late, nucleus_slice_ms_256, membrane_ms_256 (medians).
"""
from __future__ import annotations

import time

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per figure (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(1000.0 * float(np.median(times)), 2)


def run(args) -> dict:
    import cv2

    from devocore.simulate import embryo

    cv2.setNumThreads(1)
    n = max(1, args.repeats)
    started = time.perf_counter()
    h = embryo.simulate(seed=args.seed, n_frames=240, reporter="E")
    figures = {"simulate_s_240_frames": round(time.perf_counter() - started, 2)}
    early = int(np.argmin(np.abs(h.counts() - 24)))
    figures["nuclei_early"], figures["nuclei_late"] = int(h.counts()[early]), int(h.counts()[-1])
    figures["frame_ms_256_early"] = _median_ms(lambda: embryo.render_timelapse_frame(h, early), n)
    figures["frame_ms_256_late"] = _median_ms(lambda: embryo.render_timelapse_frame(h, 239), n)
    figures["frame_ms_752x512_late"] = _median_ms(lambda: embryo.render_timelapse_frame(h, 239, size=(512, 752)), n)
    seeds = iter(range(10_000))
    figures["nucleus_slice_ms_256"] = _median_ms(lambda: embryo.nucleus_slice(next(seeds), size=256), n)
    figures["membrane_ms_256"] = _median_ms(lambda: embryo.membrane_image(next(seeds), size=256), n)
    if not getattr(args, "json", False):
        for key, value in figures.items():
            print(f"{key:<26} {value}")
    return figures
