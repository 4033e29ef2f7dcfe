"""Files per minute of batch processing with 1 and 2 workers, and a long video split into ranges vs whole.

Inputs are simulated (nuclei slices and one long time-lapse), so anyone can rerun it:
  python -m devocore bench batch [--task nucleus] [--files 12] [--video-frames 400] [--json]
"""
from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--task", default="nucleus", help="batch task to time (default: nucleus)")
    parser.add_argument("--files", type=int, default=12, help="simulated images to process")
    parser.add_argument("--video-frames", type=int, default=400, help="frames of the long simulated video")
    parser.add_argument("--size", type=int, default=256, help="image and frame size in pixels")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")


def _inputs(root: Path, files: int, frames: int, size: int) -> tuple[Path, Path]:
    import cv2

    from devocore.simulate import embryo, embryo_export

    images = root / "images"
    images.mkdir(parents=True)
    for seed in range(files):
        image, _ = embryo.nucleus_slice(seed, size=size)
        cv2.imwrite(str(images / f"slice_{seed:03d}.png"), image)
    video_dir = root / "video"
    video_dir.mkdir()
    history = embryo.simulate(seed=0, n_frames=frames)
    embryo_export.write_video(embryo.timelapse(history, size=size, seed=0), video_dir / "long.avi")
    return images, video_dir


def _timed(folder: Path, task: str, out: Path, client, chunk: int) -> float:
    """Seconds to process ``folder`` on a running cluster (start-up excluded), after one warm-up file."""
    from devocore import batch

    start = time.perf_counter()
    result = batch.run_batch(folder, task, out, chunk_frames=chunk, force=True, client=client)
    seconds = time.perf_counter() - start
    failed = result.summary[result.summary["status"] == "failed"]
    if len(failed):
        raise RuntimeError(f"batch failed on {failed.iloc[0]['file']}: {failed.iloc[0]['error']}")
    skipped = result.summary[result.summary["status"] == "skipped"]
    if len(skipped):  # a skipped input would make the timing meaningless
        raise RuntimeError(f"batch skipped {skipped.iloc[0]['file']}: {skipped.iloc[0]['reason']}")
    return seconds


@contextlib.contextmanager
def _cluster(workers: int):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.WARNING) as cluster:
        with Client(cluster) as client:
            yield client


def _warm_up(images: Path, task: str, out: Path, client) -> None:
    """Process one file on every worker so model loading is not timed."""
    from devocore import batch

    first = sorted(images.iterdir())[0]
    paths = list(client.run(lambda: None))
    futures = [client.submit(batch.process_file, first, out / str(i), task, pure=False, workers=[w])
               for i, w in enumerate(paths)]
    client.gather(futures)


def run(args) -> dict:
    from devocore import batch

    batch.get_task(args.task)  # a clear error before simulating anything
    root = Path(tempfile.mkdtemp(prefix="devoscope-bench-batch-"))
    images, video = _inputs(root, args.files, args.video_frames, args.size)
    figures: dict = {"task": args.task, "files": args.files, "video_frames": args.video_frames}
    print(f"{args.files} simulated {args.size}x{args.size} images, task {args.task}")
    for workers in args.workers:
        with _cluster(workers) as client:
            _warm_up(images, args.task, root / f"warm_{workers}", client)
            seconds = _timed(images, args.task, root / f"out_images_{workers}", client, 0)
            if workers == max(args.workers):
                whole = _timed(video, args.task, root / "out_video_whole", client, 0)
                split = _timed(video, args.task, root / "out_video_split", client,
                               -(-args.video_frames // workers))
        figures[f"files_per_minute_{workers}_workers"] = round(60 * args.files / seconds, 2)
        figures[f"seconds_{workers}_workers"] = round(seconds, 2)
        print(f"  {workers} worker(s): {seconds:6.1f} s, {60 * args.files / seconds:6.1f} files/minute")
    workers = max(args.workers)
    figures.update(video_whole_seconds=round(whole, 2), video_split_seconds=round(split, 2),
                   split_speedup=round(whole / split, 2))
    print(f"one {args.video_frames}-frame video with {workers} workers: whole {whole:.1f} s, "
          f"split into {workers} ranges {split:.1f} s ({whole / split:.2f}x)")
    return figures
