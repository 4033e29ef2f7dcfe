"""Peak memory (RSS) of segment, lineage and track on the largest inputs the limits allow.

Builds the inputs in a temporary folder (or --workdir) from the current limits (see devocore.config.Limits):
  image   one 16-bit PNG of max_pixels pixels (segment nucleus)
  stack   a zlib-compressed 16-bit TIFF stack of max_pixels planes, as many as max_total_pixels and
          max_decoded_mb allow (segment membrane)
  video   an MJPG AVI of max_pixels frames, --video-frames long (lineage and track; videos are streamed)
then runs each command as a separate process and reads its peak resident memory from the kernel
(wait4's ru_maxrss), so nothing is missed between samples. --scale shrinks every input (pixels per plane
and number of planes or frames) for a quick run. A command that refuses its input (exit 2) is reported as
refused with its message; one that runs past --timeout or whose memory passes --stop-above-mb is stopped
and its peak so far reported (a lower bound).

  python -m devocore bench memory [--scale 0.25] [--timeout 480] [--workdir DIR] [--parallel] [--json]
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_MB = 2048  # the memory budget from issue #31: no input within the limits needs more


def add_arguments(parser) -> None:
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink every input: pixels per plane and planes/frames times this (default 1.0)")
    parser.add_argument("--video-frames", type=int, default=30, help="frames of the video at scale 1 (default 30)")
    parser.add_argument("--timeout", type=float, default=480.0, help="seconds one command may run (default 480)")
    parser.add_argument("--stop-above-mb", type=float, default=12000,
                        help="stop a command whose memory passes this many MB, to keep the machine up (default 12000)")
    parser.add_argument("--workdir", default=None, help="folder for inputs and outputs (default: a temporary one)")
    parser.add_argument("--parallel", action="store_true",
                        help="run the commands at the same time (for quick runs at a small --scale; each peak is "
                             "still its own process's)")
    parser.add_argument("--reuse-inputs", action="store_true",
                        help="keep inputs already in --workdir (built by an earlier run at the same --scale)")
    parser.add_argument("--only", nargs="+", default=None,
                        choices=["segment_nucleus", "segment_membrane", "lineage", "track"],
                        help="run only these commands")


def _side(pixels: float) -> tuple[int, int]:
    """Height and width (multiples of 16) of a near-square plane of at most ``pixels`` pixels."""
    side = max(64, int(math.sqrt(pixels)) // 16 * 16)
    return side, side


def _pattern(height: int, width: int, seed: int = 0):
    """A cheap, compressible 16-bit plane: bright round blobs (nucleus-like) on a dark background."""
    import numpy as np

    tile = np.full((64, 64), 800, np.uint16)
    yy, xx = np.mgrid[:64, :64]
    tile[(yy - 32) ** 2 + (xx - 32) ** 2 < 14 ** 2] = 30000 + 500 * (seed % 7)
    reps = (-(-height // 64), -(-width // 64))
    return np.tile(tile, reps)[:height, :width]


def make_inputs(root: Path, scale: float, video_frames: int, limits, reuse: bool = False) -> dict:
    """Write the three inputs into ``root`` (``reuse``: keep those already there); returns their paths and sizes."""
    import cv2
    import numpy as np
    import tifffile

    plane_pixels = limits.max_pixels * scale
    h, w = _side(plane_pixels)
    inputs: dict = {}

    image = root / "image_max_pixels.png"
    if not (reuse and image.exists()):
        cv2.imwrite(str(image), _pattern(h, w), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    inputs["image"] = {"path": str(image), "shape": [h, w], "dtype": "uint16",
                       "decoded_mb": round(h * w * 2 / 2**20, 1), "file_mb": round(image.stat().st_size / 2**20, 1)}

    # as many full planes as max_total_pixels, max_decoded_mb and max_frames allow (at scale 1)
    full_h, full_w = _side(limits.max_pixels)
    planes = min(limits.max_total_pixels // (full_h * full_w),
                 limits.max_decoded_mb * 2**20 // (full_h * full_w * 2), limits.max_frames)
    n = max(2, round(planes * scale))
    stack = root / "stack_max_total.tif"
    if not (reuse and stack.exists()):
        tifffile.imwrite(stack, (_pattern(h, w, i) for i in range(n)), shape=(n, h, w), dtype=np.uint16,
                     photometric="minisblack", compression="zlib", compressionargs={"level": 1},
                     metadata={"axes": "ZYX"})
    inputs["stack"] = {"path": str(stack), "shape": [n, h, w], "dtype": "uint16",
                       "decoded_mb": round(n * h * w * 2 / 2**20, 1), "file_mb": round(stack.stat().st_size / 2**20, 1)}

    frames = max(2, round(video_frames * scale))
    video = root / "video_max_pixels.avi"
    if not (reuse and video.exists()):
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
        base = cv2.cvtColor((_pattern(h, w) // 256).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        for i in range(frames):
            frame = base.copy()
            # a dark worm-like line that moves, so the tracker has something to follow
            cv2.line(frame, (w // 4 + 8 * i, h // 2), (w // 2 + 8 * i, h // 2 + h // 16), (20, 20, 20),
                     max(3, w // 200))
            writer.write(frame)
        writer.release()
    inputs["video"] = {"path": str(video), "shape": [frames, h, w, 3], "dtype": "uint8",
                       "frame_mb": round(h * w * 3 / 2**20, 1), "file_mb": round(video.stat().st_size / 2**20, 1)}
    return inputs


def _rss_mb(pid: int) -> float:
    """Current resident memory of ``pid`` in MB (0 where /proc cannot tell)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def measure(argv: list[str], timeout: float, env: dict, log: Path, stop_above_mb: float = math.inf) -> dict:
    """Run ``argv``; its peak RSS in MB (from the kernel, at exit), exit status and refusal message.

    The command is stopped after ``timeout`` seconds or once its memory passes ``stop_above_mb``."""
    start = time.monotonic()
    with open(log, "wb") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        stopped = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                stopped = "timeout"
            elif _rss_mb(proc.pid) > stop_above_mb:
                stopped = "stopped_over_cap"
            if stopped:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace").strip().splitlines()
    errors = [line for line in text if line.startswith("error:")]
    peak_mb = round(usage.ru_maxrss / 1024, 1)  # Linux reports kilobytes
    result = {"peak_rss_mb": peak_mb, "seconds": round(seconds, 1), "exit_code": proc.returncode}
    if stopped:
        result["status"] = stopped  # the peak is then a lower bound
    elif proc.returncode == 0:
        result["status"] = "finished"
    elif proc.returncode == 2:
        result["status"] = "refused"
        result["message"] = errors[-1] if errors else (text[-1] if text else "")
    else:
        result["status"] = "failed"
        result["message"] = " | ".join(text[-3:])
    return result


def _within(result: dict) -> bool | None:
    """Peak under the budget; None when a stopped command had not passed it yet (its peak is a lower bound)."""
    if result["peak_rss_mb"] > LIMIT_MB:
        return False
    return True if result["status"] in ("finished", "refused") else None


def run(args) -> dict:
    from devocore.config import LIMITS
    from devocore.errors import DevocoreError

    if not 0 < args.scale <= 1:
        raise DevocoreError(f"--scale must be above 0 and at most 1, got {args.scale}.")
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="devoscope-bench-memory-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"building inputs at scale {args.scale} in {root}", flush=True)
    inputs = make_inputs(root, args.scale, args.video_frames, LIMITS, reuse=getattr(args, "reuse_inputs", False))
    for kind, info in inputs.items():
        print(f"  {kind}: {'x'.join(map(str, info['shape']))} {info['dtype']}, file {info['file_mb']} MB", flush=True)
    out = root / "out"
    out.mkdir(exist_ok=True)
    env = dict(os.environ, DEVOCORE_STATE_DIR=str(root / "state"))
    py = [sys.executable, "-m", "devocore"]
    commands = {
        "segment_nucleus": py + ["segment", "nucleus", inputs["image"]["path"], "--out", str(out / "nucleus"),
                                 "--overwrite"],
        "segment_membrane": py + ["segment", "membrane", inputs["stack"]["path"], "--out", str(out / "membrane"),
                                  "--overwrite"],
        "lineage": py + ["lineage", inputs["video"]["path"], "--out", str(out / "lineage.csv"), "--overwrite"],
        "track": py + ["track", inputs["video"]["path"], "--out", str(out / "track.csv"), "--overwrite"],
    }
    chosen = {name: argv for name, argv in commands.items() if not args.only or name in args.only}

    def one(name: str) -> dict:
        return measure(chosen[name], args.timeout, env, root / f"{name}.stderr.txt", args.stop_above_mb)

    if args.parallel:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(chosen)) as pool:
            runs = dict(zip(chosen, pool.map(one, chosen)))
    else:
        runs = {}
    for name in chosen:
        r = runs[name] = runs.get(name) or one(name)
        print(f"  {name:17s} {r['status']:8s} peak {r['peak_rss_mb']:8.1f} MB  {r['seconds']:7.1f} s"
              + (f"  ({r['message']})" if r.get("message") else ""), flush=True)
    return {
        "scale": args.scale,
        "peak_rss_mb": {k: r["peak_rss_mb"] for k, r in runs.items()},
        "limit_mb": LIMIT_MB,
        "within_limit": {k: _within(r) for k, r in runs.items()},
        "status": {k: r["status"] for k, r in runs.items()},
        "seconds": {k: r["seconds"] for k, r in runs.items()},
        "messages": {k: r["message"] for k, r in runs.items() if "message" in r},
        "inputs": {k: {f: v for f, v in info.items() if f != "path"} for k, info in inputs.items()},
        "workdir": str(root),
    }
