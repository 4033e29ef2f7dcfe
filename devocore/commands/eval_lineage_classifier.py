"""Founder-lineage accuracy of the aligned-position classifier on held-out embryos.

Trains on the --train EPIC tables and reports, per --test table, the accuracy of
naming each nucleus's founder lineage (AB, MS, E, C, D, P4, P) from its aligned
position, size and developmental clock, beside two baselines: the majority class and a
random forest on the raw, unaligned columns x, y, z, size, time.

With --leave-one-out (no --test), each training embryo in turn is held out: the
classifier is trained on all the others and tested on it. The figures are the
median, mean and lowest accuracy over the held-out embryos, with the same baselines.

Training embryos are aligned with their lineage landmarks. Test embryos are
aligned WITHOUT their cell names by default (--test-orientation model: the
orientation where the classifier is most confident); --test-orientation names
uses the test embryo's own landmarks instead.

Example:
    python -m devocore eval lineage-classifier --train ../shared/data/train/epic/*.csv \\
        --test ../shared/data/eval/epic/*.csv --json
    python -m devocore eval lineage-classifier --train ../shared/data/train/epic/*.csv --leave-one-out --json
"""
from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--train", nargs="+", required=True, help="EPIC tables to train on")
    parser.add_argument("--test", nargs="+", default=None, help="EPIC tables to test on")
    parser.add_argument("--leave-one-out", action="store_true",
                        help="no --test: hold out each training table in turn, train on the others")
    parser.add_argument("--z-scale", type=float, default=None,
                        help="focal-plane step in pixel units (default: the EPIC value)")
    parser.add_argument("--test-orientation", choices=("model", "names", "none"), default="model",
                        help="how test embryos are oriented (default: model, uses no cell names)")
    parser.add_argument("--model", choices=("boosting", "forest"), default="boosting")
    parser.add_argument("--target", choices=("founder", "cell_at_generation"), default="founder")
    parser.add_argument("--generation", type=int, default=6,
                        help="for --target cell_at_generation: name the ancestor at this generation")
    parser.add_argument("--max-rows", type=int, default=2000,
                        help="training rows sampled per embryo (at random, seeded; default 2000)")
    parser.add_argument("--smoothing", type=float, default=None,
                        help="per-step discount when calls are pooled along nuclei linked over time "
                             "(default: the classifier's, 0.97; 0 calls each nucleus alone)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot-dir", default=None,
                        help="save PNG figures of each test embryo here (PCA of aligned positions, raw and "
                             "aligned views, coloured by founder lineage)")


def _evaluate(args, train: list, aligned_train: list, test: list, test_paths: list) -> list[dict]:
    """Train on ``train`` (aligned by names in ``aligned_train``) and score every table of ``test``."""
    from devocore.embedding.classify import (SMOOTHING, LineageClassifier, align_table, confusion,
                                             majority_accuracy, raw_baseline, targets)

    smoothing = SMOOTHING if args.smoothing is None else args.smoothing
    clf = LineageClassifier(target=args.target, generation=args.generation, model=args.model,
                            max_rows_per_embryo=args.max_rows, smoothing=smoothing, seed=args.seed)
    clf.fit(aligned_train)
    train_labels = [label for frame in train for label in targets(frame, args.target, args.generation)]
    baseline = raw_baseline(train, test, seed=args.seed, max_rows_per_embryo=args.max_rows) \
        if args.target == "founder" else [float("nan")] * len(test)
    per_file = []
    for path, frame, base in zip(test_paths, test, baseline):
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
    return per_file


def run(args) -> dict:
    from devocore.embedding import EPIC_Z_SCALE, read_cells
    from devocore.embedding.classify import SMOOTHING, align_table
    from devocore.embedding.tables import UNKNOWN
    from devocore.errors import DevocoreError, TableError

    if args.leave_one_out and args.test:
        raise DevocoreError("Give either --test FILES or --leave-one-out, not both.")
    if not args.leave_one_out and not args.test:
        raise DevocoreError("Give --test FILES, or --leave-one-out to hold out each training file in turn.")
    if args.leave_one_out and len(args.train) < 3:
        raise DevocoreError(f"--leave-one-out needs at least 3 training files; got {len(args.train)}.")
    z_scale = EPIC_Z_SCALE if args.z_scale is None else args.z_scale
    start = time.perf_counter()
    train = [read_cells(path, z_scale=z_scale) for path in args.train]
    test = [read_cells(path, z_scale=z_scale) for path in args.test or []]
    for path, frame in [*zip(args.train, train), *zip(args.test or [], test)]:
        if (frame["founder"] == UNKNOWN).all():  # nothing to learn from or to score
            names = ", ".join(map(str, frame["cell"].drop_duplicates().head(5)))
            raise TableError(f"'{Path(path).name}': none of its cell names is a Sulston name (e.g. {names}); "
                             "training and scoring need named cells such as ABa, MSp or Ea.")
    aligned = [align_table(frame, "names") for frame in train]  # training embryos: aligned once, by names
    if args.leave_one_out:
        per_file = []
        for i, (path, frame) in enumerate(zip(args.train, train)):
            rest = [j for j in range(len(train)) if j != i]
            per_file += _evaluate(args, [train[j] for j in rest], [aligned[j] for j in rest], [frame], [path])
            log.info("held out %s: accuracy %.3f", Path(path).name, per_file[-1]["accuracy"])
    else:
        per_file = _evaluate(args, train, aligned, test, args.test)
    mean = lambda key: float(sum(f[key] for f in per_file) / len(per_file))  # noqa: E731
    accuracies = [f["accuracy"] for f in per_file]
    figures = {
        "accuracy": mean("accuracy"),
        "median_accuracy": float(statistics.median(accuracies)),
        "min_accuracy": float(min(accuracies)),
        "baseline_accuracy": mean("baseline_accuracy"),
        "median_baseline_accuracy": float(statistics.median(f["baseline_accuracy"] for f in per_file)),
        "majority_accuracy": mean("majority_accuracy"),
        "per_file": per_file,
        "mode": "leave-one-out" if args.leave_one_out else "train/test",
        "target": args.target, "model": args.model, "test_orientation": args.test_orientation,
        "smoothing": SMOOTHING if args.smoothing is None else args.smoothing, "max_rows": args.max_rows,
        "z_scale": z_scale, "train_files": [Path(p).name for p in args.train],
        "seconds": round(time.perf_counter() - start, 1),
    }
    if True:  # the table is printed with or without --json; the JSON line comes last
        title = "held-out embryo" if args.leave_one_out else "test embryo"
        print(f"{title:<40} {'cells':>5} {'accuracy':>9} {'raw RF':>7} {'majority':>9}")
        for f in per_file:
            print(f"{f['file']:<40} {f['max_cells']:>5} {f['accuracy']:>9.3f} {f['baseline_accuracy']:>7.3f} "
                  f"{f['majority_accuracy']:>9.3f}")
        print(f"{'mean':<40} {'':>5} {figures['accuracy']:>9.3f} {figures['baseline_accuracy']:>7.3f} "
              f"{figures['majority_accuracy']:>9.3f}")
        print(f"{'median':<40} {'':>5} {figures['median_accuracy']:>9.3f} "
              f"{figures['median_baseline_accuracy']:>7.3f}")
        print(f"{'lowest':<40} {'':>5} {figures['min_accuracy']:>9.3f}")
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
