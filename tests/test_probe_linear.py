"""The probe's cross-validation never lets a held-out fold reach the classifier or the scaler."""

from __future__ import annotations

import numpy as np
import pytest

from avcurr.errors import AvcurrError
from avcurr.probe.linear import cross_validate, fold_splits, make_classifier

N_CLASSES, N_FOLDS, PER_CELL = 10, 5, 2


def _leaky_set():
    """Features that name (fold, class) one-hot: a model that saw the test fold gets it right
    every time; a model that did not has nothing to go on for that fold (chance at best)."""
    folds = np.repeat(np.arange(1, N_FOLDS + 1), N_CLASSES * PER_CELL)
    labels = np.tile(np.repeat(np.arange(N_CLASSES), PER_CELL), N_FOLDS)
    features = np.zeros((len(labels), N_FOLDS * N_CLASSES))
    features[np.arange(len(labels)), (folds - 1) * N_CLASSES + labels] = 1.0
    rng = np.random.default_rng(0)
    return features + 0.01 * rng.standard_normal(features.shape), labels, folds


def test_a_feature_that_leaks_the_fold_does_not_help_the_held_out_fold():
    features, labels, folds = _leaky_set()
    # the feature really leaks: fitted on everything, the classifier knows every clip
    cheat = make_classifier().fit(features, labels)
    assert np.mean(cheat.predict(features) == labels) == 1.0
    result = cross_validate(features, labels, folds)
    assert set(result.per_fold) == {1, 2, 3, 4, 5}
    assert result.mean < 0.3, result.per_fold              # chance is 0.1; a fold mixed in gives 1.0


def test_fold_splits_hold_out_exactly_one_fold_each():
    folds = np.array([3, 1, 2, 1, 3, 2, 5, 4, 4, 5])
    seen = []
    for fold, train, test in fold_splits(folds):
        assert set(folds[test]) == {fold} and fold not in set(folds[train])
        assert len(train) + len(test) == len(folds) and not set(train) & set(test)
        seen += test.tolist()
    assert sorted(seen) == list(range(len(folds)))         # every clip tested exactly once
    with pytest.raises(AvcurrError, match="at least 2 folds"):
        fold_splits(np.ones(4))


def _reference(features, labels, folds, scaler_rows):
    """Per held-out fold: StandardScaler fitted on `scaler_rows(train, test)`, logistic regression on
    the training rows; the predictions of each fold's model on that fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    out = np.empty_like(labels)
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        scaler = StandardScaler().fit(features[scaler_rows(train, test)])
        model = LogisticRegression(max_iter=3000, random_state=0).fit(scaler.transform(features[train]), labels[train])
        out[test] = model.predict(scaler.transform(features[test]))
    return out


def test_standardisation_comes_from_the_training_folds_only():
    """Random features whose scale differs per fold: the predictions are those of a scaler fitted on
    the training folds, not those of one fitted on every row (which differ on this data)."""
    rng = np.random.default_rng(1)
    folds = np.repeat(np.arange(1, 6), 30)
    labels = rng.integers(0, 3, len(folds))
    features = rng.standard_normal((len(folds), 6)) * folds[:, None] ** 2 + folds[:, None] * 3.0
    honest = _reference(features, labels, folds, lambda train, test: train)
    leaky = _reference(features, labels, folds, lambda train, test: train | test)
    assert (honest != leaky).any()                          # the data can tell them apart
    result = cross_validate(features, labels, folds)
    assert np.array_equal(result.predictions, honest)


def test_linear_svm_and_bad_classifier_names():
    features, labels, folds = _leaky_set()
    assert cross_validate(features, labels, folds, kind="linear_svm").mean < 0.3
    with pytest.raises(AvcurrError, match="--classifier"):
        cross_validate(features, labels, folds, kind="forest")
