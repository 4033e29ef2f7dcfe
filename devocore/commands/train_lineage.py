"""Train the lineage-population model on rendered embryo frames (CPU-friendly, time-limited)."""
from __future__ import annotations

import logging


def add_arguments(parser) -> None:
    from devocore.train.lineage import TrainConfig

    d = TrainConfig()
    parser.add_argument("--curves", default=d.curves, help="real lineage curves CSV (embryo, frame, A..Z)")
    parser.add_argument("--epic", default=d.epic, help="folder of EPIC cell tables (nucleus positions)")
    parser.add_argument("--validation-table", default=d.validation_table,
                        help="EPIC table held out of training and rendered as the validation movie")
    parser.add_argument("--hold-out", nargs="+", default=list(d.hold_out), metavar="TABLE",
                        help="EPIC tables (file names) also kept out of training, for choosing the method")
    parser.add_argument("--out", default=None,
                        help=f"model folder to write (weights + card; default {d.out}, or lineage-user in your "
                             "model folder when fine-tuning on --frames)")
    parser.add_argument("--input-size", type=int, default=d.input_size)
    parser.add_argument("--n-simulated", type=int, default=d.n_simulated,
                        help="simulated embryos added to the EPIC positions (when the simulator exists)")
    parser.add_argument("--minutes", type=float, default=d.minutes, help="wall-clock budget, all included")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--threads", type=int, default=d.threads)
    parser.add_argument("--crop", action="store_true",
                        help="train on the embryo cropped out of each frame (whatever the magnification)")
    parser.add_argument("--init", default=None, metavar="MODEL",
                        help="start from the weights of this lineage model (name or folder; same --input-size "
                             "and --crop) instead of from scratch")
    parser.add_argument("--select", choices=("log_total_mae", "nmae_timeline"), default=d.select,
                        help="validation figure that picks the checkpoint kept")
    parser.add_argument("--curves-only", action="store_true",
                        help="keep the network of --from, rebuild only its reference curves from --curves "
                             "(written back into the model folder, or --out when given)")
    # Train view (issue 10): fine-tune on your own movies
    group = parser.add_argument_group("your own movies (Train view)")
    group.add_argument("--frames", action="append", default=None, metavar="DIR|VIDEO",
                       help="a video or folder of frames (repeat for several movies, each with --populations)")
    group.add_argument("--populations", action="append", default=None, metavar="CSV",
                       help="true populations per frame: frame, A, E, M, P, C, D, Z (frame 1 = first)")
    group.add_argument("--from", dest="from_model", default="lineage", help="lineage model to fine-tune (lineage)")
    group.add_argument("--epochs", type=int, default=20, help="most epochs on your movies (20)")
    group.add_argument("--steps", type=int, default=20, help="batches per epoch (20)")
    group.add_argument("--val-fraction", type=float, default=0.25,
                       help="share of movies (or of the last frames of a single movie) for validation")
    group.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")


def run(args) -> dict:
    from devocore.progress import terminal
    from devocore.train.lineage import TrainConfig, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.curves_only:
        from devocore.train.lineage import rebuild_curves

        out = args.out
        figures = rebuild_curves(args.from_model, args.curves, out)
        print(f"reference curves of '{args.from_model}' rebuilt from {figures['embryos']} embryos; prior rate "
              f"{figures['prior_rate']:.2f} +- {figures['prior_rate_sd']:.2f} steps per frame")
        return figures
    if args.frames:
        return _run_user(args)
    cfg = TrainConfig(curves=args.curves, epic=args.epic, validation_table=args.validation_table,
                      hold_out=tuple(args.hold_out), out=args.out or TrainConfig().out, input_size=args.input_size,
                      n_simulated=args.n_simulated, minutes=args.minutes, batch_size=args.batch_size, lr=args.lr,
                      seed=args.seed, threads=args.threads, select=args.select, crop=args.crop,
                      init=args.init)
    result = train(cfg, terminal("train lineage"))
    print(f"saved {cfg.out}: validation nMAE {result['nmae_timeline']:.4f}, "
          f"log-total MAE {result['log_total_mae']:.3f} after {result['steps']} steps")
    return result


def _run_user(args) -> dict:
    """Fine-tune ``--from`` on the user's movies (``--frames`` + ``--populations`` pairs)."""
    from devocore import config, registry
    from devocore.errors import DevocoreError
    from devocore.lineage import crops_embryo
    from devocore.progress import terminal
    from devocore.train.lineage_user import LineageFinetuneConfig, finetune, load_movie

    populations = args.populations or []
    if len(populations) != len(args.frames):
        raise DevocoreError(f"Give one --populations table per --frames movie ({len(args.frames)} movie(s), "
                            f"{len(populations)} table(s)).")
    info = registry.find_model(args.from_model)
    if info.task != "lineage":
        options = ", ".join(m.name for m in registry.list_models("lineage")) or "none"
        raise DevocoreError(f"'{args.from_model}' is not a lineage model. Lineage models: {options}.")
    model = registry.load_model(args.from_model, "cpu")
    size = int(model.card.get("input_size", 64))
    movies = [load_movie(f, p, size, crop=crops_embryo(model)) for f, p in zip(args.frames, populations)]
    out = args.out or str(config.user_model_dir() / "lineage-user")
    cfg = LineageFinetuneConfig(epochs=args.epochs, steps=args.steps, batch=args.batch_size, lr=args.lr,
                                val_fraction=args.val_fraction, seed=args.seed)
    result = finetune(model, movies, cfg, out=out, progress=terminal("train lineage"))
    result.pop("model")
    print(f"validation error: {result['start_val_mae_count']:.1f} cells per lineage before, "
          f"{result['val_mae_count']:.1f} after (best epoch {result['epoch']}); saved to {out}")
    return dict(result, out=out)
