"""The training loop on random tensors: the loss falls, checkpoints resume, stage 2 picks up stage 1."""

from __future__ import annotations

import json

import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.train import TrainConfig, load_checkpoint, train_stage
from avcurr.train.checkpoint import NAME
from avcurr.train.metrics import MetricsLog
from tests.cavl_fixtures import random_batches


def _cfg(tmp_path, **kw) -> TrainConfig:
    base = dict(run=tmp_path / "run", model="tiny", batch_size=4, log_every=1, ckpt_every=2,
                device="cpu", threads=1)
    return TrainConfig(**{**base, **kw})


def test_loss_falls_on_a_fixed_batch(tmp_path):
    torch.manual_seed(0)
    summary = train_stage(_cfg(tmp_path, max_steps=40), random_batches())
    rows = MetricsLog(tmp_path / "run" / "c1").rows()
    assert [r["step"] for r in rows] == list(range(1, 41))
    first, last = rows[0]["loss"], sum(r["loss"] for r in rows[-3:]) / 3
    assert last < 0.8 * first, (first, last)
    assert rows[-1]["neg_dist"] > rows[-1]["pos_dist"]          # out of the collapsed state
    assert summary.steps == 40 and summary.samples == 160 and summary.stopped_by == "max_steps"
    for name in ("metrics.csv", "metrics.jsonl", "curves.png", "summary.json", NAME):
        assert (tmp_path / "run" / "c1" / name).is_file()
    header = (tmp_path / "run" / "c1" / "metrics.csv").read_text().splitlines()[0]
    assert "pos_dist" in header and "neg_dist" in header


def test_resume_continues_from_the_checkpoint_and_stage_two_picks_up_stage_one(tmp_path):
    first = train_stage(_cfg(tmp_path, max_steps=3), random_batches(repeat=False))
    ckpt = load_checkpoint(tmp_path / "run" / "c1" / NAME)
    assert ckpt["step"] == 3 and ckpt["stage"] == 1 and first.started_from == "scratch"
    # a killed run: a metrics row logged after the checkpoint, and half a line
    with (tmp_path / "run" / "c1" / "metrics.jsonl").open("a") as handle:
        handle.write(json.dumps({"step": 4, "loss": 9.0}) + "\n{\"step\": 5, \"lo")
    again = train_stage(_cfg(tmp_path, max_steps=5), random_batches(seed=1, repeat=False))
    assert again.started_from == "resumed at step 3" and again.steps == 5 and again.samples == 20
    assert [r["step"] for r in MetricsLog(tmp_path / "run" / "c1").rows()] == [1, 2, 3, 4, 5]
    assert all(r["loss"] != 9.0 for r in MetricsLog(tmp_path / "run" / "c1").rows())
    # Adam's state came back too: its step count continues
    state = load_checkpoint(tmp_path / "run" / "c1" / NAME)
    assert int(state["optimizer"]["state"][0]["step"]) == 5

    c1_weights = state["model"]
    stage2 = train_stage(_cfg(tmp_path, stage=2, max_steps=1, lr=0.0 + 1e-12), random_batches(repeat=False))
    assert stage2.started_from.endswith("c1/checkpoint.pt")
    c2 = load_checkpoint(tmp_path / "run" / "c2" / NAME)
    assert c2["stage"] == 2 and c2["step"] == 1
    # with a (near) zero learning rate the weights are still c1's: they were loaded, not re-initialised
    name = "visual_fc.weight"
    assert torch.allclose(c2["model"][name], c1_weights[name], atol=1e-6)


def test_stage_learning_rates_follow_the_paper(tmp_path):
    s1 = train_stage(_cfg(tmp_path, max_steps=1), random_batches())
    s3 = train_stage(_cfg(tmp_path, stage=3, max_steps=1), random_batches())
    assert s1.last["lr"] == pytest.approx(1e-3)          # tiny's base
    assert s3.last["lr"] == pytest.approx(1e-5)          # * 0.1 ** 2
    assert s3.started_from == "scratch"                   # no c2 in this run folder


def test_bad_settings_are_clear_errors(tmp_path):
    with pytest.raises(AvcurrError, match="at least 2"):
        train_stage(_cfg(tmp_path, batch_size=1, max_steps=1), random_batches())
    with pytest.raises(AvcurrError, match="never stops"):
        train_stage(_cfg(tmp_path), random_batches())
    with pytest.raises(AvcurrError, match="--stage"):
        train_stage(_cfg(tmp_path, stage=7, max_steps=1), random_batches())
    train_stage(_cfg(tmp_path, max_steps=1), random_batches())
    with pytest.raises(AvcurrError, match="pass --config tiny"):
        train_stage(_cfg(tmp_path, model="paper", max_steps=2), random_batches())
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(AvcurrError, match="cannot read checkpoint"):
        load_checkpoint(bad)
