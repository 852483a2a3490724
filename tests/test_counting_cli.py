"""`avcurr train-counter` and `avcurr eval counting` end to end on real synthetic shards."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.counting.evaluate import baselines, rule_scores
from avcurr.train import load_checkpoint
from tests.cavl_fixtures import cavl_world  # noqa: F401 - session fixture

runner = CliRunner()


def _train(world, run, head, steps, *extra):
    return runner.invoke(app, ["train-counter", "--shards", str(world["shards"]), "--dataset", "synth",
                               "--run", str(run), "--config", "tiny", "--head", head, "--batch-size", "4",
                               "--max-steps", str(steps), "--threads", "1", "--device", "cpu", "--log-every", "1",
                               *extra])


def _eval(world, checkpoint, out):
    return runner.invoke(app, ["eval", "counting", "--checkpoint", str(checkpoint), "--shards", str(world["shards"]),
                               "--dataset", "synth", "--split", "train", "--out", str(out), "--device", "cpu"])


def test_train_counter_then_eval_counting(cavl_world, tmp_path):
    result = _train(cavl_world, tmp_path / "poisson", "poisson", 3)
    assert result.exit_code == 0, result.output
    state = load_checkpoint(tmp_path / "poisson" / "checkpoint.pt", kind="counter")
    assert set(state["train_counts"]) == {"1", "2"} and sum(state["train_counts"].values()) == 12
    again = _train(cavl_world, tmp_path / "poisson", "poisson", 4)      # resumes
    assert again.exit_code == 0 and "resumed at step 3" in again.output

    result = _eval(cavl_world, tmp_path / "poisson" / "checkpoint.pt", tmp_path / "eval")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert set(summary["rules"]) == {"most_probable", "nearest"} and summary["n"] == 12
    assert set(summary["baselines"]) == {"random_guess", "majority_class"}
    with (tmp_path / "eval" / "per_clip.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    for row in rows:      # the rules, recomputed from the stored lambda
        lam = float(row["lambda"])
        assert int(row["pred_most_probable"]) == min(max(int(np.ceil(lam)) - 1, 1), 5)
        assert int(row["pred_nearest"]) == min(max(int(np.floor(lam + 0.5)), 1), 5)
        assert int(row["target"]) == int(row["n_sources"])
    truth = np.array([int(r["target"]) for r in rows])
    pred = np.array([int(r["pred_nearest"]) for r in rows])
    assert summary["rules"]["nearest"]["accuracy"] == pytest.approx(np.mean(truth == pred))
    assert summary["rules"]["nearest"]["mae"] == pytest.approx(np.mean(np.abs(truth - pred)))
    assert np.sum(summary["rules"]["nearest"]["confusion"]) == 12
    assert (tmp_path / "eval" / "confusion.png").stat().st_size > 5000
    assert "most probable count" in result.output and "majority class" in result.output


def test_softmax_head_and_wrong_checkpoint_kinds(cavl_world, tmp_path):
    assert _train(cavl_world, tmp_path / "soft", "softmax", 2).exit_code == 0
    result = _eval(cavl_world, tmp_path / "soft" / "checkpoint.pt", tmp_path / "eval")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert set(summary["rules"]) == {"softmax"}
    # a counter where a curriculum checkpoint is needed and the other way round: one clear line
    bad = runner.invoke(app, ["train", "--stage", "c2", "--shards", str(cavl_world["shards"]), "--dataset", "synth",
                              "--run", str(tmp_path / "x"), "--config", "tiny", "--max-steps", "1", "--batch-size", "2",
                              "--init", str(tmp_path / "soft" / "checkpoint.pt")])
    assert bad.exit_code == 2 and "a cavl checkpoint is needed" in bad.output
    resumed_cavl = _train(cavl_world, tmp_path / "p", "poisson", 1, "--init", str(tmp_path / "soft" / "checkpoint.pt"))
    assert resumed_cavl.exit_code == 0, resumed_cavl.output          # a counter's audio net is an audio net too
    wrong = _eval(cavl_world, tmp_path / "nope.pt", tmp_path / "e2")
    assert wrong.exit_code == 2 and "checkpoint not found" in wrong.output
    bad_head = _train(cavl_world, tmp_path / "h", "gauss", 1)
    assert bad_head.exit_code == 2 and "--head must be one of" in bad_head.output


def test_baselines_are_exact_expectations():
    truth = np.array([1, 2, 2, 3, 4])
    b = baselines(truth, {"1": 10, "2": 30, "3": 5}, 5)
    assert b["random_guess"]["accuracy"] == 0.2
    # E|U - y| for U uniform on 1..5: y=1: 2.0, y=2: 1.4, y=3: 1.2, y=4: 1.4
    assert b["random_guess"]["mae"] == pytest.approx((2.0 + 1.4 + 1.4 + 1.2 + 1.4) / 5)
    assert b["majority_class"]["class"] == 2 and b["majority_class"]["accuracy"] == pytest.approx(0.4)
    assert baselines(truth, None, 5)["majority_class"]["from"].startswith("test split")
    scores = rule_scores(truth, np.array([1, 2, 3, 3, 5]), 5)
    assert scores["accuracy"] == pytest.approx(0.6) and scores["mae"] == pytest.approx(0.4)
    assert scores["per_count_accuracy"] == {1: 1.0, 2: 0.5, 3: 1.0, 4: 0.0}
    assert scores["confusion"][1] == [0, 1, 1, 0, 0]
