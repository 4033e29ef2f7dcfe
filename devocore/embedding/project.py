"""PCA and t-SNE of numeric columns, with the numbers needed to read them.

:func:`pca` returns the projected coordinates with the explained variance of each
component and the loadings (how much each input column weighs in it);
:func:`tsne` is there for comparison (non-linear, no loadings, slower);
:func:`separation` says how well labelled groups separate in the first components.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from devocore.errors import TableError
from devocore.embedding.tables import numeric_matrix

log = logging.getLogger(__name__)

#: Standardisation options: "standard" (zero mean, unit variance: columns in
#: different units weigh the same), "robust" (median and interquartile range:
#: outliers pull less), "minmax" (0..1), "none" (centre only: columns with large
#: values dominate, right when all columns share one unit such as x, y, z).
SCALINGS = ("standard", "robust", "minmax", "none")


def one_thread():
    """Run scikit-learn's OpenMP code (gradient boosting, t-SNE) on one thread.

    On a busy shared CPU, OpenMP threads spin-waiting for each other made gradient
    boosting 100 times slower. Only libraries already loaded are limited, hence the imports.
    """
    import sklearn.ensemble  # noqa: F401
    import sklearn.manifold  # noqa: F401
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="openmp")


def scale_matrix(values: np.ndarray, scaling: str = "standard") -> np.ndarray:
    """Columns of ``values`` rescaled by ``scaling`` (constant columns become 0).

    Example:
        >>> scale_matrix(np.array([[1.0, 5], [3, 5]]), "standard").tolist()
        [[-1.0, 0.0], [1.0, 0.0]]
    """
    if scaling not in SCALINGS:
        raise TableError(f"unknown standardisation '{scaling}'; choose one of {', '.join(SCALINGS)}.")
    values = np.asarray(values, dtype=np.float64)
    if scaling == "robust":
        centre = np.median(values, axis=0)
        q1, q3 = np.percentile(values, [25, 75], axis=0)
        spread = q3 - q1
        spread = np.where(spread > 0, spread, values.std(axis=0))
    elif scaling == "minmax":
        centre = values.min(axis=0)
        spread = values.max(axis=0) - centre
    else:
        centre = values.mean(axis=0)
        spread = values.std(axis=0) if scaling == "standard" else np.ones(values.shape[1])
    spread = np.where(spread > 0, spread, 1.0)
    out = (values - centre) / spread
    if scaling == "minmax":
        out = out - out.mean(axis=0)
    return out


@dataclass
class Projection:
    """Coordinates of the rows in a few dimensions.

    Attributes:
        coords: N x K table ``PC1, PC2, ...`` (or ``tSNE1, ...``), same index as the input.
        explained: fraction of the total variance per component (PCA only).
        loadings: columns x components table of weights (PCA only).
        columns: the input columns used.
        scaling: the standardisation applied.
        method: "pca" or "tsne".
    """

    coords: pd.DataFrame
    explained: np.ndarray | None
    loadings: pd.DataFrame | None
    columns: list[str]
    scaling: str
    method: str

    def top_loadings(self, component: int = 0, n: int = 10) -> pd.Series:
        """The ``n`` columns weighing most (in absolute value) in one component."""
        if self.loadings is None:
            raise TableError("t-SNE has no loadings; use PCA.")
        column = self.loadings.iloc[:, component]
        return column.reindex(column.abs().sort_values(ascending=False).index[:n])


def _check_rows(values: np.ndarray, minimum: int) -> None:
    if len(values) < minimum:
        raise TableError(f"at least {minimum} rows are needed; the table has {len(values)}.")


def pca(frame: pd.DataFrame, columns: Sequence[str], n_components: int = 3,
        scaling: str = "standard") -> Projection:
    """Principal components of the chosen numeric columns.

    Args:
        frame: any table; rows are points.
        columns: numeric columns to use (NaNs are filled with the column median).
        n_components: how many components to keep (at most the number of columns and rows).
        scaling: one of :data:`SCALINGS`.

    Raises:
        MissingColumnsError, NonNumericError, EmptyTableError, TableError.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> t = pd.DataFrame({"a": rng.normal(size=200)}); t["b"] = 2 * t["a"]; t["c"] = 0.01 * rng.normal(size=200)
        >>> p = pca(t, ["a", "b", "c"], 2, scaling="none")
        >>> round(float(p.explained[0]), 3), p.loadings.round(2)["PC1"].abs().tolist()
        (1.0, [0.45, 0.89, 0.0])
    """
    from sklearn.decomposition import PCA

    values = scale_matrix(numeric_matrix(frame, columns), scaling)
    _check_rows(values, 2)
    k = int(max(1, min(n_components, values.shape[1], len(values))))
    model = PCA(n_components=k, svd_solver="full").fit(values)
    names = [f"PC{i + 1}" for i in range(k)]
    components = model.components_.copy()
    # Fix each component's sign (largest loading positive) so figures do not flip between runs.
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components *= signs[:, None]
    coords = (values - model.mean_) @ components.T
    return Projection(pd.DataFrame(coords, columns=names, index=frame.index), model.explained_variance_ratio_,
                      pd.DataFrame(components.T, index=list(columns), columns=names), list(columns), scaling, "pca")


def tsne(frame: pd.DataFrame, columns: Sequence[str], n_components: int = 2, scaling: str = "standard",
         perplexity: float = 30.0, seed: int = 0, max_rows: int = 3000) -> Projection:
    """t-SNE of the chosen columns (scikit-learn); at most ``max_rows`` rows, sampled evenly.

    Rows beyond ``max_rows`` are left out (t-SNE grows with the square of the rows);
    ``coords`` keeps the index of the rows used.

    Example:
        >>> t = pd.DataFrame(np.r_[np.zeros((20, 3)), np.ones((20, 3)) * 9] + np.random.default_rng(0).normal(size=(40, 3)))
        >>> t.columns = ["a", "b", "c"]
        >>> tsne(t, ["a", "b", "c"], perplexity=5).coords.shape
        (40, 2)
    """
    from sklearn.manifold import TSNE

    if len(frame) > max_rows:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, max_rows).round().astype(int)]
        log.info("t-SNE on %d evenly sampled rows", max_rows)
    values = scale_matrix(numeric_matrix(frame, columns), scaling)
    _check_rows(values, 5)
    perplexity = float(min(perplexity, (len(values) - 1) / 3))
    model = TSNE(n_components=n_components, perplexity=perplexity, random_state=seed, init="pca")
    with one_thread():
        coords = model.fit_transform(values)
    names = [f"tSNE{i + 1}" for i in range(n_components)]
    return Projection(pd.DataFrame(coords, columns=names, index=frame.index), None, None, list(columns),
                      scaling, "tsne")


def separation(frame: pd.DataFrame, columns: Sequence[str], label: str, components: Sequence[int] = (2, 10),
               scaling: str = "standard", folds: int = 5, seed: int = 0) -> dict:
    """How well the groups in ``label`` separate in the first principal components.

    For each k in ``components``: the silhouette score of the groups in the first k
    PCs (-1..1; higher is better separated), and the accuracy of a logistic
    regression on the first k PCs, cross-validated with stratified folds (scaling,
    PCA and classifier are refit inside each fold, so no test row leaks into them).

    Returns:
        dict with ``n_rows``, ``n_features``, ``groups`` (label -> count),
        ``chance_accuracy`` (largest group share), ``explained`` (first 10 ratios) and per k
        ``silhouette_pc{k}`` and ``cv_accuracy_pc{k}``.

    Example:
        >>> from devocore.embedding.synthetic import behaviour_table
        >>> t = behaviour_table(seed=0, n_per_strain=20, n_features=12)
        >>> r = separation(t, [c for c in t.columns if c not in ("strain", "well")], "strain", (2,))
        >>> r["cv_accuracy_pc2"] > r["chance_accuracy"]
        True
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, RobustScaler, StandardScaler

    if label not in frame.columns:
        raise TableError(f"there is no label column '{label}'; columns: {', '.join(map(str, frame.columns[:20]))}.")
    keep = frame[label].notna()
    frame = frame[keep]
    y = frame[label].astype(str).to_numpy()
    groups = pd.Series(y).value_counts()
    if len(groups) < 2:
        raise TableError(f"'{label}' has fewer than two groups; nothing to separate.")
    raw = numeric_matrix(frame, columns)
    projection = pca(frame, columns, max(components), scaling)
    result = {"n_rows": int(len(frame)), "n_features": len(columns), "label": label,
              "groups": {str(k): int(v) for k, v in groups.items()},
              "chance_accuracy": float(groups.max() / len(y)),
              "explained": [float(v) for v in projection.explained[:10]], "scaling": scaling}
    n_folds = int(max(2, min(folds, groups.min())))
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k in components:
        k_used = min(k, projection.coords.shape[1])
        result[f"silhouette_pc{k}"] = float(silhouette_score(projection.coords.iloc[:, :k_used], y))
        scaler = {"standard": StandardScaler(), "robust": RobustScaler(), "minmax": MinMaxScaler(),
                  "none": FunctionTransformer()}[scaling]
        model = make_pipeline(scaler, PCA(n_components=k_used), LogisticRegression(max_iter=2000))
        scores = cross_val_score(model, raw, y, cv=splitter)
        result[f"cv_accuracy_pc{k}"] = float(scores.mean())
        result[f"cv_accuracy_pc{k}_sd"] = float(scores.std())
    result["folds"] = n_folds
    return result
