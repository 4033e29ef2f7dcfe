"""Naming a nucleus's founder lineage from where it is, how big it is and the stage.

The classifier sees only aligned, label-free features (:data:`FEATURES`), each made
comparable across embryos: the position in the body frame (``ap, dv, lr``) divided by
the embryo's own extent along that axis (embryos differ in size and in how much the
coverslip flattens them), the nucleus size in the AP unit and relative to the other
nuclei present, and the embryo's own developmental clock (log2 of the most nuclei
seen up to that time point, which does not fall when a film is traced only in part
late on). Training embryos are aligned with their lineage landmarks; a new embryo can
be aligned without any name by :meth:`LineageClassifier.orient`, which tries every
orientation of its principal axes and keeps the one under which the classifier is most
confident. Calls are then pooled along nuclei followed from one time point to the next
by position alone (:mod:`devocore.embedding.tracks`): a nucleus keeps its lineage.
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
from devocore.embedding.tracks import smooth_along_links

log = logging.getLogger(__name__)

FEATURES = ("ap_span", "dv_span", "lr_span", "size_span", "size_vs_stage", "log2_clock", "radius_span")
#: Per-step discount when calls are pooled along linked nuclei (chosen by leave-one-embryo-out on the
#: training embryos among 0, 0.9, 0.97 and 0.99; see docs/results/generalisation.md).
SMOOTHING = 0.97
TARGETS = ("founder", "cell_at_generation")
MODELS = ("boosting", "forest")


def axis_spans(aligned: pd.DataFrame) -> np.ndarray:
    """The embryo's extent along ``ap, dv, lr``: the 2nd-98th percentile span of nuclei from the 24-cell
    stage on (all nuclei when fewer than 50 are that late).

    Example:
        >>> t = pd.DataFrame({"ap": np.linspace(-1, 1, 101), "dv": np.linspace(-.5, .5, 101), "lr": 0.0, "stage": 30})
        >>> axis_spans(t).round(2).tolist()
        [1.92, 0.96, 0.0]
    """
    stage = aligned["stage"].to_numpy(float)
    late = stage >= 24 if (stage >= 24).sum() >= 50 else np.ones(len(stage), bool)
    values = aligned.loc[late, ["ap", "dv", "lr"]].to_numpy(float)
    lo, hi = np.percentile(values, [2, 98], axis=0)
    return hi - lo


def developmental_clock(aligned: pd.DataFrame) -> np.ndarray:
    """Per row: the most nuclei present at any time point up to this one (the ``stage`` column's running
    maximum over time), a clock that keeps running where a film is traced only in part.

    Example:
        >>> t = pd.DataFrame({"time": [1, 2, 3, 3], "stage": [4, 8, 2, 2]})
        >>> developmental_clock(t).tolist()
        [4.0, 8.0, 8.0, 8.0]
    """
    times = aligned["time"].to_numpy()
    per_time = aligned.groupby("time")["stage"].max().sort_index()
    running = np.maximum.accumulate(per_time.to_numpy(float))
    return running[np.searchsorted(per_time.index.to_numpy(), times)]


def feature_matrix(aligned: pd.DataFrame) -> np.ndarray:
    """N x len(FEATURES) float32 features of an aligned cell table (see :data:`FEATURES`).

    ``ap_span, dv_span, lr_span`` are the aligned positions over :func:`axis_spans`, ``size_span`` the
    nucleus size over the AP span, ``size_vs_stage`` the size over the median size at that time point,
    ``log2_clock`` log2 of :func:`developmental_clock` and ``radius_span`` the distance from the AP axis
    in the span units.
    """
    missing = [c for c in ("ap", "dv", "lr", "size_rel", "stage", "time") if c not in aligned.columns]
    if missing:
        raise TableError(f"align the embryo first (missing {', '.join(missing)}).")
    spans = np.maximum(axis_spans(aligned), 1e-9)
    size = aligned["size_rel"].to_numpy(float)
    median = aligned.groupby("time")["size_rel"].transform("median").to_numpy(float)
    ap, dv, lr = (aligned[c].to_numpy(float) / span for c, span in zip(("ap", "dv", "lr"), spans))
    return np.column_stack([
        ap, dv, lr, size / spans[0], size / np.where(median > 0, median, 1.0),
        np.log2(developmental_clock(aligned)), np.hypot(dv, lr),
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
        max_rows_per_embryo: rows sampled per training embryo (at random, seeded), to bound the time.
        smoothing: per-step discount when calls are pooled along nuclei linked from one time point to
            the next (:func:`devocore.embedding.tracks.smooth_along_links`); 0 calls each row alone.
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
    max_rows_per_embryo: int = 2000
    smoothing: float = SMOOTHING
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
        """Predicted labels, one per row (pooled along linked nuclei unless ``smoothing`` is 0)."""
        if self.smoothing <= 0 or self.target != "founder":  # a founder lineage is kept for life
            with _one_thread():
                return np.asarray(self._check().predict(feature_matrix(aligned))).astype(str)
        scores = smooth_along_links(aligned, self.predict_proba(aligned), self.smoothing)
        return np.asarray(self.classes_, dtype=str)[scores.argmax(axis=1)]

    def predict_proba(self, aligned: pd.DataFrame) -> np.ndarray:
        """N x len(classes_) probabilities."""
        with _one_thread():
            return self._check().predict_proba(feature_matrix(aligned))

    def score(self, aligned: pd.DataFrame) -> float:
        """Accuracy on the rows with a Sulston name."""
        y = targets(aligned, self.target, self.generation)
        keep = y != UNKNOWN
        return float((self.predict(aligned[keep]) == y[keep]).mean()) if keep.any() else float("nan")

    def orient(self, frame: pd.DataFrame, n_angles: int = 24, max_rows: int = 1500) -> tuple[pd.DataFrame, "_align.Alignment"]:
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


def row_shares(table: pd.DataFrame) -> pd.DataFrame:
    """A confusion matrix normalised by row: each true class's share called as each class (rows sum to 1;
    a class never seen in the truth keeps a row of zeros).

    Example:
        >>> row_shares(confusion(["AB", "AB", "E"], ["AB", "E", "E"])).values.tolist()
        [[0.5, 0.5], [0.0, 1.0]]
    """
    totals = table.sum(axis=1).replace(0, 1)
    return table.div(totals, axis=0).astype(float)


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
