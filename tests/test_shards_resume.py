"""kill -9 in the middle of build-shards, rerun: every key exactly once, nothing left over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from avcurr.shards.verify import verify
from avcurr.shards.resume import scan_split
from avcurr.shards.writer import ShardLimits, ShardWriter
from shards_fixtures import GOOD, SHORT_ID, lavfi_media, shared_base, slow_clip, write_manifest

AVCURR = [sys.executable, "-m", "avcurr"]


def _command(manifest: Path, media: Path, out: Path, workers: int) -> list[str]:
    return [*AVCURR, "build-shards", "--manifest", str(manifest), "--media", str(media), "--out", str(out),
            "--dataset", "lav", "--split", "train", "--workers", str(workers), "--max-samples", "2",
            "--no-progress"]


def _kill_when(command: list[str], ready, timeout: float = 60) -> int:
    """Start `command`, SIGKILL it as soon as `ready()` is true; returns its exit status."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while process.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.005)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    return process.wait()


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def test_kill_and_resume_yields_every_key_once(tmp_path_factory):
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path_factory.mktemp("resume")

    def partials() -> set:
        """Open shards, told apart by inode and mtime (a new file may reuse a freed inode)."""
        found = set()
        for path in out.glob("lav/train/c*/.*.partial"):
            try:
                stat = path.stat()
                found.add((path.name, stat.st_ino, stat.st_mtime_ns))
            except FileNotFoundError:  # renamed between listing and stat
                pass
        return found

    # 1) killed after its first shard is finished, while the next one is open (pool workers running)
    first_shard = lambda: any(out.glob("lav/train/c*/_stats/*.stats.json")) and partials()  # noqa: E731
    assert _kill_when(_command(manifest, media, out, workers=2), first_shard) == -signal.SIGKILL
    time.sleep(0.3)
    assert not _processes_mentioning(str(out)), "pool workers outlived the killed build"
    # 2) a rerun killed while it writes its own first new shard (a fresh .partial is open)
    stale = partials()
    assert stale, "the first run was not killed in the middle of a shard"
    assert _kill_when(_command(manifest, media, out, workers=1), lambda: partials() - stale) == -signal.SIGKILL
    assert partials() and not partials() & stale
    # 3) a rerun that finishes
    done = subprocess.run(_command(manifest, media, out, workers=2), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    keys = Counter()
    for tar in out.glob("lav/train/c*/*.tar"):
        with tarfile.open(tar) as handle:
            keys.update(n.partition(".")[0] for n in handle.getnames() if n.endswith(".json"))
    expected = {f"{y}_0" for y, _, _ in GOOD} | {f"{SHORT_ID}_0"}
    assert keys == Counter({k: 1 for k in expected})
    assert not [p for p in out.rglob("*") if p.name.endswith(".partial")]
    assert sorted(pq.read_table(out / "lav/train/index.parquet")["key"].to_pylist()) == sorted(expected)
    report = verify(out)
    assert report.ok, report.problems
    assert os.listdir(out / "lav/train/c2")  # both curricula written


def test_scan_finds_unfinished_and_leftovers_without_changing_anything(tmp_path):
    """A tar renamed just before a kill, without its stats, is unfinished: seen (with its keys), not
    removed by the scan; partial files are leftovers; nothing on disk changes."""
    writer = ShardWriter(tmp_path, "d", "s", "c1", 0, ShardLimits(max_samples=1), with_spec=True)
    writer.add("aaaaaaaaaaa_0", {"json": b"{}"}, 1)
    writer.add("bbbbbbbbbbb_0", {"json": b"{}"}, 1)  # rolls over: shard 0 finished
    writer.close()
    folder = tmp_path / "d/s/c1"
    (folder / "_stats" / "d-s-c1-000001.stats.json").unlink()  # as if killed between rename and stats
    (folder / ".d-s-c1-000002.tar.partial").write_bytes(b"half")
    before = sorted(p.name for p in folder.iterdir())
    state = scan_split(tmp_path, "d", "s")
    assert set(state.where) == {"aaaaaaaaaaa_0"} and state.next_number == {"c1": 2}
    assert [(u.tar.name, u.keys) for u in state.unfinished] == [("d-s-c1-000001.tar", {"bbbbbbbbbbb_0"})]
    assert state.unfinished[0].content is None  # its samples are not whole: rebuilt, not recovered
    assert [p.name for p in state.leftovers] == [".d-s-c1-000002.tar.partial"]
    assert sorted(p.name for p in folder.iterdir()) == before


def test_byte_limit_starts_a_new_shard(tmp_path):
    writer = ShardWriter(tmp_path, "d", "s", "c1", 0, ShardLimits(max_bytes=6000), with_spec=False)
    for i in range(3):
        writer.add(f"k{i:010d}_0", {"flac": bytes(2000), "json": b"{}"}, 1)
    writer.close()
    assert [p.name for p in writer.finished] == ["d-s-c1-000000.tar", "d-s-c1-000001.tar", "d-s-c1-000002.tar"]
    assert all(p.stat().st_size <= 6000 + 10240 for p in writer.finished)  # plus the tar end blocks


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_a_killed_worker_fails_its_clips_and_the_run_finishes(tmp_path_factory):
    """kill -9 of one pool worker (as the OOM killer would): its clips fail as worker_died, a new
    worker takes the rest, the parent does not wait forever."""
    clip = slow_clip(tmp_path_factory)
    out = tmp_path_factory.mktemp("killed-worker")
    rows = [{"ytid": f"slowclip{i:03d}", "start": 0.0, "path": str(clip), "curriculum": "c1"} for i in range(10)]
    manifest = write_manifest(out / "m.parquet", rows)
    command = [*AVCURR, "build-shards", "--manifest", str(manifest), "--out", str(out / "sh"), "--dataset", "lav",
               "--split", "train", "--workers", "2", "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    victim = _children(process.pid)[0]
    time.sleep(0.1)  # it is decoding its first clip
    os.kill(victim, signal.SIGKILL)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # what a plain multiprocessing.Pool does: wait forever
        process.kill()
        process.communicate()
        pytest.fail("build-shards hung after a worker was killed")
    assert process.returncode == 0, stderr
    failures = pq.read_table(out / "sh/lav/train/failures.parquet").to_pylist()
    died = [f for f in failures if f["status"] == "worker_died"]
    assert 1 <= len(died) <= 2 and len(failures) == len(died) and "worker process died" in died[0]["message"]
    assert "failed: worker_died" in stdout
    index = pq.read_table(out / "sh/lav/train/index.parquet")["key"].to_pylist()
    assert len(index) == 10 - len(died) and not {f["key"] for f in died} & set(index)
    assert verify(out / "sh").ok
