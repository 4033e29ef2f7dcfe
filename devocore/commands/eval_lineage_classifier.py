"""Founder-lineage accuracy of the aligned-position classifier on held-out embryos.

Trains on the --train EPIC tables and reports, per --test table, the accuracy of
naming each nucleus's founder lineage (AB, MS, E, C, D, P4, P) from its aligned
position, size and stage, beside two baselines: the majority class and a random
forest on the raw, unaligned columns x, y, z, size, time.

Training embryos are aligned with their lineage landmarks. Test embryos are
aligned WITHOUT their cell names by default (--test-orientation model: the
orientation where the classifier is most confident); --test-orientation names
uses the test embryo's own landmarks instead.

Example:
    python -m devocore eval lineage-classifier --train ../shared/data/train/epic/*.csv \\
        --test ../shared/data/eval/epic/*.csv --json
"""
from __future__ import annotations

import time
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--train", nargs="+", required=True, help="EPIC tables to train on")
    parser.add_argument("--test", nargs="+", required=True, help="EPIC tables to test on")
    parser.add_argument("--z-scale", type=float, default=None,
                        help="focal-plane step in pixel units (default: the EPIC value)")
    parser.add_argument("--test-orientation", choices=("model", "names", "none"), default="model",
                        help="how test embryos are oriented (default: model, uses no cell names)")
    parser.add_argument("--model", choices=("boosting", "forest"), default="boosting")
    parser.add_argument("--target", choices=("founder", "cell_at_generation"), default="founder")
    parser.add_argument("--generation", type=int, default=6,
                        help="for --target cell_at_generation: name the ancestor at this generation")
    parser.add_argument("--max-rows", type=int, default=8000, help="training rows sampled per embryo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot-dir", default=None,
                        help="save PNG figures of each test embryo here (PCA of aligned positions, raw and "
                             "aligned views, coloured by founder lineage)")


def run(args) -> dict:
    from devocore.embedding import EPIC_Z_SCALE, read_cells
    from devocore.embedding.tables import UNKNOWN
    from devocore.errors import TableError
    from devocore.embedding.classify import (LineageClassifier, align_table, confusion, majority_accuracy,
                                             raw_baseline, targets)

    z_scale = EPIC_Z_SCALE if args.z_scale is None else args.z_scale
    start = time.perf_counter()
    train = [read_cells(path, z_scale=z_scale) for path in args.train]
    test = [read_cells(path, z_scale=z_scale) for path in args.test]
    for path, frame in [*zip(args.train, train), *zip(args.test, test)]:
        if (frame["founder"] == UNKNOWN).all():  # nothing to learn from or to score
            names = ", ".join(map(str, frame["cell"].drop_duplicates().head(5)))
            raise TableError(f"'{Path(path).name}': none of its cell names is a Sulston name (e.g. {names}); "
                             "training and scoring need named cells such as ABa, MSp or Ea.")
    clf = LineageClassifier(target=args.target, generation=args.generation, model=args.model,
                            max_rows_per_embryo=args.max_rows, seed=args.seed)
    clf.fit([align_table(frame, "names") for frame in train])
    train_labels = [label for frame in train for label in targets(frame, args.target, args.generation)]
    baseline = raw_baseline(train, test, seed=args.seed, max_rows_per_embryo=args.max_rows) \
        if args.target == "founder" else [float("nan")] * len(test)
    per_file = []
    for path, frame, base in zip(args.test, test, baseline):
        aligned = align_table(frame, args.test_orientation, clf) if args.test_orientation == "model" \
            else align_table(frame, args.test_orientation)
        truth = targets(aligned, args.target, args.generation)
        predicted = clf.predict(aligned)
        if args.plot_dir:
            _plots(aligned, Path(args.plot_dir), Path(path).stem)
        per_file.append({
            "file": Path(path).name, "rows": int(len(frame)), "max_cells": int(frame["stage"].max()),
            "accuracy": float((predicted == truth).mean()),
            "baseline_accuracy": base,
            "majority_accuracy": majority_accuracy(train_labels, truth),
            "confusion": confusion(truth, predicted).to_dict(orient="index") if args.target == "founder" else None,
        })
    mean = lambda key: float(sum(f[key] for f in per_file) / len(per_file))  # noqa: E731
    figures = {
        "accuracy": mean("accuracy"),
        "min_accuracy": float(min(f["accuracy"] for f in per_file)),
        "baseline_accuracy": mean("baseline_accuracy"),
        "majority_accuracy": mean("majority_accuracy"),
        "per_file": per_file,
        "target": args.target, "model": args.model, "test_orientation": args.test_orientation,
        "z_scale": z_scale, "train_files": [Path(p).name for p in args.train],
        "seconds": round(time.perf_counter() - start, 1),
    }
    if True:  # the table is printed with or without --json; the JSON line comes last
        print(f"{'test embryo':<40} {'cells':>5} {'accuracy':>9} {'raw RF':>7} {'majority':>9}")
        for f in per_file:
            print(f"{f['file']:<40} {f['max_cells']:>5} {f['accuracy']:>9.3f} {f['baseline_accuracy']:>7.3f} "
                  f"{f['majority_accuracy']:>9.3f}")
        print(f"{'mean':<40} {'':>5} {figures['accuracy']:>9.3f} {figures['baseline_accuracy']:>7.3f} "
              f"{figures['majority_accuracy']:>9.3f}")
    return figures


def _plots(aligned, folder: Path, stem: str) -> None:
    """PCA of the aligned columns, and raw vs aligned positions, coloured by founder."""
    from devocore.embedding.figures import scatter_png
    from devocore.embedding.project import pca

    folder.mkdir(parents=True, exist_ok=True)
    projection = pca(aligned, ["ap", "dv", "lr", "size_rel"], 2, "standard")
    ev = projection.explained
    scatter_png(projection.coords["PC1"], projection.coords["PC2"], aligned["founder"],
                folder / f"pca_{stem}.png", title=f"{stem}: PCA of aligned ap, dv, lr, size (all time points)",
                xlabel=f"PC1 ({100 * ev[0]:.0f}%)", ylabel=f"PC2 ({100 * ev[1]:.0f}%)", point=2)
    late = aligned[aligned["stage"] >= 0.8 * aligned["stage"].max()]
    late = late[late["time"] == late["time"].min()]
    scatter_png(late["x"], late["y"], late["founder"], folder / f"raw_{stem}.png",
                title=f"{stem}: raw x, y at {len(late)} cells", xlabel="x (pixels)", ylabel="y (pixels)",
                point=6, equal_axes=True)
    scatter_png(late["ap"], late["lr"], late["founder"], folder / f"aligned_{stem}.png",
                title=f"{stem}: aligned, {len(late)} cells (oriented without names)",
                xlabel="ap (embryo lengths, posterior +)", ylabel="lr (left +)", point=6, equal_axes=True)
