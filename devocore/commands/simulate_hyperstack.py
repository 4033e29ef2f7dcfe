"""Write hyper-labelled simulated planes: one embryo plane in 4 channels (nuclear, membrane, cytoplasm,
label-free transmitted light) with one set of exact masks.

Writes into --out: images/hyper_NNN.tif (4 x size x size uint8, ImageJ axes CYX, channels in that order),
masks/hyper_NNN.tif (nuclei, uint16 instance labels) and cells/hyper_NNN.tif (cells, uint16; the cell of
nucleus k has id k). Files are numbered from 1.

Example:
    python -m devocore simulate hyperstack --n 40 --out hyper/
    python -m devocore train compare --images hyper/images --masks hyper/masks --channels "0" "1" "3" "0;3"
"""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="folder to write images/, masks/ and cells/ into")
    parser.add_argument("--n", type=int, default=40, help="number of planes (40)")
    parser.add_argument("--size", type=int, default=256, help="side in pixels (256)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")


def run(args) -> None:
    from devocore.errors import DevocoreError
    from devocore.simulate.hyperstack import write_set

    if args.n < 1 or not 64 <= args.size <= 2048:
        raise DevocoreError("--n must be at least 1 and --size between 64 and 2048.")
    done = write_set(args.out, args.n, args.size, args.seed)
    print(f"wrote {done['planes']} four-channel planes ({done['nuclei']} nuclei in all) to {done['images']}, "
          f"their nuclei to {done['masks']} and cells to {done['cells']}")
