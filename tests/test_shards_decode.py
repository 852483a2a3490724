"""In-process decoding (PyAV): the one forward pass picks the same frames as a seek per frame, audio
from a later start lines up with audio from 0, and no process is started per clip."""

from __future__ import annotations

import subprocess

import av
import numpy as np
import pytest

from avcurr.media.decode import decode_clip
from avcurr.media.frames import scaled_rgb
from shards_fixtures import _once, ffmpeg, shared_base

# name -> x264 options: one 10 s GOP; short GOPs (0.48 s) with B-frames; 2 s GOPs, no B-frames
GOPS = {"gop250": ["-g", "250", "-bf", "0"], "gop12b": ["-g", "12", "-bf", "3"], "gop50": ["-g", "50", "-bf", "0"]}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    base = shared_base(tmp_path_factory) / "gops"
    base.mkdir(parents=True, exist_ok=True)
    with _once(base / "clips") as first:
        if first:
            for name, options in GOPS.items():
                ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=12", "-f", "lavfi", "-i",
                       "sine=frequency=700:sample_rate=44100:duration=12", "-c:v", "libx264", "-preset", "veryfast",
                       *options, "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(base / f"{name}.mp4"))
    return {name: base / f"{name}.mp4" for name in GOPS}


def _seek_per_frame(path, times) -> np.ndarray:
    """The reference: seek to each time and decode forward to the first frame shown at or after it."""
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for t in times:
            container.seek(int(t / stream.time_base), stream=stream, backward=True)
            frame = next(f for f in container.decode(stream) if f.time >= t - 5e-4)
            frames.append(scaled_rgb(frame))
    return np.stack(frames)


@pytest.mark.parametrize("gop", list(GOPS))
@pytest.mark.parametrize("start", [0.0, 1.3])
def test_one_pass_picks_the_frames_a_seek_per_frame_picks(clips, gop, start):
    clip = decode_clip(clips[gop], start)
    assert np.array_equal(clip.frames, _seek_per_frame(clips[gop], clip.frame_times))
    assert not np.array_equal(clip.frames[0], clip.frames[2])  # three different frames


def test_audio_from_a_later_start_lines_up(clips):
    whole = decode_clip(clips["gop50"], 0.0).audio
    later = decode_clip(clips["gop50"], 1.0).audio
    assert later.size == 110336
    # the resampler's first samples differ (no history before the cut); then the same samples
    overlap = whole.size - 11025
    assert np.abs(later[64:overlap] - whole[11025 + 64:]).max() < 1e-4
    assert np.abs(later[64:overlap] - whole[11025 + 60:-4]).max() > 1e-2  # four samples off is far off


def test_no_process_is_started_per_clip(clips, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started: {args[0]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    clip = decode_clip(clips["gop12b"], 0.0)
    assert clip.audio.size == 110336 and clip.frames.shape == (3, 256, 256, 3)


def test_workers_forked_after_decoding_in_the_parent_do_not_hang(tmp_path, tmp_path_factory):
    """The parent decoded a clip (its scaler is cached), then forks 2 workers: each must make its
    own scaler (an inherited one waits forever for the parent's slice threads)."""
    import sys

    from shards_fixtures import lavfi_media

    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    script = (f"from pathlib import Path\nfrom avcurr.media.decode import decode_clip\n"
              f"from avcurr.shards.build import BuildConfig, build_shards\n"
              f"decode_clip(next(Path({str(media)!r}).glob('good*_0.mp4')), 0.0)\n"
              f"s = build_shards(BuildConfig(manifest={str(manifest)!r}, media={str(media)!r}, "
              f"out={str(tmp_path / 'out')!r}, dataset='lav', split='train', workers=2))\n"
              f"print(s.statuses['ok'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "8", done.stderr[-2000:]
