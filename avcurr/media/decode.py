"""Decode one clip in-process with PyAV (FFmpeg's own libraries): mono 11025 Hz float32 audio and
three 256x256 RGB frames at 25/50/75 % of the clip.

One demuxing pass from a seek to the clip's start reads both streams. Audio is decoded and
resampled with FFmpeg's resampler (`av.AudioResampler`, libswresample, what the CLI's `-ac 1 -ar
11025` runs) until L samples are there; the video packets go to a `FramePicker`, which decodes only
the GOPs that hold a wanted frame. A clip shorter than its segment gets its frames at 25/50/75 % of
the audio that exists: the audio stream's duration predicts that length before the pass, and a
second, video-only pass runs only where the prediction was wrong. No process is started per clip.

Every failure is a ClipError whose `status` says why (missing, corrupt, no_audio, no_video) and
whose message carries FFmpeg's own words.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from avcurr.audio.spectrogram import N_SAMPLES, SAMPLE_RATE
from avcurr.media.ffmpeg import MediaError
from avcurr.media.frames import FRAME_SIZE, FramePicker

FRAME_FRACTIONS = (0.25, 0.50, 0.75)
CLIP_SECONDS = N_SAMPLES / SAMPLE_RATE
_SHORT_BY = 0.05  # seconds of audio missing before a clip counts as short (frames move with it)

__all__ = ["CLIP_SECONDS", "FRAME_SIZE", "ClipError", "DecodedClip", "decode_audio", "decode_clip", "frame_times"]


class ClipError(MediaError):
    """A clip that cannot go into a shard; `status` names why (no_audio, corrupt, ...)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DecodedClip:
    """Audio (n_valid samples, float32, not padded), frames (3, 256, 256, 3) uint8, frame times (s)."""

    audio: np.ndarray
    frames: np.ndarray
    frame_times: tuple[float, float, float]


def frame_times(start: float, duration: float) -> tuple[float, float, float]:
    """Times (s, in the media file) of the frames at 25/50/75 % of a clip of `duration` s."""
    return tuple(round(start + f * duration, 3) for f in FRAME_FRACTIONS)  # type: ignore[return-value]


@contextmanager
def _opened(path: Path) -> Iterator[av.container.InputContainer]:
    if not path.is_file():
        raise ClipError("missing", f"{path}: file not found")
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise ClipError("corrupt", f"cannot decode {path.name}: {exc}") from None
    try:
        yield container
    finally:
        container.close()


def _describe(container) -> str:
    kinds = [f"{s.type} {s.codec_context.name if s.codec_context else '?'}" for s in container.streams]
    return ", ".join(kinds) or "no streams"


def _audio_stream(container, path: Path):
    if not container.streams.audio:
        raise ClipError("no_audio", f"{path.name}: no audio stream (it has: {_describe(container)})")
    stream = container.streams.audio[0]
    stream.codec_context.thread_count = 1  # one clip per worker process: threads would compete
    return stream


def _video_stream(container, path: Path):
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not videos:
        raise ClipError("no_video", f"{path.name}: no video stream (it has: {_describe(container)})")
    videos[0].codec_context.thread_count = 1
    return videos[0]


def _origin(container) -> float:
    """The file's start time: `-ss t` in the CLI means t seconds after it, and so do our times."""
    return container.start_time / av.time_base if container.start_time is not None else 0.0


def _seek(container, seconds: float, stream=None) -> None:
    """Seek to the keyframe at or before `seconds` (absolute); a file that cannot seek is read from
    its beginning instead."""
    if seconds <= 0:
        return
    try:
        if stream is None:
            container.seek(int(seconds * av.time_base), backward=True, any_frame=False)
        else:
            container.seek(int(seconds / stream.time_base), backward=True, any_frame=False, stream=stream)
    except av.error.FFmpegError:
        pass


class _AudioTake:
    """Decodes and resamples audio packets until `limit` samples (N_SAMPLES unless told) from
    `start` (absolute s) are there."""

    def __init__(self, stream, start: float, limit: int = N_SAMPLES):
        self.codec = stream.codec_context
        self.start = start
        self.limit = limit
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self.chunks: list[np.ndarray] = []
        self.have = 0
        self.drop: int | None = None  # resampled samples before `start` (from the first frame kept)
        self.done = False
        self.errors: list[str] = []

    def _resampled(self, frame) -> None:
        for out in self.resampler.resample(frame):
            chunk = out.to_ndarray().reshape(-1)
            self.chunks.append(chunk)
            self.have += chunk.size
        if self.drop is not None and self.have >= self.drop + self.limit:
            self.done = True

    def add(self, packet) -> None:
        if self.done:
            return
        try:
            frames = self.codec.decode(packet)
        except av.error.FFmpegError as exc:  # a broken packet is skipped, as the CLI does
            self.errors.append(str(exc))
            return
        for frame in frames:
            if self.drop is None:
                t = frame.time
                if t is not None and t + frame.samples / frame.sample_rate <= self.start:
                    continue  # wholly before the clip (the seek lands on a keyframe before it)
                self.drop = 0 if t is None else max(0, int(round((self.start - t) * SAMPLE_RATE)))
            self._resampled(frame)
            if self.done:
                return

    def finish(self) -> np.ndarray:
        """End of stream (or enough samples): the clip's audio, at most `limit` samples, float32."""
        if not self.done:
            try:
                for frame in self.codec.decode(None):
                    if self.drop is None:
                        self.drop = 0
                    self._resampled(frame)
            except av.error.FFmpegError as exc:
                self.errors.append(str(exc))
            if self.drop is not None:
                self._resampled(None)  # the resampler's last samples
        if not self.chunks:
            return np.zeros(0, np.float32)
        audio = np.concatenate(self.chunks)[self.drop or 0:][:self.limit]
        return np.ascontiguousarray(audio, dtype=np.float32)


def _predicted_seconds(stream, start: float, nominal: float) -> float:
    """How much audio the clip will have, from the stream's declared duration (nominal if unknown)."""
    if stream.duration is None or stream.time_base is None:
        return nominal
    first = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    end = first + float(stream.duration * stream.time_base)
    return max(0.0, min(nominal, end - start))


def _clip_seconds(samples: int, nominal: float) -> float:
    """The span the frames are spread over: nominal, or the real audio where it is short."""
    real = min(nominal, samples / SAMPLE_RATE)
    return real if real < nominal - _SHORT_BY else nominal


def _frames_pass(container, video, absolute_times) -> FramePicker:
    """A video-only pass for frames at other times than the first pass looked for."""
    _seek(container, absolute_times[0], video)
    picker = FramePicker(video, absolute_times)
    try:
        for packet in container.demux(video):
            if packet.size == 0:
                break
            picker.add(packet)
            if picker.done:
                break
    except av.error.FFmpegError as exc:
        picker.errors.append(str(exc))
    picker.finish()
    return picker


def decode_clip(path: Path, start: float, end: float | None = None) -> DecodedClip:
    """Decode the clip of `path` that begins at `start` s; raises ClipError with a status."""
    path = Path(path)
    nominal = CLIP_SECONDS if end is None or not np.isfinite(end) or end <= start \
        else min(end - start, CLIP_SECONDS)
    with _opened(path) as container:
        audio_stream, video = _audio_stream(container, path), _video_stream(container, path)
        origin = _origin(container)
        times = frame_times(start, _clip_seconds(int(_predicted_seconds(audio_stream, start + origin, nominal)
                                                     * SAMPLE_RATE + 0.5), nominal))
        audio_take = _AudioTake(audio_stream, start + origin)
        picker = FramePicker(video, [t + origin for t in times])
        _seek(container, start + origin)
        try:
            for packet in container.demux(audio_stream, video):
                if not packet.size:
                    continue  # a stream's end-of-file marker: both are drained below
                if packet.stream.index == audio_stream.index:
                    audio_take.add(packet)
                else:
                    picker.add(packet)
                if audio_take.done and picker.done:
                    break
        except av.error.FFmpegError as exc:  # a damaged container: keep what was read, name it below
            audio_take.errors.append(str(exc))
        audio = audio_take.finish()
        if audio.size == 0 and audio_take.errors:
            raise ClipError("corrupt", f"{path.name}: audio cannot be decoded: {audio_take.errors[-1]}")
        final = frame_times(start, _clip_seconds(audio.size, nominal))
        if final == times:
            picker.finish()
        else:  # short clip whose length the header did not predict: frames at 25/50/75 % of the real audio
            picker = _frames_pass(container, video, [t + origin for t in final])
        if not picker.done:
            detail = f": {picker.errors[-1]}" if picker.errors else ""
            raise ClipError("no_video", f"{path.name}: no video frame at {list(final)} s{detail}")
        return DecodedClip(audio=audio, frames=np.stack(picker.frames), frame_times=final)


def decode_audio(path: Path, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """Mono 11025 Hz float32 audio of `path` from `start` s, as FFmpeg's resampler gives it: at most
    `seconds` of it (default: one clip, N_SAMPLES), less where the file ends. Image+audio pairs,
    ESC-50 clips and AVE videos are read through here; ClipError (an AvcurrError) says why not."""
    path = Path(path)
    limit = N_SAMPLES if seconds is None else int(round(seconds * SAMPLE_RATE))
    with _opened(path) as container:
        stream = _audio_stream(container, path)
        origin = _origin(container)
        take = _AudioTake(stream, start + origin, limit)
        _seek(container, start + origin, stream)
        try:
            for packet in container.demux(stream):
                if packet.size:
                    take.add(packet)
                if take.done:
                    break
        except av.error.FFmpegError as exc:
            take.errors.append(str(exc))
        audio = take.finish()
        if audio.size == 0 and take.errors:
            raise ClipError("corrupt", f"{path.name}: audio cannot be decoded: {take.errors[-1]}")
        return audio
