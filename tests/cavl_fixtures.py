"""A small synthetic world turned into shards, shared by the training and localization tests.

Built once per session (xdist workers share it through a file lock, like shards_fixtures).
"""

from __future__ import annotations


import pytest
import torch

from avcurr.curricula import CurriculaConfig, build_curricula
from avcurr.paths import bundled
from avcurr.shards.build import BuildConfig, build_shards
from avcurr.synth import SynthConfig, synthesize
from tests.shards_fixtures import _once, shared_base

DATASET = "synth"


@pytest.fixture(scope="session")
def cavl_world(tmp_path_factory) -> dict:
    """12 short clips (128 px, 4 fps, 4 s) with 1-2 sources -> shards `synth/train/c1|c2`, plus the
    world's Flickr-style annotations. Returns {"world", "shards", "annotations"}."""
    base = shared_base(tmp_path_factory) / "cavl"
    base.mkdir(parents=True, exist_ok=True)
    world, shards = base / "world", base / "shards"
    with _once(base) as first:
        if first:
            cfg = SynthConfig(out=world, clips=12, seed=11, min_sources=1, max_sources=2, size=128, fps=4,
                              duration=4, workers=1)
            synthesize(cfg)
            manifest = base / "curricula.parquet"
            build_curricula(CurriculaConfig(segments=world / "segments.csv",
                                            ontology=bundled("audioset", "ontology.json"), out=manifest))
            build_shards(BuildConfig(manifest=manifest, out=shards, dataset=DATASET, split="train",
                                     media=world / "media", workers=1))
    return {"world": world, "shards": shards, "annotations": world / "flickr" / "annotations"}


def random_batches(batch: int = 4, seed: int = 0, repeat: bool = True):
    """Endless batches in the loader's format from random tensors (one fixed batch when `repeat`)."""
    g = torch.Generator().manual_seed(seed)

    def make():
        return {"spec": torch.randn(batch, 1, 512, 432, generator=g) - 2,
                "image": torch.rand(batch, 3, 256, 256, generator=g),
                "key": [f"k{i}" for i in range(batch)], "meta": [{} for _ in range(batch)]}

    fixed = make()
    while True:
        yield fixed if repeat else make()
