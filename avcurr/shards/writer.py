"""Writing shards atomically, and finding out after a crash what is finished.

A shard is written as a hidden `.<name>.tar.partial`, flushed to disk, renamed to `<name>.tar`,
and only then gets its stats JSON (itself written through a temporary name). So a shard counts as
finished exactly when its stats exist; everything else is removed and redone on the next run.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from avcurr.atomic import AtomicFile, atomic_write
from avcurr.errors import AvcurrError
from avcurr.shards.layout import (PARTIAL_SUFFIX, all_tars, partial_path, read_stats, shard_number,
                                  shard_path, stats_path)

_ORDER = ("flac", "spec.npy", "f0.jpg", "f1.jpg", "f2.jpg", "json")


@dataclass(frozen=True)
class ShardLimits:
    """At most `max_samples` samples and about `max_bytes` bytes per shard (SPEC §4)."""

    max_samples: int = 1000
    max_bytes: int = 1_000_000_000


class ShardWriter:
    """Writes one curriculum's shards in sequence, numbering from `first_number`."""

    def __init__(self, root: Path, dataset: str, split: str, curriculum: str, first_number: int,
                 limits: ShardLimits, with_spec: bool):
        self.where = (Path(root), dataset, split, curriculum)
        self.number = first_number
        self.limits = limits
        self.with_spec = with_spec
        self.finished: list[Path] = []
        self._file = self._tar = None
        self._rows: list[dict] = []

    def _open(self) -> None:
        self.path = shard_path(*self.where, self.number)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = AtomicFile(self.path, tmp=partial_path(self.path))
        self._file = self._out.open()
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)
        self._rows = []

    def add(self, key: str, members: dict, n_sources: int | None) -> str:
        """Append one sample; returns the shard name it went into."""
        size = sum(512 + -(-len(v) // 512) * 512 for v in members.values())  # header + padded data
        if self._tar is not None and (len(self._rows) >= self.limits.max_samples
                                      or self._file.tell() + size > self.limits.max_bytes):
            self.close()
        if self._tar is None:
            self._open()
        start = self._file.tell()
        now = int(time.time())  # an integer mtime keeps headers plain ustar (no PAX records)
        for ext in _ORDER:
            if ext in members:
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size, info.mtime, info.mode = len(members[ext]), now, 0o644
                self._tar.addfile(info, io.BytesIO(members[ext]))
        self._rows.append({"key": key, "n_sources": n_sources, "bytes": self._file.tell() - start})
        return self.path.name

    def close(self) -> None:
        """Finish the open shard: close, fsync, rename, then stats."""
        if self._tar is None:
            return
        self._tar.close()
        self._out.commit()
        root, dataset, split, curriculum = self.where
        atomic_write(stats_path(self.path), json.dumps({
            "shard": self.path.name, "dataset": dataset, "split": split, "curriculum": curriculum,
            "n_samples": len(self._rows), "bytes": self.path.stat().st_size, "spec": self.with_spec,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "samples": self._rows}, indent=1))
        self.finished.append(self.path)
        self._tar = self._file = None
        self.number += 1


@dataclass(frozen=True)
class ResumeState:
    """What an earlier run left: keys already in finished shards, next shard number, removals."""

    done_keys: frozenset[str]
    next_number: int
    removed: tuple[str, ...]


def resume_curriculum(folder: Path) -> ResumeState:
    """Clean one curriculum folder after a crash and report what is finished.

    Removes partial files, tars without stats (renamed but not recorded) and stats without tars.
    """
    removed: list[str] = []
    if not folder.is_dir():
        return ResumeState(frozenset(), 0, ())
    for path in folder.iterdir():
        if path.name.endswith(PARTIAL_SUFFIX):
            path.unlink()
            removed.append(path.name)
    done: set[str] = set()
    numbers = [-1]
    for tar in all_tars(folder):
        if not stats_path(tar).is_file():
            tar.unlink()
            removed.append(tar.name)
            continue
        keys = [row["key"] for row in read_stats(tar)["samples"]]
        clash = done.intersection(keys)
        if clash:
            raise AvcurrError(f"{tar}: key(s) {sorted(clash)[:3]} already in another shard; "
                              "run `avcurr verify` and remove the damaged shard")
        done.update(keys)
        numbers.append(shard_number(tar))
    for stats in folder.glob("*.stats.json"):
        if not stats.with_name(stats.name.replace(".stats.json", ".tar")).is_file():
            stats.unlink()
            removed.append(stats.name)
    return ResumeState(frozenset(done), max(numbers) + 1, tuple(removed))
