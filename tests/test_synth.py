"""The synthetic world: media, stems, boxes, determinism, resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import soundfile as sf

from avcurr.media.ffmpeg import probe
from avcurr.synth import SynthConfig, synthesize
from avcurr.synth.clip import write_clip
from avcurr.synth.render import render
from avcurr.synth.scene import plan_scene
from synth_fixtures import decode_audio, decode_frames, truths, world, world_again  # noqa: F401


def _aligned_snr(decoded: np.ndarray, reference: np.ndarray, max_lag: int = 2048) -> tuple[float, int]:
    """Best SNR over small lags, so that an encoder's priming delay cannot fail the test."""
    best = (-np.inf, 0)
    for lag in range(-max_lag, max_lag + 1, 1):
        a, b = decoded[max(lag, 0):], reference[max(-lag, 0):]
        m = min(len(a), len(b))
        if m < len(reference) * 0.9:
            continue
        err = np.sum((a[:m] - b[:m]) ** 2)
        snr = 10 * np.log10(np.sum(b[:m] ** 2) / max(err, 1e-20))
        if snr > best[0]:
            best = (float(snr), lag)
    return best


def test_media_is_h264_aac_of_the_configured_shape(world):
    for t in truths(world):
        info = probe(world.out / t["media"])
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")
        assert (info.width, info.height, info.sample_rate) == (world.size, world.size, 11025)
        assert abs(info.duration - world.duration) < 0.2


def test_decoded_soundtrack_is_the_sum_of_the_stems(world):
    for t in truths(world):
        paths = [o["stem"] for o in t["objects"] if o["sounding"]] + [t["background_stem"]]
        assert len(paths) == t["n_sources"] + 1
        stems = [sf.read(world.out / p, dtype="float32")[0] for p in paths]
        assert all(sf.info(world.out / p).samplerate == 11025 for p in paths)
        mix = np.sum(stems, axis=0)
        assert len(mix) == world.n_samples and np.max(np.abs(mix)) < 1.0
        snr, lag = _aligned_snr(decode_audio(world.out / t["media"]), mix, max_lag=256)
        assert snr >= 20, (t["key"], snr, lag)


def test_sounding_stems_follow_their_on_off_seconds(world):
    for t in truths(world):
        for obj in (o for o in t["objects"] if o["sounding"]):
            x, sr = sf.read(world.out / obj["stem"], dtype="float32")
            rms = [np.sqrt(np.mean(x[s * sr + 200:(s + 1) * sr - 200] ** 2)) for s in range(len(obj["on"]))]
            on = [r for r, flag in zip(rms, obj["on"]) if flag]
            off = [r for r, flag in zip(rms, obj["on"]) if not flag]
            assert on and max(on) > 0.01
            assert all(r == 0 for r in off), (t["key"], obj["category"])


def test_rendered_object_pixels_lie_inside_their_boxes():
    cfg = SynthConfig(out="unused", size=128, fps=4, duration=3, max_sources=4, distractors=2)
    for index in range(4):
        scene = plan_scene(cfg, index)
        changed = np.any(render(cfg, scene) != render(cfg, scene, objects=False), axis=-1)
        for f in range(cfg.n_frames):
            inside = np.zeros_like(changed[f])
            for obj in scene.objects:
                x0, y0, x1, y1 = obj.boxes[f]
                inside[y0:y1, x0:x1] = True
                # The object really is drawn in its box, filling a good part of it.
                assert changed[f, y0:y1, x0:x1].mean() > 0.3
            assert not np.any(changed[f] & ~inside)


def test_decoded_frames_show_objects_inside_their_boxes(world):
    for t in truths(world):
        frames = decode_frames(world.out / t["media"], world.size).astype(np.int16)
        assert len(frames) == t["n_frames"]
        bare = render(world, plan_scene(world, t["index"]), objects=False).astype(np.int16)
        changed = np.abs(frames - bare).max(axis=-1) > 60
        for f in range(len(frames)):
            inside = np.zeros_like(changed[f])
            for obj in t["objects"]:
                x0, y0, x1, y1 = obj["boxes"][f]
                inside[max(y0 - 2, 0):y1 + 2, max(x0 - 2, 0):x1 + 2] = True  # chroma subsampling blurs edges
                assert changed[f, y0:y1, x0:x1].mean() > 0.2, (t["key"], obj["category"], f)
            assert changed[f][inside].sum() / max(changed[f].sum(), 1) > 0.98


def test_same_seed_gives_byte_identical_files(world, world_again):
    files = sorted(p.relative_to(world.out) for p in world.out.rglob("*") if p.is_file())
    again = sorted(p.relative_to(world_again.out) for p in world_again.out.rglob("*") if p.is_file())
    assert files == again and len(files) > 6 * 5
    for rel in files:
        assert (world.out / rel).read_bytes() == (world_again.out / rel).read_bytes(), rel


def test_other_seed_gives_another_world():
    a = plan_scene(SynthConfig(out="x", seed=1), 0)
    b = plan_scene(SynthConfig(out="x", seed=2), 0)
    assert a.ytid != b.ytid


def test_rerun_keeps_finished_clips_and_refuses_other_settings(world, tmp_path):
    before = {p: p.read_bytes() for p in (world.out / "media").iterdir()}
    summary = synthesize(world)
    assert summary.n_reused == world.clips and summary.n_ok == world.clips
    assert {p: p.read_bytes() for p in (world.out / "media").iterdir()} == before
    other = dataclasses.replace(world, seed=world.seed + 1)
    try:
        synthesize(other)
    except Exception as exc:  # AvcurrError
        assert "other settings" in str(exc)
    else:
        raise AssertionError("a folder holding another world was overwritten")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    try:
        synthesize(dataclasses.replace(world, out=foreign, clips=1))
    except Exception as exc:
        assert "not empty" in str(exc)
    else:
        raise AssertionError("wrote into a foreign folder")
    assert (foreign / "notes.txt").read_text() == "mine"


def test_a_failing_clip_is_a_value_not_a_crash(tmp_path):
    cfg = SynthConfig(out=tmp_path, clips=1, size=64, fps=2, duration=2)
    (tmp_path / "media").write_text("a file where the media folder should be")
    record = write_clip(cfg, 0)
    assert record["status"] == "failed" and "media" in record["error"]


def test_each_category_has_its_own_sound():
    """Nearest-centroid on average log spectra recognises held-out sounds far above chance (10 %),
    so the sound correlates with the category although pitch and rhythm vary per clip. (Some pairs,
    keyboard/guitar, overlap on purpose, so a crude spectrum cannot be perfect.)"""
    from avcurr.synth.catalogue import CATALOGUE
    from avcurr.synth.sound import SOUNDS

    def signature(category, seed):
        rng = np.random.default_rng(seed)
        x = SOUNDS[category.sound](4 * 11025, category.pitch * 2 ** rng.uniform(-0.1, 0.1), rng)
        frames = np.abs(np.fft.rfft(x[: 43 * 1024].reshape(-1, 1024) * np.hanning(1024), axis=1))
        bands = np.log(frames.mean(axis=0)[:512].reshape(-1, 16).mean(axis=1) + 1e-6)  # 32 bands
        return bands - bands.mean()

    train = {c.name: np.mean([signature(c, s) for s in (1, 2)], axis=0) for c in CATALOGUE}
    hits = []
    for seed in range(100, 105):
        for c in CATALOGUE:
            probe_sig = signature(c, seed)
            hits.append(c.name == min(train, key=lambda name: np.sum((train[name] - probe_sig) ** 2)))
    assert np.mean(hits) >= 0.8


def test_overwrite_replaces_only_what_synth_wrote(tmp_path):
    tiny = SynthConfig(out=tmp_path / "w", clips=1, size=64, fps=2, duration=2, max_sources=1)
    synthesize(tiny)
    (tiny.out / "notes.txt").write_text("mine")
    old = {p.name for p in (tiny.out / "media").iterdir()}
    summary = synthesize(dataclasses.replace(tiny, seed=9), overwrite=True)
    assert summary.n_ok == 1 and summary.n_reused == 0
    assert {p.name for p in (tiny.out / "media").iterdir()}.isdisjoint(old)
    assert (tiny.out / "notes.txt").read_text() == "mine"
