"""Compare channel recipes (and architectures): one model each, same data, seed and budget, scored on held-out images.

Splits the multi-channel image/mask pairs once into training, validation (best epoch) and held-out images
(scores only), trains one segmenter per --channels recipe and --arch, and reports pixel IoU and instance F1
(IoU 0.5) on the held-out images as mean, standard deviation and interquartile range over the images: a
table, a bar chart where --plot says, and with --json one JSON object on the last line. Nothing else is
written. The budget is small by default so a run fits a laptop CPU; raise --epochs/--steps for real answers.

Example:
    python -m devocore simulate hyperstack --n 40 --out hyper/
    python -m devocore train compare --images hyper/images --masks hyper/masks \\
        --channels "0" "1" "merge(0,1)" "3" "0; 3" --arch fpn unet34-ps --plot compare.png --json
"""
from __future__ import annotations

from pathlib import Path


# (option, type, default, help): the training budget and split, the same for every recipe
BUDGET = (("--epochs", int, 3, "epochs per model"), ("--steps", int, 10, "batches per epoch"),
          ("--batch", int, 4, "images per batch"), ("--size", int, 128, "images resized to this side, multiple of 32"),
          ("--crop", int, 128, "training crop side"), ("--lr", float, 2e-3, "learning rate"),
          ("--decoder-channels", int, 64, "FPN pyramid channels"),
          ("--minutes", float, 10.0, "wall-clock limit per model"),
          ("--held-out", float, 0.25, "share of images scored only"),
          ("--seed", int, 0, "seed of the split and of every model"), ("--threads", int, 1, "CPU threads"),
          ("--fg-weight", float, 1.0, "BCE weight of foreground pixels"))


def add_arguments(parser) -> None:
    parser.add_argument("--images", required=True, help="folder of multi-channel images (TIFF C x Y x X, PNG)")
    parser.add_argument("--masks", required=True, help="folder of masks matched to the images by name")
    parser.add_argument("--channels", nargs="+", required=True, metavar="RECIPE",
                        help="channel recipes to compare, one model each (e.g. \"0\" \"1\" \"merge(0,1)\" \"3\")")
    parser.add_argument("--arch", nargs="+", default=["fpn"], choices=["fpn", "unet34-ps"],
                        help="architectures to train for every recipe (default fpn)")
    parser.add_argument("--task", default="nucleus", choices=["nucleus", "membrane"], help="what the masks show")
    for flag, kind, default, text in BUDGET:
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default {default:g})")
    parser.add_argument("--plot", default=None, help="write the bar chart (PNG) here")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")


def run(args) -> dict:
    from devocore.errors import DevocoreError
    from devocore.progress import terminal
    from devocore.train.channel_compare import bar_chart, compare_recipes
    from devocore.train.segmentation import TrainConfig

    if args.epochs < 1 or args.steps < 1 or args.batch < 1:
        raise DevocoreError("--epochs, --steps and --batch must be at least 1.")
    if not 0.0 < args.held_out < 1.0:
        raise DevocoreError(f"--held-out is a share between 0 and 1, got {args.held_out}.")
    cfg = TrainConfig(task=args.task, epochs=args.epochs, steps=args.steps, batch=args.batch, size=args.size,
                      crop=min(args.crop, args.size), lr=args.lr, minutes=args.minutes, seed=args.seed,
                      decoder_channels=args.decoder_channels, threads=args.threads, patience=max(args.epochs, 1),
                      fg_weight=args.fg_weight)
    found = compare_recipes(args.images, args.masks, args.channels, cfg, tuple(args.arch), held_out=args.held_out,
                            progress=terminal("train compare"))
    table = found.table
    shown = table.copy()
    for column in ("iou", "iou_std", "iou_iqr", "f1", "f1_std", "f1_iqr", "dice"):
        shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    print(f"{found.split['train']} training, {found.split['validation']} validation and {found.split['held_out']} "
          f"held-out images; {args.epochs} epochs x {args.steps} batches of {args.batch} per model, seed {args.seed}")
    print(shown.to_string(index=False))
    if args.plot:
        from PIL import Image

        Image.fromarray(bar_chart(table)).save(args.plot, format="PNG")
        print(f"bar chart written to {args.plot}")
    return {"task": args.task, "split": found.split,
            "budget": {"epochs": args.epochs, "steps": args.steps, "batch": args.batch, "size": args.size,
                       "seed": args.seed},
            "results": table.round(4).to_dict("records"),
            "plot": str(Path(args.plot)) if args.plot else None}
