"""Compare simulated worms with the real ones in DATA/eval (measuring only, no fitting).

Measures the same things on real frames (eval/wormpose: frames + Tierpsy skeletons) and on a
default simulated video: plate and worm grey levels, contrast, noise, length/width, width at
head and tail, bending per body length, head-tail distance; plus mean bending per body length
of the Wen-lab curvature recording against the behaviour series.

  python -m devocore simulate worm-compare --real ../shared/data
"""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--real", required=True, help="folder holding eval/wormpose (e.g. ../shared/data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated video (default 0)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")


def run(args) -> dict:
    from devocore.simulate import worm_compare

    table = worm_compare.compare(args.real, seed=args.seed)
    print(table.round(3).to_string())
    return {name: {"real": float(row.real), "simulated": float(row.simulated)} for name, row in table.iterrows()}
