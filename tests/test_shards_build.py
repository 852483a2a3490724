"""build-shards on generated clips: layout, statuses, index, stats, independent numerics, verify."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from PIL import Image

from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.verify import verify
from avcurr.shards.writer import ShardLimits
from shards_fixtures import (CORRUPT_ID, GOOD, MISSING_ID, NOAUDIO_ID, NOVIDEO_ID, SHORT_ID, SILENT_ID,
                             built_root, lavfi_media, shared_base)

L = 110336


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_root(tmp_path_factory)


def _members(tar_path):
    with tarfile.open(tar_path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def _all_members(out):
    members = {}
    for tar in sorted(out.glob("lav/train/c*/*.tar")):
        members.update(_members(tar))
    return members


def test_statuses_and_failures_are_values(built):
    out, summary = built
    assert summary["statuses"] == {"ok": 8, "short": 1, "silent": 1, "no_audio": 1, "no_video": 1,
                                   "corrupt": 1, "missing": 1}
    assert summary["no_curriculum"] == 1 and summary["samples"] == {"c1": 6, "c2": 3}
    failures = {r["key"]: r for r in pq.read_table(out / "lav/train/failures.parquet").to_pylist()}
    assert set(failures) == {f"{i}_0" for i in (SILENT_ID, NOAUDIO_ID, NOVIDEO_ID, CORRUPT_ID, MISSING_ID)}
    assert "peak" in failures[f"{SILENT_ID}_0"]["message"]
    assert "no audio stream" in failures[f"{NOAUDIO_ID}_0"]["message"]
    assert "no video stream" in failures[f"{NOVIDEO_ID}_0"]["message"]
    assert "no media file found" in failures[f"{MISSING_ID}_0"]["message"]
    assert len(failures[f"{CORRUPT_ID}_0"]["message"]) > 20  # ffprobe's own words, not a bare status


def test_layout_index_and_stats(built):
    out, _ = built
    # The plan (avcurr.shards.plan): c1's 10 clips with media, keys in order, 3 per shard. Clips that
    # fail to decode leave their shard smaller; the last group (silentclip1 alone) writes no shard.
    c1 = sorted(p.name for p in (out / "lav/train/c1").iterdir())
    assert c1 == ["_shards.json", "_stats", "lav-train-c1-000000.tar", "lav-train-c1-000001.tar",
                  "lav-train-c1-000002.tar"]
    assert sorted(p.name for p in (out / "lav/train/c1/_stats").iterdir()) == [
        "lav-train-c1-000000.stats.json", "lav-train-c1-000001.stats.json", "lav-train-c1-000002.stats.json"]
    planned = {0: ["-startsDash_0", "good000001A_0"], 1: ["good000002A_0", "good000003A_0", "good000004A_0"],
               2: [f"{SHORT_ID}_0"]}  # corruptclip, noaudioclip and novideoclip failed in their groups
    for number, keys in planned.items():
        stats = json.loads((out / f"lav/train/c1/_stats/lav-train-c1-{number:06d}.stats.json").read_text())
        assert [row["key"] for row in stats["samples"]] == keys
    index = pq.read_table(out / "lav/train/index.parquet").to_pylist()
    assert sorted(r["key"] for r in index) == sorted([f"{y}_0" for y, _, _ in GOOD] + [f"{SHORT_ID}_0"])
    stats = json.loads((out / "lav/train/c2/_stats/lav-train-c2-000000.stats.json").read_text())
    assert stats["n_samples"] == 3 and stats["bytes"] == (out / "lav/train/c2/lav-train-c2-000000.tar").stat().st_size
    assert {r["shard"] for r in index if r["curriculum"] == "c2"} == {"c2/lav-train-c2-000000.tar"}
    assert {r["n_sources"] for r in index if r["curriculum"] == "c2"} == {2}
    assert sum(r["bytes"] for r in index) < sum(p.stat().st_size for p in out.glob("lav/train/c*/*.tar"))


def test_members_shapes_and_json(built):
    out, _ = built
    members = _all_members(out)
    key = f"{GOOD[0][0]}_0"
    assert {n for n in members if n.startswith(key + ".")} == {
        f"{key}.{e}" for e in ("flac", "spec.npy", "f0.jpg", "f1.jpg", "f2.jpg", "json")}
    spec = np.load(io.BytesIO(members[f"{key}.spec.npy"]), allow_pickle=False)
    assert spec.dtype == np.float16 and spec.shape == (512, 432)
    info = sf.info(io.BytesIO(members[f"{key}.flac"]))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (11025, 1, L, "PCM_16")
    image = Image.open(io.BytesIO(members[f"{key}.f1.jpg"]))
    assert image.size == (256, 256) and image.mode == "RGB"
    meta = json.loads(members[f"{key}.json"])
    assert meta["key"] == key and meta["ytid"] == "-startsDash" and meta["curriculum"] == "c1"
    assert meta["frame_times"] == [2.5, 5.0, 7.5] and meta["n_valid_samples"] == L
    assert meta["source_names"] == ["X"] and meta["dataset"] == "lav" and meta["split"] == "train"


def test_short_clip_is_padded_and_flagged(built):
    out, _ = built
    members = _all_members(out)
    key = f"{SHORT_ID}_0"
    meta = json.loads(members[f"{key}.json"])
    assert meta["padded"] is True and 40000 < meta["n_valid_samples"] < 4.2 * 11025
    assert meta["frame_times"] == pytest.approx([0.25 * 4, 0.5 * 4, 0.75 * 4], abs=0.05)
    wave, _ = sf.read(io.BytesIO(members[f"{key}.flac"]), dtype="int16")
    assert wave.size == L and not wave[meta["n_valid_samples"]:].any() and wave[:1000].any()


def _reference_spectrogram(wave: np.ndarray) -> np.ndarray:
    """SPEC §2 from scratch (does not import avcurr): STFT 1022/256, periodic Hann, centred,
    reflect padding, magnitude, log-frequency rows by linear interpolation, log(x + 1e-10)."""
    n_fft, hop = 1022, 256
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(wave, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[t * hop: t * hop + n_fft] for t in range(n_frames)], axis=1)
    magnitude = np.abs(np.fft.rfft(frames * window[:, None], axis=0))
    positions = 511 * (21 ** (np.arange(512) / 511) - 1) / 20
    projected = np.stack([np.interp(positions, np.arange(512), magnitude[:, t]) for t in range(n_frames)], axis=1)
    return np.log(projected + 1e-10)


@pytest.mark.parametrize("which", ["good", "short"])
def test_stored_spectrogram_matches_independent_numpy(built, which):
    out, _ = built
    members = _all_members(out)
    key = f"{GOOD[3][0]}_0" if which == "good" else f"{SHORT_ID}_0"
    wave, rate = sf.read(io.BytesIO(members[f"{key}.flac"]), dtype="float64")
    assert rate == 11025
    reference = _reference_spectrogram(wave)
    stored = np.load(io.BytesIO(members[f"{key}.spec.npy"]), allow_pickle=False)
    assert reference.shape == stored.shape == (512, 432)
    # float16 keeps 11 significant bits: the error is at most half a unit in the last place.
    half_ulp = np.spacing(np.abs(reference).astype(np.float16)).astype(np.float64) / 2
    assert np.all(np.abs(stored.astype(np.float64) - reference) <= half_ulp + 1e-6)
    assert reference.max() > 0  # a real tone, not an empty spectrum
    if which == "short":
        assert reference[:, -50:].max() < -20  # the zero padding: log(1e-10)


def test_frames_are_the_clip_at_25_50_75_percent(built, tmp_path, tmp_path_factory):
    out, _ = built
    members = _all_members(out)
    media, _ = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    key = f"{GOOD[2][0]}_0"
    for i, t in enumerate((2.5, 5.0, 7.5)):
        raw = tmp_path / f"{i}.rgb"
        subprocess.run(["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(media / f"{key}.mp4"), "-frames:v", "1",
                        "-vf", "scale=256:256", "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)], check=True)
        want = np.frombuffer(raw.read_bytes(), np.uint8).reshape(256, 256, 3).astype(float)
        got = np.asarray(Image.open(io.BytesIO(members[f"{key}.f{i}.jpg"]))).astype(float)
        assert np.abs(got - want).mean() < 6  # JPEG q90 noise only; another frame differs by far more
    f0 = np.asarray(Image.open(io.BytesIO(members[f"{key}.f0.jpg"]))).astype(float)
    f2 = np.asarray(Image.open(io.BytesIO(members[f"{key}.f2.jpg"]))).astype(float)
    assert np.abs(f0 - f2).mean() > 6


def test_verify_passes_then_catches_damage(built, tmp_path):
    out, _ = built
    report = verify(out)
    assert report.ok, report.problems
    assert report.samples == {"lav/train": 9} and report.shards == {"lav/train": 4}
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    tar = copy / "lav/train/c2/lav-train-c2-000000.tar"
    tar.write_bytes(tar.read_bytes()[:-20000])  # truncate a finished shard
    (copy / "lav/train/c1/.lav-train-c1-000009.tar.partial").write_bytes(b"x")
    problems = " ".join(verify(copy).problems)
    assert "lav-train-c2-000000.tar" in problems and "leftover temporary file" in problems


def test_rerun_skips_everything_finished(built, tmp_path, tmp_path_factory):
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(built[0], out)
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    before = {p: p.stat().st_mtime_ns for p in out.glob("lav/train/c*/*.tar")}
    again = build_shards(BuildConfig(manifest=manifest, media=media, out=out, dataset="lav", split="train",
                                     workers=1, limits=ShardLimits(max_samples=3)))
    assert again.already_done == 9 and again.samples == {} and again.statuses["ok"] == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("lav/train/c*/*.tar")} == before
    assert verify(out).ok
