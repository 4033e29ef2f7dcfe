"""Measure the worm tracker against real Tierpsy skeletons or against simulator truth.

Three ways to call it:
  eval tracking --frames DIR --skeletons CSV      real frames vs Tierpsy midlines (head first)
  eval tracking --video V --truth T               a simulated video vs its truth table
  eval tracking --simulate --worms 1,3,5 --seeds 900,901   simulate, track and score in one go
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--frames", help="folder of frames (or a video) with reference skeletons")
    parser.add_argument("--skeletons", help="CSV frame, point, x, y (head first; NaN where none)")
    parser.add_argument("--video", help="video with simulator truth")
    parser.add_argument("--truth", help="truth CSV of the simulated video")
    parser.add_argument("--simulate", action="store_true", help="simulate the videos with devocore.simulate.worm")
    parser.add_argument("--worms", default="1", help="worms per simulated video, comma separated (default 1)")
    parser.add_argument("--seeds", default="1000", help="simulator seeds, comma separated (default 1000)")
    parser.add_argument("--n-frames", type=int, default=300, help="frames per simulated video (default 300)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate (default: the file's own)")


def _ints(text: str, what: str) -> list[int]:
    from devocore.errors import DevocoreError

    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise DevocoreError(f"{what} must be whole numbers separated by commas, not '{text}'.") from None
    if not values:
        raise DevocoreError(f"{what} is empty.")
    return values


def _print(figures: dict) -> None:
    for key, value in figures.items():
        if not isinstance(value, (list, dict)):
            print(f"{key:>40}: {value:.4g}" if isinstance(value, float) else f"{key:>40}: {value}")


def read_skeletons(source):
    """The reference skeletons ``frame, point, x, y``, every one of them numeric (checked before any tracking).

    Example:
        >>> read_skeletons(b"frame;point;x;y\\n0;0;122,5;55\\n")[["x", "y"]].values.tolist()
        [[122.5, 55.0]]
    """
    from devocore.io import read_table
    from devocore.tracking.evaluate import SKELETON_COLUMNS

    return read_table(source, required=SKELETON_COLUMNS, numeric=SKELETON_COLUMNS)


def read_truth(source):
    """The simulator truth: its position columns, and the midline and ``width_px`` columns it has, all numeric.

    Example:
        >>> t = read_truth(b"frame,worm,head_x,head_y,tail_x,tail_y,centroid_x,centroid_y,width_px,note\\n"
        ...                b"0,1,1,2,3,4,2,3,5,ok\\n")
        >>> float(t.loc[0, "width_px"]), t.loc[0, "note"]
        (5.0, 'ok')
    """
    from devocore.io import check_columns, describe_source, read_table
    from devocore.tracking.evaluate import TRUTH_COLUMNS, midline_columns

    truth = read_table(source, required=TRUTH_COLUMNS, numeric=TRUTH_COLUMNS)
    xs, ys = midline_columns(truth)
    used = [*xs, *ys, *(["width_px"] if "width_px" in truth.columns else [])]
    return check_columns(truth, describe_source(source, None), numeric=used, first_row=2)


def run_real(args) -> dict:
    from devocore.tracking import TrackConfig, track
    from devocore.tracking.evaluate import compare_skeletons

    skeletons = read_skeletons(args.skeletons)
    complete = skeletons.groupby("frame")[["x", "y"]].apply(lambda points: bool(points.notna().all().all()))
    if not complete.any():  # checked before any tracking: every figure would be empty
        from devocore.errors import TableError

        raise TableError(f"'{Path(args.skeletons).name}' has no frame whose points all have x and y (its "
                         f"{len(complete):,} frames have empty cells): there is no skeleton to compare with.")
    result = track(args.frames, TrackConfig(fps=args.fps))
    # reference frames outside the tracked ones (a gap in the folder's numbering) are not scored; when none is
    # among them, every one is, and the figures say so (coverage 0) beside the warning
    shared = set(skeletons["frame"].dropna().astype(int)) & set(result.frame_numbers.tolist())
    figures = compare_skeletons(result.table, skeletons, result.frame_numbers if shared else None)
    if figures["reference_frames"] and not shared:
        log.warning("no skeleton frame number is among the tracked frames (%d-%d, numbered by %s)",
                    result.number_at(0), result.number_at(-1), result.numbering)
    figures["coiled_frames"] = int((result.table["status"] == "coiled").sum())
    figures["frames"] = result.n_frames
    figures["frame_numbering"] = result.numbering
    figures["first_frame"] = result.number_at(0)
    figures["last_frame"] = result.number_at(-1)
    figures["fps"] = result.frames_per_second
    figures["cpu_fps"] = result.frames_per_cpu_second
    return figures


def _pool(tables: list, truths: list):
    """Concatenate runs with frame numbers and worm ids kept apart, so one scoring pools them."""
    import pandas as pd

    def shifted(frames, i):
        return [f.assign(frame=f["frame"] + i * 1_000_000, worm=f["worm"] + i * 1_000) for f in frames]

    idx = range(len(tables))
    return (pd.concat(shifted([tables[i]], i)[0] for i in idx), pd.concat(shifted([truths[i]], i)[0] for i in idx))


def run_simulated(args) -> dict:
    from devocore.errors import DevocoreError
    from devocore.tracking import TrackConfig, track
    from devocore.tracking.evaluate import compare_truth

    runs = []
    if args.simulate:
        try:
            from devocore.simulate.worm import write_videos
        except ImportError:
            raise DevocoreError("The worm simulator (devocore.simulate.worm) is not installed in this copy.") from None
        folder = Path(tempfile.mkdtemp(prefix="devoscope-evaltrack-"))
        for worms, seed, path, truth in write_videos(_ints(args.worms, "--worms"), _ints(args.seeds, "--seeds"),
                                                     folder, args.n_frames, fps=args.fps or 25.0):
            runs.append((f"worms={worms} seed={seed}", path, truth))
    else:
        truth = read_truth(args.truth)
        runs.append((Path(args.video).name, Path(args.video), truth))
    tables, truths, per_run, frames, seconds, cpu = [], [], [], 0, 0.0, 0.0
    for label, path, truth in runs:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = track(path, TrackConfig(fps=args.fps))
        elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu_start
        tracked = truth["frame"].isin(result.frame_numbers)
        if tracked.any() and not tracked.all():  # a folder of some of the frames: the others are not scored
            truth = truth[tracked]
        figures = compare_truth(result.table, truth)
        figures.update(run=label, fps=result.n_frames / elapsed, cpu_fps=result.n_frames / cpu_used,
                       truth_rows_not_tracked=int((~tracked).sum()))
        per_run.append(figures)
        log.info("%s: %s", label, figures)
        tables.append(result.table)
        truths.append(truth)
        frames += result.n_frames
        seconds += elapsed
        cpu += cpu_used
    pooled = compare_truth(*_pool(tables, truths))
    pooled["id_switches"] = sum(r["id_switches"] for r in per_run)
    pooled["fps"] = frames / seconds
    pooled["cpu_fps"] = frames / cpu
    pooled["fps_one_worm"] = _one_worm_fps(per_run, runs, "fps")
    pooled["cpu_fps_one_worm"] = _one_worm_fps(per_run, runs, "cpu_fps")
    pooled["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    pooled["videos"] = len(runs)
    pooled["per_video"] = per_run
    return pooled


def _one_worm_fps(per_run: list[dict], runs: list, key: str) -> float:
    """Mean tracking speed over the one-worm videos (``fps`` wall clock, ``cpu_fps`` per processor second)."""
    ones = [r[key] for r, (label, _, truth) in zip(per_run, runs) if truth["worm"].nunique() == 1]
    return float(sum(ones) / len(ones)) if ones else float("nan")


def run(args) -> dict:
    from devocore.errors import DevocoreError

    if args.frames and args.skeletons:
        figures = run_real(args)
    elif args.simulate or (args.video and args.truth):
        figures = run_simulated(args)
    else:
        raise DevocoreError("Give --frames DIR --skeletons CSV, or --video V --truth T, or --simulate.")
    if not getattr(args, "json", False):
        _print(figures)
        for r in figures.get("per_video", []):
            print(f"  {r['run']}: head error median {r['median_head_error_px']:.2f} px, swaps {r['swap_rate']:.3f}, "
                  f"recall {r['recall']:.3f}, id switches {r['id_switches']}, {r['fps']:.0f} frames/s "
                  f"({r['cpu_fps']:.0f} per CPU second)")
    return figures
