"""AVE annotations -> rows, segment labels and the weak setting's video labels."""

from __future__ import annotations

import numpy as np
import pytest

from avcurr.ave.annotations import (read_category_list, read_rows, read_video_ids, segment_labels,
                                    video_targets)
from avcurr.errors import AvcurrError
from avcurr.paths import bundled
from avcurr.sources.ave import AveEvent

CATS = ["Dog", "Cat", "Bell"]


def _lists(folder, rows, train=None, test=None):
    (folder / "Annotations.txt").write_text("Category&VideoID&Quality&StartTime&EndTime\n" + "\n".join(rows) + "\n")
    (folder / "trainSet.txt").write_text("\n".join(train or rows[:-1]) + "\n")
    (folder / "testSet.txt").write_text("\n".join(test or rows[-1:]) + "\n")
    return folder / "Annotations.txt"


def test_rows_keep_the_file_order_and_their_split(tmp_path):
    path = _lists(tmp_path, ["Dog&aaaaaaaaaaa&good&0&4", "Bell&bbbbbbbbbbb&good&2&10", "Cat&ccccccccccc&good&1&3"])
    rows = read_rows(path, CATS)
    assert [r.event.ytid for r in rows] == ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"]
    assert [r.split for r in rows] == ["train", "train", "test"]


def test_an_unknown_category_names_file_and_line(tmp_path):
    path = _lists(tmp_path, ["Dog&aaaaaaaaaaa&good&0&4", "Horse&bbbbbbbbbbb&good&2&10"])
    with pytest.raises(AvcurrError, match=r"Annotations.txt:3: unknown category 'Horse'") as info:
        read_rows(path, CATS)
    assert "\n" not in str(info.value)


def test_missing_split_lists_are_an_error(tmp_path):
    (tmp_path / "Annotations.txt").write_text("Dog&aaaaaaaaaaa&good&0&4\n")
    with pytest.raises(AvcurrError, match="trainSet.txt"):
        read_rows(tmp_path / "Annotations.txt", CATS)


def test_segment_labels_one_hot_background_last():
    labels = segment_labels(AveEvent("Cat", "x", "good", 2, 5), CATS, 10)
    assert labels.shape == (10, 4) and (labels.sum(1) == 1).all()
    assert labels.argmax(1).tolist() == [3, 3, 1, 1, 1, 3, 3, 3, 3, 3]


def test_video_targets_follow_the_weak_setting():
    event = segment_labels(AveEvent("Cat", "x", "good", 2, 5), CATS, 10)
    full = segment_labels(AveEvent("Dog", "x", "good", 0, 10), CATS, 10)
    none = segment_labels(AveEvent("Dog", "x", "good", 0, 0), CATS, 10)
    targets = video_targets(np.stack([event, full, none]))
    assert targets.tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    assert video_targets(event[None], "present").tolist() == [[0, 0.5, 0, 0.5]]


def test_bundled_categories_are_the_28_ave_events_in_order_of_appearance():
    # The official labels.h5 numbers the events in the order the annotations first name them.
    names = read_category_list(bundled("ave", "categories.txt"))
    order = []
    for line in bundled("ave", "Annotations.txt").read_text().splitlines()[1:]:
        if line and line.split("&")[0] not in order:
            order.append(line.split("&")[0])
    assert len(names) == 28 and names == order


def test_background_lists_take_ids_or_rows(tmp_path):
    (tmp_path / "noisy.txt").write_text("aaaaaaaaaaa\nCategory&VideoID&Quality&StartTime&EndTime\nX&bbbbbbbbbbb&good&0&0\n\n")
    assert read_video_ids(tmp_path / "noisy.txt") == ["aaaaaaaaaaa", "bbbbbbbbbbb"]
    (tmp_path / "bad.txt").write_text("../etc\n")
    with pytest.raises(AvcurrError, match="unsafe video id"):
        read_video_ids(tmp_path / "bad.txt")
