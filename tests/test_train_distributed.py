"""`avcurr train` under real `torchrun` processes (2 gloo ranks on the CPU) and the Slurm script.

Stage c1 of the shared synthetic world is rebuilt as one sample per shard (6 shards), so each of
the 2 ranks reads 3 whole shards; with 3 pairs per rank one global batch is exactly one epoch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.models import CAVL, preset
from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.writer import ShardLimits
from avcurr.train import TrainConfig, load_checkpoint
from avcurr.train.curriculum import CurriculumTask
from avcurr.train.distributed import Ranks, torchrun_env, weights_digest
from avcurr.train.loop import _step_limit
from tests.cavl_fixtures import cavl_world  # noqa: F401 - session fixture
from tests.ddp_probe import BATCH_PER_RANK, fixed_batch
from tests.shards_fixtures import _once, shared_base

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "pipelines" / "slurm" / "train_multinode.sbatch"
PER_RANK = 3


@pytest.fixture(scope="session")
def one_per_shard(cavl_world, tmp_path_factory) -> dict:  # noqa: F811 - the session fixture
    """c1 of the shared world, one sample per shard (built once, shared by xdist workers);
    returns {"root", "keys"}."""
    root = shared_base(tmp_path_factory) / "ddp-shards"
    base = cavl_world["world"].parent
    with _once(root) as first:
        if first:
            build_shards(BuildConfig(manifest=base / "curricula.parquet", media=cavl_world["world"] / "media",
                                     out=root, dataset="synth", split="train", workers=1, curricula=("c1",),
                                     limits=ShardLimits(max_samples=1)))
    stats = sorted((root / "synth/train/c1/_stats").glob("*.json"))
    keys = {s["key"] for f in stats for s in json.loads(f.read_text())["samples"]}
    assert len(stats) == 6 and len(keys) == 6
    return {"root": root, "keys": keys}


@pytest.fixture(autouse=True)
def _private_tmpdir(tmp_path, monkeypatch):
    """torchrun leaves its log folders (torchelastic_*) in TMPDIR: keep them in the test's own."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (torchrun's ranks run in sessions of their own)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _run(command: list[str], timeout: int, env: dict) -> subprocess.CompletedProcess:
    """Run `command`; on a timeout (ranks stuck in a collective) every process it started is
    killed, the ranks too, and the test fails."""
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in [*_descendants(proc.pid), proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stdout, stderr = proc.communicate()
        pytest.fail(f"{' '.join(command[:8])} ran past {timeout} s:\n{stdout[-2000:]}{stderr[-2000:]}")
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _torchrun(*args: str, timeout: int = 120, tmp: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone", *args]
    done = _run(command, timeout, {**_env(), **({"TMPDIR": str(tmp)} if tmp else {})})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _train_args(shards: Path, run: Path, steps: int, *extra: str) -> list[str]:
    return ["train", "--stage", "c1", "--shards", str(shards), "--dataset", "synth", "--run-dir", str(run),
            "--config", "tiny", "--batch-size", str(PER_RANK), "--max-steps", str(steps), "--device", "cpu",
            "--threads", "1", "--ckpt-every", "2", "--log-every", "1", *extra]


def _checkpoint_digest(path: Path) -> str:
    state = load_checkpoint(path)
    model = CAVL(preset("tiny"))
    model.load_state_dict(state["model"])
    return weights_digest(model.named_parameters())


def _rank_digests(output: str) -> dict[int, str]:
    return {int(r): d for r, d in re.findall(r"rank (\d+) of 2: \d+ steps, weights digest ([0-9a-f]{16})", output)}


@pytest.fixture(scope="session")
def probe(one_per_shard, tmp_path_factory) -> Path:
    """tests/ddp_probe.py under torchrun: the global-negatives check, uneven data, then 3 steps of
    training (run once, shared by xdist workers)."""
    out = shared_base(tmp_path_factory) / "ddp-probe"
    with _once(out) as first:
        if first:
            shutil.rmtree(out, ignore_errors=True)  # what a failed run left
            out.mkdir()
            (out / "tmp").mkdir()
            _torchrun("-m", "tests.ddp_probe", str(one_per_shard["root"]), str(out), "3", str(PER_RANK),
                      tmp=out / "tmp")
    return out


def test_two_ranks_read_disjoint_samples_and_end_with_the_same_weights(probe, one_per_shard):
    seen = [json.loads((probe / f"keys-rank{r}.json").read_text()) for r in range(2)]
    assert [len(s["keys"]) for s in seen] == [3, 3]
    for step, (mine, theirs) in enumerate(zip(seen[0]["keys"], seen[1]["keys"])):
        assert len(mine) == len(theirs) == PER_RANK
        assert not set(mine) & set(theirs), f"step {step}: both ranks read {set(mine) & set(theirs)}"
        assert set(mine) | set(theirs) == one_per_shard["keys"]  # one global batch = one epoch here
    weights = [torch.load(probe / f"weights-rank{r}.pt", weights_only=True) for r in range(2)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][n], weights[1][n]) for n in weights[0])
    # rank 0's checkpoint holds those weights; only rank 0 wrote the run folder
    ckpt = load_checkpoint(probe / "run" / "c1" / "checkpoint.pt")
    assert ckpt["step"] == 3 and ckpt["samples"] == 3 * 2 * PER_RANK and ckpt["world_size"] == 2
    assert all(torch.equal(ckpt["model"][n], weights[0][n]) for n in weights[0])
    assert seen[0]["digest"] == seen[1]["digest"] == _checkpoint_digest(probe / "run" / "c1" / "checkpoint.pt")
    rows = [json.loads(line) for line in (probe / "run" / "c1" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and rows[-1]["samples"] == 18


def test_ranks_that_run_out_of_data_at_different_steps_stop_together(probe):
    seen = [json.loads((probe / f"uneven-rank{r}.json").read_text()) for r in range(2)]
    assert seen[0] == seen[1] == {"steps": 2, "stopped_by": "data", "samples": 2 * 2 * 2}


def _relative_difference(grads: dict, model) -> float:
    num = sum((grads[n] - p.grad).norm() ** 2 for n, p in model.named_parameters()) ** 0.5
    return float(num / sum(p.grad.norm() ** 2 for p in model.parameters()) ** 0.5)


def test_global_negatives_give_the_loss_and_gradients_of_one_process_on_the_whole_batch(probe, tmp_path):
    ranks = [torch.load(probe / f"negatives-rank{r}.pt", weights_only=True) for r in range(2)]
    task = CurriculumTask(TrainConfig(run=tmp_path, model="tiny", batch_size=2, max_steps=1, device="cpu",
                                      global_negatives=True))
    torch.manual_seed(0)
    model = task.build_model().eval()
    loss, _ = task.compute(model, fixed_batch(2 * BATCH_PER_RANK), torch.device("cpu"))  # no process group
    loss.backward()
    for found in ranks:
        assert found["global"]["loss"] == pytest.approx(loss.item(), rel=1e-5)
        for name, param in model.named_parameters():  # DDP's averaged gradient = the whole batch's
            scale = param.grad.abs().max().item() + 1e-12
            torch.testing.assert_close(found["global"]["grads"][name], param.grad, rtol=1e-4, atol=1e-5 * scale)
        assert _relative_difference(found["global"]["grads"], model) < 1e-5
        # without gathering, each rank's loss is over its own pairs: neither the loss nor the
        # gradient is the whole batch's
        assert found["local"]["loss"] != pytest.approx(loss.item(), rel=0.02)
        assert _relative_difference(found["local"]["grads"], model) > 0.005


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sbatch(args: list[str], **env) -> subprocess.CompletedProcess:
    full = {**_env(), "TORCHRUN": str(Path(sys.executable).with_name("torchrun")), "NPROC_PER_NODE": "2",
            "SLURM_JOB_ID": "4242", "SLURM_NNODES": "1", "SLURM_JOB_NODELIST": "localhost",
            "MASTER_PORT": str(_free_port()), **env}
    if shutil.which("srun"):  # a Slurm machine: ask for the direct launch the test can run
        full["SRUN"] = "none"
    return _run(["bash", str(SCRIPT), *args], 180, full)


def test_torchrun_trains_and_the_slurm_script_resumes_from_rank_0s_checkpoint(one_per_shard, tmp_path):
    run = tmp_path / "run"
    ckpt = run / "c1" / "checkpoint.pt"
    first = _torchrun("-m", "avcurr", *_train_args(one_per_shard["root"], run, 2))
    state = load_checkpoint(ckpt)
    assert state["step"] == 2 and state["samples"] == 2 * 2 * PER_RANK and state["world_size"] == 2
    assert _rank_digests(first.stdout) == {1: _checkpoint_digest(ckpt)}  # rank 1 holds rank 0's weights
    assert first.stdout.count("Stage c1") == 1                            # one table, from rank 0

    # The Slurm script as a one-node job (no srun here: torchrun is started directly, and says so);
    # it takes --run as a user writes it and hands torchrun --run-dir.
    args = _train_args(one_per_shard["root"], run, 4, "--global-negatives")[1:]  # the script says `train`
    args[args.index("--run-dir")] = "--run"
    resumed = _sbatch(args)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "without srun" in resumed.stdout + resumed.stderr
    summary = json.loads((run / "c1" / "summary.json").read_text())
    assert summary["started_from"] == "resumed at step 2" and summary["steps"] == 4
    assert summary["samples"] == 4 * 2 * PER_RANK and summary["world_size"] == 2
    assert _rank_digests(resumed.stdout) == {1: _checkpoint_digest(ckpt)} == {1: summary["weights_digest"]}
    state = load_checkpoint(ckpt)
    assert state["step"] == 4 and state["train_config"]["global_negatives"] is True
    rows = [json.loads(line) for line in (run / "c1" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]                      # each step once: rank 0 writes


def test_the_slurm_script_refuses_several_nodes_without_srun_and_a_missing_command(tmp_path):
    many = _sbatch(["--stage", "c1"], SLURM_NNODES="2", SRUN="none")
    assert many.returncode != 0 and "srun" in many.stderr and "2 nodes" in many.stderr
    bare = _sbatch([])
    assert bare.returncode == 2 and "usage" in bare.stderr


def test_the_loop_counts_the_global_batch_and_reads_torchrun_settings(monkeypatch, tmp_path):
    task = CurriculumTask(TrainConfig(run=tmp_path, model="tiny", batch_size=4, max_steps=10))
    task.samples_per_epoch = lambda: 20
    cfg = TrainConfig(run=tmp_path, model="tiny", batch_size=4, epochs=2)
    assert _step_limit(task, cfg, world_size=1) == (10, 5)
    assert _step_limit(task, cfg, world_size=2) == (4, 2)                # 2 epochs of global batches of 8
    with pytest.raises(AvcurrError, match="4 x 8 ranks"):
        _step_limit(task, cfg, world_size=8)
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert torchrun_env() is None
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(AvcurrError, match="WORLD_SIZE='two'"):
        torchrun_env()
    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(AvcurrError, match="RANK=1, WORLD_SIZE=1"):
        torchrun_env()
    one = Ranks(torch.device("cpu"))                                      # one process: nothing to agree on
    assert one.agree("data", 0) == ("data", 0) and one.agree(None, 4) == (None, 4) and one.gather(3) == [3]
