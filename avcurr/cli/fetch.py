"""`avcurr fetch <dataset>`: thin commands that map options onto `avcurr.sources.<dataset>`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from avcurr.cli.common import EXIT_FAILED, command_group, console, error_line, plain, reported_errors, say
from avcurr.fetch.jobs import YOUTUBE_WATCH

fetch_app = command_group(
    help="Download clips (only the needed segment) or unpack dataset archives into our layout. "
         "Downloads are resumable: rerun the same command to continue; a status manifest "
         "(fetch_status.parquet) records every clip's outcome and yt-dlp's real error text.")

Out = Annotated[Path, typer.Option("--out", help="Output folder (clips, status manifest, dataset manifest).")]
Limit = Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N clips of the list.")]
Workers = Annotated[int, typer.Option("--workers", min=1, help="Parallel downloads (threads).")]
Cookies = Annotated[Optional[Path], typer.Option("--cookies", help="Netscape cookies.txt passed to yt-dlp.")]
Proxy = Annotated[Optional[str], typer.Option("--proxy", help="Proxy URL for yt-dlp (and ffmpeg, if http://).")]
Rate = Annotated[Optional[str], typer.Option(
    "--rate", help="At most this many clip starts per time over all workers: 2, 2/s, 30/m, 600/h.")]
RetryFailed = Annotated[bool, typer.Option(
    "--retry-failed", help="Also retry clips that failed in earlier runs (transient or corrupt).")]
IncludePermanent = Annotated[bool, typer.Option(
    "--include-permanent", help="Also retry clips recorded as unavailable (removed, private, 404, ...).")]
UrlTemplate = Annotated[str, typer.Option(
    "--url-template", help="Video URL with {ytid}; e.g. http://127.0.0.1:8000/{ytid}.mp4 for a local mirror.")]
MaxAttempts = Annotated[int, typer.Option("--max-attempts", min=1, help="Attempts per clip in one run.")]
Backoff = Annotated[float, typer.Option(
    "--backoff", min=0.0, help="First retry delay in seconds; doubles per attempt, with jitter.")]
Timeout = Annotated[float, typer.Option("--timeout", min=0.05, help="Seconds before a stalled connection fails.")]
Cut = Annotated[str, typer.Option(
    "--cut", help="exact: re-encode at the segment bounds (H.264/AAC .mp4); copy: no re-encode, "
                  "cuts at keyframes (.mkv, faster, may start up to a GOP early).")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No live progress bar.")]
Engine = Annotated[str, typer.Option(
    "--engine", help="local: download threads in this process; ray: each clip is a Ray task (the "
                     "output folder must be shared by every node; --workers = clips in flight).")]
RayAddress = Annotated[Optional[str], typer.Option(
    "--ray-address", help="With --engine ray: 'auto' joins the running cluster (default: start a local one).")]
Slice = Annotated[Optional[str], typer.Option(
    "--slice", help="I/N: only clips I, I+N, I+2N, ... of the list (0-based I; one Slurm array task each), "
                    "with their own status files under OUT/slices/.")]


def _config(out, workers, url_template, cookies, proxy, rate, retry_failed, include_permanent,
            max_attempts, backoff, timeout, cut, no_progress, engine="local", ray_address=None, part=None):
    from avcurr.fetch import FetchConfig, parse_rate
    from avcurr.fetch.jobs import parse_slice

    return FetchConfig(out=out, workers=workers, url_template=url_template, cookies=cookies, proxy=proxy,
                       rate=parse_rate(rate), retry_failed=retry_failed, include_permanent=include_permanent,
                       max_attempts=max_attempts, backoff_base=backoff, timeout=timeout, cut=cut,
                       progress=not no_progress, engine=engine, ray_address=ray_address, slice=parse_slice(part))


def _report(summary) -> None:
    """The closing table; exit status 1 with one line naming the failures when no clip was fetched
    (a rerun with every clip done earlier, or an empty list, is not a failure)."""
    from avcurr.fetch import summary_table

    console.print(summary_table(summary))
    if summary.ok == 0 and summary.failed > 0:
        reasons = sorted(((n, f"{status}/{reason}") for (status, reason), n in summary.by_reason.items()),
                         reverse=True)
        error_line(f"no clip was fetched: all {summary.failed} failed ("
                   + ", ".join(f"{what} {n}" for n, what in reasons) + f"); details in {summary.manifest}")
        raise typer.Exit(EXIT_FAILED)


def _nothing_unpacked(what: str, archive: str) -> None:
    error_line(f"no {what} of the list found in {archive}")
    raise typer.Exit(EXIT_FAILED)


@fetch_app.command("audioset")
def audioset_command(
    out: Out,
    split: Annotated[str, typer.Option(
        "--split", help="balanced | eval (bundled) | unbalanced (downloaded).")] = "balanced",
    segments: Annotated[Optional[Path], typer.Option(
        "--segments", help="AudioSet-layout segment CSV to use instead.")] = None,
    limit: Limit = None, workers: Workers = 4, cookies: Cookies = None, proxy: Proxy = None, rate: Rate = None,
    retry_failed: RetryFailed = False, include_permanent: IncludePermanent = False,
    url_template: UrlTemplate = YOUTUBE_WATCH, max_attempts: MaxAttempts = 4, backoff: Backoff = 5.0,
    timeout: Timeout = 30.0, cut: Cut = "exact", no_progress: NoProgress = False,
    engine: Engine = "local", ray_address: RayAddress = None, part: Slice = None,
) -> None:
    """Fetch the 10-second segments of an AudioSet split as DIR/<ytid>_<start ms>.<ext>."""
    with reported_errors():
        from avcurr.sources.audioset import download_audioset

        config = _config(out, workers, url_template, cookies, proxy, rate, retry_failed, include_permanent,
                         max_attempts, backoff, timeout, cut, no_progress, engine, ray_address, part)
        _report(download_audioset(split, config, segments, limit, console=console))


@fetch_app.command("music")
def music_command(
    out: Out,
    list_name: Annotated[str, typer.Option("--list", help="solo | duet | music21 (bundled MUSIC lists).")] = "solo",
    window_start: Annotated[Optional[float], typer.Option(
        "--window-start", min=0.0, help="Fetch a window from this second instead of the whole video.")] = None,
    window_seconds: Annotated[float, typer.Option("--window-seconds", min=0.1, help="Window length.")] = 10.0,
    limit: Limit = None, workers: Workers = 4, cookies: Cookies = None, proxy: Proxy = None, rate: Rate = None,
    retry_failed: RetryFailed = False, include_permanent: IncludePermanent = False,
    url_template: UrlTemplate = YOUTUBE_WATCH, max_attempts: MaxAttempts = 4, backoff: Backoff = 5.0,
    timeout: Timeout = 30.0, cut: Cut = "exact", no_progress: NoProgress = False,
    engine: Engine = "local", ray_address: RayAddress = None, part: Slice = None,
) -> None:
    """Fetch MUSIC videos (whole videos by default: MUSIC has no segment times)."""
    with reported_errors():
        from avcurr.sources.music import download_music

        config = _config(out, workers, url_template, cookies, proxy, rate, retry_failed, include_permanent,
                         max_attempts, backoff, timeout, cut, no_progress, engine, ray_address, part)
        window = None if window_start is None else (window_start, window_seconds)
        _report(download_music(list_name, config, window, limit, console=console))


@fetch_app.command("ave")
def ave_command(
    out: Out,
    split: Annotated[str, typer.Option("--split", help="all | train | val | test.")] = "all",
    offsets: Annotated[str, typer.Option(
        "--offsets", help="audioset: place each clip by its AudioSet segment (needs the unbalanced list: "
                          "downloaded, or --segments); zero: the URL serves the 10-s AVE clip itself.")] = "audioset",
    segments: Annotated[Optional[Path], typer.Option("--segments", help="AudioSet unbalanced CSV (offsets).")] = None,
    limit: Limit = None, workers: Workers = 4, cookies: Cookies = None, proxy: Proxy = None, rate: Rate = None,
    retry_failed: RetryFailed = False, include_permanent: IncludePermanent = False,
    url_template: UrlTemplate = YOUTUBE_WATCH, max_attempts: MaxAttempts = 4, backoff: Backoff = 5.0,
    timeout: Timeout = 30.0, cut: Cut = "exact", no_progress: NoProgress = False,
    engine: Engine = "local", ray_address: RayAddress = None, part: Slice = None,
) -> None:
    """Fetch AVE clips and write ave_<split>.parquet with per-second event labels."""
    with reported_errors():
        from avcurr.sources.ave import download_ave

        config = _config(out, workers, url_template, cookies, proxy, rate, retry_failed, include_permanent,
                         max_attempts, backoff, timeout, cut, no_progress, engine, ray_address, part)
        summary, manifest, unplaced = download_ave(config, split, offsets, segments, limit, console=console)
        if unplaced:
            say(plain(f"{unplaced} events have no AudioSet offset and were not fetched", "yellow"))
        say("manifest: ", manifest)
        _report(summary)


Archive = Annotated[str, typer.Option("--archive", help="Path or http(s) URL of the archive (zip or tar).")]


@fetch_app.command("flickr")
def flickr_command(out: Out, archive: Archive) -> None:
    """Unpack the SoundNet-Flickr test archive (from its authors) into our layout and manifest."""
    with reported_errors():
        from avcurr.sources.flickr import prepare_flickr

        result = prepare_flickr(archive, out)
        say(f"{result.complete}/{result.reference} test ids complete; manifest: ", result.manifest)
        if result.missing:
            say(plain(f"{len(result.missing)} test ids missing from the archive: "
                      f"{', '.join(result.missing[:10])}{' ...' if len(result.missing) > 10 else ''}", "yellow"))
        if result.incomplete:
            say(plain(f"{len(result.incomplete)} test ids incomplete (frame, audio or annotation missing): "
                      f"{', '.join(result.incomplete[:10])}", "yellow"))
        if result.complete == 0:
            _nothing_unpacked("complete test id", archive)


@fetch_app.command("esc50")
def esc50_command(out: Out, archive: Archive) -> None:
    """Unpack the official ESC-50 repository zip into audio files and a manifest with folds and classes."""
    with reported_errors():
        from avcurr.sources.esc50 import prepare_esc50

        result = prepare_esc50(archive, out)
        say(f"{result.present}/{result.clips} clips (metadata from the {result.metadata}); manifest: ",
            result.manifest)
        if result.missing:
            say(plain(f"{len(result.missing)} clips missing from the archive: {', '.join(result.missing[:10])}",
                      "yellow"))
        if result.present == 0:
            _nothing_unpacked("clip", archive)
