"""Small generator stages: shard order, splitting by node and worker, tar reading, shuffling."""

from __future__ import annotations

import random
import tarfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from avcurr.errors import AvcurrError

Sample = dict  # {"__key__": str, "<member ext>": bytes, ...}


def epoch_shards(shards: Sequence[Path], epoch: int, seed: int, shuffle: bool) -> list[Path]:
    """The shard order of one epoch: the same on every node and worker, so splits partition it."""
    order = list(shards)
    if shuffle:
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def split_for(shards: list[Path], part: int, parts: int) -> tuple[list[Path], int, int]:
    """(shards to read, sample stride, sample offset) for reader `part` of `parts`.

    With at least one shard per reader, readers take whole shards (every `parts`-th); with fewer
    shards than readers each reader reads them all and keeps every `parts`-th sample instead, so
    no reader is left empty and no sample is read twice.
    """
    if parts <= 1:
        return shards, 1, 0
    if len(shards) >= parts:
        return shards[part::parts], 1, 0
    return shards, parts, part


class _NotPlainUstar(Exception):
    """A header the fast reader does not handle (PAX, GNU long names, base-256 sizes)."""


def _ustar_members(handle) -> Iterator[tuple[str, bytes]]:
    """(name, data) of the regular files of a plain ustar stream: one read per header and per
    member, checksums verified. Several times faster than `tarfile` for our small members."""
    while True:
        header = handle.read(512)
        if len(header) < 512 or not header.strip(b"\0"):
            if header.strip(b"\0"):
                raise tarfile.ReadError("truncated tar header")
            return
        try:
            checksum = int(header[148:156].strip(b"\0 ") or b"0", 8)
            size = int(header[124:136].strip(b"\0 ") or b"0", 8)
        except ValueError:
            raise _NotPlainUstar() from None
        if checksum != sum(header[:148]) + 256 + sum(header[156:]):
            raise tarfile.ReadError("tar header checksum mismatch")
        kind = header[156:157]
        if kind not in (b"0", b"\0", b"5"):
            raise _NotPlainUstar()
        name = header[:100].split(b"\0", 1)[0].decode("utf-8")
        prefix = header[345:500].split(b"\0", 1)[0]
        if prefix and header[257:262] == b"ustar":
            name = f"{prefix.decode('utf-8')}/{name}"
        data = handle.read(size)
        if len(data) < size:
            raise tarfile.ReadError(f"truncated member {name}")
        handle.read(-size % 512)
        if kind != b"5":
            yield name, data


def _tarfile_members(path: Path, skip: int) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(path, mode="r|") as tar:
        for info in tar:
            if info.isfile():
                if skip:
                    skip -= 1
                    continue
                yield info.name, tar.extractfile(info).read()


def tar_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, data) of every regular file in a tar, in order: the fast ustar reader, falling back
    to `tarfile` (from where it stopped) for anything else a WebDataset tar may contain."""
    done = 0
    try:
        with open(path, "rb", buffering=1 << 20) as handle:
            for member in _ustar_members(handle):
                yield member
                done += 1
        return
    except _NotPlainUstar:
        pass
    yield from _tarfile_members(path, skip=done)


def tar_samples(path: Path, wanted: frozenset[str] | None = None) -> Iterator[Sample]:
    """Samples of one tar in file order: members grouped by key (the name up to its first dot).

    `wanted` limits which member extensions are kept (others are dropped right away).
    """
    current: Sample | None = None
    try:
        for name, data in tar_members(path):
            key, _, ext = name.rpartition("/")[2].partition(".")
            if current is not None and current["__key__"] != key:
                yield current
                current = None
            if current is None:
                current = {"__key__": key, "__shard__": path.name}
            if wanted is None or ext in wanted:
                current[ext] = data
    except (OSError, UnicodeDecodeError, tarfile.TarError) as exc:
        raise AvcurrError(f"cannot read shard {path}: {exc}") from None
    if current is not None:
        yield current


def every_nth(samples: Iterable[Sample], stride: int, offset: int) -> Iterator[Sample]:
    """Keep samples offset, offset + stride, ... (sample-level split)."""
    if stride == 1:
        yield from samples
        return
    for i, sample in enumerate(samples):
        if i % stride == offset:
            yield sample


def shuffled(samples: Iterable[Sample], size: int, rng: random.Random) -> Iterator[Sample]:
    """Shuffle through a buffer of `size` samples (0 or 1: pass through)."""
    if size <= 1:
        yield from samples
        return
    buffer: list[Sample] = []
    for sample in samples:
        if len(buffer) < size:
            buffer.append(sample)
            continue
        i = rng.randrange(size)
        buffer[i], sample = sample, buffer[i]
        yield sample
    rng.shuffle(buffer)
    yield from buffer
