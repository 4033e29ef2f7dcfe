"""Regenerate the bundled example inputs in assets/examples from the simulators.

Every example file the pages offer is made by this command, from fixed seeds:
  python -m devocore simulate examples [--out assets/examples]
"""
from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    from devocore.config import EXAMPLES_DIR

    parser.add_argument("--out", type=Path, default=EXAMPLES_DIR, help="folder to write (default: assets/examples)")


def run(args) -> int:
    from devocore.simulate import embryo_export, worm

    args.out.mkdir(parents=True, exist_ok=True)
    written = [Path(p) for p in embryo_export.write_examples(args.out)]
    written += [Path(p) for p in worm.write_examples(args.out).values()]
    total = sum(p.stat().st_size for p in written if p.is_file())
    for path in sorted(written):
        print(path)
    print(f"{len(written)} files, {total / 1e6:.1f} MB in {args.out}")
    return 0
