"""What every training command shares: its stopping/resume options and its closing table.

`avcurr train`, `train-counter`, `train-separator` and `train-ave` all run the one training loop;
they declare these options with the types below so that the same flag means the same everywhere.
"""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import plain

MaxSteps = Annotated[Optional[int], typer.Option(help="Stop after this many optimiser steps (counted over resumes).")]
Epochs = Annotated[Optional[int], typer.Option(help="Stop after this many passes over the training data.")]
MaxMinutes = Annotated[Optional[float], typer.Option(help="Stop (with a checkpoint) after this much wall-clock time in this invocation.")]
Device = Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda, cuda:N.")]
Workers = Annotated[int, typer.Option(help="Loader worker processes (0 = read in the training process).")]
Threads = Annotated[Optional[int], typer.Option(help="CPU threads for torch (default: one per core; 1 is often "
                                                     "faster on a busy machine).")]
Seed = Annotated[int, typer.Option(help="Seed of the initialisation and the data order.")]
CkptEvery = Annotated[int, typer.Option(help="Steps between checkpoints (a killed run resumes from the last one).")]
LogEvery = Annotated[int, typer.Option(help="Steps between metrics rows.")]
Compile = Annotated[bool, typer.Option("--compile", help="Run the model through torch.compile (GPUs, long runs: the "
                                                         "first steps pay for the compilation).")]


def loop_kwargs(max_steps, epochs, max_minutes, device, workers, threads, seed, ckpt_every, log_every,
                compile: bool = False) -> dict:
    """The shared options as `LoopConfig` keyword arguments (minutes become seconds)."""
    return dict(max_steps=max_steps, epochs=epochs,
                max_seconds=None if max_minutes is None else max_minutes * 60, device=device,
                num_workers=workers, threads=threads, seed=seed, ckpt_every=ckpt_every, log_every=log_every,
                compile=compile)


def rank_line(summary) -> str | None:
    """What a torchrun process other than rank 0 prints instead of the table (None on rank 0 and
    in a single process): its rank, steps and the digest of its weights, which must match rank 0's."""
    from avcurr.train.distributed import is_main_process

    if is_main_process():
        return None
    return (f"rank {os.environ.get('RANK', '?')} of {summary.world_size}: {summary.steps} steps, "
            f"weights digest {summary.weights_digest} (the same on every rank)")


def training_table(summary, title: str, rows: tuple[tuple[str, str], ...] = ()) -> Table:
    """The closing table of a training run: how it started and stopped, steps, speed, the last
    metrics row, what it wrote; `rows` adds the task's own lines."""
    table = Table(title=title)
    table.add_column("")
    table.add_column("value", justify="right")
    base = (("started from", plain(summary.started_from)), ("stopped by", summary.stopped_by),
            ("steps", f"{summary.steps:,}"), ("samples", f"{summary.samples:,}"),
            ("samples/s", f"{summary.samples_per_s:.1f}"))
    if getattr(summary, "world_size", 1) > 1:
        base += (("ranks (torchrun)", f"{summary.world_size}"), ("weights digest", f"{summary.weights_digest}"))
    last = summary.last or {}
    metrics = tuple((name, f"{value:.4f}") for name, value in last.items()
                    if name not in ("step", "samples", "epoch_fraction", "lr", "samples_per_s", "seconds")
                    and isinstance(value, float))
    files = (("checkpoint", plain(summary.checkpoint)), ("curves", plain(summary.curves)))
    for name, value in base + tuple(rows) + metrics + files:
        table.add_row(name, value)
    return table
