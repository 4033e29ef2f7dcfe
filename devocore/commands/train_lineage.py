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
    parser.add_argument("--out", default=d.out, help="model folder to write (weights + card)")
    parser.add_argument("--input-size", type=int, default=d.input_size)
    parser.add_argument("--n-simulated", type=int, default=d.n_simulated,
                        help="simulated embryos added to the EPIC positions (when the simulator exists)")
    parser.add_argument("--minutes", type=float, default=d.minutes, help="wall-clock budget, all included")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--threads", type=int, default=d.threads)


def run(args) -> dict:
    from devocore.progress import terminal
    from devocore.train.lineage import TrainConfig, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cfg = TrainConfig(curves=args.curves, epic=args.epic, validation_table=args.validation_table, out=args.out,
                      input_size=args.input_size, n_simulated=args.n_simulated,
                      minutes=args.minutes, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      threads=args.threads)
    result = train(cfg, terminal("train lineage"))
    print(f"saved {cfg.out}: validation nMAE {result['nmae_timeline']:.4f}, "
          f"log-total MAE {result['log_total_mae']:.3f} after {result['steps']} steps")
    return result
