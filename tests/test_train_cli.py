"""`avcurr train`, `avcurr eval localization` and `avcurr localize` on real synthetic shards, through the CLI.

A short CI version of the recipe: a stage-c1 run killed with SIGKILL resumes from its checkpoint,
stage c2 starts from c1's weights, and the evaluator scores the model beside the baselines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.train import load_checkpoint
from tests.cavl_fixtures import cavl_world  # noqa: F401 - session fixture

runner = CliRunner()


def _train_args(world, run, stage, steps, *extra):
    return ["train", "--stage", stage, "--shards", str(world["shards"]), "--dataset", "synth", "--run", str(run),
            "--config", "tiny", "--batch-size", "4", "--max-steps", str(steps), "--threads", "1",
            "--device", "cpu", "--ckpt-every", "2", "--log-every", "1", *extra]


@pytest.fixture(scope="module")
def trained_run(cavl_world, tmp_path_factory):
    """A c1 run that was killed (-9) after its first checkpoint, then resumed; then one c2 step."""
    run = tmp_path_factory.mktemp("cavl-run") / "run"
    ckpt = run / "c1" / "checkpoint.pt"
    proc = subprocess.Popen([sys.executable, "-m", "avcurr", *_train_args(cavl_world, run, "c1", 10_000)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while not ckpt.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ckpt.is_file(), proc.stderr.read().decode()
    killed_at = load_checkpoint(ckpt)["step"]
    resumed = runner.invoke(app, _train_args(cavl_world, run, "c1", killed_at + 2))
    c2 = runner.invoke(app, _train_args(cavl_world, run, "c2", 1))
    return {"run": run, "killed_at": killed_at, "resumed": resumed, "c2": c2}


def test_a_killed_run_resumes_and_c2_picks_up_c1(trained_run):
    resumed, c2 = trained_run["resumed"], trained_run["c2"]
    assert resumed.exit_code == 0, resumed.output
    assert f"resumed at step {trained_run['killed_at']}" in resumed.output
    state = load_checkpoint(trained_run["run"] / "c1" / "checkpoint.pt")
    assert state["step"] == trained_run["killed_at"] + 2
    assert not list((trained_run["run"] / "c1").glob("*.part"))
    assert c2.exit_code == 0, c2.output
    summary = json.loads((trained_run["run"] / "c2" / "summary.json").read_text())
    assert summary["started_from"].endswith("c1/checkpoint.pt")
    assert summary["last"]["lr"] == pytest.approx(1e-4)          # tiny base 1e-3 * 0.1


def test_eval_localization_scores_model_and_baselines(trained_run, cavl_world, tmp_path):
    out = tmp_path / "eval"
    result = runner.invoke(app, ["eval", "localization", "--checkpoint", str(trained_run["run"] / "c1" / "checkpoint.pt"),
                                 "--shards", str(cavl_world["shards"]), "--dataset", "synth", "--split", "train",
                                 "--curricula", "c1,c2", "--annotations", str(cavl_world["annotations"]),
                                 "--out", str(out), "--overlays", "2", "--device", "cpu", "--visual-centres", "3"])
    assert result.exit_code == 0, result.output
    written = json.loads((out / "summary.json").read_text())
    summary = written["methods"]
    assert {"model", "told_kv", "unrelated", "random", "centre_gaussian", "whole_image"} <= set(summary)
    assert summary["model"]["n"] == 12 and 0 <= summary["model"]["auc"] <= 1
    assert written["rule_source"] == "recorded in the checkpoint" and "rule:" in result.output
    assert "told k_v = 3 (eq. 7)" in result.output and "unrelated centre" in result.output
    assert len((out / "per_image.csv").read_text().splitlines()) == 13
    assert len(list((out / "overlays").glob("*.png"))) == 2 and (out / "success_curves.png").is_file()
    assert "centre_gaussian" in result.output and "pointing" in result.output


def test_localize_draws_a_heatmap_for_one_frame_and_soundtrack(trained_run, cavl_world, tmp_path):
    frame = sorted((cavl_world["world"] / "flickr" / "frames").glob("*.png"))[0]
    media = cavl_world["world"] / "media" / f"{frame.stem}.mp4"
    out = tmp_path / "heat.png"
    result = runner.invoke(app, ["localize", "--checkpoint", str(trained_run["run"] / "c1" / "checkpoint.pt"),
                                 "--image", str(frame), "--audio", str(media), "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "heatmap maximum" in result.output
    assert "rule: " in result.output and "recorded in the checkpoint" in result.output
    bad = runner.invoke(app, ["localize", "--checkpoint", str(trained_run["run"] / "c1" / "checkpoint.pt"),
                              "--image", str(frame), "--audio", str(media), "--out", str(tmp_path / "x.png"),
                              "--device", "cpu", "--readout", "attention"])
    assert bad.exit_code == 2 and "unknown readout 'attention'" in bad.output and not (tmp_path / "x.png").exists()


def test_cli_errors_are_one_line(cavl_world, tmp_path):
    bad_stage = runner.invoke(app, _train_args(cavl_world, tmp_path / "r", "c9", 1))
    assert bad_stage.exit_code == 2 and "--stage must be" in bad_stage.output
    no_shards = runner.invoke(app, ["train", "--stage", "c1", "--shards", str(tmp_path / "none"), "--run",
                                    str(tmp_path / "r"), "--config", "tiny", "--max-steps", "1"])
    assert no_shards.exit_code == 2 and "no finished shards" in no_shards.output
    missing = runner.invoke(app, ["eval", "localization", "--checkpoint", str(tmp_path / "x.pt"), "--shards",
                                  str(cavl_world["shards"]), "--annotations", str(tmp_path / "none"),
                                  "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "annotation folder not found" in missing.output


def test_epochs_are_counted_from_the_shards(cavl_world, tmp_path):
    from avcurr.data import LoaderConfig, count_samples

    n_c1 = count_samples(LoaderConfig(root=cavl_world["shards"], dataset="synth", split="train", curricula=("c1",)))
    args = _train_args(cavl_world, tmp_path / "run", "c1", 1)
    at = args.index("--max-steps")
    result = runner.invoke(app, [*args[:at], *args[at + 2:], "--epochs", "1"])
    assert result.exit_code == 0, result.output
    state = load_checkpoint(tmp_path / "run" / "c1" / "checkpoint.pt")
    assert state["step"] == n_c1 // 4 and state["samples"] == 4 * (n_c1 // 4)
