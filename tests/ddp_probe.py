"""Run by tests/test_train_distributed.py under torchrun (gloo ranks on the CPU); not a test itself.

    python -m torch.distributed.run --nproc_per_node 2 --standalone -m tests.ddp_probe SHARDS OUT

Three checks, each rank writing what it saw into OUT (the test compares the ranks and a single process):
1. `--global-negatives`: the curriculum task's loss and the DDP-averaged gradients on this rank's
   slice of one fixed batch, with and without gathering the negatives (model in eval mode, so that
   the loss depends on the pairs only, not on batch-norm statistics of the slice).
2. Ranks handed different numbers of batches stop together (the loop agrees on every stop).
3. Training with the real loop and loader: the keys of every batch this rank trained on, and this
   rank's weights at the end (the task keeps the model it built).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from avcurr.train import TrainConfig, run_training
from avcurr.train.curriculum import CurriculumTask

BATCH_PER_RANK = 2


def fixed_batch(n: int) -> dict:
    """The same n pairs on every rank (and in the test's single process). Each pair at its own
    loudness and brightness: a fresh model then embeds the pairs apart, so which pairs are the
    negatives changes the loss."""
    g = torch.Generator().manual_seed(5)
    level = torch.linspace(0.2, 1.0, n).view(-1, 1, 1, 1)
    return {"spec": torch.randn(n, 1, 512, 432, generator=g) * 4 * level - 2,
            "image": torch.rand(n, 3, 256, 256, generator=g) * level.flip(0),
            "key": [f"k{i}" for i in range(n)], "meta": [{} for _ in range(n)]}


def negatives_check(out: Path, run: Path) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    whole = fixed_batch(BATCH_PER_RANK * world)
    mine = slice(rank * BATCH_PER_RANK, (rank + 1) * BATCH_PER_RANK)
    part = {k: v[mine] for k, v in whole.items()}
    found = {}
    for gathered in (True, False):
        task = CurriculumTask(TrainConfig(run=run, model="tiny", batch_size=BATCH_PER_RANK, max_steps=1,
                                          device="cpu", global_negatives=gathered))
        torch.manual_seed(0)
        model = task.build_model().eval()
        ddp = DistributedDataParallel(model)
        loss, _ = task.compute(ddp, part, torch.device("cpu"))
        loss.backward()
        found["global" if gathered else "local"] = {
            "loss": loss.item(), "grads": {n: p.grad.clone() for n, p in model.named_parameters()}}
    torch.save(found, out / f"negatives-rank{rank}.pt")


class KeyLoggingTask(CurriculumTask):
    """The curriculum task, noting each batch's keys and keeping the model it built."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.keys: list[list[str]] = []

    def build_model(self):
        self.model = super().build_model()
        return self.model

    def compute(self, model, batch, device):
        self.keys.append(list(batch["key"]))
        return super().compute(model, batch, device)


def train(shards: Path, out: Path, steps: int, batch: int) -> None:
    rank = dist.get_rank()
    cfg = TrainConfig(run=out / "run", shards=shards, dataset="synth", model="tiny", batch_size=batch,
                      max_steps=steps, device="cpu", threads=1, ckpt_every=steps, log_every=1, shuffle_buffer=4)
    task = KeyLoggingTask(cfg.validate())
    summary = run_training(task, cfg)
    torch.save({n: p.detach().clone() for n, p in task.model.named_parameters()}, out / f"weights-rank{rank}.pt")
    (out / f"keys-rank{rank}.json").write_text(json.dumps({"keys": task.keys, "digest": summary.weights_digest,
                                                             "world_size": summary.world_size}))


def uneven_data_check(out: Path) -> None:
    """Rank 0 is handed 2 batches, rank 1 three: every rank must stop after 2 steps (rank 1 alone
    would wait forever in DDP's all-reduce of a third step)."""
    rank = dist.get_rank()
    cfg = TrainConfig(run=out / "uneven-run", model="tiny", batch_size=2, max_steps=10, device="cpu", threads=1)
    batches = [fixed_batch(2) for _ in range(2 + rank)]
    summary = run_training(CurriculumTask(cfg.validate(), batches), cfg)
    (out / f"uneven-rank{rank}.json").write_text(json.dumps({"steps": summary.steps, "stopped_by": summary.stopped_by,
                                                               "samples": summary.samples}))


def main() -> None:
    shards, out, steps, batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    dist.init_process_group("gloo")  # the loop then uses this group (and leaves it to us)
    try:
        negatives_check(out, out / "negatives-run")
        uneven_data_check(out)
        train(shards, out, steps, batch)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
