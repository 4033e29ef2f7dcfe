"""Simulate worms crawling on a plate: a video and its exact ground truth.

Writes OUT/worms.mp4 (MPEG-4; OUT/worms.avi with MJPG where .mp4 cannot be written)
and OUT/truth.csv: one row per frame and worm with frame, worm, head_x, head_y,
tail_x, tail_y, centroid_x, centroid_y, length_px, in_view, touching, width_px,
speed_px_s, behaviour and the midline mid_x_00..mid_x_48, mid_y_00..mid_y_48
(head first; pixels, x = column, y = row).

With --examples, writes the bundled examples instead (OUT/tracking/worms.mp4,
OUT/tracking/truth.csv, OUT/forecast/worm_series.csv), e.g.
  python -m devocore simulate worm --examples --out assets/examples
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from devocore.errors import DevocoreError


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise DevocoreError(f"--size must look like 640x480 (width x height), not '{text}'.") from None
    return height, width


def add_arguments(parser) -> None:
    parser.add_argument("--frames", type=int, default=300, help="number of frames (default 300)")
    parser.add_argument("--worms", type=int, default=1, help="number of worms (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same files (default 0)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--size", default="640x480", help="frame size WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    parser.add_argument("--length", type=float, default=None,
                        help="worm length in px (default: drawn from the seed, 80-160)")
    parser.add_argument("--random-look", action="store_true",
                        help="draw the appearance (brightness, contrast, blur, noise, dirt, polarity) from the seed")
    parser.add_argument("--unbounded", action="store_true",
                        help="let worms crawl out of the frame for good (default: they turn back near the border)")
    parser.add_argument("--preview", action="store_true",
                        help="also write OUT/preview.jpg: the middle frame with the truth drawn on it")
    parser.add_argument("--examples", action="store_true",
                        help="write the bundled tracking and forecast examples under --out instead")


def run(args) -> dict:
    from devocore.simulate import worm

    out = Path(args.out)
    started = time.perf_counter()
    if args.examples:
        files = worm.write_examples(out)
        for role, path in files.items():
            print(f"{role:>7}: {path} ({path.stat().st_size / 1e6:.2f} MB)")
        return {role: str(path) for role, path in files.items()}
    look = worm.sample_appearance(np.random.default_rng([args.seed, 2])) if args.random_look else None
    video = worm.simulate_video(seed=args.seed, n_frames=args.frames, n_worms=args.worms,
                                size=_size(args.size), fps=args.fps, appearance=look, length_px=args.length,
                                bounded=not args.unbounded)
    video_path = worm.write_video(video, out / "worms.mp4", args.fps)
    truth_path = worm.write_truth(video.truth, out / "truth.csv")
    truth = video.truth
    if args.preview:
        import cv2

        middle = len(video) // 2
        cv2.imwrite(str(out / "preview.jpg"), worm.draw_truth(video.frame(middle), truth[truth.frame == middle]),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
    seconds = time.perf_counter() - started
    print(f"wrote {video_path} ({len(video)} frames, {video.size[1]}x{video.size[0]}) and {truth_path} "
          f"({len(truth)} rows) in {seconds:.1f} s")
    print(f"worms in full view {truth.in_view.mean():.0%} of the time, touching {truth.touching.mean():.0%}; "
          f"lengths {', '.join(f'{v:.0f}' for v in video.tracks.lengths)} px")
    return {"video": str(video_path), "truth": str(truth_path), "frames": len(video), "seconds": seconds}
