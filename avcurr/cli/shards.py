"""`avcurr build-shards` and `avcurr verify`: option mapping and the closing tables."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import console, interruptible, plain, reported_errors, say

_SHOWN = 5  # names listed in full per kind of repair; the rest are counted


def _summary_table(summary) -> Table:
    table = Table(title="build-shards", show_lines=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("clips ok", str(summary.statuses.get("ok", 0)))
    table.add_row("clips short (padded, kept)", str(summary.statuses.get("short", 0)))
    for status, count in sorted(summary.statuses.items()):
        if status not in ("ok", "short"):
            table.add_row(plain(f"failed: {status}", "red"), str(count))
    table.add_row("already in finished shards (skipped)", str(summary.already_done))
    table.add_row("no curriculum (skipped)", str(summary.no_curriculum))
    if summary.duplicates:
        table.add_row("repeated rows (identical, built once)", str(summary.duplicates))
    for curriculum, count in sorted(summary.samples.items(), key=lambda kv: int(kv[0][1:])):
        table.add_row(plain(f"samples written to {curriculum}"), str(count))
    if summary.moves:
        table.add_row("clips moved to the curriculum the manifest says now", str(len(summary.moves)))
    if summary.recovered:
        table.add_row("shards without stats recovered (complete)", str(len(summary.recovered)))
    if summary.removed:
        table.add_row("files removed (see below)", str(len(summary.removed)))
    if summary.kept_unfinished:
        table.add_row(plain("unfinished shards kept (clips not rebuilt)", "yellow"), str(len(summary.kept_unfinished)))
    table.add_row("shards finished", str(len(summary.shards)))
    if summary.engine != "local":
        table.add_row("engine", plain(summary.engine))
    table.add_row("throughput", f"{summary.clips_per_second:.2f} clips/s ({summary.seconds:.1f} s)")
    return table


def _names(label: str, names) -> None:
    names = list(names)
    if names:
        more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        say(plain(label, "bold"), f" ({len(names)}): ", ", ".join(names[:_SHOWN]), more)


def _report_repairs(summary) -> None:
    _names("removed", summary.removed)
    _names("recovered (stats written again)", summary.recovered)
    _names("kept unfinished (rerun with the media of their clips, or remove them)", summary.kept_unfinished)
    moves = [f"{m.key} {m.source}->{m.target or 'none'}" for m in summary.moves]
    _names("moved", moves)


def _closing_line(summary, out: Path, dataset: str, split: str) -> None:
    for failure in summary.failures[:_SHOWN]:
        say(plain(failure.status, "red"), " ", failure.key, ": ", failure.message)
    if summary.failures:
        by_status = Counter(f.status for f in summary.failures)
        what = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
        say(plain(f"{len(summary.failures)} of {summary.processed} clips failed", "bold red"), f" ({what}); all listed in ",
            out / dataset / split / "failures.parquet")
    if summary.card is not None:
        say("dataset card: ", summary.card)


def _slice_line(summary, out: Path, dataset: str, split: str) -> None:
    index, count = summary.slice
    for failure in summary.failures[:_SHOWN]:
        say(plain(failure.status, "red"), " ", failure.key, ": ", failure.message)
    say(plain(f"slice {index}/{count} done", "bold"), f": {summary.groups} shard(s) built, "
        f"{len(summary.failures)} clip(s) failed, {summary.left_for_final} left over by the byte limit; once every "
        "slice is done, run build-shards without --slice (the same options) to finish and publish ",
        out / dataset / split)


def build_shards_command(
    out: Annotated[Path, typer.Option(help="Shard root: writes <out>/<dataset>/<split>/c<k>/*.tar.")],
    dataset: Annotated[str, typer.Option(help="Dataset name used in folder and shard names.")],
    split: Annotated[str, typer.Option(help="Split name (train, val, test, ...).")],
    manifest: Annotated[Optional[Path], typer.Option(help="Clip manifest (Parquet from build-curricula, or any "
                                                     "with columns ytid, start, end, labels, sources, n_sources, "
                                                     "curriculum; an optional `path` column names each clip's "
                                                     "media file).")] = None,
    pairs: Annotated[Optional[Path], typer.Option(help="Instead of a manifest: a folder of image+audio pairs laid "
                                                  "out as SoundNet-Flickr (frames/<id>.jpg, audio/<id>.wav or "
                                                  ".mp3); every pair becomes one sample of c1 keyed by its id.")] = None,
    media: Annotated[Optional[Path], typer.Option(help="Folder of media files named <ytid>_<start ms>.<ext>.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).", min=1)] = None,
    no_spec: Annotated[bool, typer.Option("--no-spec", help="Store audio and frames only; the loader "
                                          "computes spectrograms from the FLAC.")] = False,
    max_samples: Annotated[int, typer.Option(help="Samples per shard at most.", min=1)] = 1000,
    max_bytes: Annotated[float, typer.Option(help="Bytes per shard at most (e.g. 1e9).", min=1e5)] = 1e9,
    curricula: Annotated[Optional[str], typer.Option(help="Only build these curricula, comma separated "
                                                     "(e.g. c1,c2); default: every one in the manifest.")] = None,
    engine: Annotated[str, typer.Option(help="local: decode in a process pool here; ray: one Ray task per shard "
                                             "(the same shards, byte for byte; --workers then caps the shards in "
                                             "flight).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="With --engine ray: the cluster to join, e.g. auto "
                                                       "(default: start a Ray instance on this machine).")] = None,
    slice_: Annotated[Optional[str], typer.Option("--slice", help="I/N: build only every N-th shard of a plan the "
                                                  "tasks of a job array share, from the I-th (0-based), and "
                                                  "publish nothing; run once without --slice afterwards to "
                                                  "finish and publish.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Decode clips into per-curriculum WebDataset shards (audio, 512x432 log spectrogram, 3 frames).

    Reruns finish an interrupted build: finished shards are kept, unfinished ones are recovered or
    redone, clips the manifest now puts in another curriculum are moved. Clips that fail (missing,
    corrupt, no audio/video stream, silent) are counted and listed in
    <out>/<dataset>/<split>/failures.parquet; short clips are padded and kept. Exits 1 when no clip
    succeeded.

    Which clips go into which shard is planned before decoding (keys in order, --max-samples per
    shard), so --engine local and --engine ray write the same shards, and the tasks of a job array
    (--slice I/N) build theirs side by side.
    """
    with reported_errors(), interruptible("rerun the same command to finish (finished shards are kept)"):
        from avcurr.fetch.jobs import parse_slice
        from avcurr.shards.build import BuildConfig, build_shards
        from avcurr.shards.writer import ShardLimits

        chosen = tuple(c.strip() for c in curricula.split(",") if c.strip()) if curricula else None
        config = BuildConfig(manifest=manifest, pairs=pairs, out=out, dataset=dataset, split=split, media=media,
                             workers=workers, with_spec=not no_spec, curricula=chosen,
                             limits=ShardLimits(max_samples=max_samples, max_bytes=int(max_bytes)),
                             engine=engine, ray_address=ray_address, slice=parse_slice(slice_))
        summary = build_shards(config, console if progress else None)
        console.print(_summary_table(summary))
        _report_repairs(summary)
        if summary.slice is not None:
            _slice_line(summary, out, dataset, split)
        else:
            _closing_line(summary, out, dataset, split)
        if summary.nothing_succeeded:
            say(plain(f"nothing succeeded: all {summary.processed} clips failed", "bold red"))
            raise typer.Exit(1)


def verify_command(
    root: Annotated[Path, typer.Argument(help="Shard root (or one dataset or split folder under it).")],
) -> None:
    """Read and decode every shard (FLAC, npy, JPEG), check the content hashes the stats recorded and
    that members, shapes, stats and index.parquet agree; exit 1 on problems or when no shard is found."""
    with reported_errors():
        from avcurr.shards.verify import verify

        report = verify(root)
        table = Table(title="verify")
        for name in ("dataset/split", "shards", "samples"):
            table.add_column(name, justify="left" if name == "dataset/split" else "right")
        for label in sorted(report.shards):
            table.add_row(plain(label), str(report.shards[label]), str(report.samples[label]))
        console.print(table)
        for problem in report.problems[:50]:
            say(plain("problem: ", "red"), problem)
        if report.problems:
            say(plain(f"{len(report.problems)} problem(s) in ", "bold red"), root)
            raise typer.Exit(1)
        say(plain("all shards verified", "bold green"), f" ({sum(report.shards.values())} shards) in ", root)
