"""`build-shards --engine ray` on a real local Ray cluster (2 CPUs, one per module): the same keys in
the same shards, byte for byte, as the local engine; a Ray worker killed (SIGKILL) in the middle
of writing its shard loses nothing: Ray retries the group, and a rerun leaves every key once."""

from __future__ import annotations

import os
import signal
import tarfile
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.verify import verify
from avcurr.shards.writer import ShardLimits
from shards_fixtures import built_root, lavfi_media, shared_base, slow_clip, write_manifest

TASK_TITLE = b"ray::build_shard_group"  # a Ray worker's process title while it runs a group


def _tars(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("*/*/c*/*.tar"))}


def _keys(root: Path) -> Counter:
    keys = Counter()
    for tar in root.glob("*/*/c*/*.tar"):
        with tarfile.open(tar) as handle:
            keys.update(n.partition(".")[0] for n in handle.getnames() if n.endswith(".json"))
    return keys


def test_ray_engine_writes_the_local_engines_shards_byte_for_byte(tmp_path, tmp_path_factory, ray_cluster):
    local, _ = built_root(tmp_path_factory)  # the local engine: 2 worker processes, 3 samples per shard
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path / "ray"
    result = CliRunner().invoke(app, ["build-shards", "--manifest", str(manifest), "--media", str(media), "--out",
                                      str(out), "--dataset", "lav", "--split", "train", "--max-samples", "3",
                                      "--engine", "ray", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "engine" in result.output and "ray" in result.output
    ours, theirs = _tars(out), _tars(local)
    assert len(ours) == 4 and list(ours) == list(theirs)
    for name in ours:
        assert ours[name] == theirs[name], name
    for side in ("index.parquet", "failures.parquet"):
        assert (pq.read_table(out / "lav/train" / side).to_pylist()
                == pq.read_table(local / "lav/train" / side).to_pylist()), side
    for index in local.glob("lav/train/c*/_shards.json"):
        assert (out / index.relative_to(local)).read_text() == index.read_text()
    assert verify(out).ok


def _ray_workers_running_a_group() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(TASK_TITLE):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def test_a_killed_ray_worker_loses_nothing(tmp_path, tmp_path_factory, ray_cluster):
    clip = slow_clip(tmp_path_factory)  # each decode takes a while: the kill lands mid-shard
    keys = [f"raykilled{i:02d}_0" for i in range(8)]
    manifest = write_manifest(tmp_path / "m.parquet", [{"ytid": k[:-2], "start": 0.0, "path": str(clip)}
                                                       for k in keys])
    out = tmp_path / "sh"
    config = BuildConfig(manifest=manifest, out=out, dataset="lav", split="train", engine="ray",
                         limits=ShardLimits(max_samples=2))
    runs: list = []
    build = threading.Thread(target=lambda: runs.append(build_shards(config)))
    build.start()
    killed = None
    deadline = time.monotonic() + 120
    while build.is_alive() and time.monotonic() < deadline:
        workers = _ray_workers_running_a_group()
        if workers and list(out.glob("lav/train/c1/.*.partial")):  # a group is writing its shard
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
            break
        time.sleep(0.01)
    build.join(timeout=300)
    assert killed is not None, "no Ray worker was caught writing a shard"
    assert not build.is_alive() and runs, "the Ray build did not finish after its worker was killed"
    first = runs[0]
    # Ray retried the killed group (or, had it died on every try, its clips fail as worker_died).
    assert first.processed == len(keys)
    assert set(first.statuses) <= {"ok", "worker_died"}
    again = build_shards(config)  # the rerun builds whatever is missing, and nothing twice
    assert again.already_done + again.statuses["ok"] == len(keys)
    assert _keys(out) == Counter({k: 1 for k in keys})
    assert not [p for p in out.rglob("*") if p.name.endswith((".partial", ".part"))]
    assert sorted(pq.read_table(out / "lav/train/index.parquet")["key"].to_pylist()) == keys
    report = verify(out)
    assert report.ok, report.problems
