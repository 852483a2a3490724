"""One attempt at one clip: resolve the stream with yt-dlp, read only the segment with ffmpeg
input seeking on the resolved URL (HTTP Range requests, so the rest of the video is never
read), probe the result, and move it into place. Every failure comes back as a value carrying
the tool's own error text.

`--cut exact` reads in two steps: a stream copy of the segment from the keyframe before it
(as fast as the host sends, then the connection is closed), then a cut and encode of that local
copy. Encoding straight from the host would keep the connection open for the whole encode while
the host keeps filling the TCP buffers with bytes past the segment that are never used.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import yt_dlp

from avcurr.errors import AvcurrError
from avcurr.fetch.classify import CORRUPT, OK, TRANSIENT, Verdict, classify_error
from avcurr.fetch.jobs import FetchConfig, FetchJob
from avcurr.media.ffmpeg import probe, require_tool

PARTIAL_DIR = ".partial"
COPY_CUT_SLACK = 5.0  # seconds: longest keyframe interval we accept from a host in --cut copy


@dataclass(frozen=True)
class Outcome:
    """Result of one attempt: status, reason, the real error text, and what was written."""

    status: str
    reason: str
    error: str = ""
    path: str = ""
    bytes: int = 0
    duration: float | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.status, self.reason)


class _QuietLogger:
    """yt-dlp prints through this; we keep its last error instead of writing over the progress bar."""

    def __init__(self) -> None:
        self.last_error = ""

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        self.last_error = msg


_local = threading.local()


def _ydl(config: FetchConfig) -> tuple[yt_dlp.YoutubeDL, _QuietLogger]:
    """One YoutubeDL per worker thread (they are not thread-safe), built once."""
    cached = getattr(_local, "ydl", None)
    if cached is not None and cached[0] == config:  # ==: a Ray task gets its own copy of the config
        return cached[1], cached[2]
    logger = _QuietLogger()
    params = {
        "quiet": True, "no_warnings": True, "noprogress": True, "logger": logger,
        "socket_timeout": config.timeout, "retries": 0, "extractor_retries": 0,
        "format": config.video_format, "noplaylist": True, "cachedir": False,
    }
    if config.cookies:
        params["cookiefile"] = str(config.cookies)
    if config.proxy:
        params["proxy"] = config.proxy
    ydl = yt_dlp.YoutubeDL(params)
    _local.ydl = (config, ydl, logger)
    return ydl, logger


def warm_up(config: FetchConfig, url: str | None = None) -> None:
    """Build this thread's yt-dlp instance for `config` now and, given a URL, have yt-dlp compile
    the patterns it matches URLs against: the first clip of a fresh process otherwise spends most
    of a second there before it reaches the host."""
    ydl, _ = _ydl(config)
    if url:
        for extractor in yt_dlp.extractor.gen_extractor_classes():
            if extractor.suitable(url):
                ydl.get_info_extractor(extractor.ie_key())  # imports the extractor's own module
                break


def _clean(text: str) -> str:
    return text.removeprefix("ERROR: ").strip()


def _resolve(job: FetchJob, config: FetchConfig) -> dict:
    """yt-dlp's info dict for the job's URL; raises DownloadError with yt-dlp's message."""
    ydl, _ = _ydl(config)
    return ydl.extract_info(job.url(config.url_template), download=False)


def _input_args(fmt: dict, start: float, length: float | None, config: FetchConfig, ydl) -> list[str]:
    headers = dict(fmt.get("http_headers") or {})
    args = ["-rw_timeout", str(int(config.timeout * 1e6))]
    agent = headers.pop("User-Agent", None)
    if agent:
        args += ["-user_agent", agent]
    cookies = ydl.cookiejar.get_cookies_for_url(fmt["url"]) if config.cookies else []
    if cookies:
        # A plain header, for this URL's cookies only: ffmpeg 5.1 sent nothing for `-cookies` with
        # a 127.0.0.1 domain in our tests, and a header behaves the same for every host.
        headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in cookies)
    if headers:
        args += ["-headers", "".join(f"{k}: {v}\r\n" for k, v in headers.items())]
    if config.proxy and config.proxy.startswith("http://"):
        args += ["-http_proxy", config.proxy]
    if start > 0:
        args += ["-ss", f"{start:.3f}"]  # before -i: input seeking, the host only sends what we need
    if length is not None:
        args += ["-t", f"{length:.3f}"]
    return args + ["-i", fmt["url"]]


ENCODE_ARGS = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4")


def _segment_length(job: FetchJob) -> float | None:
    return None if job.end is None else job.end - job.start


def _maps(count: int) -> list[str]:
    maps: list[str] = []
    for i in range(count):
        maps += ["-map", f"{i}:v:0?", "-map", f"{i}:a:0?"]
    return maps


def _host_command(info: dict, job: FetchJob, config: FetchConfig, ydl, target: Path, output: list[str]) -> list[str]:
    """ffmpeg reading the segment from the host (every requested format is one input), then `output`."""
    formats = info.get("requested_formats") or [info]
    argv = [require_tool("ffmpeg"), "-nostdin", "-v", "error", "-y"]
    for fmt in formats:
        argv += _input_args(fmt, job.start, _segment_length(job), config, ydl)
    return argv + _maps(len(formats)) + output + [str(target)]


# A stream copy that keeps each input's own timeline (shifted to start at zero, as -ss counts it),
# so that the local cut can seek to the very same second the host read was asked for.
_STAGE_OUTPUT = ["-c", "copy", "-copyts", "-start_at_zero", "-f", "matroska"]


def _encode_command(staged: Path, job: FetchJob, target: Path) -> list[str]:
    """Cut `[start, end)` exactly out of the staged stream copy and encode it (no network)."""
    argv = [require_tool("ffmpeg"), "-nostdin", "-v", "error", "-y"]
    if job.start > 0:
        argv += ["-seek_timestamp", "1", "-ss", f"{job.start:.3f}"]  # the staged copy kept the timestamps
    length = _segment_length(job)
    if length is not None:
        argv += ["-t", f"{length:.3f}"]
    return argv + ["-i", str(staged)] + _maps(1) + list(ENCODE_ARGS) + [str(target)]


def _expected_duration(job: FetchJob, info: dict) -> float | None:
    total = info.get("duration")
    if job.end is None:
        return None if total is None else max(0.0, total - job.start)
    end = job.end if total is None else min(job.end, float(total))
    return max(0.0, end - job.start)


def _check(path: Path, expected: float | None, config: FetchConfig) -> tuple[str, float | None]:
    """'' if the file is a good clip, else why it is corrupt; also the probed duration."""
    try:
        info = probe(path)
    except AvcurrError as exc:
        return f"probe failed: {exc}", None
    if not info.has_audio:
        return "no audio stream in the downloaded file", info.duration
    if not info.duration or info.duration <= 0:
        return "downloaded file has no duration (empty or cut short)", info.duration
    # A keyframe cut may start up to one GOP before the segment, so it may run that much longer.
    over = config.duration_tolerance + (COPY_CUT_SLACK if config.cut == "copy" else 0.0)
    if expected is not None and not -config.duration_tolerance <= info.duration - expected <= over:
        return f"duration {info.duration:.2f} s, expected {expected:.2f} s", info.duration
    return "", info.duration


def _cut(argv: list[str], config: FetchConfig) -> str:
    """Run ffmpeg; its stderr ('' if clean). ffmpeg exits 0 on some network errors, so the
    caller probes the file regardless."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=config.attempt_timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"ffmpeg timed out after {config.attempt_timeout:.0f} s"
    text = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        return text or f"ffmpeg exited with status {done.returncode}"
    return text


def _read_segment(info: dict, job: FetchJob, config: FetchConfig, ydl, target: Path) -> str:
    """Write the clip to `target`; ffmpeg's error text of every step ('' if clean)."""
    if config.cut == "copy":
        return _cut(_host_command(info, job, config, ydl, target, ["-c", "copy", "-f", "matroska"]), config)
    if config.exact_strategy == "stream":
        return _cut(_host_command(info, job, config, ydl, target, list(ENCODE_ARGS)), config)
    staged = target.with_name(target.name + ".stage.mkv")
    try:
        texts = [_cut(_host_command(info, job, config, ydl, staged, _STAGE_OUTPUT), config)]
        if staged.is_file() and staged.stat().st_size > 0:  # else the host step's words say why
            texts.append(_cut(_encode_command(staged, job, target), config))
        return "; ".join(t for t in texts if t)
    finally:
        staged.unlink(missing_ok=True)


def fetch_clip(job: FetchJob, config: FetchConfig) -> Outcome:
    """One attempt at `job`. Never raises for a per-clip problem: the Outcome says what happened."""
    # The pid keeps an ffmpeg orphaned by a killed run from ever writing into this run's file.
    partial = config.state_dir / PARTIAL_DIR / f"{job.key}.{os.getpid()}.{config.ext}"
    final = config.out / f"{job.key}.{config.ext}"
    ydl, logger = _ydl(config)
    try:
        info = _resolve(job, config)
    except yt_dlp.utils.DownloadError as exc:
        text = _clean(str(exc) or logger.last_error)
        return Outcome(*_verdict_fields(classify_error(text)), error=text)
    except Exception as exc:  # yt-dlp raises assorted errors from deep inside extractors
        text = f"{type(exc).__name__}: {exc}"
        return Outcome(*_verdict_fields(classify_error(text)), error=text)
    try:
        stderr = _read_segment(info, job, config, ydl, partial)
        problem, duration = _check(partial, _expected_duration(job, info), config)
        if problem:
            text = "; ".join(t for t in (problem, stderr) if t)
            return Outcome(*_cut_failure(stderr), error=text, duration=duration)
        size = partial.stat().st_size
        os.replace(partial, final)  # atomic: a file under its final name is always complete
        return Outcome(OK, "ok", error="", path=final.name, bytes=size, duration=duration)
    finally:
        partial.unlink(missing_ok=True)


def attempt_clip(job: FetchJob, config: FetchConfig) -> Outcome:
    """`fetch_clip`, with a bug or an odd OS error turned into a transient outcome: it must not
    kill a worker or the run."""
    try:
        return fetch_clip(job, config)
    except Exception as exc:
        return Outcome(TRANSIENT, "other", error=f"{type(exc).__name__}: {exc}")


def _cut_failure(stderr: str) -> tuple[str, str]:
    """A failed cut is corrupt (retried), unless ffmpeg's words say the network or host failed."""
    verdict = classify_error(stderr)
    if verdict.status == TRANSIENT and verdict.reason != "other":
        return verdict.status, verdict.reason
    return CORRUPT, "corrupt"


def _verdict_fields(verdict: Verdict) -> tuple[str, str]:
    return verdict.status, verdict.reason
