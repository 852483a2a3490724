"""The one progress display of avcurr's library code.

Library functions never import the CLI: they take a rich `Console` (or None for silence) and show
their progress on it through `progress_bar`. The CLI passes its own console; scripts and tests
pass nothing and get no output.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from rich.console import Console


class Bar:
    """Handle of one progress bar; every method is a no-op on a silent bar."""

    def __init__(self, progress=None, task=None):
        self._progress, self._task = progress, task

    def update(self, completed: int | None = None, *, advance: int = 0, info: str = "",
               total: int | None = None) -> None:
        """Move the bar (to `completed`, or by `advance`) and replace its info text.

        `info` is shown as plain text: rich markup and emoji codes in it are not interpreted, so
        paths and error messages from outside are printed as they are."""
        if self._progress is None:
            return
        fields = {"info": info}
        if total is not None:
            fields["total"] = total
        if completed is not None:
            self._progress.update(self._task, completed=completed, **fields)
        else:
            self._progress.update(self._task, advance=advance, **fields)

    def log(self, text: str) -> None:
        """Print one line above the bar, as plain text (no markup, no emoji)."""
        if self._progress is not None:
            from rich.text import Text

            self._progress.console.print(Text(text), soft_wrap=True)


@contextmanager
def progress_bar(console: "Console | None", label: str, total: int | None = None) -> Iterator[Bar]:
    """A bar with `label` (our own words: may hold markup), count, elapsed and remaining time and
    a plain info text; `total=None` shows a spinner-like open count. Silent when `console` is None."""
    if console is None:
        yield Bar()
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if total is not None:
        columns.append(TimeRemainingColumn())
    columns.append(TextColumn("{task.fields[info]}", markup=False))
    with Progress(*columns, console=console, transient=False) as progress:
        yield Bar(progress, progress.add_task(label, total=total, info=""))
