"""What the PCA explorer page calls: load tables, project them, train and test the classifier.

Each function takes plain data and a frozen config and returns data, so the page
stays a thin layer of widgets and the same steps run without any UI.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from devocore.errors import EmptyTableError, TableError
from devocore.embedding import project as _project
from devocore.embedding.align import EPIC_Z_SCALE, align_embryo
from devocore.embedding.classify import (LineageClassifier, align_table, confusion, majority_accuracy, row_shares,
                                         targets)
from devocore.embedding.tables import add_lineage_columns, read_cells, read_features

log = logging.getLogger(__name__)

#: Columns derived for cell tables, offered for colouring.
CELL_COLOURS = ("founder", "generation", "time", "stage", "embryo", "cell")
ALIGNED = ("ap", "dv", "lr", "size_rel")


@dataclass(frozen=True)
class ProjectionConfig:
    """What to project and how.

    Attributes:
        columns: numeric columns to use.
        method: "pca" or "tsne".
        n_components: 2 or 3 (PCA keeps up to 10 for the explained-variance chart).
        scaling: one of :data:`devocore.embedding.project.SCALINGS`.
        time_window: (first, last) time points kept, or None for all (cell tables).
        perplexity: for t-SNE.
        max_rows: rows kept (evenly sampled) for t-SNE.
    """

    columns: tuple[str, ...]
    method: str = "pca"
    n_components: int = 2
    scaling: str = "standard"
    time_window: tuple[float, float] | None = None
    perplexity: float = 30.0
    max_rows: int = 3000


def load_embryos(sources: Sequence[tuple[bytes, str]], z_scale: float = EPIC_Z_SCALE) -> pd.DataFrame:
    """Read several EPIC tables (bytes, name) into one table, each aligned by its landmarks.

    Adds ``embryo``, the lineage columns and the aligned ``ap, dv, lr, size_rel``.
    """
    if not sources:
        raise EmptyTableError("no table given.")
    frames, seen = [], set()
    for data, name in sources:
        frame = read_cells(data, name=name, z_scale=z_scale)
        embryo = frame["embryo"].iloc[0]
        while embryo in seen:
            embryo += "'"
        seen.add(embryo)
        frame["embryo"] = embryo
        frames.append(embryo_aligned(frame))
    return pd.concat(frames, ignore_index=True)


def embryo_aligned(frame: pd.DataFrame) -> pd.DataFrame:
    """One embryo with the aligned columns (by lineage landmarks)."""
    return align_embryo(frame, "names")[0]


def tables_from_frames(frames: Sequence[pd.DataFrame], z_scale: float = EPIC_Z_SCALE) -> pd.DataFrame:
    """Like :func:`load_embryos` for tables already in memory (e.g. from a simulator)."""
    out = []
    for k, frame in enumerate(frames):
        frame = add_lineage_columns(frame.assign(z=frame["z"] * z_scale))
        if "embryo" not in frame:
            frame["embryo"] = f"embryo {k + 1}"
        out.append(embryo_aligned(frame))
    return pd.concat(out, ignore_index=True)


def load_features(data: bytes, name: str):
    """A feature table from an upload (see :func:`devocore.embedding.tables.read_features`)."""
    return read_features(data, name=name)


def project(frame: pd.DataFrame, cfg: ProjectionConfig) -> tuple[pd.DataFrame, _project.Projection]:
    """Rows in the time window and their projection.

    Returns:
        (the rows used, the :class:`~devocore.embedding.project.Projection`); for t-SNE the
        rows are the evenly sampled subset.
    """
    if cfg.time_window is not None and "time" in frame.columns:
        lo, hi = cfg.time_window
        frame = frame[(frame["time"] >= lo) & (frame["time"] <= hi)]
        if frame.empty:
            raise EmptyTableError(f"no row between time {lo:g} and {hi:g}.")
    if cfg.method == "pca":
        projection = _project.pca(frame, cfg.columns, max(cfg.n_components, min(10, len(cfg.columns))), cfg.scaling)
    elif cfg.method == "tsne":
        projection = _project.tsne(frame, cfg.columns, cfg.n_components, cfg.scaling, cfg.perplexity,
                                   max_rows=cfg.max_rows)
        frame = frame.loc[projection.coords.index]
    else:
        raise TableError(f"unknown method '{cfg.method}'; choose pca or tsne.")
    return frame, projection


def projected_table(frame: pd.DataFrame, projection: _project.Projection, keep: Sequence[str] = (),
                    decimals: int = 3) -> pd.DataFrame:
    """The projected coordinates beside the chosen identifying columns, for download.

    Coordinates are rounded to ``decimals`` places: PCA and t-SNE axes of standardised columns run over a few
    units to a few tens, so three decimals keep every visible difference without 16-digit noise.
    """
    ids = frame[[c for c in keep if c in frame.columns]].reset_index(drop=True)
    return pd.concat([ids, projection.coords.reset_index(drop=True).round(decimals)], axis=1)


#: How far the accuracy must lie above the majority-class rate for the classifier to count as useful: a
#: smaller gain is within what one or two test embryos vary by (nuclei followed over time are not independent).
CLEAR_MARGIN = 0.05


@dataclass
class ClassifierReport:
    """A lineage classifier trained on some embryos and tested on the others.

    Attributes:
        per_embryo: table ``embryo, rows, accuracy, majority_accuracy``.
        confusion: true x predicted counts over all test embryos.
        accuracy: mean accuracy over test embryos.
        majority_accuracy: mean accuracy over test embryos of always answering the most common
            training class (the rate to beat).
        majority_class: that class.
    """

    per_embryo: pd.DataFrame
    confusion: pd.DataFrame
    accuracy: float
    majority_accuracy: float = float("nan")
    majority_class: str = ""

    @property
    def gain(self) -> float:
        """Accuracy minus the majority-class rate (what the classifier adds to always answering that class)."""
        return self.accuracy - self.majority_accuracy

    @property
    def useful(self) -> bool:
        """Whether the accuracy is clearly (by :data:`CLEAR_MARGIN`) above the majority-class rate.

        Example:
            >>> empty = pd.DataFrame()
            >>> ClassifierReport(empty, empty, 0.540, 0.669, "AB").useful, ClassifierReport(empty, empty, 0.97, 0.70).useful
            (False, True)
        """
        return bool(self.gain >= CLEAR_MARGIN)

    @property
    def weak_embryos(self) -> list[str]:
        """Test embryos on which the accuracy is not clearly above that embryo's majority-class rate."""
        if self.per_embryo.empty:
            return []
        weak = self.per_embryo["accuracy"] - self.per_embryo["majority_accuracy"] < CLEAR_MARGIN
        return [str(e) for e in self.per_embryo.loc[weak, "embryo"]]

    @property
    def confusion_shares(self) -> pd.DataFrame:
        """The confusion matrix normalised by row (each true class sums to 1)."""
        return row_shares(self.confusion)


def train_and_test(table: pd.DataFrame, train: Sequence[str], test: Sequence[str], orientation: str = "model",
                   max_rows_per_embryo: int = 2000, seed: int = 0) -> ClassifierReport:
    """Train the founder classifier on the ``train`` embryos of ``table``, test on ``test``.

    Args:
        table: cell tables with an ``embryo`` column (from :func:`load_embryos`).
        orientation: how test embryos are aligned: "model" (no names used) or "names".
    """
    train, test = list(train), list(test)
    if not train or not test:
        raise TableError("choose at least one embryo to train on and one to test on.")
    overlap = set(train) & set(test)
    if overlap:
        raise TableError(f"an embryo cannot be both trained and tested on: {', '.join(sorted(overlap))}.")
    embryos = {name: group for name, group in table.groupby("embryo", sort=False)}
    unknown = [e for e in train + test if e not in embryos]
    if unknown:
        raise TableError(f"no embryo named {', '.join(unknown)}; the table has {', '.join(embryos)}.")
    clf = LineageClassifier(max_rows_per_embryo=max_rows_per_embryo, seed=seed)
    clf.fit([embryos[e] for e in train])
    train_labels = np.concatenate([targets(embryos[e]) for e in train])
    rows, truths, predictions = [], [], []
    for name in test:
        aligned = clf.orient(embryos[name])[0] if orientation == "model" else align_table(embryos[name], "names")
        truth, predicted = targets(aligned), clf.predict(aligned)
        rows.append({"embryo": name, "rows": len(aligned), "accuracy": float((truth == predicted).mean()),
                     "majority_accuracy": majority_accuracy(train_labels, truth)})
        truths.append(truth)
        predictions.append(predicted)
    per_embryo = pd.DataFrame(rows)
    values, counts = np.unique(train_labels.astype(str), return_counts=True)
    return ClassifierReport(per_embryo, confusion(np.concatenate(truths), np.concatenate(predictions)),
                            float(per_embryo["accuracy"].mean()), float(per_embryo["majority_accuracy"].mean()),
                            str(values[counts.argmax()]))
