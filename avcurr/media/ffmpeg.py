"""Running ffmpeg/ffprobe safely: argument lists, captured stderr, errors that quote it."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from avcurr.errors import AvcurrError


class MediaError(AvcurrError):
    """ffmpeg/ffprobe could not read or write a media file; the message carries its own words."""


def require_tool(name: str) -> str:
    """Absolute path of `ffmpeg`/`ffprobe`, or a clear error telling how to install it."""
    path = shutil.which(name)
    if path is None:
        raise AvcurrError(f"{name} not found on PATH; install it (Debian/Ubuntu: apt-get install ffmpeg)")
    return path


def _last_lines(text: str, n: int = 3) -> str:
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:]) or "no error text"


def run_tool(args: Sequence[str], *, what: str, timeout: float | None = 600,
             input_bytes: bytes | None = None) -> bytes:
    """Run `args` (ffmpeg or ffprobe first), return stdout; raise MediaError quoting stderr."""
    argv = [require_tool(args[0]), *args[1:]]
    try:
        done = subprocess.run(argv, input=input_bytes, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError(f"{what}: {args[0]} timed out after {timeout:.0f} s") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        raise MediaError(f"{what}: {_last_lines(stderr)}")
    return done.stdout


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file: duration in seconds and its first audio/video streams."""

    path: Path
    duration: float | None
    audio_codec: str | None
    video_codec: str | None
    width: int | None
    height: int | None
    sample_rate: int | None
    channels: int | None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


def _float_or_none(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def probe(path: Path, timeout: float = 60) -> MediaInfo:
    """Probe `path` with ffprobe; MediaError if it is missing or not a readable media file."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    raw = run_tool(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                    str(path)], what=f"probe {path}", timeout=timeout)
    info = json.loads(raw or b"{}")
    streams = info.get("streams", [])
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    duration = _float_or_none(info.get("format", {}).get("duration"))
    if duration is None:
        durations = [_float_or_none(s.get("duration")) for s in streams]
        duration = max((d for d in durations if d is not None), default=None)
    return MediaInfo(
        path=path,
        duration=duration,
        audio_codec=audio.get("codec_name") if audio else None,
        video_codec=video.get("codec_name") if video else None,
        width=int(video["width"]) if video and "width" in video else None,
        height=int(video["height"]) if video and "height" in video else None,
        sample_rate=int(audio["sample_rate"]) if audio and "sample_rate" in audio else None,
        channels=int(audio["channels"]) if audio and "channels" in audio else None,
    )
