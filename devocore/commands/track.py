"""Track worms in a video or a folder of frames and write one CSV row per frame and worm."""
from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    parser.set_defaults(_out_file=True)  # --out is a table, not a results folder (outputs.KINDS)
    parser.add_argument("input", help="video file (MP4, AVI, MOV), TIFF stack or folder of frames")
    parser.add_argument("--out", default="track.csv", help="CSV to write (default track.csv)")
    parser.add_argument("--px-per-mm", type=float, default=None, help="image scale; adds *_mm columns")
    parser.add_argument("--fps", type=float, default=None, help="frame rate (default: the video's own, else 25)")
    parser.add_argument("--crops", choices=["auto", "yes", "no"], default="auto",
                        help="frames are crops around one worm (default: yes when frame sizes vary)")
    parser.add_argument("--overlay", default=None, help="also write an MP4 with skeletons, heads and ids drawn")
    parser.add_argument("--snapshot", default=None, help="also save one frame with the tracking drawn on as PNG")
    parser.add_argument("--snapshot-frame", type=int, default=None, help="frame number for --snapshot (default: the middle frame); numbered like the CSV's frame column")
    parser.add_argument("--json", action="store_true", help="print a summary as one JSON object")


def run(args) -> dict | int:
    from devocore.commands._options import require_positive
    from devocore.progress import terminal
    from devocore.tracking import TrackConfig, track
    from devocore.tracking.draw import draw_frame, read_frame, write_overlay

    require_positive(args, "px_per_mm", "fps")
    crops = {"auto": None, "yes": True, "no": False}[args.crops]
    config = TrackConfig(px_per_mm=args.px_per_mm, fps=args.fps, crops=crops)
    result = track(args.input, config, progress=None if args.json else terminal("tracking"))
    out = Path(args.out)
    result.table.to_csv(out, index=False, float_format="%.3f")
    if args.overlay:
        write_overlay(args.input, result.table, args.overlay, fps=result.fps, levels=result.levels)
    if args.snapshot:
        import cv2

        number = result.number_at(result.n_frames // 2) if args.snapshot_frame is None else args.snapshot_frame
        frame = read_frame(args.input, number)
        scale = 1 if max(frame.shape[:2]) >= 240 else 3
        image = draw_frame(frame, result.table[result.table["frame"] == number], scale, result.levels)
        Path(args.snapshot).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.snapshot), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    table = result.table
    summary = {
        "frames": result.n_frames,
        "frame_numbers": f"{result.number_at(0)}-{result.number_at(-1)}",
        "numbering": result.numbering,
        "worms": int(table["worm"].nunique()),
        "rows": len(table),
        "status": table["status"].value_counts().to_dict(),
        "fps": result.fps,
        "fps_assumed": result.fps_assumed,  # no frame rate in the settings or the file: times and speeds use 25
        "fps_processed": round(result.frames_per_second, 1),
        "crops": result.crops,
        "scale": round(result.scale, 4),  # not 1: tracked resized (huge frames, wide or thin worms); CSV in own px
        "out": str(out),
        "warning": result.unfit,  # None, or why the objects followed are not worms
        "still": result.still,  # None, or which tracks stay in place (a time stamp, debris, a paralysed worm)
        "blank_frames": len(result.blank_frames),  # frames skipped: black, white, dark or light all over
        "blank": result.blank,  # None, or which frames those are
    }
    if args.json:
        return summary
    print(f"{summary['frames']} frames (numbered {summary['frame_numbers']} by {result.numbering}), "
          f"{summary['worms']} worms, {summary['rows']} rows -> {out} ({summary['fps_processed']} frames/s)")
    print("status: " + ", ".join(f"{k} {v}" for k, v in summary["status"].items()))
    if summary["warning"]:
        print(f"warning: {summary['warning']}")
    if summary["still"]:
        print(f"note: {summary['still']}")
    if summary["blank"]:
        print(f"note: {summary['blank']}")
    if result.fps_assumed:
        print(f"note: no frame rate in the files: {result.fps:g} fps assumed for times and speeds; pass --fps to "
              "set it")
    return 0
