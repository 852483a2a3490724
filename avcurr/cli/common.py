"""What every command shares: the console, plain printing of outside text, error reporting and
the shape of `--help`.

Rule: text that did not come from our own string literals (paths, ffmpeg's or yt-dlp's error text,
CSV values, keys) is printed through `plain` (or `say`), never inside a markup string, so that rich
neither interprets `[...]` in it as markup nor turns `:a:` into an emoji.

Help pages are plain text (`rich_markup_mode=None`, set once on the root app and inherited by every
command): help strings are printed exactly as written, `(default: ...)` and `[default: ...]`
included, and long values wrap instead of being cut with an ellipsis. Every command group is made
with `command_group(...)`, so its command list shows each command's first paragraph whole.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
from typing import Any, Iterator

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from avcurr.errors import AvcurrError

# emoji=False: we never use emoji codes, and ffmpeg's stream specifiers (`0:a:0`) must not become one.
console = Console(emoji=False, highlight=False)
error_console = Console(stderr=True, emoji=False, highlight=False)

EXIT_FAILED = 1          # the run went through but nothing (or not everything required) succeeded
EXIT_USER_ERROR = 2      # bad input or settings: one line, nothing written
EXIT_INTERRUPTED = 130   # Ctrl-C or SIGTERM, as a shell reports a SIGINT death

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


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


def warning_line(message: str) -> None:
    """One yellow `warning:` line on stderr with the message printed as it is."""
    say(plain("warning: ", "bold yellow"), message, target=error_console)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn an AvcurrError into one red line on stderr and exit status 2, without a traceback."""
    try:
        yield
    except AvcurrError as exc:
        error_line(str(exc))
        raise typer.Exit(EXIT_USER_ERROR) from None


@contextlib.contextmanager
def interruptible(resume_hint: str) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the command promptly with one line and exit status 130.

    SIGTERM is turned into KeyboardInterrupt while the block runs, so the library's clean-up (stop
    worker processes, remove temporary files) runs for both; the previous handler comes back after.
    """
    def on_term(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (an embedding application): leave SIGTERM alone
        previous = None
    try:
        yield
    except KeyboardInterrupt:
        error_line(f"interrupted; {resume_hint}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def first_paragraph(command: Any) -> str:
    """A command's short help, else the first paragraph of its help, on one line."""
    text = command.short_help or (command.help or "").partition("\f")[0]
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


class HelpGroup(TyperGroup):
    """A command group whose command list shows each command's first paragraph whole (click cuts
    it at the first full stop or at a width, `(eq.` or `...`)."""

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, first_paragraph(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def command_group(help: str, **settings: Any) -> typer.Typer:
    """A Typer (sub-)app with avcurr's help conventions: plain help text, `-h`, whole command lines."""
    settings.setdefault("no_args_is_help", True)
    return typer.Typer(help=help, cls=HelpGroup, rich_markup_mode=None, context_settings=dict(HELP_OPTIONS),
                       add_completion=False, pretty_exceptions_enable=False, **settings)
