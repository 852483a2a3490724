"""In-process decoding of one AVE video with PyAV: the middle frame of every one-second segment and
the soundtrack as mono 11025 Hz float32 (SPEC §2's rate, through avcurr.media.decode.decode_audio
as everywhere else).

Frames are streamed: for each segment only the frame nearest its middle (t = s + 0.5 s) is kept,
so a long, large video never sits in memory whole; decoding stops past the last segment. Unlike the
shards' frame picker (avcurr.media.frames), frames keep the video's own size (the VGG19 path
resizes to 224, not from an intermediate 256) and a video shorter than T seconds repeats its last
frame, as AVE's segments need all T.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avcurr.errors import AvcurrError
from avcurr.media.decode import ClipError, decode_audio


@dataclass(frozen=True)
class DecodedVideo:
    """frames: T x H x W x 3 uint8 (segment s: the frame nearest s + 0.5 s); frame_times: their
    times in seconds; audio: mono float32 at 11025 Hz from the start (as long as the file has)."""

    frames: np.ndarray
    frame_times: tuple[float, ...]
    audio: np.ndarray


def _av():
    import av  # lazy: only feature extraction decodes video in-process

    return av


def _frame_time(frame, index: int, rate: float) -> float:
    if frame.time is not None:
        return float(frame.time)
    return index / rate if rate else float(index)


def _middle_frames(container, path: Path, segments: int) -> tuple[np.ndarray, tuple[float, ...]]:
    if not container.streams.video:
        raise AvcurrError(f"{path} has no video stream")
    stream = container.streams.video[0]
    rate = float(stream.average_rate or 0)
    targets = np.arange(segments) + 0.5
    best_gap = np.full(segments, np.inf)
    best: list[np.ndarray | None] = [None] * segments
    times = [0.0] * segments
    for index, frame in enumerate(container.decode(stream)):
        t = _frame_time(frame, index, rate)
        gaps = np.abs(targets - t)
        better = np.flatnonzero(gaps < best_gap)
        if better.size:
            image = frame.to_ndarray(format="rgb24")
            for s in better:
                best_gap[s], best[s], times[s] = gaps[s], image, t
        if t > segments:
            break
    if best[0] is None:
        raise AvcurrError(f"{path}: its video stream holds no frame")
    return np.stack(best), tuple(times)


def decode_segments(path: Path, segments: int = 10, audio_seconds: float | None = None) -> DecodedVideo:
    """Decode `path`: the middle frame of each of `segments` one-second segments and the first
    `audio_seconds` (default: segments + 0.05) of audio. One AvcurrError line when it cannot."""
    av = _av()
    path = Path(path)
    if not path.is_file():
        raise AvcurrError(f"video not found: {path}")
    seconds = segments + 0.05 if audio_seconds is None else audio_seconds
    try:
        with av.open(str(path)) as container:
            frames, times = _middle_frames(container, path, segments)
    except av.FFmpegError as exc:
        raise AvcurrError(f"cannot decode {path}: {exc}") from None
    try:
        audio = decode_audio(path, 0.0, seconds)  # a second pass: no seeking back in odd containers
    except ClipError as exc:
        raise AvcurrError(f"{path} has no audio stream" if exc.status == "no_audio" else str(exc)) from None
    if audio.size == 0:
        raise AvcurrError(f"{path}: its audio stream holds no samples")
    return DecodedVideo(frames=frames, frame_times=times, audio=audio)
