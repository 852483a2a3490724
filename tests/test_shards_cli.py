"""The build-shards and verify commands: options, closing table, one-line errors."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from avcurr.cli import app
from shards_fixtures import lavfi_media, shared_base

runner = CliRunner()


def test_build_and_verify_commands(tmp_path_factory):
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path_factory.mktemp("cli")
    result = runner.invoke(app, ["build-shards", "--manifest", str(manifest), "--media", str(media), "--out",
                                 str(out), "--dataset", "lav", "--split", "val", "--workers", "2",
                                 "--curricula", "c2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "samples written to c2" in result.output and "failed" not in result.output
    assert "clips/s" in result.output
    assert sorted(p.name for p in out.glob("lav/val/*") if not p.name.startswith(".")) == [
        "c2", "failures.parquet", "index.parquet"]
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0 and "all shards verified" in result.output
    shutil.copy(next(out.glob("lav/val/c2/*.tar")), out / "lav/val/c2/lav-val-c2-000007.tar")
    result = runner.invoke(app, ["verify", str(out / "lav")])
    assert result.exit_code == 1 and "unfinished" in result.output


def test_bad_input_is_one_clear_line(tmp_path):
    result = runner.invoke(app, ["build-shards", "--manifest", str(tmp_path / "nope.parquet"), "--media",
                                 str(tmp_path), "--out", str(tmp_path / "o"), "--dataset", "d", "--split", "s"])
    assert result.exit_code == 2 and "cannot read manifest" in result.output
    result = runner.invoke(app, ["build-shards", "--manifest", str(tmp_path / "m.parquet"), "--media",
                                 str(tmp_path), "--out", str(tmp_path / "o"), "--dataset", "../x", "--split", "s"])
    assert result.exit_code == 2 and "unsafe dataset name" in result.output
    result = runner.invoke(app, ["verify", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "shard root not found" in result.output
