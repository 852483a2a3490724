"""The AVE training task learns: a few dozen steps on features that carry their labels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from avcurr.ave.annotations import video_targets
from avcurr.ave.data import endless_batches, make_batch, training_rows
from avcurr.ave.evaluate import predict, segment_accuracy
from avcurr.ave.layout import read_features, write_features
from avcurr.ave.train import AveTask, AveTrainConfig, load_ave_model, train_ave
from avcurr.errors import AvcurrError
from avcurr.models.ave import mil_pool
from tests.ave_fixtures import random_features


def _labelled_features(folder, n=40, T=6, classes=4, seed=0):
    """Audio carries each segment's class (a noisy one-hot), the visual map carries nothing."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, T, classes), np.float32)
    for i in range(n):
        start = rng.integers(0, T - 2)
        labels[i, :, -1] = 1
        labels[i, start:start + 3, -1], labels[i, start:start + 3, i % (classes - 1)] = 0, 1
    audio = labels * 3 + rng.normal(size=labels.shape) * 0.3
    visual = rng.random((n, T, 3, 3, 8)).astype(np.float32)
    write_features(folder, audio, visual, labels, {"train": np.arange(32), "test": np.arange(32, n)})
    return read_features(folder)


def _train(tmp_path, mode):
    torch.manual_seed(0)
    features = _labelled_features(tmp_path / "f")
    summary = train_ave(AveTrainConfig(run=tmp_path / "run", features=tmp_path / "f", mode=mode, batch_size=8,
                                       max_steps=60, threads=1, device="cpu", log_every=20), features)
    return load_ave_model(summary.checkpoint)[0], features


def test_supervised_training_learns_the_segments(tmp_path):
    model, features = _train(tmp_path, "supervised")
    predicted, labels = predict(model, features, "test", 8, "cpu")
    assert segment_accuracy(predicted, labels) > 0.8


def test_weak_training_learns_the_videos_category(tmp_path):
    model, features = _train(tmp_path, "weak")
    batch = make_batch(features, features.split("test"))
    with torch.no_grad():
        video = mil_pool(model(batch["audio"], batch["visual"]).logits)
    assert (video.argmax(-1) == batch["targets"].argmax(-1)).float().mean() > 0.8


def test_weak_batches_carry_video_targets_and_background_videos(tmp_path):
    arrays = random_features(tmp_path, n=10, noisy=2)
    features = read_features(tmp_path)
    rows = training_rows(features, with_noisy=True)
    assert rows.tolist() == [0, 1, 2, 3, 4, 5, -1, -2]
    batch = make_batch(features, np.array([-2, 3, -1]))
    assert batch["key"] == ["n1", "3", "n0"]
    assert torch.equal(batch["targets"][1], torch.from_numpy(video_targets(arrays["labels"][3])))
    assert batch["targets"][0].argmax() == 4 and (batch["labels"][0] == 4).all()
    assert torch.allclose(batch["visual"][2], torch.from_numpy(features.noisy.visual[0]).float())
    task = AveTask(AveTrainConfig(run=tmp_path / "r", features=tmp_path, mode="weak", max_steps=1), features)
    assert task.samples_per_epoch() == 8
    assert AveTask(AveTrainConfig(run=tmp_path / "r", features=tmp_path, max_steps=1), features).samples_per_epoch() == 6


def test_batches_are_full_shuffled_and_seeded(tmp_path):
    random_features(tmp_path, n=10)
    features = read_features(tmp_path)
    rows = features.split("train")
    first = [b["key"] for _, b in zip(range(4), endless_batches(features, rows, 3, seed=1))]
    again = [b["key"] for _, b in zip(range(4), endless_batches(features, rows, 3, seed=1))]
    assert first == again and all(len(k) == 3 for k in first)
    assert sorted(sum(first[:2], [])) == sorted(map(str, rows.tolist()))   # one pass covers the split
    later = [b["key"] for _, b in zip(range(2), endless_batches(features, rows, 3, seed=1, first_step=2))]
    assert later != first[:2]


def test_bad_settings(tmp_path):
    random_features(tmp_path, n=8)
    with pytest.raises(AvcurrError, match="unsupervised needs our model"):
        AveTrainConfig(run=tmp_path, features=tmp_path, mode="unsupervised", model="ave-baseline", max_steps=1).validate()
    with pytest.raises(AvcurrError, match="--mode must be"):
        AveTrainConfig(run=tmp_path, features=tmp_path, mode="semi", max_steps=1).validate()
    with pytest.raises(AvcurrError, match="at least 2"):
        AveTrainConfig(run=tmp_path, features=tmp_path, mode="unsupervised", batch_size=1, max_steps=1).validate()


def test_ranks_take_disjoint_rows_of_the_same_global_batches(tmp_path):
    random_features(tmp_path, n=12)
    features = read_features(tmp_path)
    rows = np.arange(12)
    per_rank = [list(itertools.islice(endless_batches(features, rows, 2, seed=3, rank=r, world_size=2), 3))
                for r in range(2)]
    for mine, theirs in zip(*per_rank):
        assert not set(mine["key"]) & set(theirs["key"]) and len(mine["key"]) == 2
    alone = list(itertools.islice(endless_batches(features, rows, 4, seed=3), 3))
    assert [sorted(a["key"] + b["key"]) for a, b in zip(*per_rank)] == [sorted(g["key"]) for g in alone]
