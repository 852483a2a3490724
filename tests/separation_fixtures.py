"""A tiny localizer and two tiny separators (centre, mask) trained a few steps on the shared
synthetic shards (tests/cavl_fixtures.py), built once per session (xdist workers share them)."""

from __future__ import annotations

import pytest

from avcurr.separation import SeparatorConfig, train_separator
from avcurr.train import TrainConfig, train_stage
from tests.cavl_fixtures import DATASET
from tests.shards_fixtures import _once, shared_base


def separator_config(world: dict, run, localizer, condition: str, steps: int = 2, **extra) -> SeparatorConfig:
    return SeparatorConfig(run=run, shards=world["shards"], dataset=DATASET, split="train", localizer=localizer,
                           condition=condition, model="tiny", mixtures=2, max_steps=steps, threads=1,
                           device="cpu", ckpt_every=1, log_every=1, shuffle_buffer=8, **extra)


@pytest.fixture(scope="session")
def separators(cavl_world, tmp_path_factory) -> dict:
    """{"localizer": c1 checkpoint, "centre": ..., "mask": ... separator checkpoints, "run": folder}."""
    base = shared_base(tmp_path_factory) / "separation"
    base.mkdir(parents=True, exist_ok=True)
    run = base / "run"
    localizer = run / "c1" / "checkpoint.pt"
    with _once(base) as first:
        if first:
            train_stage(TrainConfig(run=run, stage=1, shards=cavl_world["shards"], dataset=DATASET, split="train",
                                    model="tiny", batch_size=4, max_steps=2, threads=1, device="cpu",
                                    shuffle_buffer=8))
            for condition in ("centre", "mask"):
                train_separator(separator_config(cavl_world, run, localizer, condition))
    return {"run": run, "localizer": localizer, "centre": run / "separator-centre" / "checkpoint.pt",
            "mask": run / "separator-mask" / "checkpoint.pt"}
