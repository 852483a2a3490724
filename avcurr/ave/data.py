"""Batches of AVE features for training and evaluation, and the training split's statistics.

A batch is a dict: `audio` B x T x d_a, `visual` B x T x H x W x d_v (float32 tensors), `labels`
B x T class indices, `targets` B x C video-level targets (AVE-ECCV18's weak setting), `key` the rows
("n<j>" for the j-th background-only video).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from avcurr.ave.annotations import video_targets
from avcurr.ave.layout import AveFeatures

STATS_ROWS = 512   # rows sampled for the statistics when the features are larger


def _rows(features: AveFeatures, rows: np.ndarray,
          video_label: str = "event") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(audio, visual, segment labels T x C, video targets C) of main rows (>= 0) and background
    videos (-1 - j for the j-th), in the given order."""
    rows = np.asarray(rows, np.int64)
    main, noisy = rows[rows >= 0], -1 - rows[rows < 0]
    audio, visual, labels = features.take(main)
    targets = video_targets(labels, video_label)
    if noisy.size:
        nv = features.noisy
        n_labels = np.repeat(nv.labels[noisy][:, None, :], features.segments, 1).astype(np.float32)
        audio = np.concatenate([audio, nv.audio[noisy].astype(np.float32)])
        visual = np.concatenate([visual, nv.visual[noisy].astype(np.float32)])
        labels = np.concatenate([labels, n_labels])
        targets = np.concatenate([targets, nv.labels[noisy].astype(np.float32)])
        order = np.argsort(np.concatenate([np.flatnonzero(rows >= 0), np.flatnonzero(rows < 0)]), kind="stable")
        audio, visual, labels, targets = audio[order], visual[order], labels[order], targets[order]
    return audio, visual, labels, targets


def make_batch(features: AveFeatures, rows: np.ndarray, video_label: str = "event") -> dict:
    """The batch of the given rows; `video_label` says what the weak mode's targets are."""
    audio, visual, labels, targets = _rows(features, rows, video_label)
    return {"audio": torch.from_numpy(audio), "visual": torch.from_numpy(visual),
            "labels": torch.from_numpy(labels.argmax(-1)), "targets": torch.from_numpy(targets),
            "key": [str(r) if r >= 0 else f"n{-1 - r}" for r in np.asarray(rows).tolist()]}


def training_rows(features: AveFeatures, with_noisy: bool) -> np.ndarray:
    """The train split's rows, plus the background-only videos (as -1 - j) when asked and present."""
    rows = features.split("train")
    if with_noisy and features.noisy is not None:
        rows = np.concatenate([rows, -1 - np.arange(features.noisy.labels.shape[0])])
    return rows


def endless_batches(features: AveFeatures, rows: np.ndarray, batch_size: int, seed: int,
                    first_step: int = 0, video_label: str = "event", rank: int = 0,
                    world_size: int = 1) -> Iterator[dict]:
    """Full batches forever, reshuffled each pass; the order is seeded by (seed, first_step).
    Under data parallelism every rank draws the same order and takes its own `batch_size` rows of
    each global batch of `batch_size x world_size`, so the ranks see disjoint rows at every step."""
    rng = np.random.default_rng([seed, first_step])
    step = batch_size * world_size
    mine = slice(rank * batch_size, (rank + 1) * batch_size)
    while True:
        order = rng.permutation(rows)
        for i in range(0, len(order) - step + 1, step):
            yield make_batch(features, order[i:i + step][mine], video_label)


def split_batches(features: AveFeatures, split: str, batch_size: int = 64) -> Iterator[dict]:
    """One pass over a split in its order (evaluation)."""
    rows = features.split(split)
    for i in range(0, len(rows), batch_size):
        yield make_batch(features, rows[i:i + batch_size])


def _mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = x.reshape(-1, x.shape[-1]).astype(np.float64)
    mean, std = x.mean(0), x.std(0)
    floor = max(1e-2 * float(std.mean()), 1e-6)   # a channel that never moves must not blow up
    return mean.astype(np.float32), np.maximum(std, floor).astype(np.float32)


def input_stats(features: AveFeatures, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-channel mean and std of the train split's audio and visual features (a seeded sample of
    STATS_ROWS rows when there are more)."""
    rows = features.split("train")
    if len(rows) > STATS_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, STATS_ROWS, replace=False))
    audio, visual, _ = features.take(rows)
    (am, asd), (vm, vsd) = _mean_std(audio), _mean_std(visual)
    return {"audio_mean": am, "audio_std": asd, "visual_mean": vm, "visual_std": vsd}
