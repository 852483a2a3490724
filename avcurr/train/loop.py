"""`run_training`: avcurr's one training loop, for every model (nanoGPT style, top to bottom).

    lock the run folder; build the model; resume it (or let the task initialise it)
    for each batch: loss = task.compute(batch) -> backward -> step
        every log_every steps: a metrics row; every ckpt_every steps: an atomic checkpoint
    final checkpoint, CSV, curves, summary.json

What differs between models lives in their `TrainTask` (avcurr/train/task.py). Under torchrun
the same loop runs in every process (avcurr/train/distributed.py): the model is wrapped in DDP,
each rank reads its own part of the data, and rank 0 alone writes the run folder. Steps, samples
and epochs then count the global batch (batch_size x world size); metrics rows average the ranks.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import torch

from avcurr.atomic import atomic_write, stale_temps
from avcurr.errors import AvcurrError
from avcurr.progress import progress_bar
from avcurr.train.checkpoint import NAME, load_checkpoint, save_checkpoint
from avcurr.train.config import LoopConfig
from avcurr.train.device import autocast, needs_scaler
from avcurr.train.distributed import Ranks, start_ranks, weights_digest
from avcurr.train.metrics import MetricsLog
from avcurr.train.running import RunningMean
from avcurr.train.task import TrainTask

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class TrainSummary:
    """What a run did, also written to `<folder>/summary.json`."""

    kind: str
    steps: int
    samples: int
    started_from: str
    seconds: float
    samples_per_s: float
    last: dict
    checkpoint: Path
    metrics_csv: Path | None
    curves: Path | None
    stopped_by: str
    world_size: int = 1
    weights_digest: str | None = None


@dataclass
class _Position:
    """Where training stands; restored from a checkpoint on resume."""

    step: int = 0
    samples: int = 0


def _config_dict(cfg: LoopConfig) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}


def _step_limit(task: TrainTask, cfg: LoopConfig, world_size: int = 1) -> tuple[float, int | None]:
    """(max steps, full global batches per epoch or None when the data's size is unknown); refuses
    data that can never fill one global batch (batch_size x world_size), which would otherwise
    make an endless loader yield nothing, forever."""
    limit = math.inf if cfg.max_steps is None else cfg.max_steps
    samples = task.samples_per_epoch()
    if samples is None:
        if cfg.epochs is not None:
            raise AvcurrError(f"{task.label}: --epochs needs training data of known size")
        return limit, None
    per_epoch = samples // (task.batch_size * world_size)
    if per_epoch < 1:
        batch = f"{task.batch_size}" if world_size == 1 else f"{task.batch_size} x {world_size} ranks"
        raise AvcurrError(f"{task.label}: the training data holds {samples} samples, fewer than "
                          f"one batch of {batch}; lower --batch-size")
    if cfg.epochs is not None:
        limit = min(limit, cfg.epochs * per_epoch)
    return limit, per_epoch


def _resume(task: TrainTask, model, optimiser, device) -> tuple[_Position, str]:
    """Continue this run from its checkpoint, or let the task initialise the weights."""
    path = task.folder / NAME
    if not path.is_file():
        return _Position(), task.initialise(model, device)
    state = load_checkpoint(path, device, kind=task.kind)
    task.check_model_config(state["model_config"], path)
    task.check_resume(state, path)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"].cpu())
    return _Position(state["step"], state["samples"]), f"resumed at step {state['step']}"


class _Stepper:
    """One optimiser step: backward (scaled where fp16 needs it), step, learning rate."""

    def __init__(self, task: TrainTask, optimiser, device, base_lr: float):
        self.task, self.optimiser, self.base_lr = task, optimiser, base_lr
        self.scaler = torch.amp.GradScaler("cuda", enabled=needs_scaler(device))

    def lr(self, step: int) -> float:
        return self.task.lr_at(step, self.base_lr)

    def __call__(self, loss: torch.Tensor, step: int) -> None:
        for group in self.optimiser.param_groups:  # also overrides the lr a resumed optimiser saved
            group["lr"] = self.lr(step)
        self.optimiser.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimiser)
        self.scaler.update()


def run_training(task: TrainTask, cfg: LoopConfig, console: "Console | None" = None) -> TrainSummary:
    """Train `task` as `cfg` says; rerunning the same call resumes. Progress goes to `console`."""
    cfg.validate()
    ranks = start_ranks(cfg.device)  # one process outside torchrun
    try:
        with ranks.exclusive(task.folder, "another training run"):  # rank 0 alone writes
            if ranks.is_main:
                for leftover in stale_temps(task.folder):  # half-written files of a killed run
                    leftover.unlink(missing_ok=True)
            ranks.barrier()
            return _train(task, cfg, console if ranks.is_main else None, ranks)
    finally:
        ranks.close()


def _train(task: TrainTask, cfg: LoopConfig, console, ranks: Ranks) -> TrainSummary:
    device = ranks.device
    main = ranks.is_main
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = task.build_model().to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    base_lr = cfg.lr if cfg.lr is not None else task.default_lr()
    optimiser = task.make_optimizer(model, base_lr)
    max_steps, per_epoch = _step_limit(task, cfg, ranks.world_size)
    at, started_from = _resume(task, model, optimiser, device)
    ranks.same_everywhere(at.step, "the step to resume from")
    trained = ranks.wrap(model, task.unused_parameters)  # what compute calls; `model` is what is saved
    if cfg.compile:
        trained = torch.compile(trained, backend=cfg.compile_backend)
    samples_at_start = at.samples
    step_fn = _Stepper(task, optimiser, device, base_lr)
    log = MetricsLog(task.folder, ("loss", *task.metrics)) if main else None
    if main:
        log.truncate(at.step)

    def checkpoint() -> None:
        if not main:
            return
        save_checkpoint(task.folder / NAME, {
            "model_config": task.model_config(), "model": model.state_dict(),
            "optimizer": optimiser.state_dict(), "step": at.step, "samples": at.samples,
            "lr": step_fn.lr(max(at.step - 1, 0)), "torch_rng": torch.get_rng_state(),
            "train_config": _config_dict(cfg), "world_size": ranks.world_size, **task.checkpoint_extra()},
            kind=task.kind)

    def row(window: RunningMean) -> dict:
        stats = window.mean(reduce=ranks.mean)
        if not math.isfinite(stats["loss"]):
            raise AvcurrError(f"{task.label}: the loss became {stats['loss']} by step {at.step}; lower --lr")
        return {"step": at.step, "samples": at.samples, "epoch_fraction": at.step / per_epoch if per_epoch else None, **stats,
                "lr": step_fn.lr(at.step - 1), "seconds": time.perf_counter() - started}

    model.train()
    started = time.perf_counter()
    window, last, stopped_by = RunningMean(), {}, "max_steps"
    batches: Iterator[dict] = iter(task.batches(at.step))
    with progress_bar(console, task.label, None if math.isinf(max_steps) else int(max_steps)) as bar:
        while at.step < max_steps:
            timed_out = cfg.max_seconds is not None and time.perf_counter() - started >= cfg.max_seconds
            batch = None if timed_out else next(batches, None)
            stop = "max_seconds" if timed_out else "data" if batch is None else None
            # every rank stops at the same step (else one would wait forever in DDP's all-reduce)
            stop, n = ranks.agree(stop, 0 if stop else task.batch_samples(batch))
            if stop:
                stopped_by = stop
                break
            with autocast(device):
                loss, stats = task.compute(trained, batch, device)
            step_fn(loss, at.step)
            at.step += 1
            at.samples += n
            window.add({"loss": loss.detach(), **stats}, n)
            if at.step % cfg.log_every == 0 or at.step == max_steps:
                last = row(window)
                if main:
                    log.append(last)
                bar.update(at.step, info=_info(last, task.metrics))
            if at.step % cfg.ckpt_every == 0 and main:
                checkpoint()
                log.export(task.curve_panels, task.curve_lines)
    if window.steps:
        last = row(window)
        if main:
            log.append(last)
    checkpoint()
    csv_path, curves = log.export(task.curve_panels, task.curve_lines) if main else (None, None)
    seconds = time.perf_counter() - started
    done = at.samples - samples_at_start
    digest = _check_same_weights(model, ranks)
    summary = TrainSummary(kind=task.kind, steps=at.step, samples=at.samples, started_from=started_from,
                           seconds=seconds, samples_per_s=done / seconds if seconds > 0 else 0.0,
                           last=last, checkpoint=task.folder / NAME, metrics_csv=csv_path, curves=curves,
                           stopped_by=stopped_by, world_size=ranks.world_size, weights_digest=digest)
    if main:
        atomic_write(task.folder / "summary.json", json.dumps(asdict(summary), default=str, indent=2) + "\n")
    ranks.barrier()  # every rank returns once rank 0 has written everything
    return summary


def _check_same_weights(model, ranks: Ranks) -> str:
    """The digest of this rank's parameters, checked equal on every rank (DDP keeps them equal;
    a difference means the ranks trained apart)."""
    digest = weights_digest(model.named_parameters())
    seen = ranks.gather(digest)
    if len(set(seen)) > 1:
        detail = ", ".join(f"rank {r}: {d}" for r, d in enumerate(seen))
        raise AvcurrError(f"the ranks ended with different weights ({detail})")
    return digest


def _info(row: dict, metrics: tuple[str, ...]) -> str:
    parts = [f"loss {row['loss']:.4f}"] + [f"{m} {row[m]:.3f}" for m in metrics if m in row]
    return "  ".join(parts + [f"{row['samples_per_s']:.1f} samples/s"])
