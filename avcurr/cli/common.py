"""What every command shares: the console and the way user errors are reported."""

from __future__ import annotations

import contextlib
from typing import Iterator

import typer
from rich.console import Console

from avcurr.errors import AvcurrError

console = Console()
error_console = Console(stderr=True)

EXIT_USER_ERROR = 2


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn an AvcurrError into one red line on stderr and exit status 2, without a traceback."""
    try:
        yield
    except AvcurrError as exc:
        error_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USER_ERROR) from None
