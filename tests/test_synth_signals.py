"""`avcurr synth` under real signals, on a real run: Ctrl-C and SIGTERM end it promptly, and no
worker process (nor its ffmpeg) outlives the parent, even a parent killed with SIGKILL. A worker
killed like the out-of-memory killer would do it fails its clips: exit status 1 and one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

PROMPT_S = 20  # a generous bound on a loaded machine; the bugs were a 300-s wait and the whole queue


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, process group) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid, pgrp = text[text.rindex(")") + 2:].split()[:3]
    return state, int(ppid), int(pgrp)


def _live_in_group(pgrp: int) -> list[int]:
    """Processes (not zombies) of a process group: the run and everything it started."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[2] == pgrp and stat[0] != "Z":
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _workers(parent: int) -> list[int]:
    """The pool's worker processes of a run."""
    return [pid for pid in _live_in_group(parent)
            if (_stat(pid) or ("", 0, 0))[1] == parent and b"spawn_main" in _cmdline(pid)]


def _encoding(pgrp: int) -> bool:
    """Whether an ffmpeg of the run is encoding a clip now."""
    return any(_cmdline(pid).startswith(b"ffmpeg") or b"/ffmpeg\0" in _cmdline(pid) for pid in _live_in_group(pgrp))


def _wait_until(condition, seconds: float, step: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def _start(out: Path, workers: int) -> subprocess.Popen:
    """A run of 200 full-size clips (minutes of work), in its own process group like a shell job,
    returned while its workers are busy: one clip is finished and an ffmpeg is encoding the next."""
    proc = subprocess.Popen([sys.executable, "-m", "avcurr", "synth", "--out", str(out), "--clips", "200",
                             "--workers", str(workers), "--seed", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    started = _wait_until(lambda: proc.poll() is not None or any((out / "truth").glob("*.json")), 120)
    assert started and proc.poll() is None, proc.stderr.read().decode() if proc.poll() is not None else "slow"
    if workers > 1:
        assert _wait_until(lambda: len(_workers(proc.pid)) == workers, 30), "workers not found"
    assert _wait_until(lambda: _encoding(proc.pid), 30, step=0.01), "no ffmpeg seen"
    return proc


@pytest.fixture
def run_group():
    """Every started run's process group is killed at the end, whatever the test did."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_ends_the_run_promptly_and_leaves_no_process(tmp_path, run_group, workers):
    proc = _start(tmp_path / "w", workers)
    run_group.append(proc)
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole foreground group
    code = proc.wait(timeout=PROMPT_S)
    took = time.monotonic() - sent
    stderr = proc.stderr.read().decode()
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert took < PROMPT_S
    assert _wait_until(lambda: not _live_in_group(proc.pid), 10), f"left alive: {_live_in_group(proc.pid)}"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_a_killed_parent(tmp_path, run_group, how):
    proc = _start(tmp_path / "w", 2)
    run_group.append(proc)
    workers = _workers(proc.pid)
    os.kill(proc.pid, how)  # the parent alone, as `kill` or a scheduler would do it
    code = proc.wait(timeout=PROMPT_S)
    assert code == (-signal.SIGKILL if how == signal.SIGKILL else 130)
    gone = _wait_until(lambda: not _live_in_group(proc.pid), 15)
    assert gone, f"left alive: {_live_in_group(proc.pid)} (workers were {workers})"


def test_a_killed_worker_fails_its_clips_and_the_run_exits_1(tmp_path, run_group):
    out = tmp_path / "w"
    proc = _start(out, 2)
    run_group.append(proc)
    os.kill(_workers(proc.pid)[0], signal.SIGKILL)  # as the out-of-memory killer would
    code = proc.wait(timeout=120)
    stderr = proc.stderr.read().decode()
    made = len(list((out / "truth").glob("*.json")))
    assert code == 1, stderr
    assert "worker process died" in stderr and "of 200 clips failed" in stderr and "rerun" in stderr
    assert 1 <= made < 200
    assert (out / "segments.csv").is_file()  # the clips that were made are listed and usable
    assert _wait_until(lambda: not _live_in_group(proc.pid), 15)
