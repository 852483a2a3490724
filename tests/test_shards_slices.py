"""`build-shards --slice I/N`: the tasks of a job array build one shared plan side by side, never
the same shard twice and never the split's side files; the run without --slice afterwards
publishes, and the result is byte for byte the one-process build. The Slurm array recipe itself,
run as the batch system runs its tasks and the publishing job."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from avcurr.errors import AvcurrError
from avcurr.locks import shared
from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.slices import PLAN_NAME
from avcurr.shards.verify import verify
from avcurr.shards.writer import ShardLimits
from shards_fixtures import built_root, lavfi_media, shared_base
from test_shards_ray import _keys, _tars

REPO = Path(__file__).resolve().parents[1]
SIDE_FILES = ("index.parquet", "failures.parquet")


def _config(out, media, manifest, **kw) -> BuildConfig:
    return BuildConfig(**{**dict(manifest=manifest, media=media, out=out, dataset="lav", split="train", workers=1,
                                 limits=ShardLimits(max_samples=3)), **kw})


def _same_as_local(out: Path, local: Path) -> None:
    ours, theirs = _tars(out), _tars(local)
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name] == theirs[name], name
    assert (pq.read_table(out / "lav/train/index.parquet").to_pylist()
            == pq.read_table(local / "lav/train/index.parquet").to_pylist())


def test_slices_side_by_side_then_publishing_equal_the_one_process_build(tmp_path, tmp_path_factory):
    local, _ = built_root(tmp_path_factory)
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path / "sliced"
    summaries, errors = {}, []

    def one(index):
        try:
            summaries[index] = build_shards(_config(out, media, manifest, slice=(index, 3)))
        except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []  # no task was locked out by another, each found or made the same plan
    split = out / "lav/train"
    assert (split / PLAN_NAME).is_file()
    assert not any((split / name).exists() for name in SIDE_FILES) and not list(split.glob("c*/_shards.json"))
    # 5 groups (c1: 4, c2: 1) dealt round robin: every group built by exactly one task
    assert sorted(s.groups for s in summaries.values()) == [1, 2, 2]
    built = [p.name for s in summaries.values() for p in s.shards]
    assert len(built) == len(set(built)) == 4  # c1's last group (silentclip1 alone) keeps nothing
    assert sum(s.card is None for s in summaries.values()) == 3

    final = build_shards(_config(out, media, manifest))  # the publishing run
    assert final.already_done == 9 and final.samples == {} and PLAN_NAME in final.removed
    assert not (split / PLAN_NAME).exists()
    _same_as_local(out, local)
    assert (pq.read_table(split / "failures.parquet").to_pylist()
            == pq.read_table(local / "lav/train/failures.parquet").to_pylist())  # failures tried once more
    report = verify(out)
    assert report.ok, report.problems


def test_a_rerun_of_a_slice_builds_only_its_unfinished_groups(tmp_path, tmp_path_factory):
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path / "sliced"
    first = build_shards(_config(out, media, manifest, slice=(0, 2)))
    # the plan's groups: c1 0..3, then c2 0; slice 0 of 2 builds the 1st, 3rd and 5th
    assert [p.name for p in first.shards] == ["lav-train-c1-000000.tar", "lav-train-c1-000002.tar",
                                              "lav-train-c2-000000.tar"]
    victim, kept, _ = first.shards
    (victim.parent / "_stats" / f"{victim.stem}.stats.json").unlink()  # killed between rename and stats
    before = kept.stat().st_mtime_ns
    again = build_shards(_config(out, media, manifest, slice=(0, 2)))
    assert [p.name for p in again.shards] == [victim.name] and again.already_done == 4  # 1 + 3 kept
    assert kept.stat().st_mtime_ns == before
    other = build_shards(_config(out, media, manifest, slice=(1, 2)))
    assert [p.name for p in other.shards] == ["lav-train-c1-000001.tar"] and other.groups == 2
    build_shards(_config(out, media, manifest))
    assert max(_keys(out).values()) == 1 and verify(out).ok


def test_plans_and_locks_keep_tasks_and_the_publishing_run_apart(tmp_path, tmp_path_factory):
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path / "sliced"
    build_shards(_config(out, media, manifest, slice=(0, 4)))
    with pytest.raises(AvcurrError, match="made for another manifest or other options"):
        build_shards(_config(out, media, manifest, slice=(1, 4), limits=ShardLimits(max_samples=2)))
    with shared(out / "lav/train", "test"):  # a task is running: the publishing run must wait for it
        with pytest.raises(AvcurrError, match="another build-shards is writing"):
            build_shards(_config(out, media, manifest))
    assert (out / "lav/train" / PLAN_NAME).is_file()  # refused before it changed anything


def _sbatch(args: list[str], **env) -> subprocess.Popen:
    script = REPO / "pipelines" / "slurm" / "build_shards_array.sbatch"
    full = {**os.environ, "AVCURR": str(Path(sys.executable).with_name("avcurr")), "SLURM_CPUS_PER_TASK": "1", **env}
    return subprocess.Popen(["bash", str(script), *args], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_the_slurm_array_script_builds_slices_then_publishes(tmp_path, tmp_path_factory):
    local, _ = built_root(tmp_path_factory)
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path / "shards"
    args = ["--manifest", str(manifest), "--media", str(media), "--out", str(out), "--dataset", "lav",
            "--split", "train", "--max-samples", "3"]
    tasks = [_sbatch(args, SLICES="2", SLURM_ARRAY_TASK_ID=str(i), SLURM_ARRAY_JOB_ID="77") for i in range(2)]
    for i, task in enumerate(tasks):  # both array tasks at once, as Slurm runs them
        stdout, stderr = task.communicate(timeout=180)
        assert task.returncode == 0, stderr
        assert f"slice {i} of 2" in stdout and f"slice {i}/2 done" in stdout
    assert not (out / "lav/train/index.parquet").exists()
    publishing = _sbatch(args)  # the job submitted with --dependency=afterany on the array
    stdout, stderr = publishing.communicate(timeout=180)
    assert publishing.returncode == 0, stderr
    assert "publishing" in stdout and "dataset card" in stdout
    _same_as_local(out, local)
    assert len(_keys(out)) == 9 and max(_keys(out).values()) == 1
    # An array task without SLICES refuses, saying what is missing, before building anything.
    refused = _sbatch(args, SLURM_ARRAY_TASK_ID="0")
    _, stderr = refused.communicate(timeout=60)
    assert refused.returncode != 0 and "set SLICES" in stderr
