"""`avcurr synth`: a thin wrapper around `avcurr.synth.synthesize`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn
from rich.table import Table

from avcurr.cli.common import EXIT_FAILED, console, error_line, interruptible, plain, reported_errors, say
from avcurr.errors import AvcurrError
from avcurr.paths import work_dir

if TYPE_CHECKING:
    from avcurr.synth import SynthSummary


class Layout(str, Enum):
    standard = "standard"
    ave = "ave"
    esc50 = "esc50"


MAX_SOURCES = 4  # kept equal to avcurr.synth.config.MAX_SOURCES (checked by the tests); numpy loads lazily


def summary_table(summary: SynthSummary) -> Table:
    """Clips per number of sources, categories of the sounding objects, failures and speed."""
    table = Table(title=plain(f"Synthetic world in {summary.out}"))
    table.add_column("what")
    table.add_column("value", justify="right", overflow="fold")
    table.add_row("clips written", f"{summary.n_ok - summary.n_reused:,}")
    table.add_row("clips kept from an earlier run", f"{summary.n_reused:,}")
    table.add_row("clips failed", plain(f"{len(summary.failures):,}", "red") if summary.failures else "0")
    for k in sorted(summary.per_n_sources):
        table.add_row(f"clips with {k} source{'s' if k > 1 else ''}", f"{summary.per_n_sources[k]:,}")
    table.add_row("sounding objects per category",
                  ", ".join(f"{name} {n}" for name, n in sorted(summary.per_category.items())))
    made = summary.n_ok - summary.n_reused
    rate = f"{made / summary.seconds:.2f} clips/s" if made and summary.seconds > 0 else "-"
    table.add_row("time", f"{summary.seconds:.1f} s ({rate})")
    for key, error in summary.failures[:5]:  # ffmpeg's and Python's own words: printed as they are
        table.add_row(plain(f"failed {key}", "red"), plain(error[:300]))
    return table


def failure_line(summary: SynthSummary) -> str:
    """One line saying how many clips are missing and why, and what to do."""
    died = summary.worker_deaths
    why = f" ({died} because a worker process died, e.g. killed for memory)" if died else ""
    return (f"{len(summary.failures)} of {summary.n_clips} clips failed{why}; rerun the same command to make "
            f"the missing clips (finished clips are kept)")


def _source_range(sources: int | None, min_sources: int | None, max_sources: int | None) -> tuple[int, int]:
    if sources is not None:
        if min_sources is not None or max_sources is not None:
            raise AvcurrError("give either --sources or --min-sources/--max-sources, not both")
        return sources, sources
    return (1 if min_sources is None else min_sources), (MAX_SOURCES if max_sources is None else max_sources)


def synth_command(
    out: Annotated[Optional[Path], typer.Option(
        help="Output folder (media/, truth/, stems/, segments.csv, flickr/, music/, ave/). "
             "(default: $AVCURR_WORK/synth)")] = None,
    clips: Annotated[int, typer.Option(help="Number of clips.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 0,
    sources: Annotated[Optional[int], typer.Option(
        help="Exactly this many sounding objects per clip (1-4); excludes --min/--max-sources.")] = None,
    min_sources: Annotated[Optional[int], typer.Option(
        help="Fewest sounding objects per clip (default: 1).")] = None,
    max_sources: Annotated[Optional[int], typer.Option(
        help="Most sounding objects per clip (default: 4).")] = None,
    distractors: Annotated[int, typer.Option(help="Silent visible objects per clip (0-2).")] = 0,
    size: Annotated[int, typer.Option(help="Frame width and height in pixels (even).")] = 256,
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 8,
    duration: Annotated[int, typer.Option(help="Clip length in whole seconds.")] = 10,
    small_objects: Annotated[bool, typer.Option(
        "--small-objects",
        help="Small objects (about 3-8 % of the frame alone): the hard localization case.")] = False,
    workers: Annotated[int, typer.Option(help="Parallel worker processes.")] = 1,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace a synthetic world with other settings in --out (only the files of "
                            "that world; a folder that is not a synth world is never cleared).")] = False,
    layout: Annotated[Layout, typer.Option(
        help="standard: audiovisual clips; ave: one audio-visual event per clip, AVE's lists in ave/ (uses "
             "--clips, --seed, --size, --fps, --small-objects, --workers, --overwrite); esc50: 5 s 44.1 kHz "
             "WAVs of the 10 categories in ESC-50's layout (audio/, meta/esc50.csv; 5 folds, --clips in all) "
             "for avcurr eval esc50.")] = Layout.standard,
) -> None:
    """Generate a synthetic audiovisual world with known ground truth, in the real datasets' formats.

    Each clip is an H.264+AAC mp4 of objects drifting over a noisy textured background.

    Every sounding object has its category's sound, its own stem and a box per frame.

    Rerunning with the same settings keeps finished clips.
    """
    from avcurr.synth import SynthConfig, synthesize
    from avcurr.synth.run import prepare_out

    if layout == Layout.ave:
        from avcurr.cli.ave import synth_ave

        return synth_ave(out or work_dir() / "synth-ave", clips, seed, size, fps, workers, overwrite, small_objects)
    if layout == Layout.esc50:
        from avcurr.cli.synth_esc50 import synth_esc50

        return synth_esc50(out or work_dir() / "esc50", clips, seed, overwrite)
    with reported_errors(), interruptible("rerun the same command to finish (finished clips are kept)"):
        lo, hi = _source_range(sources, min_sources, max_sources)
        cfg = SynthConfig(out=out or work_dir() / "synth", clips=clips, seed=seed, min_sources=lo,
                          max_sources=hi, distractors=distractors, size=size, fps=fps, duration=duration,
                          small_objects=small_objects, workers=workers).validate()
        prepare_out(cfg, overwrite)  # refuse a bad --out before the progress bar appears
        columns = (TextColumn("synth"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("synth", total=cfg.clips, failed=0)
            failed = 0

            def on_clip(record: dict) -> None:
                nonlocal failed
                failed += record["status"] != "ok"
                progress.update(task, advance=1, failed=failed)

            summary = synthesize(cfg, on_clip=on_clip, overwrite=overwrite)
    console.print(summary_table(summary))
    if summary.files:
        say("wrote ", plain(summary.files["segments"], "bold"), " and truth, stems, Flickr/MUSIC/AVE lists under ",
            plain(summary.out, "bold"))
    if summary.failures:  # a world with missing clips is not the world asked for: say so in the status
        error_line(failure_line(summary))
        raise typer.Exit(EXIT_FAILED)
