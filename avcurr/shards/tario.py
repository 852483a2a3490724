"""Reading a shard back as samples, and writing a finished shard again (recovery, moves)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from avcurr.atomic import AtomicFile
from avcurr.errors import AvcurrError
from avcurr.shards.layout import AUDIO_ONLY_MEMBERS, MEMBERS, legacy_stats_path, partial_path, stats_path
from avcurr.shards.writer import HashingFile, json_fields, ordered_members, sample_digest, tar_info, write_stats


@dataclass
class ShardContent:
    """A shard's samples in tar order (`{key: {ext: bytes}}`) and the bytes each sample spans."""

    samples: dict[str, dict[str, bytes]]
    spans: dict[str, int]


def read_samples(tar: Path) -> ShardContent:
    """Every sample of `tar`; AvcurrError if it is not a flat tar of `<key>.<ext>` files."""
    samples: dict[str, dict[str, bytes]] = {}
    starts: dict[str, int] = {}
    end = 0
    try:
        with tarfile.open(tar, mode="r:") as handle:
            for info in handle:
                if not info.isfile() or "/" in info.name:
                    raise AvcurrError(f"{tar}: unexpected member {info.name!r}")
                key, _, ext = info.name.partition(".")
                if key in samples and key != next(reversed(samples)):
                    raise AvcurrError(f"{tar}: members of {key!r} are not together")
                starts.setdefault(key, info.offset)
                samples.setdefault(key, {})[ext] = handle.extractfile(info).read()
                end = info.offset_data + -(-info.size // 512) * 512
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise AvcurrError(f"{tar}: unreadable: {exc}") from None
    keys = list(starts)
    bounds = [starts[k] for k in keys[1:]] + [end]
    return ShardContent(samples, {k: b - starts[k] for k, b in zip(keys, bounds)})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(content: ShardContent) -> list[dict]:
    rows = []
    for key, members in content.samples.items():
        meta = json.loads(members["json"])
        rows.append({"key": key, "n_sources": meta.get("n_sources"), "bytes": content.spans[key],
                     "sha256": sample_digest(key, members)})
    return rows


def _fields(content: ShardContent) -> dict[str, list[str]]:
    fields: dict[str, set] = {}
    for members in content.samples.values():
        for name, kind in json_fields(members["json"]).items():
            fields.setdefault(name, set()).add(kind)
    return {k: sorted(v) for k, v in fields.items()}


def complete_content(content: ShardContent, curriculum: str) -> bool:
    """True when every sample has one full member set (with or without spec) and a JSON that names
    its own key and `curriculum`: what a shard that was written to its end holds."""
    if not content.samples:
        return False
    sets = {frozenset(m) for m in content.samples.values()}
    if len(sets) != 1 or sets.pop() not in (frozenset(MEMBERS), frozenset(AUDIO_ONLY_MEMBERS)):
        return False
    for key, members in content.samples.items():
        try:
            meta = json.loads(members["json"])
        except ValueError:
            return False
        if not isinstance(meta, dict) or meta.get("key") != key or meta.get("curriculum") != curriculum:
            return False
    return True


def restat(tar: Path, content: ShardContent, dataset: str, split: str, curriculum: str) -> Path:
    """Write the stats of a complete tar whose stats are missing (it becomes finished)."""
    with_spec = "spec.npy" in next(iter(content.samples.values()))
    return write_stats(tar, dataset, split, curriculum, _rows(content), with_spec, file_sha256(tar), _fields(content))


def rewrite_shard(tar: Path, samples: dict[str, dict[str, bytes]], dataset: str, split: str,
                  curriculum: str) -> bool:
    """Write finished shard `tar` again with only `samples` (in their order); False when none is
    left and the shard is removed. Its stats go first, so a crash leaves an unfinished tar that a
    rerun recovers or rebuilds, never stats that describe other bytes."""
    stats_path(tar).unlink(missing_ok=True)
    legacy_stats_path(tar).unlink(missing_ok=True)
    if not samples:
        tar.unlink(missing_ok=True)
        return False
    out = AtomicFile(tar, tmp=partial_path(tar))
    hashing = HashingFile(out.open())
    try:
        with tarfile.open(fileobj=hashing, mode="w", format=tarfile.PAX_FORMAT) as handle:
            for key, members in samples.items():
                for ext, data in ordered_members(members):
                    handle.addfile(tar_info(f"{key}.{ext}", len(data)), io.BytesIO(data))
    except BaseException:
        out.discard()
        raise
    out.commit()
    content = read_samples(tar)
    with_spec = "spec.npy" in next(iter(samples.values()))
    write_stats(tar, dataset, split, curriculum, _rows(content), with_spec, hashing.sha256.hexdigest(),
                _fields(content))
    return True
