"""Time the worm simulator: rendering one frame, simulating bodies, the behaviour series (one CPU core).

Prints a table; with --json the figures as one JSON object on the last line:
render_ms_640x480_1worm, render_ms_640x480_3worms, render_ms_256x256_1worm (median per frame),
tracks_ms_per_frame_3worms, behaviour_series_s_2000_steps.
"""
from __future__ import annotations

import time

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("--frames", type=int, default=30, help="frames timed per setting (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _median_render_ms(video, frames: int) -> float:
    video.frame(0)  # warm up OpenCV
    times = []
    for index in range(1, frames + 1):
        started = time.perf_counter()
        video.frame(index)
        times.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(times))


def run(args) -> dict:
    import cv2

    from devocore.simulate import worm

    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # torch is not needed here
        pass
    n = max(1, args.frames)
    figures = {}
    for label, size, worms in (("640x480_1worm", (480, 640), 1), ("640x480_3worms", (480, 640), 3),
                               ("256x256_1worm", (256, 256), 1)):
        video = worm.simulate_video(seed=args.seed, n_frames=n + 1, n_worms=worms, size=size)
        figures[f"render_ms_{label}"] = round(_median_render_ms(video, n), 2)
    started = time.perf_counter()
    worm.simulate_tracks(seed=args.seed, n_frames=500, n_worms=3)
    figures["tracks_ms_per_frame_3worms"] = round(1000.0 * (time.perf_counter() - started) / 500, 3)
    started = time.perf_counter()
    worm.behaviour_series(seed=args.seed, n_steps=2000)
    figures["behaviour_series_s_2000_steps"] = round(time.perf_counter() - started, 3)
    for key, value in figures.items():
        print(f"{key:<34} {value}")
    return figures
