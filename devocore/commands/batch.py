"""Process every image and video in a folder on Dask (a local cluster or an existing one).

Outputs per input file go to OUT/<relative path>/ (the same files the single-file
command writes), with summary.csv, summary.parquet and run.log in OUT. Re-running
skips files whose outputs are complete; failed files are retried. Files that do not fit the task (a
video for an image task, a mask or label image, an image with one value, a bright-field video for a
fluorescence task) are listed as skipped with the reason. OUT must lie outside the input
folder, and links that lead out of the input folder are not followed (the run says which).

Examples:
  python -m devocore batch experiment/ --task nucleus --out results/
  python -m devocore batch experiment/ --task membrane --zoom 2 --out results/
  python -m devocore batch experiment/ --task track --out results/ --scheduler tcp://head-node:8786
"""
from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("input_dir", help="folder to process (recursively)")
    parser.add_argument("--task", required=True,
                        help="nucleus, membrane, lineage, track, or inventory (sizes and intensities only)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--workers", type=int, help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--chunk-frames", type=int, default=256,
                        help="split videos longer than this into ranges of this many frames (0: never split)")
    parser.add_argument("--zoom", type=float,
                        help="nucleus and membrane: the network sees each plane at this many times its usual size "
                             "(256 px), for embryos small in a wide field, as `segment --zoom` (0.5-8; default 1)")
    parser.add_argument("--force", action="store_true", help="redo files whose outputs are already complete")
    parser.add_argument("--json", action="store_true", help="print the run's figures as JSON on the last line")


def run(args) -> dict:
    from devocore import batch
    from devocore.commands._options import require_between

    require_between(args, 0.5, 8, "zoom")

    def on_row(row, done, failed, remaining):
        total = done + failed + remaining
        bar = "#" * int(25 * (done + failed) / max(total, 1))
        sys.stderr.write(f"\r[{bar:<25}] done {done}  failed {failed}  remaining {remaining}   ")
        if remaining == 0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    result = batch.run_batch(args.input_dir, args.task, args.out, scheduler=args.scheduler, workers=args.workers,
                             chunk_frames=args.chunk_frames, force=args.force, on_row=on_row,
                             options={"zoom": args.zoom},
                             announce=lambda url: print(f"Dask dashboard: {url}", flush=True))
    table = result.summary
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    unfit = table[(table["status"] == "skipped") & (table["reason"] != batch.ALREADY_DONE)]
    ok = table[table["status"] == "ok"]
    print(f"{len(table)} files: {counts.get('ok', 0)} ok, {counts.get('failed', 0)} failed, "
          f"{counts.get('skipped', 0)} skipped ({result.skipped} already complete, {len(unfit)} not fitting "
          f"the task). Summary: {result.out_dir / 'summary.csv'}")
    if len(ok):
        print(f"  time per file: median {batch.format_seconds(ok['seconds'].median())}, "
              f"longest {batch.format_seconds(ok['seconds'].max())} ({ok.loc[ok['seconds'].idxmax(), 'file']})")
    for _, row in unfit.head(20).iterrows():
        print(f"  skipped: {row['file']}: {row['reason']}")
    if len(unfit) > 20:
        print(f"  ... and {len(unfit) - 20} more skipped files (see the summary's reason column)")
    for _, row in table[table["status"] == "failed"].iterrows():
        print(f"  failed: {row['file']}: {row['error']}")
    for _, row in batch.noted(ok).iterrows():
        print(f"  check: {row['file']}: {row['note']}")  # e.g. a membrane image run as nuclei
    if result.outside_links:
        print(f"{len(result.outside_links)} link(s) leading out of the input folder were not followed: "
              + ", ".join(result.outside_links[:10]) + (" ..." if len(result.outside_links) > 10 else ""))
    return {"files": len(table), "ok": int(counts.get("ok", 0)), "failed": int(counts.get("failed", 0)),
            "skipped": int(counts.get("skipped", 0)), "already_complete": int(result.skipped),
            "not_fitting": int(len(unfit)), "links_not_followed": result.outside_links,
            "summary": str(result.out_dir / "summary.csv")}
