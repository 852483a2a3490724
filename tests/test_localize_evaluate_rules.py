"""The rule a training run records is the rule evaluation uses; an unrecorded checkpoint gets the
paper's rule and says so; the paper's, told-k_v, unrelated and per-object rows come beside it."""

from __future__ import annotations

import json

import pytest
import torch

from avcurr.localize import LocalizationConfig, evaluate_localization
from avcurr.localize.rules import PAPER_RULE, RULE_KEY, LocalizationRule
from avcurr.train import CurriculumTask, TrainConfig, load_checkpoint, save_checkpoint, train_stage
from avcurr.train.checkpoint import NAME
from tests.cavl_fixtures import cavl_world, random_batches  # noqa: F401 - session fixture

RULE = LocalizationRule("cross", 2, 3, train_extra_visual=3)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A one-step c1 run trained with k_v = k_a + 3, recording the cross readout with k_v = k_a + 2
    and a 3 x 3 mean; and a copy of its
    checkpoint without the rule record (as written before rules were recorded)."""
    run = tmp_path_factory.mktemp("rule-run")
    train_stage(TrainConfig(run=run, model="tiny", batch_size=4, max_steps=1, device="cpu", threads=1,
                            train_extra_visual=3, readout=RULE.readout, extra_visual=RULE.extra_visual,
                            smooth=RULE.smooth), random_batches())
    ckpt = run / "c1" / NAME
    state = load_checkpoint(ckpt)
    old = run / "old.pt"
    save_checkpoint(old, {k: v for k, v in state.items() if k not in (RULE_KEY, "format", "kind")})
    return {"ckpt": ckpt, "state": state, "old": old}


def _evaluate(world, ckpt, out, **kw):
    return evaluate_localization(LocalizationConfig(
        checkpoint=ckpt, shards=world["shards"], annotations=world["annotations"], out=out, split="train",
        curricula=("c1",), overlays=0, device="cpu", limit=4, **kw))


def test_training_records_its_rule_and_clusters_with_it(recorded):
    state = recorded["state"]
    assert state[RULE_KEY] == {"readout": "cross", "extra_visual": 2, "smooth": 3, "train_extra_visual": 3}
    assert state["k_a"] == 1 and state["k_v"] == 4


@pytest.mark.parametrize("extra, stage", [(None, 1), (1, 2), (3, 2)])
def test_training_clusters_with_the_rules_visual_centres(tmp_path, extra, stage):
    task = CurriculumTask(TrainConfig(run=tmp_path, model="tiny", stage=stage, batch_size=2, max_steps=1,
                                      train_extra_visual=extra).validate())
    model = task.build_model()
    asked = []
    cluster = model.cluster
    model.cluster = lambda x, k, grid: asked.append(k) or cluster(x, k, grid)
    task.compute(model, next(random_batches(batch=2)), torch.device("cpu"))
    expected = stage + (extra if extra is not None else 3)          # the default rule trains with k_a + 3
    assert asked == [stage, expected] and task.checkpoint_extra()["k_v"] == expected


def test_evaluation_uses_the_recorded_rule(recorded, cavl_world, tmp_path):
    report = _evaluate(cavl_world, recorded["ckpt"], tmp_path / "a")
    assert report.rule == RULE and report.rule_source == "recorded in the checkpoint"
    assert list(report.summaries)[:3] == ["model", "paper_rule", "unrelated"]
    assert "cross, k_v = k_a + 2, 3x3 mean" in report.labels["model"]
    written = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert written["rule"] == RULE.to_dict()
    # the model row is the recorded rule's, exactly: the same numbers as that rule given explicitly
    given = _evaluate(cavl_world, recorded["old"], tmp_path / "b", readout="cross", extra_visual=2, smooth=3)
    assert given.rule_source == "readout given"
    assert [r["model_ciou"] for r in report.rows] == [r["model_ciou"] for r in given.rows]


def test_an_unrecorded_checkpoint_falls_back_to_the_paper_rule(recorded, cavl_world, tmp_path):
    report = _evaluate(cavl_world, recorded["old"], tmp_path / "a", visual_centres=3, truth=cavl_world["world"] / "truth",
                       sources=1)
    assert report.rule == PAPER_RULE and "not recorded" in report.rule_source
    assert "paper_rule" not in report.summaries                # the model row is the paper's rule itself
    assert {"model", "told_kv", "unrelated"} <= set(report.summaries)
    assert report.labels["told_kv"] == "told k_v = 3 (eq. 7)"
    assert set(report.objects) == {"model", "told_kv", "random"} and report.objects["model"]["n"] == 4
    assert "model_targets" in report.rows[0]


def test_evaluation_reads_the_whole_split_under_a_launcher(recorded, cavl_world, tmp_path, monkeypatch):
    """torchrun sets RANK / WORLD_SIZE; an evaluation still scores every clip, not a rank's share."""
    whole = _evaluate(cavl_world, recorded["ckpt"], tmp_path / "a")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    under_launcher = _evaluate(cavl_world, recorded["ckpt"], tmp_path / "b")
    assert len(under_launcher.rows) == len(whole.rows) > 1
