"""The training progress bar: steps, loss, positive / negative distances, samples per second."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class _Bar:
    def __init__(self, progress, task):
        self.progress, self.task = progress, task

    def show(self, step: int, row: dict) -> None:
        if self.progress is None:
            return
        self.progress.update(self.task, completed=step,
                             info=f"loss {row['loss']:.4f}  pos {row['pos_dist']:.3f}  neg {row['neg_dist']:.3f}"
                                  f"  acc {row['accuracy']:.2f}  {row['samples_per_s']:.1f} samples/s")


@contextmanager
def training_progress(enabled: bool, stage: int, total: int | None) -> Iterator[_Bar]:
    """A rich progress bar (or a silent stand-in when `enabled` is False)."""
    if not enabled:
        yield _Bar(None, None)
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from avcurr.cli.common import console

    with Progress(TextColumn(f"[bold]train c{stage}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                  console=console) as progress:
        yield _Bar(progress, progress.add_task("steps", total=total, info=""))
