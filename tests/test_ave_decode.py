"""In-process decoding with PyAV: the middle frame of each second and the soundtrack at 11025 Hz."""

from __future__ import annotations

import numpy as np
import pytest

from avcurr.ave.decode import decode_segments
from avcurr.errors import AvcurrError
from tests.shards_fixtures import ffmpeg, make_clip


def test_middle_frames_and_audio(tmp_path):
    # A frame whose brightness is its time: gray level 25 * second (eq(...) in geq), 10 fps.
    path = tmp_path / "ramp.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:size=64x48:rate=10:duration=4",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050,atrim=duration=4",
           "-vf", "geq=lum='25*floor(T)+20':cb=128:cr=128", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", "4", str(path))
    video = decode_segments(path, segments=4)
    assert video.frames.shape == (4, 48, 64, 3) and video.frames.dtype == np.uint8
    assert np.allclose(video.frame_times, [0.5, 1.5, 2.5, 3.5], atol=0.051)
    levels = video.frames.mean((1, 2, 3))
    assert np.all(np.diff(levels) > 15), levels          # the frame of each second, in order
    assert abs(video.audio.size - 4 * 11025) < 1200     # 4 s at 11025 Hz (encoder padding aside)
    spectrum = np.abs(np.fft.rfft(video.audio[2000:2000 + 11025]))
    assert abs(np.argmax(spectrum) - 440) <= 2           # 1 Hz bins: the sine is at 440 Hz


def test_a_short_video_repeats_its_last_frame(tmp_path):
    path = make_clip(tmp_path / "short.mp4", seconds=2.0)
    video = decode_segments(path, segments=4)
    assert video.frames.shape[0] == 4 and np.array_equal(video.frames[2], video.frames[3])


@pytest.mark.parametrize("kind, message", [("no_audio", "has no audio stream"), ("no_video", "has no video stream"),
                                           ("garbage", "cannot decode"), ("missing", "video not found")])
def test_bad_videos_give_one_clear_line(tmp_path, kind, message):
    path = tmp_path / "x.mp4"
    if kind == "no_audio":
        make_clip(path, seconds=1.0, audio=False)
    elif kind == "no_video":
        path = make_clip(tmp_path / "x.m4a", seconds=1.0, video=False)
    elif kind == "garbage":
        path.write_bytes(b"\x00" * 1000)
    with pytest.raises(AvcurrError, match=message) as info:
        decode_segments(path, segments=2)
    assert "\n" not in str(info.value)
