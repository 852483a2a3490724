"""Segment accuracy, per-category accuracy, the confusion matrix and the floors on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from avcurr.ave.evaluate import confusion_matrix, majority_floors, per_category_accuracy, segment_accuracy


def test_segment_accuracy_counts_every_segment():
    labels = np.array([[0, 0, 2, 2], [1, 2, 2, 2]])
    predicted = np.array([[0, 2, 2, 2], [1, 1, 2, 0]])
    assert segment_accuracy(predicted, labels) == 5 / 8
    with pytest.raises(ValueError):
        segment_accuracy(predicted[:1], labels)


def test_confusion_and_per_category_accuracy():
    labels = np.array([[0, 0, 2, 2], [1, 2, 2, 2]])
    predicted = np.array([[0, 2, 2, 2], [1, 1, 2, 0]])
    matrix = confusion_matrix(predicted, labels, 4)
    assert matrix.tolist() == [[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 3, 0], [0, 0, 0, 0]]
    accuracy = per_category_accuracy(matrix)
    assert accuracy[:3].tolist() == [0.5, 1.0, 0.6] and math.isnan(accuracy[3])


def test_majority_floors():
    classes = 3
    train = np.zeros((2, 4, classes))
    train[0, :, 2] = 1
    train[1, :3, 1], train[1, 3, 2] = 1, 1          # class 1 is the most frequent event
    labels = np.array([[2, 2, 1, 0], [1, 1, 2, 2]])
    assert majority_floors(train, labels) == {"all_background": 0.5, "most_frequent_event": 3 / 8}
