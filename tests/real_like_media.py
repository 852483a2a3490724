"""Generated stand-ins for the five real clips of `../shared/data/clips`, with the properties that
made those clips worth testing (codecs, containers, channel counts, sizes, lengths), so that the
shard tests run from a clone alone. ffmpeg lavfi sources only; nothing is downloaded.

| stand-in                    | real clip                 | what it exercises                           |
|-----------------------------|---------------------------|---------------------------------------------|
| six_channel_aac_5s.mp4      | big_buck_bunny_small.mp4  | 6-channel AAC at 48 kHz, 5.31 s: padded     |
| vp8_vorbis_16s.webm         | big_buck_bunny_0_30.webm  | WebM: VP8 video, Vorbis audio; from 5 s     |
| mp3_audio_9s.mp4            | chaplin.mp4               | MP3 audio in mp4, 9.6 s: padded             |
| h264_1080p_48k_10s.mp4      | smpte-2997.mp4            | 1080p video, 48 kHz AAC                     |
| h264_1080p_122s.mp4         | test_video.mp4            | 1080p, 122.6 s long, clip from 100 s (seek) |

Frame rates are lower than the real clips' (2-12 fps instead of 24-30): what is decoded is three
frames per clip, and the seek to 100 s still crosses keyframes (one every 10 s).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

# (stand-in file, real clip, start in seconds, what is odd about it)
CLIPS = [
    ("six_channel_aac_5s.mp4", "big_buck_bunny_small.mp4", 0.0, "6-channel AAC, 5.3 s: padded"),
    ("vp8_vorbis_16s.webm", "big_buck_bunny_0_30.webm", 5.0, "VP8/Vorbis webm"),
    ("mp3_audio_9s.mp4", "chaplin.mp4", 0.0, "MP3 audio, 9.6 s: padded"),
    ("h264_1080p_48k_10s.mp4", "smpte-2997.mp4", 0.0, "1080p"),
    ("h264_1080p_122s.mp4", "test_video.mp4", 100.0, "1080p, 122 s long, clip from 100 s"),
]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _video(source: str, size: str, rate: float, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}:duration={seconds}"]


def _audio(rate: int, layout: str, seconds: float, freq: int = 440) -> list[str]:
    # A tone per channel layout: sine is mono, pan spreads it over every channel.
    channels = {"mono": 1, "stereo": 2, "5.1": 6}[layout]
    pan = f"pan={layout}|" + "|".join(f"c{i}=c0" for i in range(channels))
    return ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds},{pan}"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def make_clips(folder: Path) -> dict[str, Path]:
    """Write the five stand-ins into `folder`; return {real clip name: stand-in path}."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {real: folder / name for name, real, _, _ in CLIPS}
    _ffmpeg(*_video("testsrc2", "320x240", 25, 5.312), *_audio(48000, "5.1", 5.312), *H264,
            "-c:a", "aac", "-b:a", "192k", "-t", "5.312", str(paths["big_buck_bunny_small.mp4"]))
    _ffmpeg(*_video("testsrc2", "640x360", 12, 16), *_audio(44100, "stereo", 16, 330),
            "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "16", "-lag-in-frames", "0", "-threads", "1",
            "-b:v", "300k",
            "-c:a", "libvorbis", "-q:a", "2", "-t", "16", str(paths["big_buck_bunny_0_30.webm"]))
    _ffmpeg(*_video("testsrc2", "640x360", 12, 9.64), *_audio(44100, "stereo", 9.614, 550), *H264,
            "-c:a", "libmp3lame", "-b:a", "128k", "-t", "9.64", str(paths["chaplin.mp4"]))
    _ffmpeg(*_video("smptehdbars", "1920x1080", 5, 10.048), *_audio(48000, "stereo", 10.048, 660), *H264,
            "-c:a", "aac", "-b:a", "128k", "-t", "10.048", str(paths["smpte-2997.mp4"]))
    _ffmpeg(*_video("smptehdbars", "1920x1080", 2, 122.672), *_audio(44100, "stereo", 122.672, 770), *H264,
            "-g", "20", "-c:a", "aac", "-b:a", "64k", "-t", "122.672", str(paths["test_video.mp4"]))
    return paths
