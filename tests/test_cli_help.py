"""Every command's help, found by walking the Typer app (so commands added later are covered too):
-h works like --help, help strings are printed exactly as written (no markup or emoji), every
default is shown and nothing is cut with an ellipsis at 80 columns."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from avcurr.cli import app

runner = CliRunner()
ENV = {"COLUMNS": "80", "LINES": "40"}


def squash(text: str) -> str:
    """Text without any whitespace: wrapping at any width (even inside `yt-dlp`) leaves it equal."""
    return "".join(text.split())


def first_paragraph(command) -> str:
    """What a command list should show for `command`: its short help or its help's first paragraph."""
    text = command.short_help or (command.help or "").partition("\f")[0]
    return text.strip().split("\n\n")[0]


def walk(command, ctx=None, path=()):
    """(path, click command, its context) for the root and every command and sub-command below it."""
    ctx = command.context_class(command, info_name=path[-1] if path else "avcurr", parent=ctx)
    yield path, command, ctx
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, ctx, (*path, name))


COMMANDS = list(walk(typer.main.get_command(app)))


def test_the_walk_finds_the_commands():
    paths = {" ".join(path) for path, _, _ in COMMANDS}
    assert {"build-curricula", "synth", "fetch audioset", "fetch esc50", "eval localization"} <= paths


def test_every_help_page_is_whole_plain_and_shows_defaults():
    problems = []
    for path, command, ctx in COMMANDS:
        where = " ".join(("avcurr", *path))
        short = runner.invoke(app, [*path, "-h"], env=ENV)
        long = runner.invoke(app, [*path, "--help"], env=ENV)
        if short.exit_code != 0 or short.output != long.output:
            problems.append(f"{where}: -h does not show the --help page (exit {short.exit_code})")
        page, text = squash(long.output), long.output
        if "\u2026" in text:
            problems.append(f"{where}: a value is cut with an ellipsis")
        if getattr(command, "rich_markup_mode", None) is not None:
            problems.append(f"{where}: rich markup is on for its help (it eats [...] and turns :a: into emoji)")
        for param in command.params:
            record = param.get_help_record(ctx)
            if record is None or "--help" in record[0]:
                continue
            if squash(" ".join(record)) not in page:
                problems.append(f"{where}: {record[0]} is not printed whole and as written: {record[1]!r}")
            shows_default = getattr(param, "show_default", True) is not False
            if param.default not in (None, False) and shows_default and "default:" not in record[1]:
                problems.append(f"{where}: {record[0]} has default {param.default!r} but its help hides it")
        for name, sub in getattr(command, "commands", {}).items():
            if squash(f"{name}{first_paragraph(sub)}") not in page:
                problems.append(f"{where}: the line of sub-command {name!r} is cut")
    assert not problems, "\n".join(problems)
