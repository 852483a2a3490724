"""Writing shards atomically and reproducibly.

A shard is written as a hidden `.<name>.tar.<random>.partial`, flushed to disk, renamed to `<name>.tar`,
and only then gets its stats JSON (itself written atomically). So a shard counts as finished exactly
when its stats exist (see `avcurr.shards.resume` for what a rerun does with the rest).

Tar headers hold nothing but the sample: fixed mtime, uid/gid 0, empty user and group names, mode
0644, members in a fixed order, samples in the order they are given. The same samples give the same
bytes. The stats carry a SHA-256 of the whole tar and one per sample (over its members' names and
bytes), so `verify` finds a flipped byte and names the sample it hit.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from avcurr.atomic import AtomicFile, atomic_write, fsync_folder
from avcurr.shards.layout import PARTIAL_SUFFIX, shard_path, stats_path

MEMBER_ORDER = ("flac", "spec.npy", "f0.jpg", "f1.jpg", "f2.jpg", "json")
TAR_MTIME = 0  # every header's mtime: the build time would make each run's bytes differ


@dataclass(frozen=True)
class ShardLimits:
    """At most `max_samples` samples and about `max_bytes` bytes per shard (SPEC §4)."""

    max_samples: int = 1000
    max_bytes: int = 1_000_000_000


class HashingFile:
    """A write-only file that hashes what goes through it (tarfile writes only, in order)."""

    def __init__(self, handle):
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self._written = 0

    def write(self, data) -> int:
        written = self.handle.write(data)
        self.sha256.update(data)
        self._written += len(data)
        return written

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        self.handle.flush()


def ordered_members(members: dict) -> list[tuple[str, bytes]]:
    """(extension, bytes) in the fixed member order, then any other member by name."""
    known = [(ext, members[ext]) for ext in MEMBER_ORDER if ext in members]
    return known + sorted((e, v) for e, v in members.items() if e not in MEMBER_ORDER)


def sample_digest(key: str, members: dict) -> str:
    """SHA-256 over a sample's member names and bytes (what the stats record per sample)."""
    digest = hashlib.sha256()
    for ext, data in ordered_members(members):
        digest.update(f"{key}.{ext}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def writing_path(tar: Path) -> Path:
    """The hidden name one writer writes `tar` under, unique to it (`.<name>.<random>.partial`): two
    writers of the same planned shard (a Ray task retried while a lost node still runs it, a job
    array task started twice) never write into one file; each renames complete, identical bytes."""
    return Path(tar).with_name(f".{Path(tar).name}.{uuid.uuid4().hex[:12]}{PARTIAL_SUFFIX}")


def sample_bytes(members: dict) -> int:
    """Bytes a sample takes in a tar: a 512-byte header per member and its data padded to 512."""
    return sum(512 + -(-len(v) // 512) * 512 for v in members.values())


def tar_info(name: str, size: int) -> tarfile.TarInfo:
    """A header that depends on the name and size only."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, TAR_MTIME, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def json_fields(raw: bytes) -> dict[str, str]:
    """Field name -> JSON type name of a sample's `json` member (the dataset card's features)."""
    def kind(value) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, str):
            return "str"
        if value is None:
            return "null"
        if isinstance(value, list):
            inner = {kind(v) for v in value} - {"null"}
            if inner <= {"int", "float"} and "float" in inner:
                inner = {"float"}
            return f"list:{inner.pop()}" if len(inner) == 1 else ("list:null" if not inner else "other")
        return "other"
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    return {name: kind(value) for name, value in meta.items()} if isinstance(meta, dict) else {}


class ShardWriter:
    """Writes one curriculum's shards in sequence, numbering from `first_number`."""

    def __init__(self, root: Path, dataset: str, split: str, curriculum: str, first_number: int,
                 limits: ShardLimits, with_spec: bool):
        self.where = (Path(root), dataset, split, curriculum)
        self.number = first_number
        self.limits = limits
        self.with_spec = with_spec
        self.finished: list[Path] = []
        self._out: AtomicFile | None = None
        self._file: HashingFile | None = None
        self._tar: tarfile.TarFile | None = None
        self._rows: list[dict] = []
        self._fields: dict[str, set] = {}

    def _open(self) -> None:
        self.path = shard_path(*self.where, self.number)
        self._out = AtomicFile(self.path, tmp=writing_path(self.path))
        self._file = HashingFile(self._out.open())
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)
        self._rows, self._fields = [], {}

    def fits(self, members: dict) -> bool:
        """Whether the open shard can take this sample within the limits (an empty one always can)."""
        return self._tar is None or (len(self._rows) < self.limits.max_samples
                                     and self._file.tell() + sample_bytes(members) <= self.limits.max_bytes)

    def add(self, key: str, members: dict, n_sources: int | None) -> str:
        """Append one sample (a full shard is finished first); returns the shard name it went into."""
        if not self.fits(members):
            self.close()
        if self._tar is None:
            self._open()
        start = self._file.tell()
        for ext, data in ordered_members(members):
            self._tar.addfile(tar_info(f"{key}.{ext}", len(data)), io.BytesIO(data))
        self._rows.append({"key": key, "n_sources": n_sources, "bytes": self._file.tell() - start,
                           "sha256": sample_digest(key, members)})
        for name, kind in json_fields(members.get("json", b"")).items():
            self._fields.setdefault(name, set()).add(kind)
        return self.path.name

    def close(self) -> None:
        """Finish the open shard: close, fsync, rename, then stats."""
        if self._tar is None:
            return
        self._tar.close()
        self._out.commit()
        root, dataset, split, curriculum = self.where
        write_stats(self.path, dataset, split, curriculum, self._rows, self.with_spec,
                    self._file.sha256.hexdigest(), {k: sorted(v) for k, v in self._fields.items()})
        self.finished.append(self.path)
        self._tar = self._file = self._out = None
        self.number += 1

    def discard(self) -> None:
        """Drop the open shard (its temporary file); finished shards stay."""
        if self._out is not None:
            self._out.discard()
        self._tar = self._file = self._out = None


def write_stats(tar: Path, dataset: str, split: str, curriculum: str, rows: list[dict], with_spec: bool,
                sha256: str, fields: dict[str, list[str]]) -> Path:
    """The stats JSON that marks `tar` finished: its samples (key, n_sources, bytes, sha256), the
    tar's SHA-256 and the types of the sample JSON fields."""
    return atomic_write(stats_path(tar), json.dumps({
        "shard": tar.name, "dataset": dataset, "split": split, "curriculum": curriculum,
        "n_samples": len(rows), "bytes": tar.stat().st_size, "spec": with_spec, "sha256": sha256,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "json_fields": fields,
        "samples": rows}, indent=1))


def move_legacy_stats(legacy: Path) -> Path:
    """Move stats of the first layout (`<name>.stats.json` beside the tar) to where they go now."""
    target = stats_path(Path(legacy).with_name(Path(legacy).name[:-len(".stats.json")] + ".tar"))
    target.parent.mkdir(exist_ok=True)
    os.replace(legacy, target)
    fsync_folder(target.parent)
    return target
