"""The linear probe: standardise on the training folds only, fit a linear classifier, test on
the held-out fold; once per fold (ESC-50's official 5-fold cross-validation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avcurr.errors import AvcurrError

CLASSIFIERS = ("logistic", "linear_svm")


@dataclass(frozen=True)
class ProbeResult:
    per_fold: dict[int, float]      # held-out fold -> accuracy
    predictions: np.ndarray         # each clip's prediction, made by the model that did not see its fold

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.per_fold.values())))

    @property
    def std(self) -> float:
        return float(np.std(list(self.per_fold.values())))


def fold_splits(folds: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(held-out fold, training indices, test indices) for each distinct fold, in fold order."""
    folds = np.asarray(folds)
    names = np.unique(folds)
    if len(names) < 2:
        raise AvcurrError(f"cross-validation needs at least 2 folds, found {len(names)}")
    return [(int(f), np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in names]


def make_classifier(kind: str = "logistic", c: float = 1.0, seed: int = 0):
    """A fresh, unfitted pipeline: StandardScaler then the linear classifier."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if kind == "logistic":
        model = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    elif kind == "linear_svm":
        model = LinearSVC(C=c, max_iter=20000, random_state=seed)
    else:
        raise AvcurrError(f"--classifier must be one of {', '.join(CLASSIFIERS)}, got {kind!r}")
    return make_pipeline(StandardScaler(), model)


def cross_validate(features: np.ndarray, labels: np.ndarray, folds: np.ndarray, kind: str = "logistic",
                   c: float = 1.0, seed: int = 0) -> ProbeResult:
    """Train on all folds but one, test on that one, for each fold. The scaler and the classifier
    are fitted on the training rows only: nothing of the held-out fold reaches them."""
    features, labels = np.asarray(features, np.float64), np.asarray(labels)
    if not (len(features) == len(labels) == len(folds)):
        raise AvcurrError(f"features, labels and folds differ in length: {len(features)}, {len(labels)}, {len(folds)}")
    from threadpoolctl import threadpool_limits

    predictions = np.empty_like(labels)
    per_fold = {}
    # One BLAS thread: these fits are small (ESC-50: 1,600 x 1,024 at most), and on a busy machine
    # BLAS threads that wait on each other spin and cost far more CPU than they save.
    with threadpool_limits(limits=1):
        for fold, train, test in fold_splits(folds):
            try:
                model = make_classifier(kind, c, seed).fit(features[train], labels[train])
            except ValueError as exc:  # e.g. training folds holding a single class
                raise AvcurrError(f"cannot fit the probe without fold {fold}: {exc}") from None
            predictions[test] = model.predict(features[test])
            per_fold[fold] = float(np.mean(predictions[test] == labels[test]))
    return ProbeResult(per_fold=per_fold, predictions=predictions)
