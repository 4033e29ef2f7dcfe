"""Training on the user's own image/mask pairs, for ``train nucleus`` and ``train membrane`` (not a command).

Examples:
    python -m devocore train nucleus --images imgs/ --masks masks/ --out my-nuclei --from nucleus --epochs 20
    python -m devocore train nucleus --images imgs/ --masks masks/ --out my-nuclei --lr-find --tune 10
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path


def add_arguments(parser) -> None:
    group = parser.add_argument_group("your own data (Train view)")
    group.add_argument("--images", default=None, help="folder of images; with --masks, train on your pairs "
                       "instead of simulated data")
    group.add_argument("--masks", default=None, help="folder of masks, matched to the images by file name")
    group.add_argument("--from", dest="from_model", default=None,
                       help="fine-tune this model (e.g. nucleus) instead of training from scratch")
    group.add_argument("--instance-masks", action="store_true",
                       help="masks hold one number per cell (default: binary black/white masks)")
    group.add_argument("--val-fraction", type=float, default=0.2, help="share of files for validation (0.2)")
    group.add_argument("--group-by", default=None,
                       help="regular expression whose first bracket names the embryo/video of a file "
                            "(e.g. '^(emb\\d+)'); whole groups go to one side of the split")
    group.add_argument("--loss", default="bce+dice", choices=["bce+dice", "bce", "dice"], help="loss (bce+dice)")
    group.add_argument("--fg-weight", type=float, default=1.0,
                       help="BCE weight of foreground pixels; >1 favours over-segmentation (1.0)")
    group.add_argument("--schedule", default="plateau", choices=["plateau", "onecycle"],
                       help="learning-rate schedule (plateau)")
    group.add_argument("--aug-strength", type=float, default=1.0, help="augmentation strength 0..1 (1.0)")
    group.add_argument("--lr-find", action="store_true", help="run the learning-rate finder and train at its rate")
    group.add_argument("--tune", type=int, default=0, metavar="TRIALS",
                       help="Optuna search over lr, batch, loss weight and augmentation first")
    group.add_argument("--tune-epochs", type=int, default=3, help="epochs per tuning trial (3)")
    group.add_argument("--no-compare", action="store_true",
                       help="skip the table comparing start model, trained model and the classical baseline")
    group.add_argument("--no-bf16", action="store_true",
                       help="train in float32 on CPUs with native bfloat16 too (default: bf16 autocast there)")
    group.add_argument("--channels", default=None, metavar="RECIPE",
                       help="channel recipe for multi-channel images, one part per model input channel, e.g. "
                            "\"merge(0,1); drop(2,0.5)\" (parts: 0, random(0,1,2), drop(1,0.3), merge(0,2), "
                            "merge(0:0.2,2:0.5); see docs/multichannel.md); stored in the model card")
    group.add_argument("--keep-aspect", action="store_true",
                       help="resize images to the size on their short side, keeping their aspect, instead of "
                            "squeezing them to a square (stored in the model card; a start model trained so "
                            "passes it on)")
    group.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")


def start_decoder(model, channels: int | None, seed: int = 0):
    """``model`` as the start of a training: under a new decoder (first weights drawn with ``seed``) when
    ``channels`` names another width than its own, else as it is (also when there is no model)."""
    from devocore.train import finetune

    if model is None or not channels or channels == finetune.decoder_channels(model):
        return model
    import torch

    print(f"starting from the encoder of '{model.card.get('name', 'the start model')}' under a new decoder of "
          f"{channels} channels (its own has {finetune.decoder_channels(model)})")
    torch.manual_seed(seed)
    return finetune.with_decoder(model, channels)


def run(args, task: str, cfg, out: str, command: str) -> dict:
    """Load and check the pairs, optionally find the rate and tune, train, compare; returns the figures."""
    from devocore import config
    from devocore.errors import DevocoreError
    from devocore.progress import terminal
    from devocore.train import finetune, user_data
    from devocore.train.segmentation import train

    if not args.masks:
        raise DevocoreError("--images needs --masks (the folder of masks matched to the images by name).")
    model = user_data.start_model(args.from_model, task)
    if model is None and getattr(args, "init", None):  # the segmentation command's own --init (name or folder)
        model = finetune.initial_model(args.init)
        args.from_model = args.init
    model = start_decoder(model, getattr(args, "decoder_channels", None), cfg.seed)
    size = cfg.size if args.size or model is None else int(model.card.get("input_size", cfg.size))  # --size wins
    keep_aspect = bool(args.keep_aspect or (model is not None and model.card.get("keep_aspect")))
    cfg = replace(cfg, size=size, crop=min(cfg.crop, size), keep_aspect=keep_aspect, loss=args.loss, fg_weight=args.fg_weight,
                  schedule=args.schedule, aug_strength=args.aug_strength, bf16=not args.no_bf16)
    if Path(out).resolve() == Path(args.images).resolve() or Path(out).resolve() == Path(args.masks).resolve():
        raise DevocoreError("--out must not be the image or mask folder: your files are never written to.")
    recipe = getattr(args, "channels", None) or (model.card.get("channels") if model is not None else None)
    dataset, source, cfg = finetune.load_pairs(args.images, args.masks, task, cfg, binary=not args.instance_masks,
                                               group_pattern=args.group_by, val_fraction=args.val_fraction,
                                               recipe=recipe)
    print(f"{len(dataset)} pairs: {len(source.train_set)} for training, {len(source.val_set)} for validation")
    figures: dict = {"task": task, "pairs": len(dataset), "validation_files": len(source.val_set)}
    start = model
    if args.lr_find:
        from devocore.train.lr_finder import find_lr
        from devocore.train.segmentation import build

        net = start if start is not None else build(cfg)[0]
        found = find_lr(net, source, loss=cfg.loss, fg_weight=cfg.fg_weight, seed=cfg.seed,
                        progress=terminal("lr finder"))
        cfg = replace(cfg, lr=found.suggested)
        figures["lr_suggested"] = found.suggested
        print(f"learning-rate finder: suggested rate {found.suggested:.2e}")
    if args.tune:
        from devocore.train.tuning import tune

        make_source = finetune.source_maker(source, cfg.size, cfg.crop)
        result = tune(replace(cfg, epochs=args.tune_epochs), make_source, args.tune, start, cfg.seed,
                      progress=terminal("tuning"))
        print(result.trials.to_string(index=False))
        cfg = replace(cfg, **result.best_params)
        source = make_source(cfg.batch, cfg.aug_strength)
        figures.update(tune_best_iou=result.best_iou, tune_best=result.best_params)
    import copy

    trained = train(cfg, out=out, progress=terminal(f"train {task}"), command=command,
                    model=copy.deepcopy(model) if model is not None else None, data=source)
    net = trained.pop("model")
    figures.update({k: v for k, v in trained.items()}, out=str(out), lr=cfg.lr)
    print(f"best epoch {trained['epoch']}: validation IoU {trained['val_iou']:.3f}, Dice "
          f"{trained.get('val_dice', 0):.3f}; {trained['epochs']} epochs in {trained['seconds']:.0f} s; "
          f"saved to {out}")
    if not args.no_compare:
        table = finetune.comparison(
            net, Path(out).name, task, source, start=model, start_name=f"{args.from_model} (before)",
            trained_kind="trained here" + (f" from {args.from_model}" if model is not None else " from scratch"),
            start_kind="start model")
        print(table.to_string(index=False))
        figures["comparison"] = table.to_dict("records")
    if Path(out).resolve().parent != config.user_model_dir().resolve():
        print(f"note: the Segmentation view lists models in {config.user_model_dir()} (DEVOCORE_MODEL_DIR); "
              f"copy {out} there to use it.")
    return figures
