"""The `avcurr` command line. Each command lives in its own module and only maps options
onto the library function that does the work."""

from __future__ import annotations

import typer

from avcurr import __version__
from avcurr.cli.ave import ave_features_command, ave_maps_command, eval_ave_command, train_ave_command
from avcurr.cli.common import command_group
from avcurr.cli.curricula import build_curricula_command
from avcurr.cli.fetch import fetch_app
from avcurr.cli.synth import synth_command
from avcurr.cli.shards import build_shards_command, verify_command
from avcurr.cli.train import localize_command, train_command
from avcurr.cli.evaluate import eval_app
from avcurr.cli.separation import (music_splits_command, separate_command, separation_eval_command,
                                   train_separator_command)
from avcurr.cli.counting import eval_counting_command, train_counter_command
from avcurr.cli.probe import eval_esc50_command

# Plain-text help (no rich markup) for every command: the root's mode is inherited by all of them.
app = command_group(
    name="avcurr",
    help="Curriculum audiovisual learning: fetch clips, grade them into curricula by their number "
         "of sound sources, build WebDataset shards, train and evaluate.",
)

app.command("build-curricula")(build_curricula_command)
app.add_typer(fetch_app, name="fetch")
app.command("synth")(synth_command)
app.command("build-shards")(build_shards_command)
app.command("verify")(verify_command)
app.command("train")(train_command)
app.command("localize")(localize_command)
app.command("train-separator")(train_separator_command)
app.command("separate")(separate_command)
app.command("music-splits")(music_splits_command)
eval_app.command("separation")(separation_eval_command)
app.command("train-counter")(train_counter_command)
eval_app.command("counting")(eval_counting_command)
eval_app.command("esc50")(eval_esc50_command)
app.add_typer(eval_app, name="eval")
app.command("ave-features")(ave_features_command)
app.command("train-ave")(train_ave_command)
app.command("ave-maps")(ave_maps_command)
eval_app.command("ave")(eval_ave_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"avcurr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Curriculum audiovisual learning toolkit."""


def main() -> None:
    app()
