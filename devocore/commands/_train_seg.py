"""Shared arguments and run for ``train nucleus`` and ``train membrane`` (not a command itself)."""
from __future__ import annotations

import shlex
import sys

from devocore import config


def add_arguments(parser, task: str) -> None:
    parser.add_argument("--epochs", type=int, default=40, help="most epochs (default 40; early stopping may end sooner)")
    parser.add_argument("--steps", type=int, default=40, help="batches per epoch (default 40)")
    parser.add_argument("--batch", type=int, default=8, help="images per batch (default 8)")
    parser.add_argument("--size", type=int, default=None,
                        help="side of the simulated frames, or the side your images are resized to, multiple of 32 "
                             "(default 256, or the --init/--from model's)")
    parser.add_argument("--crop", type=int, default=128, help="side of the training crops (default 128)")
    parser.add_argument("--lr", type=float, default=2e-3, help="initial learning rate (default 0.002)")
    parser.add_argument("--minutes", type=float, default=50.0, help="wall-clock limit in minutes (default 50)")
    parser.add_argument("--patience", type=int, default=6, help="epochs without improvement before stopping")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--simulator-share", type=float, default=0.0,
                        help="share of samples from devocore.simulate.embryo when it is installed (default 0)")
    parser.add_argument("--resample-share", type=float, default=0.0,
                        help="share of nucleus frames drawn 1-3x larger and shrunk, like slices resized from a "
                             "larger camera frame (default 0)")
    parser.add_argument("--val-images", type=int, default=24, help="simulated validation images (default 24)")
    parser.add_argument("--decoder-channels", type=int, default=None,
                        help="FPN pyramid channels (default 256 as in smp, or the --init/--from model's; 64 trains "
                             "and runs about 1.6x faster). Given with --init/--from and unlike that model's: its "
                             "encoder under a new decoder of this width")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1; see TrainConfig)")
    parser.add_argument("--arch", default="fpn", choices=["fpn", "unet34-ps"],
                        help="network: fpn (FPN, ResNet-18 encoder; default) or unet34-ps (U-Net, ResNet-34 "
                             "encoder, pixel-shuffle upsampling initialised with ICNR)")
    parser.add_argument("--init", default=None,
                        help="start from this model's weights (a name, e.g. nucleus, or a model folder) to fine-tune")
    parser.add_argument("--out", default=None,
                        help=f"model folder to write (default: the user model folder / {task}-user)")
    from devocore.commands import _train_user  # Train view: --images/--masks, --from, --tune, --lr-find

    _train_user.add_arguments(parser)


def _check_numbers(args) -> None:
    """Refuse counts, rates and shares no training can take (0 epochs, a nan or negative rate, a share over 1),
    by option, before anything is read or written."""
    from devocore.commands._options import require_at_least, require_between, require_positive
    from devocore.errors import DevocoreError

    require_at_least(args, epochs=1, steps=1, batch=1, patience=1, val_images=1, threads=1, decoder_channels=1,
                     tune=0, tune_epochs=1)
    require_positive(args, "minutes", "fg_weight")
    lr = getattr(args, "lr", None)
    if lr is not None and not 0 <= lr < float("inf"):  # 0 leaves the weights as they are
        raise DevocoreError(f"--lr must be 0 or a positive number, got {lr}.")
    require_between(args, 0, 1, "simulator_share", "resample_share")
    require_between(args, 0, 10, "aug_strength")
    require_between(args, 0, 1, "val_fraction", closed=False, unit=" (a share of the files)")


def run(args, task: str) -> dict:
    from devocore.errors import DevocoreError
    from devocore.progress import terminal
    from devocore.train.segmentation import TrainConfig, train

    _check_numbers(args)
    if args.size is not None and args.size <= 0:
        raise DevocoreError(f"--size must be a positive multiple of 32, got {args.size}.")
    if args.size and args.size % 32:  # simulated frames and your own images alike
        raise DevocoreError(f"--size {args.size} is not a multiple of 32 (the network halves the image five times).")
    out = args.out or str(config.user_model_dir() / f"{task}-user")
    cfg = TrainConfig(task=task, epochs=args.epochs, steps=args.steps, batch=args.batch, crop=args.crop,
                      size=args.size or 256, lr=args.lr, patience=args.patience, minutes=args.minutes, seed=args.seed,
                      simulator_share=args.simulator_share, resample_share=args.resample_share,
                      val_images=args.val_images, decoder_channels=args.decoder_channels or 256, threads=args.threads,
                      arch=args.arch)
    command = "python -m devocore " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith("__main__.py") else f"python -m devocore train {task}"
    if getattr(args, "images", None):  # the user's own pairs (Train view)
        from devocore.commands import _train_user

        return _train_user.run(args, task, cfg, out, command)
    if getattr(args, "channels", None):
        raise DevocoreError("--channels needs your own multi-channel images: add --images and --masks.")
    model = None
    if args.init:
        from devocore.commands._train_user import start_decoder
        from devocore.train.finetune import initial_model

        model = start_decoder(initial_model(args.init), args.decoder_channels, args.seed)
    result = train(cfg, out=out, progress=terminal(f"train {task}"), command=command, model=model)
    result.pop("model")
    print(f"best epoch {result['epoch']}: simulated validation IoU {result['val_iou']:.3f} "
          f"(loss {result['val_loss']:.4f}); {result['epochs']} epochs in {result['seconds']:.0f} s; saved to {out}")
    return result
