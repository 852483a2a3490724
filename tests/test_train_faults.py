"""Training under faults and misuse: each test reproduces a defect of the first wave (issue 9)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.train import TrainConfig, load_checkpoint, save_checkpoint, train_stage
from avcurr.train.checkpoint import NAME
from avcurr.train.metrics import MetricsLog
from tests.cavl_fixtures import DATASET, cavl_world, random_batches  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[1]


def _cfg(tmp_path, **kw) -> TrainConfig:
    base = dict(run=tmp_path / "run", model="tiny", batch_size=4, log_every=1, ckpt_every=2, device="cpu",
                threads=1)
    return TrainConfig(**{**base, **kw})


def _train_args(world: dict, run: Path, *extra: str) -> list[str]:
    return ["train", "--stage", "c1", "--shards", str(world["shards"]), "--dataset", DATASET, "--run", str(run),
            "--config", "tiny", "--batch-size", "4", "--device", "cpu", "--threads", "1", *extra]


@pytest.fixture
def alarm():
    """Fail (instead of hanging CI) if the block takes more than a minute."""
    def timeout(*_):
        raise TimeoutError("training did not return within 60 s")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_batch_larger_than_the_stage_is_a_clear_error_not_an_endless_loop(cavl_world, tmp_path, alarm):
    cfg = _cfg(tmp_path, shards=cavl_world["shards"], dataset=DATASET, batch_size=64, max_steps=5)
    with pytest.raises(AvcurrError, match="fewer than one batch of 64"):
        train_stage(cfg)
    assert not (tmp_path / "run" / "c1" / NAME).exists()


def test_a_second_run_on_the_same_folder_is_refused(cavl_world, tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    first = runner.invoke(app, _train_args(cavl_world, run, "--max-steps", "2", "--log-every", "1"))
    assert first.exit_code == 0, first.output
    rows_before = (run / "c1" / "metrics.jsonl").read_text()
    # another process holds the run folder (as a second `avcurr train` would while it trains)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from avcurr.locks import exclusive\n"
        f"with exclusive({str(run / 'c1')!r}, 'x'):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = runner.invoke(app, _train_args(cavl_world, run, "--max-steps", "4", "--log-every", "1"))
    finally:
        holder.kill()
        holder.wait()
    assert second.exit_code == 2
    assert "another training run is writing" in second.output and "Traceback" not in second.output
    assert (run / "c1" / "metrics.jsonl").read_text() == rows_before  # nothing appended twice


def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(cavl_world, tmp_path):
    run = tmp_path / "run"
    assert CliRunner().invoke(app, _train_args(cavl_world, run, "--max-steps", "2")).exit_code == 0
    ckpt = run / "c1" / NAME
    before = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    limit = ckpt.stat().st_size // 2  # the next checkpoint cannot be written

    def small_files() -> None:  # a real write failure from the kernel (EFBIG), as a full disk gives ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "avcurr", *_train_args(cavl_world, run, "--max-steps", "4")],
                          capture_output=True, text=True, cwd=REPO, preexec_fn=small_files, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot write" in lines[0] and "File too large" in lines[0], done.stderr
    assert "previous checkpoint is kept" in lines[0]
    assert hashlib.sha256(ckpt.read_bytes()).hexdigest() == before
    assert not [p for p in (run / "c1").iterdir() if p.name.endswith(".part")]


def test_a_checkpoint_with_a_flipped_byte_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / NAME, {"model_config": {}, "model": {"w": torch.randn(4096)}})
    assert load_checkpoint(path)["model"]["w"].shape == (4096,)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(AvcurrError, match="damaged"):
        load_checkpoint(path)


def test_a_checkpoint_of_another_kind_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / NAME, {"model_config": {}, "model": {}}, kind="counter")
    with pytest.raises(AvcurrError, match="is a counter checkpoint; a cavl checkpoint is needed"):
        load_checkpoint(path, kind="cavl")
    assert load_checkpoint(path, kind=None)["kind"] == "counter"


def test_a_resumed_run_trains_at_the_learning_rate_it_is_given(tmp_path):
    train_stage(_cfg(tmp_path, max_steps=2, lr=1e-3), random_batches())
    train_stage(_cfg(tmp_path, max_steps=4, lr=2e-4), random_batches())
    state = load_checkpoint(tmp_path / "run" / "c1" / NAME)
    # the optimiser came back with its saved lr (1e-3); the run must have replaced it
    assert [g["lr"] for g in state["optimizer"]["param_groups"]] == [pytest.approx(2e-4)]
    assert [r["lr"] for r in MetricsLog(tmp_path / "run" / "c1").rows()] == pytest.approx([1e-3, 1e-3, 2e-4, 2e-4])


def test_scene_level_alignment_trains_without_clusters_and_is_recorded(tmp_path):
    summary = train_stage(_cfg(tmp_path, max_steps=30, alignment="scene"), random_batches())
    rows = MetricsLog(tmp_path / "run" / "c1").rows()
    assert sum(r["loss"] for r in rows[-3:]) / 3 < 0.8 * rows[0]["loss"]
    state = load_checkpoint(summary.checkpoint)
    assert state["alignment"] == "scene" and state["stage"] == 1
    saved = json.loads((tmp_path / "run" / "c1" / "summary.json").read_text())
    assert saved["kind"] == "cavl" and saved["steps"] == 30


def test_training_stops_on_the_wall_clock(tmp_path):
    started = time.perf_counter()
    summary = train_stage(_cfg(tmp_path, max_seconds=2.0), random_batches())
    assert summary.stopped_by == "max_seconds" and time.perf_counter() - started < 30


def test_a_resumed_run_clears_what_a_killed_run_left_half_written(tmp_path):
    train_stage(_cfg(tmp_path, max_steps=2), random_batches())
    folder = tmp_path / "run" / "c1"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = folder / f".metrics.csv.{int(gone.stdout)}.part"       # as a kill mid-export leaves it
    dead.write_text("step,sa")
    alive = folder / f".curves.png.{os.getppid()}.part"             # a writer that still runs: not ours to touch
    alive.write_text("x")
    train_stage(_cfg(tmp_path, max_steps=3), random_batches())
    assert not dead.exists() and alive.exists()
