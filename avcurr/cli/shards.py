"""`avcurr build-shards` and `avcurr verify`: option mapping and the closing tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import console, reported_errors


def _summary_table(summary) -> Table:
    table = Table(title="build-shards", show_lines=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    ok = summary.statuses.get("ok", 0)
    short = summary.statuses.get("short", 0)
    table.add_row("clips ok", str(ok))
    table.add_row("clips short (padded, kept)", str(short))
    for status, count in sorted(summary.statuses.items()):
        if status not in ("ok", "short"):
            table.add_row(f"[red]failed: {status}", str(count))
    table.add_row("already in finished shards (skipped)", str(summary.already_done))
    table.add_row("no curriculum (skipped)", str(summary.no_curriculum))
    if summary.duplicates:
        table.add_row("duplicate keys in manifest (skipped)", str(summary.duplicates))
    for curriculum, count in sorted(summary.samples.items(), key=lambda kv: int(kv[0][1:])):
        table.add_row(f"samples written to {curriculum}", str(count))
    table.add_row("shards finished", str(len(summary.shards)))
    table.add_row("throughput", f"{summary.clips_per_second:.2f} clips/s ({summary.seconds:.1f} s)")
    return table


def build_shards_command(
    manifest: Annotated[Path, typer.Option(help="Clip manifest (Parquet from build-curricula, or any with "
                                           "columns ytid, start, end, labels, sources, n_sources, curriculum; "
                                           "an optional `path` column names each clip's media file).")],
    out: Annotated[Path, typer.Option(help="Shard root: writes <out>/<dataset>/<split>/c<k>/*.tar.")],
    dataset: Annotated[str, typer.Option(help="Dataset name used in folder and shard names.")],
    split: Annotated[str, typer.Option(help="Split name (train, val, test, ...).")],
    media: Annotated[Optional[Path], typer.Option(help="Folder of media files named <ytid>_<start ms>.<ext>.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).", min=1)] = None,
    no_spec: Annotated[bool, typer.Option("--no-spec", help="Store audio and frames only; the loader "
                                          "computes spectrograms from the FLAC.")] = False,
    max_samples: Annotated[int, typer.Option(help="Samples per shard at most.", min=1)] = 1000,
    max_bytes: Annotated[float, typer.Option(help="Bytes per shard at most (e.g. 1e9).", min=1e5)] = 1e9,
    curricula: Annotated[Optional[str], typer.Option(help="Only these curricula, comma separated "
                                                     "(e.g. c1,c2); default: every one in the manifest.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Decode clips into per-curriculum WebDataset shards (audio, 512x432 log spectrogram, 3 frames).

    Reruns finish an interrupted build: finished shards are kept, unfinished ones are redone.
    Clips that fail (missing, corrupt, no audio/video stream, silent) are counted and listed in
    <out>/<dataset>/<split>/failures.parquet; short clips are padded and kept.
    """
    with reported_errors():
        from avcurr.shards.build import BuildConfig, build_shards
        from avcurr.shards.writer import ShardLimits

        chosen = tuple(c.strip() for c in curricula.split(",") if c.strip()) if curricula else None
        config = BuildConfig(manifest=manifest, out=out, dataset=dataset, split=split, media=media,
                             workers=workers, with_spec=not no_spec, curricula=chosen,
                             limits=ShardLimits(max_samples=max_samples, max_bytes=int(max_bytes)))
        summary = build_shards(config, console if progress else None)
        console.print(_summary_table(summary))
        for failure in summary.failures[:5]:
            console.print(f"[red]{failure.status}[/] {failure.key}: {failure.message}", highlight=False, soft_wrap=True)
        if summary.failures:
            console.print(f"all {len(summary.failures)} failures: {out / dataset / split / 'failures.parquet'}")


def verify_command(
    root: Annotated[Path, typer.Argument(help="Shard root (or one dataset or split folder under it).")],
) -> None:
    """Read every shard and check members, shapes, stats and index.parquet agree; exit 1 on problems."""
    with reported_errors():
        from avcurr.shards.verify import verify

        report = verify(root)
        table = Table(title=f"verify {root}")
        for name in ("dataset/split", "shards", "samples"):
            table.add_column(name, justify="left" if name == "dataset/split" else "right")
        for label in sorted(report.shards):
            table.add_row(label, str(report.shards[label]), str(report.samples[label]))
        console.print(table)
        for problem in report.problems[:50]:
            console.print(f"[red]problem:[/] {problem}", highlight=False, soft_wrap=True)
        if report.problems:
            console.print(f"[bold red]{len(report.problems)} problem(s)[/]")
            raise typer.Exit(1)
        console.print("[bold green]all shards verified[/]")
