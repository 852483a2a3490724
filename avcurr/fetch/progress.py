"""What a person watching a fetch sees: a live bar with ok / failed / retrying counts and clips
per second, then a closing table of outcomes by status and reason."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from avcurr.fetch.classify import OK


@dataclass
class Tally:
    """Counts that the progress bar shows and the summary reports."""

    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    retries: int = 0
    by_reason: Counter = field(default_factory=Counter)
    crashes: list = field(default_factory=list)  # exceptions that stopped a worker thread
    started: float = field(default_factory=time.monotonic)

    def finish(self, status: str, reason: str) -> None:
        self.by_reason[(status, reason)] += 1
        if status == OK:
            self.ok += 1
        else:
            self.failed += 1

    @property
    def done(self) -> int:
        return self.ok + self.failed

    def clips_per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class FetchSummary:
    """What a run did: outcomes by (status, reason), clips skipped as already done, the manifest."""

    by_reason: dict
    skipped: int
    manifest: Path
    seconds: float
    retries: int
    pauses: tuple = ()  # (from, until) of every all-worker pause, time.monotonic() clock

    @property
    def ok(self) -> int:
        return sum(n for (status, _), n in self.by_reason.items() if status == OK)

    @property
    def failed(self) -> int:
        return sum(n for (status, _), n in self.by_reason.items() if status != OK)


class FetchProgress:
    """A rich progress bar fed by the main thread; silent when `enabled` is False."""

    def __init__(self, tally: Tally, enabled: bool, console: Console | None = None) -> None:
        self.tally = tally
        self.progress = Progress(
            TextColumn("[bold]fetch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[green]ok {task.fields[ok]}[/] [red]failed {task.fields[failed]}[/] "
                       "[yellow]retrying {task.fields[retrying]}[/] {task.fields[rate]:.2f} clips/s"),
            TimeElapsedColumn(), console=console, disable=not enabled, transient=False)
        self.task = self.progress.add_task("fetch", total=tally.total, ok=0, failed=0, retrying=0, rate=0.0)

    def update(self, retrying: int) -> None:
        t = self.tally
        self.progress.update(self.task, completed=t.done, ok=t.ok, failed=t.failed, retrying=retrying,
                             rate=t.clips_per_second())

    def __enter__(self) -> "FetchProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()


def summary_table(summary: FetchSummary, title: str = "avcurr fetch") -> Table:
    """Closing table: one row per (status, reason), plus skipped and totals."""
    table = Table(title=title)
    for name, justify in (("status", "left"), ("reason", "left"), ("clips", "right")):
        table.add_column(name, justify=justify)
    for (status, reason), n in sorted(summary.by_reason.items(), key=lambda kv: (kv[0][0] != OK, -kv[1])):
        style = "green" if status == OK else "red"
        table.add_row(f"[{style}]{status}[/]", reason, str(n))
    if summary.skipped:
        table.add_row("skipped", "already done (earlier run)", str(summary.skipped))
    rate = (summary.ok + summary.failed) / summary.seconds if summary.seconds > 0 else 0.0
    paused = f", {len(summary.pauses)} rate-limit pauses" if summary.pauses else ""
    # Text, not a markup string: the manifest path is the user's and may hold brackets.
    table.caption = Text(f"{summary.ok} ok, {summary.failed} failed, {summary.retries} retries{paused}, "
                         f"{summary.seconds:.1f} s, {rate:.2f} clips/s; status: {summary.manifest}")
    return table
