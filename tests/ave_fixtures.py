"""A small synthetic AVE world and its features, shared by the AVE tests (built once per session;
xdist workers share it through a file lock, as shards_fixtures does)."""

from __future__ import annotations

import numpy as np
import pytest

from avcurr.ave.layout import NoisyVideos, write_features
from avcurr.synth.ave_world import AveWorldConfig, synthesize_ave
from tests.shards_fixtures import _once, shared_base

WORLD = dict(clips=20, background_clips=2, seed=5, size=64, fps=4)


@pytest.fixture(scope="session")
def ave_world(tmp_path_factory) -> dict:
    """20 event clips (16 train, 2 val, 2 test) + 2 background-only clips, 64 px, 4 fps, 10 s; and
    their features from the random tiny encoder. Returns {"world", "features", "config"}."""
    from avcurr.ave.extract import FeatureConfig, extract_features

    base = shared_base(tmp_path_factory) / "ave"
    base.mkdir(parents=True, exist_ok=True)
    cfg = AveWorldConfig(out=base / "world", workers=1, **WORLD)
    features = base / "features"
    with _once(base) as first:
        if first:
            summary = synthesize_ave(cfg)
            assert summary.n_ok == 22 and not summary.failures
            extract_features(FeatureConfig(videos=cfg.out / "media", annotations=cfg.out / "ave" / "Annotations.txt",
                                           out=features, threads=1))
    return {"world": cfg.out, "features": features, "config": cfg}


def random_features(folder, n=12, T=10, grid=(7, 7), d_v=16, d_a=8, classes=5, seed=0, noisy=0,
                    orders=None) -> dict:
    """A feature folder of random features with one-hot labels (an event in the middle of each
    video); returns the arrays written."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, T, classes), np.float32)
    labels[..., -1] = 1
    for i in range(n):
        start, end = sorted(rng.choice(T + 1, 2, replace=False))
        labels[i, start:end] = 0
        labels[i, start:end, i % (classes - 1)] = 1
    arrays = {"audio": rng.normal(size=(n, T, d_a)).astype(np.float32),
              "visual": rng.random((n, T, *grid, d_v)).astype(np.float32), "labels": labels}
    orders = orders or {"train": np.arange(n - 4), "val": np.arange(n - 4, n - 2), "test": np.arange(n - 2, n)}
    extra = None
    if noisy:
        bg = np.zeros((noisy, classes), np.float32)
        bg[:, -1] = 1
        extra = NoisyVideos(rng.normal(size=(noisy, T, d_a)), rng.random((noisy, T, *grid, d_v)), bg)
    write_features(folder, arrays["audio"], arrays["visual"], labels, orders, noisy=extra)
    return {**arrays, "orders": orders}
