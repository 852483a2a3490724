"""`avcurr build-shards` under real signals: Ctrl-C (the whole terminal group) and SIGTERM (the
parent alone) end a run with workers promptly, with one line, no worker left behind, and a rerun
that finishes the shards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from avcurr.shards.verify import verify
from tests.shards_fixtures import make_clip, write_manifest
from tests.test_synth_signals import PROMPT_S, _live_in_group, _wait_until, run_group  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
CLIPS = 160


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_build_stops_at_once_and_a_rerun_finishes(tmp_path, run_group, how):  # noqa: F811
    clip = make_clip(tmp_path / "clip.mp4", seconds=10.0)
    manifest = write_manifest(tmp_path / "m.parquet", [
        {"ytid": f"clip{i:04d}", "start": 0.0, "end": 10.0, "curriculum": "c1", "n_sources": 1,
         "labels": ["/m/0bt9lr"], "sources": ["/m/0bt9lr"], "path": str(clip)} for i in range(CLIPS)])
    command = [sys.executable, "-m", "avcurr", "build-shards", "--manifest", str(manifest), "--out",
               str(tmp_path / "sh"), "--dataset", "d", "--split", "s", "--workers", "2", "--no-progress",
               "--max-samples", "20"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    run_group.append(proc)
    first = _wait_until(lambda: proc.poll() is not None or any((tmp_path / "sh").rglob("*.tar")), 120)
    assert first and proc.poll() is None, "the build ended (or never started a shard) before the signal"
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends: the parent and its workers
    else:
        os.kill(proc.pid, signal.SIGTERM)   # a scheduler's stop: the parent alone
    sent = time.monotonic()
    code = proc.wait(timeout=PROMPT_S)
    stderr = proc.stderr.read().decode()
    assert code == 130 and time.monotonic() - sent < PROMPT_S
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and "rerun" in lines[0], stderr
    assert _wait_until(lambda: not _live_in_group(proc.pid), 10), f"left alive: {_live_in_group(proc.pid)}"
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = verify(tmp_path / "sh")
    assert report.ok, report.problems[:3]
    assert sum(report.samples.values()) == CLIPS
