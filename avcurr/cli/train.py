"""`avcurr train` and `avcurr localize`: thin wrappers around avcurr.train and avcurr.localize."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import console, reported_errors
from avcurr.errors import AvcurrError


def parse_stage(stage: str) -> int:
    """"c2" or "2" -> 2."""
    match = re.fullmatch(r"c?([1-9])", stage.strip().lower())
    if not match:
        raise AvcurrError(f"--stage must look like c1, c2, c3 or c4, got {stage!r}")
    return int(match.group(1))


def train_command(
    stage: Annotated[str, typer.Option(help="Curriculum stage c1..c4: streams the c<k> shards, k_a = k, k_v = k + 1.")],
    shards: Annotated[Path, typer.Option(help="Shard root holding <dataset>/<split>/c<k>/*.tar.")],
    run: Annotated[Path, typer.Option(help="Run folder: writes <run>/c<k>/ and starts from <run>/c<k-1>/checkpoint.pt when present.")],
    config: Annotated[str, typer.Option(help="Model configuration: 'paper' (SPEC §5 sizes) or 'tiny' (CPU demos).")] = "paper",
    dataset: Annotated[str, typer.Option(help="Dataset name inside the shard root.")] = "audioset",
    split: Annotated[str, typer.Option(help="Split inside the dataset.")] = "train",
    batch_size: Annotated[int, typer.Option(help="Pairs per batch; the other pairs of the batch are the negatives.")] = 16,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many optimiser steps (counted over resumes).")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Stop after this many passes over the stage's shards.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop (with a checkpoint) after this much wall-clock time.")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate. [default: base 1e-4 (tiny: 1e-3) * 0.1 ** (k - 1)]")] = None,
    init: Annotated[Optional[Path], typer.Option(help="Start from this checkpoint's weights instead of stage k-1's.")] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda, cuda:N.")] = "auto",
    workers: Annotated[int, typer.Option(help="Loader worker processes (0 = read in the training process).")] = 0,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for torch. [default: one per core]")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the initialisation and the data order.")] = 0,
    ckpt_every: Annotated[int, typer.Option(help="Steps between checkpoints (a killed run resumes from the last one).")] = 200,
    log_every: Annotated[int, typer.Option(help="Steps between metrics rows.")] = 10,
) -> None:
    """Train one curriculum stage of the audiovisual model; rerun the same command to resume."""
    from avcurr.train import TrainConfig, train_stage

    with reported_errors():
        cfg = TrainConfig(run=run, stage=parse_stage(stage), shards=shards, dataset=dataset, split=split,
                          model=config, batch_size=batch_size, max_steps=max_steps, epochs=epochs,
                          max_seconds=None if max_minutes is None else max_minutes * 60, lr=lr, init=init,
                          device=device, seed=seed, threads=threads, num_workers=workers, ckpt_every=ckpt_every,
                          log_every=log_every)
        summary = train_stage(cfg)
    from avcurr.models import flops_per_sample, preset

    k = summary.stage
    gflops = flops_per_sample(preset(config), k, k + 1)["total"] / 1e9
    table = Table(title=f"Stage c{summary.stage}")
    table.add_column("")
    table.add_column("value", justify="right")
    last = summary.last or {}
    for name, value in (("started from", summary.started_from), ("stopped by", summary.stopped_by),
                        ("steps", f"{summary.steps:,}"), ("samples", f"{summary.samples:,}"),
                        ("samples/s", f"{summary.samples_per_s:.1f}"),
                        ("forward GFLOPs / sample", f"{gflops:.2f}"),
                        ("loss", f"{last.get('loss', float('nan')):.4f}"),
                        ("positive distance", f"{last.get('pos_dist', float('nan')):.3f}"),
                        ("negative distance", f"{last.get('neg_dist', float('nan')):.3f}"),
                        ("pair accuracy", f"{last.get('accuracy', float('nan')):.3f}"),
                        ("checkpoint", str(summary.checkpoint)), ("curves", str(summary.curves))):
        table.add_row(name, value)
    console.print(table)


def localize_command(
    checkpoint: Annotated[Path, typer.Option(help="Trained model checkpoint (checkpoint.pt).")],
    image: Annotated[Path, typer.Option(help="The frame (any image file; resized to 256 x 256).")],
    audio: Annotated[Path, typer.Option(help="The soundtrack (any file ffmpeg reads; first 10 s).")],
    out: Annotated[Path, typer.Option(help="Output PNG: the frame and the heatmap over it.")],
    sources: Annotated[int, typer.Option(help="Sounding objects to look for (k_a; k_v = k_a + 1).")] = 1,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
) -> None:
    """Localize the sound's maker in a frame (eq. 7) and draw the heatmap over it."""
    from avcurr.localize.single import localize_files

    with reported_errors():
        path, heat = localize_files(checkpoint, image, audio, out, sources, device)
    y, x = divmod(int(heat.argmax()), heat.shape[1])
    console.print(f"wrote [bold]{path}[/]; heatmap maximum at x={x}, y={y} of {heat.shape[1]}x{heat.shape[0]}")
