"""A shard root given as a URL works wherever a folder does: `avcurr train` and `avcurr eval
localization` against shards served over HTTP on loopback (issue 12)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from avcurr.cli import app
from tests.cavl_fixtures import DATASET, cavl_world  # noqa: F401 - fixture
from tests.data_fixtures import serve


def test_train_and_eval_read_shards_over_http(cavl_world, tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    with serve(cavl_world["shards"]) as (url, asked):
        trained = runner.invoke(app, ["train", "--stage", "c1", "--shards", url, "--dataset", DATASET, "--run", str(run),
                                      "--config", "tiny", "--batch-size", "2", "--max-steps", "2", "--device", "cpu",
                                      "--threads", "1"])
        assert trained.exit_code == 0, trained.output
        evaluated = runner.invoke(app, ["eval", "localization", "--checkpoint", str(run / "c1" / "checkpoint.pt"),
                                        "--shards", url, "--dataset", DATASET, "--split", "train",
                                        "--annotations", str(cavl_world["annotations"]), "--out", str(tmp_path / "eval"),
                                        "--overlays", "0", "--device", "cpu"])
        assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((run / "c1" / "summary.json").read_text())["steps"] == 2
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["methods"]["model"]["n"] > 0
    # everything came over HTTP: the index first, then only shards
    assert any(p.endswith("/c1/_shards.json") for p in asked) and any(p.endswith(".tar") for p in asked)
