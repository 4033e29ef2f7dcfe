"""Naming a nucleus's founder lineage from where it is, how big it is and the stage.

The classifier sees only aligned, label-free features (:data:`FEATURES`): the
position in the body frame (``ap, dv, lr`` in embryo lengths), the nucleus size
in the same unit and relative to the other nuclei present, and the stage
(log2 of the number of nuclei present). Training embryos are aligned with their
lineage landmarks; a new embryo can be aligned without any name by
:meth:`LineageClassifier.orient`, which tries every orientation of its principal
axes and keeps the one under which the classifier is most confident.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from devocore.errors import TableError
from devocore.embedding import align as _align
from devocore.embedding.project import one_thread as _one_thread
from devocore.embedding.tables import UNKNOWN, add_lineage_columns

log = logging.getLogger(__name__)

FEATURES = ("ap", "dv", "lr", "size_rel", "size_vs_stage", "log2_stage", "radius")
TARGETS = ("founder", "cell_at_generation")
MODELS = ("boosting", "forest")



def feature_matrix(aligned: pd.DataFrame) -> np.ndarray:
    """N x len(FEATURES) float32 features of an aligned cell table (see :data:`FEATURES`).

    ``size_vs_stage`` is the nucleus size over the median size at that time point,
    ``radius`` the distance from the AP axis.
    """
    missing = [c for c in ("ap", "dv", "lr", "size_rel", "stage", "time") if c not in aligned.columns]
    if missing:
        raise TableError(f"align the embryo first (missing {', '.join(missing)}).")
    size = aligned["size_rel"].to_numpy(float)
    median = aligned.groupby("time")["size_rel"].transform("median").to_numpy(float)
    return np.column_stack([
        aligned["ap"], aligned["dv"], aligned["lr"], size, size / np.where(median > 0, median, 1.0),
        np.log2(aligned["stage"].to_numpy(float)), np.hypot(aligned["dv"], aligned["lr"]),
    ]).astype(np.float32)


def targets(frame: pd.DataFrame, target: str = "founder", generation: int = 6) -> np.ndarray:
    """Labels to learn: the founder lineage, or the cell's name at ``generation`` (its ancestor then).

    Example:
        >>> targets(pd.DataFrame({"cell": ["ABalp", "MS", "Z2"]}), "cell_at_generation", 3).tolist()
        ['ABal', 'MS', 'P3']
    """
    from devocore import lineage_names

    if target == "founder":
        founder = frame["founder"] if "founder" in frame else add_lineage_columns(frame)["founder"]
        return founder.astype(str).to_numpy()
    if target == "cell_at_generation":
        return np.array([lineage_names.ancestor_at(n, generation) or UNKNOWN for n in frame["cell"].astype(str)])
    raise TableError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}.")


def _build(model: str, seed: int):
    if model == "boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_leaf_nodes=31,
                                              l2_regularization=1.0, random_state=seed)
    if model == "forest":
        from sklearn.ensemble import RandomForestClassifier
        return RandomForestClassifier(n_estimators=100, min_samples_leaf=3, n_jobs=1, random_state=seed)
    raise TableError(f"unknown model '{model}'; choose one of {', '.join(MODELS)}.")


@dataclass
class LineageClassifier:
    """A founder-lineage (or cell-name) classifier over aligned features.

    Attributes:
        target: "founder" or "cell_at_generation".
        generation: the generation for ``cell_at_generation``.
        model: "boosting" (histogram gradient boosting) or "forest" (random forest).
        max_rows_per_embryo: rows sampled per training embryo (evenly), to bound the time.
        seed: random seed.

    Example:
        >>> from devocore.embedding.synthetic import embryo_table
        >>> train = [align_table(embryo_table(seed=s, n_frames=60)) for s in (1, 2)]
        >>> clf = LineageClassifier(max_rows_per_embryo=2000).fit(train)
        >>> test = align_table(embryo_table(seed=3, n_frames=60))
        >>> clf.score(test) > 0.8
        True
    """

    target: str = "founder"
    generation: int = 6
    model: str = "boosting"
    max_rows_per_embryo: int = 8000
    seed: int = 0
    classes_: list[str] = field(default_factory=list)
    _model: object = None

    def fit(self, aligned: Sequence[pd.DataFrame]) -> "LineageClassifier":
        """Train on aligned embryos (from :func:`align_table`)."""
        xs, ys = [], []
        rng = np.random.default_rng(self.seed)
        for frame in aligned:
            y = targets(frame, self.target, self.generation)
            keep = y != UNKNOWN
            rows = np.flatnonzero(keep)
            if len(rows) > self.max_rows_per_embryo:
                rows = np.sort(rng.choice(rows, self.max_rows_per_embryo, replace=False))
            xs.append(feature_matrix(frame)[rows])
            ys.append(y[rows])
        if not xs or sum(len(y) for y in ys) == 0:
            raise TableError("no training rows with a Sulston cell name.")
        y = np.concatenate(ys)
        if len(np.unique(y)) < 2:
            raise TableError("the training embryos hold a single class; nothing to learn.")
        with _one_thread():
            self._model = _build(self.model, self.seed).fit(np.concatenate(xs), y)
        self.classes_ = [str(c) for c in self._model.classes_]
        log.info("trained a %s lineage classifier on %d rows, %d classes", self.model, len(y), len(self.classes_))
        return self

    def _check(self):
        if self._model is None:
            raise TableError("the classifier is not trained yet.")
        return self._model

    def predict(self, aligned: pd.DataFrame) -> np.ndarray:
        """Predicted labels, one per row."""
        with _one_thread():
            return np.asarray(self._check().predict(feature_matrix(aligned))).astype(str)

    def predict_proba(self, aligned: pd.DataFrame) -> np.ndarray:
        """N x len(classes_) probabilities."""
        with _one_thread():
            return self._check().predict_proba(feature_matrix(aligned))

    def score(self, aligned: pd.DataFrame) -> float:
        """Accuracy on the rows with a Sulston name."""
        y = targets(aligned, self.target, self.generation)
        keep = y != UNKNOWN
        return float((self.predict(aligned[keep]) == y[keep]).mean()) if keep.any() else float("nan")

    def orient(self, frame: pd.DataFrame, n_angles: int = 24, max_rows: int = 4000) -> tuple[pd.DataFrame, "_align.Alignment"]:
        """Align an embryo WITHOUT its cell names: the orientation where the classifier is most confident.

        Tries both AP signs and ``n_angles`` turns about the AP axis (proper rotations
        only: a mirror image is not a real embryo), scoring each by the mean log of the
        highest class probability on up to ``max_rows`` evenly spaced rows.
        """
        model = self._check()
        if "stage" not in frame.columns:
            frame = add_lineage_columns(frame)
        centred, centres, pca_frame, length = _align.prepare(frame)
        sample = np.linspace(0, len(frame) - 1, min(max_rows, len(frame))).round().astype(int)
        sub_frame, sub_centred = frame.iloc[sample], centred[sample]
        best = None
        for label, axes in _align.candidate_frames(pca_frame, n_angles):
            aligned, _ = _align.apply_alignment(sub_frame, axes, length, sub_centred, centres, label)
            with _one_thread():
                proba = model.predict_proba(feature_matrix(aligned))
            confidence = float(np.log(np.clip(proba.max(axis=1), 1e-6, None)).mean())
            if best is None or confidence > best[0]:
                best = (confidence, label, axes)
        log.info("orientation %s chosen by the classifier (mean log confidence %.3f)", best[1], best[0])
        return _align.apply_alignment(frame, best[2], length, centred, centres, f"model ({best[1]})")


def align_table(frame: pd.DataFrame, orientation: str = "names",
                classifier: LineageClassifier | None = None) -> pd.DataFrame:
    """One embryo aligned by names, by PCA only ("none"), or by a trained classifier ("model")."""
    if orientation == "model":
        if classifier is None:
            raise TableError("orientation 'model' needs a trained classifier.")
        return classifier.orient(frame)[0]
    return _align.align_embryo(frame, orientation)[0]


def confusion(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str] | None = None) -> pd.DataFrame:
    """Confusion matrix as a table: rows are the true classes, columns the predicted ones.

    Example:
        >>> confusion(["AB", "AB", "E"], ["AB", "E", "E"]).values.tolist()
        [[1, 1], [0, 1]]
    """
    truth, predicted = np.asarray(truth, str), np.asarray(predicted, str)
    if classes is None:
        from devocore.lineage_names import FOUNDERS
        present = set(truth) | set(predicted)
        classes = [c for c in FOUNDERS if c in present] + sorted(present - set(FOUNDERS))
    table = pd.DataFrame(0, index=list(classes), columns=list(classes))
    for t, p in zip(truth, predicted):
        if t in table.index and p in table.columns:
            table.loc[t, p] += 1
    table.index.name, table.columns.name = "true", "predicted"
    return table


def majority_accuracy(train_labels: Sequence[str], test_labels: Sequence[str]) -> float:
    """Accuracy of always answering the most common training label.

    Example:
        >>> majority_accuracy(["AB", "AB", "E"], ["AB", "E"])
        0.5
    """
    values, counts = np.unique(np.asarray(train_labels, str), return_counts=True)
    return float((np.asarray(test_labels, str) == values[counts.argmax()]).mean())


def raw_baseline(train: Sequence[pd.DataFrame], test: Sequence[pd.DataFrame], seed: int = 0,
                 max_rows_per_embryo: int = 8000) -> list[float]:
    """Accuracy per test embryo of a random forest on the raw columns x, y, z, size, time (no alignment)."""
    from sklearn.ensemble import RandomForestClassifier

    raw = ["x", "y", "z", "size", "time"]
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for frame in train:
        rows = np.flatnonzero((frame["founder"] != UNKNOWN).to_numpy())
        if len(rows) > max_rows_per_embryo:
            rows = np.sort(rng.choice(rows, max_rows_per_embryo, replace=False))
        xs.append(frame[raw].to_numpy(float)[rows])
        ys.append(frame["founder"].to_numpy(str)[rows])
    model = RandomForestClassifier(n_estimators=50, min_samples_leaf=3, n_jobs=1, random_state=seed)
    model.fit(np.concatenate(xs), np.concatenate(ys))
    out = []
    for frame in test:
        keep = (frame["founder"] != UNKNOWN).to_numpy()
        out.append(float((model.predict(frame[raw].to_numpy(float)[keep]) == frame["founder"].to_numpy(str)[keep]).mean()))
    return out
