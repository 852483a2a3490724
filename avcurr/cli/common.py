"""What every command shares: the console, plain printing of outside text, and error reporting.

Rule: text that did not come from our own string literals (paths, ffmpeg's or yt-dlp's error text,
CSV values, keys) is printed through `plain` (or `say`), never inside a markup string, so that rich
neither interprets `[...]` in it as markup nor turns `:a:` into an emoji.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import typer
from rich.console import Console
from rich.text import Text

from avcurr.errors import AvcurrError

# emoji=False: we never use emoji codes, and ffmpeg's stream specifiers (`0:a:0`) must not become one.
console = Console(emoji=False, highlight=False)
error_console = Console(stderr=True, emoji=False, highlight=False)

EXIT_USER_ERROR = 2


def plain(value: object, style: str = "") -> Text:
    """`value` as rich Text: printed exactly as it is (no markup, no emoji), optionally styled."""
    return Text(str(value), style=style)


def say(*parts: object, target: Console | None = None) -> None:
    """Print one line from parts: `Text` (or `plain(...)`) as given, `str` parts as plain text.

    say(plain("wrote ", "bold"), path)  ->  "wrote <path>" with the path untouched."""
    line = Text.assemble(*(p if isinstance(p, Text) else Text(str(p)) for p in parts))
    (target or console).print(line, soft_wrap=True)


def error_line(message: str) -> None:
    """One red `error:` line on stderr with the message printed as it is."""
    say(plain("error: ", "bold red"), message, target=error_console)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn an AvcurrError into one red line on stderr and exit status 2, without a traceback."""
    try:
        yield
    except AvcurrError as exc:
        error_line(str(exc))
        raise typer.Exit(EXIT_USER_ERROR) from None
