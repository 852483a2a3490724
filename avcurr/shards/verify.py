"""verify: read every shard, decode every member (FLAC fully, npy, JPEG), check the SHA-256 the stats
recorded (per tar and per sample, so a flipped byte is found and its sample named) and that members,
shapes, stats and index agree (SPEC §2-§4)."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from avcurr.audio.spectrogram import N_BINS, N_FRAMES, N_SAMPLES, SAMPLE_RATE
from avcurr.errors import AvcurrError
from avcurr.parquet_io import read_table
from avcurr.shards.layout import (AUDIO_ONLY_MEMBERS, INDEX_NAME, MEMBERS, all_tars,
                                  existing_stats, is_curriculum, partial_files, read_stats)
from avcurr.shards.tario import file_sha256, read_samples
from avcurr.shards.writer import sample_digest


@dataclass
class VerifyReport:
    """Shards and samples checked per `<dataset>/<split>` folder, and every problem found."""

    shards: Counter = field(default_factory=Counter)
    samples: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_member(ext: str, raw: bytes) -> str | None:
    """Problem with one member's content, or None."""
    try:
        if ext == "spec.npy":
            spec = np.load(io.BytesIO(raw), allow_pickle=False)
            if spec.shape != (N_BINS, N_FRAMES) or spec.dtype != np.float16:
                return f"spec is {spec.dtype} {spec.shape}, want float16 {(N_BINS, N_FRAMES)}"
            if not np.isfinite(spec).all():
                return "spec has non-finite values"
        elif ext.endswith(".jpg"):
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
                if image.size != (256, 256) or image.mode != "RGB" or image.format != "JPEG":
                    return f"{ext} is {image.format} {image.mode} {image.size}, want JPEG RGB 256x256"
        elif ext == "flac":
            info = sf.info(io.BytesIO(raw))
            if (info.format, info.subtype, info.samplerate, info.channels, info.frames) != \
                    ("FLAC", "PCM_16", SAMPLE_RATE, 1, N_SAMPLES):
                return (f"flac is {info.format} {info.subtype} {info.samplerate} Hz {info.channels} ch "
                        f"{info.frames} samples")
            wave, _ = sf.read(io.BytesIO(raw), dtype="int16")  # every frame, so a damaged block is found
            if wave.shape != (N_SAMPLES,):
                return f"flac decodes to {wave.shape[0]} samples, want {N_SAMPLES}"
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a finding, not a crash
        return f"{ext} cannot be decoded: {type(exc).__name__}: {exc}"
    return None


def _check_json(raw: bytes, key: str, curriculum: str) -> str | None:
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        return f"json invalid: {exc}"
    for name in ("key", "dataset", "split", "ytid", "start", "end", "labels", "sources", "n_sources",
                 "curriculum", "sample_rate", "n_valid_samples", "frame_times"):
        if name not in meta:
            return f"json lacks {name}"
    if meta["key"] != key or meta["curriculum"] != curriculum:
        return f"json says key {meta['key']!r} curriculum {meta['curriculum']!r}"
    return None


def _check_hashes(tar: Path, stats: dict, samples: dict, problems: list[str]) -> None:
    """Compare the SHA-256 the stats recorded (shards written before hashes were recorded have none)."""
    if "sha256" in stats and file_sha256(tar) != stats["sha256"]:
        problems.append(f"{tar.name}: content differs from what was written (SHA-256 of the tar)")
    for row in stats["samples"]:
        if "sha256" in row and row["key"] in samples and sample_digest(row["key"], samples[row["key"]]) != row["sha256"]:
            problems.append(f"{tar.name} {row['key']}: content differs from what was written (SHA-256)")


def verify_shard(tar: Path, curriculum: str, problems: list[str]) -> list[str]:
    """Check one finished shard against its stats; returns its keys in order."""
    try:
        stats = read_stats(tar)
        if not isinstance(stats, dict) or not {"samples", "n_samples", "bytes"} <= set(stats):
            raise AvcurrError(f"stats of {tar.name} are not a shard's stats (samples, n_samples, bytes)")
        samples = read_samples(tar).samples
    except AvcurrError as exc:
        problems.append(str(exc))
        return []
    _check_hashes(tar, stats, samples, problems)
    expected = set(MEMBERS if stats.get("spec", True) else AUDIO_ONLY_MEMBERS)
    for key, members in samples.items():
        if set(members) != expected:
            problems.append(f"{tar.name} {key}: members {sorted(members)}, want {sorted(expected)}")
            continue
        for ext, raw in members.items():
            issue = _check_json(raw, key, curriculum) if ext == "json" else _check_member(ext, raw)
            if issue:
                problems.append(f"{tar.name} {key}: {issue}")
    keys = list(samples)
    if [row["key"] for row in stats["samples"]] != keys or stats["n_samples"] != len(keys):
        problems.append(f"{tar.name}: stats list {stats['n_samples']} keys that differ from the tar's {len(keys)}")
    if stats["bytes"] != tar.stat().st_size:
        problems.append(f"{tar.name}: stats say {stats['bytes']} bytes, file has {tar.stat().st_size}")
    return keys


def _check_index(folder: Path, where: dict[str, str], report: VerifyReport) -> None:
    index = folder / INDEX_NAME
    if not index.is_file():
        report.problems.append(f"{folder}: no {INDEX_NAME}")
        return
    try:
        rows = read_table(index, "the index", columns=["key", "shard"]).to_pylist()
    except AvcurrError as exc:
        report.problems.append(str(exc))
        return
    listed = {r["key"]: r["shard"] for r in rows}
    if len(listed) != len(rows):
        report.problems.append(f"{index}: keys repeated")
    if listed != where:
        missing, extra = set(where) - set(listed), set(listed) - set(where)
        moved = [k for k in set(where) & set(listed) if where[k] != listed[k]]
        report.problems.append(f"{index}: disagrees with shards ({len(missing)} missing, "
                               f"{len(extra)} extra, {len(moved)} in another shard)")


def verify_split(folder: Path, report: VerifyReport) -> None:
    """Check every shard of one `<dataset>/<split>` folder, its index and leftovers."""
    where: dict[str, str] = {}
    label = f"{folder.parent.name}/{folder.name}"
    for cdir in sorted(p for p in folder.iterdir() if p.is_dir() and is_curriculum(p.name)):
        report.problems += [f"{cdir}: leftover temporary file {p.name}" for p in partial_files(cdir)]
        for tar in all_tars(cdir):
            if existing_stats(tar) is None:
                report.problems.append(f"{tar}: unfinished (no stats); rerun build-shards")
                continue
            report.shards[label] += 1
            for key in verify_shard(tar, cdir.name, report.problems):
                if key in where:
                    report.problems.append(f"{key}: in both {where[key]} and {cdir.name}/{tar.name}")
                where[key] = f"{cdir.name}/{tar.name}"
                report.samples[label] += 1
    _check_index(folder, where, report)


def _split_folders(root: Path) -> list[Path]:
    """Folders under `root` (itself, or one or two levels down) that hold shards or an index."""
    candidates = [root, *root.glob("*"), *root.glob("*/*")]
    return sorted(p for p in candidates if p.is_dir() and (
        (p / INDEX_NAME).is_file() or any(c.is_dir() and is_curriculum(c.name) for c in p.iterdir())))


def verify(root: Path) -> VerifyReport:
    """Verify every `<dataset>/<split>` under `root` (the shard root, a dataset or a split folder)."""
    root = Path(root)
    if not root.is_dir():
        raise AvcurrError(f"shard root not found: {root}")
    folders = _split_folders(root)
    if not folders:
        raise AvcurrError(f"no shards under {root}")
    report = VerifyReport()
    for folder in folders:
        verify_split(folder, report)
    if not sum(report.shards.values()):
        report.problems.append(f"no finished shard under {root}: nothing was verified")
    return report
