"""`avcurr train-counter` and `avcurr eval counting`: thin wrappers around avcurr.counting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import console, plain, reported_errors, say
from avcurr.cli.training import (CkptEvery, Device, Epochs, LogEvery, MaxMinutes, MaxSteps, Seed, Threads,
                                 Workers, loop_kwargs, training_table)


def _curricula(text: Optional[str]) -> tuple[str, ...] | None:
    return None if not text else tuple(c.strip() for c in text.split(",") if c.strip())


def train_counter_command(
    shards: Annotated[str, typer.Option(help="Shard root holding <dataset>/<split>/c<k>/*.tar.")],
    run: Annotated[Path, typer.Option("--run", "--run-dir", help="Run folder: checkpoint.pt (kind counter), metrics, "
                                      "curves.png (--run-dir under torchrun).")],
    dataset: Annotated[str, typer.Option(help="Dataset name inside the shard root.")] = "audioset",
    split: Annotated[str, typer.Option(help="Split inside the dataset.")] = "train",
    curricula: Annotated[Optional[str], typer.Option(help="Comma-separated curricula to train on (default: every "
                                                          "c<k> present; c5 clips count as 5).")] = None,
    init: Annotated[Optional[Path], typer.Option(help="Curriculum checkpoint whose audio net starts the counter "
                                                      "(default: random init).")] = None,
    config: Annotated[str, typer.Option(
        help="Model configuration: 'paper' (FC 512-512-1) or 'tiny' (64-64-1).")] = "paper",
    head: Annotated[str, typer.Option(help="poisson: lambda = softplus(out), Poisson NLL (the paper's); softmax: "
                                           "a 5-way classifier on the same features.")] = "poisson",
    batch_size: Annotated[int, typer.Option(help="Clips per step, curricula mixed in proportion to their size.")] = 16,
    lr: Annotated[Optional[float], typer.Option(help="Initial learning rate (default: 1e-2), divided by "
                                                     "1 + 0.5 * completed epochs.")] = None,
    max_steps: MaxSteps = None, epochs: Epochs = None, max_minutes: MaxMinutes = None, device: Device = "auto",
    workers: Workers = 0, threads: Threads = None, seed: Seed = 0, ckpt_every: CkptEvery = 200,
    log_every: LogEvery = 10,
) -> None:
    """Train the sound-source counter (Poisson regression, supplement 6.3); rerun to resume."""
    from avcurr.counting import CounterTrainConfig, train_counter

    with reported_errors():
        cfg = CounterTrainConfig(run=run, shards=shards, dataset=dataset, split=split, curricula=_curricula(curricula),
                                 init=init, model=config, head=head, batch_size=batch_size, lr=lr,
                                 **loop_kwargs(max_steps, epochs, max_minutes, device, workers, threads, seed,
                                               ckpt_every, log_every))
        summary = train_counter(cfg, console=console)
    console.print(training_table(summary, f"Counter ({head} head, {config})"))


def eval_counting_command(
    checkpoint: Annotated[Path, typer.Option(help="Counter checkpoint (from train-counter).")],
    shards: Annotated[Path, typer.Option(help="Shard root holding <dataset>/<split>/c<k>/*.tar of the test clips.")],
    out: Annotated[Path, typer.Option(help="Output folder: summary.json, per_clip.csv, confusion.png.")],
    dataset: Annotated[str, typer.Option(help="Dataset name inside the shard root.")] = "audioset",
    split: Annotated[str, typer.Option(help="Split inside the dataset.")] = "test",
    curricula: Annotated[Optional[str], typer.Option(
        help="Comma-separated curricula (default: every c<k> present).")] = None,
    batch_size: Annotated[int, typer.Option(help="Clips per forward pass.")] = 32,
    limit: Annotated[Optional[int], typer.Option(help="Score at most about this many clips.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
) -> None:
    """Accuracy and MAE of a counter per prediction rule, beside random-guess and majority-class baselines."""
    from avcurr.counting import CountingEvalConfig, evaluate_counting

    with reported_errors():
        report = evaluate_counting(CountingEvalConfig(
            checkpoint=checkpoint, shards=shards, out=out, dataset=dataset, split=split,
            curricula=_curricula(curricula), batch_size=batch_size, device=device, limit=limit), console)
    console.print(counting_table(report))
    say(plain("wrote ", "bold"), out, " (summary.json, per_clip.csv, confusion.png)")


def counting_table(report) -> Table:
    """One row per prediction rule and per baseline: accuracy, MAE, accuracy per true count."""
    counts = sorted(report.counts)
    table = Table(title=f"Counting on {report.n} clips ({report.head} head)")
    for col in ("method", "accuracy", "MAE", *(f"acc {k}" for k in counts)):
        table.add_column(col, justify="left" if col == "method" else "right")
    for scores in report.rules.values():
        per = scores["per_count_accuracy"]
        table.add_row(scores["rule"], f"{scores['accuracy']:.3f}", f"{scores['mae']:.3f}",
                      *(f"{per.get(k, float('nan')):.2f}" for k in counts))
    for name, scores in report.baselines.items():
        label = name.replace("_", " ") + (f" ({scores['class']})" if "class" in scores else "")
        table.add_row(label, f"{scores['accuracy']:.3f}", f"{scores['mae']:.3f}", *("" for _ in counts))
    return table
