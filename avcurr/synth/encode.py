"""One ffmpeg process turns raw RGB frames and raw float audio into an H.264 + AAC mp4.

Frames go through stdin, audio through a second pipe (passed as an extra fd), each written by its own thread so
that neither pipe can block the other. The settings make the file bit-exact for equal inputs:
single-threaded x264, no encoder/version strings, no metadata.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import numpy as np

from avcurr.atomic import atomic_output
from avcurr.media.ffmpeg import MediaError, require_tool
from avcurr.synth.config import SAMPLE_RATE


def encode_args(size: int, fps: int, out: Path, audio_bitrate: str = "128k", preset: str = "veryfast",
                video_in: str = "pipe:0", audio_in: str = "pipe:3") -> list[str]:
    """The ffmpeg command line (also used by the benchmark's floor, with file inputs)."""
    return [
        require_tool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size}x{size}", "-framerate", str(fps), "-i", video_in,
        "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", audio_in,
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", preset, "-crf", "20", "-pix_fmt", "yuv420p", "-g", str(2 * fps),
        "-threads", "1",
        "-c:a", "aac", "-aac_coder", "fast", "-b:a", audio_bitrate,  # "fast" keeps SNR ~30 dB here
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1",
        "-f", "mp4", str(out),
    ]


def _feed(stream, data: bytes, errors: list) -> None:
    try:
        stream.write(data)
    except (BrokenPipeError, OSError) as exc:  # ffmpeg died; its stderr says why
        errors.append(exc)
    finally:
        try:
            stream.close()
        except OSError:
            pass


def encode_clip(frames: np.ndarray, audio: np.ndarray, fps: int, out: Path, audio_bitrate: str = "128k",
                timeout: float = 300) -> None:
    """Write `out` (via a temporary name, renamed when complete) from uint8 (n, S, S, 3) frames and
    float32 mono audio at 11025 Hz."""
    out = Path(out)
    with atomic_output(out) as tmp:
        _encode(frames, audio, fps, tmp, out.name, audio_bitrate, timeout)


def _encode(frames: np.ndarray, audio: np.ndarray, fps: int, tmp: Path, name: str, audio_bitrate: str,
            timeout: float) -> None:
    size = frames.shape[1]
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            encode_args(size, fps, tmp, audio_bitrate, audio_in=f"pipe:{read_fd}"), stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(read_fd,))
    except BaseException:
        os.close(write_fd)
        raise
    finally:
        os.close(read_fd)
    errors: list = []  # a feeder's broken pipe only means ffmpeg stopped; its stderr tells why
    audio_stream = os.fdopen(write_fd, "wb")
    # Daemon threads: an interrupt (Ctrl-C, SIGTERM turned into one) must never leave a thread that
    # keeps the interpreter alive, as a pending 300-s watchdog timer did.
    threads = [threading.Thread(target=_feed, args=(proc.stdin, np.ascontiguousarray(frames).tobytes(), errors),
                                daemon=True),
               threading.Thread(target=_feed, args=(audio_stream, np.asarray(audio, "<f4").tobytes(), errors),
                                daemon=True)]
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    try:
        for th in (*threads, timer):
            th.start()
        with proc.stderr:
            stderr = proc.stderr.read()  # returns when ffmpeg exits; the feeders own (and close) its inputs
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # interrupted while ffmpeg runs: stop it now, do not wait for it
            proc.kill()
            proc.wait()
        for th in threads:
            if th.is_alive():
                th.join(timeout=5)  # ffmpeg is gone, so a blocked write fails at once
    if proc.returncode != 0 or killed.is_set():
        if killed.is_set():
            raise MediaError(f"encode {name}: ffmpeg timed out after {timeout:.0f} s")
        text = stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(f"encode {name}: {' | '.join(text[-3:]) or 'ffmpeg failed'}")
