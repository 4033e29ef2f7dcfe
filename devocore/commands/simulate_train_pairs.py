"""Write a small labelled dataset (images/ + masks/) for trying the Train view and `train nucleus --images`.

Nuclei from the segmentation simulator, drawn as another microscope would show
them (blurred, Gaussian read noise, bright sloping background), with binary masks.

Example:
    python -m devocore simulate train-pairs --out pairs/ --n 24 --size 128
    python -m devocore train nucleus --images pairs/images --masks pairs/masks --out my-nuclei --init nucleus
"""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="folder to write images/ and masks/ into")
    parser.add_argument("--n", type=int, default=24, help="number of pairs (24)")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels (128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--task", default="nucleus", choices=["nucleus", "membrane"], help="nucleus or membrane")


def run(args) -> None:
    from devocore.errors import DevocoreError
    from devocore.train.user_data import example_dataset

    if args.n < 2 or args.size < 32:
        raise DevocoreError("--n must be at least 2 and --size at least 32.")
    images, masks = example_dataset(args.out, n=args.n, size=args.size, seed=args.seed, task=args.task)
    print(f"wrote {args.n} pairs to {images} and {masks}")
