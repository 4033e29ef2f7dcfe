"""Lineage populations (A, E, M, P, C, D, Z) and developmental stage for every frame of an embryo time-lapse -> CSV."""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.set_defaults(_out_file=True)  # --out is a table, not a results folder (outputs.KINDS)
    from devocore.lineage import METHODS, LineageConfig

    d = LineageConfig()
    parser.add_argument("video", help="video (MOV/MP4/AVI), folder of frames, image or TIFF stack; a folder whose "
                                      "file names all carry rising numbers keeps them as frame numbers (00700.png = "
                                      "frame 700, gaps stay gaps; names counting from 0 start at frame 1)")
    parser.add_argument("--out", default="lineage_populations.csv",
                        help="CSV to write: frame, A..Z, total, stage_tp (time points after the 4-cell stage) with "
                             "stage_tp_lo/_hi (90 %% band), stage_min/_lo/_hi with --frame-interval, and embryo "
                             "(False for frames that show no embryo)")
    parser.add_argument("--model", default=d.model, help="lineage model name")
    parser.add_argument("--method", choices=METHODS, default=d.method,
                        help="timeline: one time line fitted to the whole video (default, chosen on training "
                             "data); stage: each frame alone; net: raw outputs")
    parser.add_argument("--monotone", action="store_true", help="counts never decrease over the video")
    parser.add_argument("--smooth", type=int, default=d.smooth, metavar="K",
                        help="running median over K frames before anything else (1 = off)")
    parser.add_argument("--frame-interval", type=float, default=None, metavar="SECONDS",
                        help="seconds between frames: adds stage_min (minutes after the 4-cell stage) and its band")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--channel", default=d.channel,
                        help="the channel that shows the nuclei: auto (green in a colour video; in a TIFF of 2 or "
                             "more microscope channels, the one with nuclei in the most frames), green, red, blue, "
                             "mean, or a channel's number from 1")
    parser.add_argument("--turn", type=float, default=None, metavar="DEGREES",
                        help="turn every frame by this many degrees (anticlockwise as shown) before counting, so "
                             "the embryo lies left to right as in the movies the model learnt from; default: found "
                             "from the movie (an embryo within 10 degrees of left to right is not turned); 0: never")
    parser.add_argument("--embryos", choices=("largest", "all"), default=d.embryos,
                        help="largest: where the field shows several embryos apart from each other, count only "
                             "the largest (a note says which), and leave out bright spots apart from the embryo "
                             "(debris); all: count the whole field")
    parser.add_argument("--device", default=None, help="torch device (default: chosen automatically)")


def run(args) -> int:
    from devocore import registry
    from devocore.device import choose_device
    import sys

    from devocore.commands._options import require_at_least, require_between, require_positive
    from devocore.errors import DevocoreError
    from devocore.lineage import LINEAGES, LineageConfig, no_embryo_warning, predict, timeline_formula
    from devocore.progress import terminal

    if args.smooth < 1:
        raise DevocoreError("--smooth must be 1 (off) or more frames.")
    require_at_least(args, batch_size=1)
    require_positive(args, "frame_interval", unit=" of seconds")
    require_between(args, -360, 360, "turn", unit=" degrees")
    cfg = LineageConfig(model=args.model, method=args.method, monotone=args.monotone, smooth=args.smooth,
                        batch_size=args.batch_size, channel=args.channel, frame_interval_s=args.frame_interval,
                        angle=args.turn, embryos=args.embryos)
    net = registry.load_model(cfg.model, args.device or choose_device().name)
    result = predict(args.video, net, cfg, terminal("lineage"))
    result.table.to_csv(args.out, index=False)
    last = result.table.iloc[-1]
    print(f"{len(result.table)} frames -> {args.out}")
    print("last frame: " + ", ".join(f"{k} {int(last[k])}" for k in LINEAGES) + f", total {int(last['total'])}")
    print(f"stage of the last frame: {last['stage_tp']:.0f} time points after the 4-cell stage "
          f"(90 % band {last['stage_tp_lo']:.0f} to {last['stage_tp_hi']:.0f})")
    if result.timeline is not None:
        print(f"timeline: {timeline_formula(result.timeline, int(result.table['frame'].iloc[0]))}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for warning in (result.unfit, no_embryo_warning(result.table, result.timeline is not None)):
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    return 0
