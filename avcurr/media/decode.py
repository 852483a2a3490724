"""Decode one clip with ffmpeg: mono 11025 Hz float32 audio and three 256x256 RGB frames.

One ffmpeg run does both in the common case: the audio goes to stdout as f32le and each frame
comes from its own input seeked with `-ss` before `-i` (fast keyframe seek, then exact), written
as raw RGB to a scratch file. A clip shorter than its segment gets a second, frames-only run at
25/50/75 % of the audio that really exists. Only a failed run is followed by an ffprobe, to name
the failure (no audio stream, no video stream, corrupt file).
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avcurr.audio.spectrogram import N_SAMPLES, SAMPLE_RATE
from avcurr.media.ffmpeg import MediaError, probe, run_tool

FRAME_SIZE = 256
FRAME_FRACTIONS = (0.25, 0.50, 0.75)
_FRAME_BYTES = FRAME_SIZE * FRAME_SIZE * 3
CLIP_SECONDS = N_SAMPLES / SAMPLE_RATE
# Ask ffmpeg for a little more than L samples: resampler delay can shave a few off the end.
_AUDIO_SECONDS = CLIP_SECONDS + 0.05
_SCRATCH: dict[tuple[int, int], Path] = {}


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scratch_dir() -> Path:
    """This thread's folder for raw frames (in RAM where /dev/shm exists), reused for every clip.

    Reuse bounds what a killed process leaves behind to one small folder, and the folders of dead
    processes are removed whenever a process makes its own."""
    key = (os.getpid(), threading.get_ident())
    if key not in _SCRATCH:
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
        for old in base.glob("avcurr-frames-*"):
            pid = old.name.split("-")[2]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        path = base / f"avcurr-frames-{key[0]}-{key[1]}"
        path.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():  # not ours: never write through it
            path = Path(tempfile.mkdtemp(prefix=f"avcurr-frames-{key[0]}-", dir=base))
        atexit.register(shutil.rmtree, path, True)  # a normal exit leaves nothing behind
        _SCRATCH[key] = path
    return _SCRATCH[key]


def _clear(scratch: Path) -> None:
    for i in range(3):
        (scratch / f"f{i}.rgb").unlink(missing_ok=True)


def _frame_inputs(path: Path, times) -> list[str]:
    args: list[str] = []
    for t in times:
        args += ["-threads", "1", "-ss", f"{t:.3f}", "-t", "1", "-i", str(path)]
    return args


def _frame_outputs(first_input: int, scratch: Path) -> list[str]:
    graph = ";".join(f"[{first_input + i}:v:0]scale={FRAME_SIZE}:{FRAME_SIZE}:flags=bicubic,"
                     f"format=rgb24[f{i}]" for i in range(3))
    args = ["-filter_complex", graph]
    for i in range(3):
        args += ["-map", f"[f{i}]", "-frames:v", "1", "-f", "rawvideo", "-y", str(scratch / f"f{i}.rgb")]
    return args


def _read_frames(scratch: Path, times) -> np.ndarray | None:
    frames = []
    for i in range(3):
        raw = (scratch / f"f{i}.rgb").read_bytes() if (scratch / f"f{i}.rgb").exists() else b""
        if len(raw) < _FRAME_BYTES:
            return None
        frames.append(np.frombuffer(raw[:_FRAME_BYTES], np.uint8).reshape(FRAME_SIZE, FRAME_SIZE, 3))
    return np.stack(frames)


def frame_times(start: float, duration: float) -> tuple[float, float, float]:
    """Times (s, in the media file) of the frames at 25/50/75 % of a clip of `duration` s."""
    return tuple(round(start + f * duration, 3) for f in FRAME_FRACTIONS)  # type: ignore[return-value]


def _classify(path: Path, error: MediaError) -> ClipError:
    """Name a failed decode by probing the file; ffmpeg's own words stay in the message."""
    try:
        info = probe(path)
    except MediaError as exc:
        return ClipError("corrupt", str(exc))
    if not info.has_audio:
        return ClipError("no_audio", f"{path.name}: no audio stream ({error})")
    if not info.has_video:
        return ClipError("no_video", f"{path.name}: no video stream ({error})")
    return ClipError("corrupt", str(error))


def _run(args: list[str], path: Path) -> bytes:
    try:
        return run_tool(["ffmpeg", "-nostdin", "-v", "error", *args], what=f"decode {path.name}")
    except MediaError as exc:
        raise _classify(path, exc) from None


def clip_args(path: Path, start: float, times, scratch: Path) -> list[str]:
    """ffmpeg arguments (after `ffmpeg -nostdin -v error`) of the one-run decode: audio as f32le to
    stdout, frames at `times` as raw RGB to `scratch/f<i>.rgb`. The benchmark's floor runs these too."""
    audio_in = ["-threads", "1", "-ss", f"{start:.3f}", "-t", f"{_AUDIO_SECONDS:.3f}", "-i", str(path)]
    audio_out = ["-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]
    return [*audio_in, *_frame_inputs(path, times), *_frame_outputs(1, scratch), *audio_out]


def decode_clip(path: Path, start: float, end: float | None = None) -> DecodedClip:
    """Decode the clip of `path` that begins at `start` s; raises ClipError with a status."""
    path = Path(path)
    if not path.is_file():
        raise ClipError("missing", f"{path}: file not found")
    nominal = CLIP_SECONDS if end is None or not np.isfinite(end) or end <= start \
        else min(end - start, CLIP_SECONDS)
    times = frame_times(start, nominal)
    scratch = scratch_dir()
    _clear(scratch)
    try:
        raw = _run(clip_args(path, start, times, scratch), path)
        audio = np.frombuffer(raw, np.float32)[:N_SAMPLES].copy()
        duration = min(nominal, audio.size / SAMPLE_RATE)
        frames = _read_frames(scratch, times)
        if frames is None or duration < nominal - 0.05:
            # Short clip (or a frame past the video's end): frames at 25/50/75 % of the real audio.
            times = frame_times(start, duration)
            _clear(scratch)
            _run([*_frame_inputs(path, times), *_frame_outputs(0, scratch)], path)
            frames = _read_frames(scratch, times)
        if frames is None:
            raise ClipError("no_video", f"{path.name}: no video frame at {times} s")
        return DecodedClip(audio=audio, frames=frames, frame_times=times)
    finally:
        _clear(scratch)
