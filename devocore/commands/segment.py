"""Segment nuclei or membranes in an image, a TIFF stack or a video.

Writes into --out: labels.tif (16-bit instance labels, ImageJ-readable; one page
per slice/frame), mask.png (binary; for single images), table.csv (one row per
instance, with `frame` for stacks and videos), centroids.csv, and for videos
per_frame.csv (instances per frame) and overlay.mp4.

Examples:
    python -m devocore segment nucleus embryo.png --out results/
    python -m devocore segment membrane stack.tif --out results/ --labels-3d
    python -m devocore segment nucleus movie.mov --out results/ --threshold 0.4
"""
from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("model", help="segmentation model: nucleus, membrane, or a model you trained")
    parser.add_argument("input", help="image (PNG, JPEG, TIFF), TIFF stack, video (MOV, MP4, AVI) or folder of frames")
    parser.add_argument("--out", required=True, help="folder for the results")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability threshold (default 0.5)")
    parser.add_argument("--pixel-size", type=float, default=None, help="micrometres per pixel, for areas in um^2")
    parser.add_argument("--min-size", type=int, default=0, help="smallest object kept, in pixels (default: automatic)")
    parser.add_argument("--batch", type=int, default=8, help="frames per network call (default 8)")
    parser.add_argument("--labels-3d", action="store_true",
                        help="for z-stacks: 3-D labels (membrane: each slice's cells linked to the overlapping "
                             "cell of the slice before) and table_3d.csv with each cell's volume; a stack of time "
                             "points of z-slices (an ImageJ hyperstack) is linked one time point at a time")
    parser.add_argument("--z-step", type=float, default=None,
                        help="micrometres between slices; with --pixel-size, volumes also in um^3")
    parser.add_argument("--no-overlay", action="store_true", help="for videos: skip the overlay video")
    parser.add_argument("--channel", type=int, default=None, metavar="N",
                        help="for multi-channel images: segment channel N (from 1), e.g. the nucleus channel "
                             "(default: the mean of the channels, or the model's own channel recipe)")
    parser.add_argument("--zoom", type=float, default=1.0,
                        help="the network sees each plane at this many times its usual 256 px (0.5-8; default 1): "
                             "for an embryo small in a wide field, about the frame's width over the embryo's")
    parser.add_argument("--json", action="store_true", help="print a summary as one JSON object")


def run(args) -> dict:
    from devocore import segmentation
    from devocore.commands._options import require_at_least, require_between, require_positive
    from devocore.progress import terminal
    from devocore.segmentation import segment_path

    require_between(args, 0, 1, "threshold", closed=False)
    require_between(args, 0.5, 8, "zoom")
    require_positive(args, "pixel_size", "z_step")
    require_at_least(args, min_size=0)
    model = segmentation.load(args.model)
    cfg = segmentation.SegmentConfig(model=args.model, threshold=args.threshold, pixel_size=args.pixel_size,
                                     min_size=args.min_size, batch=max(1, args.batch), z_step=args.z_step,
                                     channel=args.channel, zoom=args.zoom)
    summary = segment_path(Path(args.input), model, cfg, Path(args.out), labels_3d=args.labels_3d,
                           overlay_video=not args.no_overlay, progress=terminal("segment"))
    if args.json:
        from devocore.cli import print_json

        print_json(summary)
    else:
        print(f"{summary['kind']} '{Path(args.input).name}': {summary['planes']} plane(s), "
              f"{summary['instances']} instance(s) in total"
              + (f", {summary['instances_3d']} linked in 3-D" if "instances_3d" in summary else "")
              + f"; wrote {', '.join(summary['files'])} to {args.out}")
    for note in summary.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    return 0
