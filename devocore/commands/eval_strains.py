"""How well the first principal components of a behaviour feature table separate labelled groups.

For a table of wells x features with a label column (e.g. Tierpsy features with
``worm_strain``): the silhouette score of the groups in the first 2 and 10
principal components, and the cross-validated accuracy of a logistic regression
on them (scaling and PCA refit inside every fold). Optionally saves a PC1/PC2
scatter plot (PNG).

Example:
    python -m devocore eval strains --table ../shared/data/eval/tierpsy_strain_features.csv \\
        --label worm_strain --plot docs/img/pca_strains.png --json
"""
from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--table", required=True, help="CSV: one row per well, numeric features + a label")
    parser.add_argument("--label", default="worm_strain", help="the group column (default worm_strain)")
    parser.add_argument("--components", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--scaling", choices=("standard", "robust", "minmax", "none"), default="standard")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default=None, help="save a PC1/PC2 scatter to this PNG")


def run(args) -> dict:
    from devocore.embedding import read_features
    from devocore.embedding.project import pca, separation

    table = read_features(args.table, labels=[args.label])
    features = [c for c in table.features if c != args.label]
    figures = separation(table.frame, features, args.label, args.components, args.scaling, args.folds, args.seed)
    figures["file"] = Path(args.table).name
    print(f"{figures['file']}: {figures['n_rows']} rows, {figures['n_features']} features, groups "
          + ", ".join(f"{k} {v}" for k, v in figures["groups"].items()))
    print("explained variance PC1..PC5: " + ", ".join(f"{v:.3f}" for v in figures["explained"][:5]))
    for k in args.components:
        print(f"first {k:>2} PCs: silhouette {figures[f'silhouette_pc{k}']:+.3f}   cross-validated accuracy "
              f"{figures[f'cv_accuracy_pc{k}']:.3f} +- {figures[f'cv_accuracy_pc{k}_sd']:.3f} "
              f"(chance {figures['chance_accuracy']:.3f})")
    if args.plot:
        from devocore.embedding.figures import scatter_png
        projection = pca(table.frame, features, 2, args.scaling)
        ev = projection.explained
        scatter_png(projection.coords["PC1"], projection.coords["PC2"], table.frame[args.label].astype(str),
                    args.plot, title=f"{figures['file']}: PCA of {len(features)} features",
                    xlabel=f"PC1 ({100 * ev[0]:.0f}%)", ylabel=f"PC2 ({100 * ev[1]:.0f}%)")
        figures["plot"] = args.plot
    return figures
