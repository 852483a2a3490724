"""Ctrl-C and kill -9 in the middle of `avcurr fetch`, rerun: every clip exactly once, no partial files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from avcurr.fetch import JOURNAL, MANIFEST
from avcurr.media.ffmpeg import probe
from http_mirror import Mirror, make_video

N_CLIPS = 14


def _segments_csv(path: Path, ytids: list[str]) -> Path:
    lines = ["# Segments csv created for a test", f"# num_ytids={len(ytids)}, num_segs={len(ytids)}",
             "# YTID, start_seconds, end_seconds, positive_labels"]
    lines += [f'{y}, 1.000, 3.000, "/m/09x0r"' for y in ytids]
    path.write_text("\n".join(lines) + "\n")
    return path


def _command(out: Path, segments: Path, template: str) -> list[str]:
    return [sys.executable, "-m", "avcurr", "fetch", "audioset", "--split", "unbalanced",
            "--segments", str(segments), "--out", str(out), "--workers", "2", "--url-template", template,
            "--timeout", "2", "--backoff", "0.2", "--no-progress"]


def _finished(out: Path) -> dict[str, str]:
    """key -> status of every clip recorded so far (manifest, then journal lines on top)."""
    found = {}
    if (out / MANIFEST).exists():
        found = {r["key"]: r["status"] for r in pq.read_table(out / MANIFEST).to_pylist()}
    if (out / JOURNAL).exists():
        for line in (out / JOURNAL).read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            found[row["key"]] = row["status"]
    return found


def _wait_for(out: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while len(_finished(out)) < count and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)


def test_kill_9_mid_run_then_rerun_gives_each_clip_once(tmp_path):
    data = make_video(tmp_path / "src.mp4", 4)
    ytids = [f"resume{i:05d}" for i in range(N_CLIPS)]
    out = tmp_path / "out"
    segments = _segments_csv(tmp_path / "segments.csv", ytids)
    with Mirror() as mirror:
        for ytid in ytids:
            mirror.add(f"{ytid}.mp4", data, "slow:0.1")  # slow enough to be killed mid-run
        # Ctrl-C first: the finished clips are kept, and nothing is recorded as failed.
        proc = subprocess.Popen(_command(out, segments, mirror.url_template),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for(out, 2, proc)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        assert proc.returncode != 0
        interrupted = _finished(out)
        assert 2 <= len(interrupted) < N_CLIPS and set(interrupted.values()) == {"ok"}

        # Then kill -9, which gives the program no chance to tidy up.
        proc = subprocess.Popen(_command(out, segments, mirror.url_template),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for(out, len(interrupted) + 2, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        finished_before = set(_finished(out))
        assert len(interrupted) + 2 <= len(finished_before) < N_CLIPS, "the run was not killed mid-way"
        requests_before = {y: mirror.requests_for(f"{y}.mp4") for y in ytids}

        rerun = subprocess.run(_command(out, segments, mirror.url_template), capture_output=True, text=True,
                               timeout=120)
        assert rerun.returncode == 0, rerun.stderr

        rows = pq.read_table(out / MANIFEST).to_pylist()
        keys = [r["key"] for r in rows]
        assert sorted(keys) == sorted(f"{y}_1000" for y in ytids)  # every clip, exactly once
        assert all(r["status"] == "ok" for r in rows)
        # clips finished before the kills were not downloaded again (only those in flight were)
        redone = [y for y in ytids if f"{y}_1000" in finished_before
                  and mirror.requests_for(f"{y}.mp4") != requests_before[y]]
        assert redone == []
    assert not (out / ".partial").exists()
    leftovers = [p.name for p in out.iterdir() if p.name.endswith((".part", ".tmp")) or ".partial" in p.name]
    assert leftovers == []
    media = sorted(out.glob("*.mp4"))
    assert [m.stem for m in media] == sorted(keys)
    assert all(abs(probe(m).duration - 2.0) < 0.3 for m in media)
