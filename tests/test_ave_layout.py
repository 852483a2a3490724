"""The official AVE feature layout: shapes, keys, order indices, and one clear line for bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from avcurr.ave.layout import AUDIO, LABELS, NOISY, VISUAL, read_features, write_array
from avcurr.errors import AvcurrError
from avcurr.models.ave import AveModelConfig, build_ave_model
from tests.ave_fixtures import random_features


def test_reads_the_official_layout_exactly(tmp_path):
    # Written with plain h5py the way the official files are: key `avadataset`, orders under `order`.
    rng = np.random.default_rng(0)
    visual, audio = rng.random((6, 10, 7, 7, 512), np.float32), rng.random((6, 10, 128), np.float32)
    labels = np.zeros((6, 10, 29), np.float32)
    labels[:, :, 28] = 1
    labels[2, 3:7, 28], labels[2, 3:7, 4] = 0, 1
    for name, data in ((VISUAL, visual), (AUDIO, audio), (LABELS, labels)):
        with h5py.File(tmp_path / name, "w") as f:
            f.create_dataset("avadataset", data=data)
    for split, order in (("train", [5, 0, 3]), ("val", [1]), ("test", [4, 2])):
        with h5py.File(tmp_path / f"{split}_order.h5", "w") as f:
            f.create_dataset("order", data=np.array(order))
    features = read_features(tmp_path)
    assert features.sizes() == {"segments": 10, "grid": (7, 7), "visual_dim": 512, "audio_dim": 128, "classes": 29}
    assert features.split("test").tolist() == [4, 2]
    a, v, y = features.take(features.split("test"))
    assert np.array_equal(v[1], visual[2]) and np.array_equal(a[0], audio[4])
    assert y[1, 3:7, 4].all() and y[1, :3, 28].all()
    assert features.categories[0] == "Church bell" and features.categories[-1] == "background"
    assert len(features.categories) == 29     # the bundled AVE list: the official class order


def test_other_grids_and_widths_work_end_to_end(tmp_path):
    random_features(tmp_path, n=8, T=6, grid=(3, 4), d_v=12, d_a=5, classes=4)
    features = read_features(tmp_path)
    assert features.categories == ["class 0", "class 1", "class 2", "background"]
    cfg = AveModelConfig().with_data(**features.sizes())
    audio, visual, _ = features.take([0, 1])
    out = build_ave_model(cfg)(torch.from_numpy(audio), torch.from_numpy(visual))
    assert out.logits.shape == (2, 6, 4) and out.attention.shape == (2, 6, 12)


def test_visual_features_larger_than_memory_are_read_from_disk(tmp_path):
    arrays = random_features(tmp_path, n=8)
    features = read_features(tmp_path, in_memory_bytes=0)
    assert not isinstance(features.visual, np.ndarray)
    _, visual, _ = features.take([5, 1, 5])   # unsorted, repeated rows
    assert np.array_equal(visual, arrays["visual"][[5, 1, 5]])
    features.close()


def test_background_videos_of_the_weak_setting_are_read(tmp_path):
    random_features(tmp_path, n=8, noisy=3)
    features = read_features(tmp_path)
    assert features.noisy.labels.shape == (3, 5) and features.noisy.visual.shape == (3, 10, 7, 7, 16)


@pytest.mark.parametrize("damage, message", [
    (lambda d: write_array(d / AUDIO, np.zeros((8, 10, 8)), key="features"), "has no dataset 'avadataset'"),
    (lambda d: (d / LABELS).unlink(), "missing feature file"),
    (lambda d: write_array(d / AUDIO, np.zeros((7, 10, 8))), "shapes disagree"),
    (lambda d: write_array(d / VISUAL, np.zeros((8, 10, 49, 16))), "expected N x T x H x W x C"),
    (lambda d: write_array(d / LABELS, np.full((8, 10, 5), 0.2)), "is not one-hot"),
    (lambda d: write_array(d / "test_order.h5", np.array([3, 8]), key="order"), "outside the 8 videos"),
    (lambda d: write_array(d / "test_order.h5", np.array([3, 8]), key="idx"), "has no dataset 'order'"),
    (lambda d: write_array(d / NOISY["audio"], np.zeros((2, 10, 8))), "but not"),
])
def test_bad_files_give_one_clear_line(tmp_path, damage, message):
    random_features(tmp_path, n=8)
    damage(tmp_path)
    with pytest.raises(AvcurrError, match=message) as info:
        read_features(tmp_path)
    assert "\n" not in str(info.value)


def test_a_label_row_that_is_not_one_hot_is_named(tmp_path):
    arrays = random_features(tmp_path, n=8)
    labels = arrays["labels"].copy()
    labels[6, 2] = 0
    labels[6, 2, [0, 1]] = 1
    write_array(tmp_path / LABELS, labels)
    with pytest.raises(AvcurrError, match=r"row \(6, 2\) is not one-hot"):
        read_features(tmp_path)
