"""Reading shard streams into webdataset's member records `{"fname", "data", "__url__"}`.

Two readers feed webdataset's `group_by_keys`:
- "webdataset": webdataset's own `tar_file_iterator` (Python's `tarfile` in stream mode);
- "ustar" (the default): a plain-ustar reader that does one read per header and one per member,
  straight into a writable buffer. It earns its place by measurement: in one bench_loader.py
  run the whole loader ran at 0.98x of a bare `tarfile` loop with it and at 0.82x with
  webdataset's reader (reading alone, measured apart on the same shards of six small members
  per sample: 0.11 against 0.34 ms per sample). It hands any header it does not handle (PAX,
  GNU long names) to `tarfile` for the rest of the stream, so every tar a webdataset writer
  makes still reads.

Errors are turned into `SampleError`s naming the shard and the last member read, and go to the
error policy (`handler`); after a read error the rest of that shard is skipped.
"""

from __future__ import annotations

import tarfile
from typing import BinaryIO, Callable, Iterable, Iterator

from webdataset.tariterators import base_plus_ext, tar_file_iterator

from avcurr.data.policy import SampleError, describe
from avcurr.data.urls import open_url

READERS = ("ustar", "webdataset")


class _NotPlainUstar(Exception):
    """A header the fast reader hands to tarfile (PAX, GNU long names, base-256 numbers)."""

    def __init__(self, header: bytes):
        super().__init__("not plain ustar")
        self.header = header


class _Prepend:
    """A stream that gives `head` back before the rest of `stream` (for tarfile's stream mode)."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(size)
        if size < 0:
            out, self.head = self.head + self.stream.read(), b""
            return out
        out, self.head = self.head[:size], self.head[size:]
        return out if len(out) == size else out + self.stream.read(size - len(out))


def _ustar_members(stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(name, data) of the regular files of a plain ustar stream, checksums verified."""
    while True:
        header = stream.read(512)
        if len(header) < 512 or not header.strip(b"\0"):
            if header.strip(b"\0"):
                raise tarfile.ReadError("truncated tar header")
            return
        kind = header[156:157]
        try:
            checksum = int(header[148:156].strip(b"\0 ") or b"0", 8)
            size = int(header[124:136].strip(b"\0 ") or b"0", 8)
        except ValueError:
            raise _NotPlainUstar(header) from None
        if checksum != sum(header[:148]) + 256 + sum(header[156:]):
            raise tarfile.ReadError("tar header checksum mismatch")
        if kind not in (b"0", b"\0", b"5"):
            raise _NotPlainUstar(header)
        name = header[:100].split(b"\0", 1)[0].decode("utf-8")
        prefix = header[345:500].split(b"\0", 1)[0]
        if prefix and header[257:262] == b"ustar":
            name = f"{prefix.decode('utf-8')}/{name}"
        data = bytearray(size)  # writable: decoding can view it without a copy
        if stream.readinto(data) < size:
            raise tarfile.ReadError(f"truncated member {name}")
        stream.read(-size % 512)
        if kind != b"5":
            yield name, data


def _tarfile_members(stream) -> Iterator[tuple[str, bytes]]:
    for record in tar_file_iterator(stream):  # webdataset's reader (re-raises its errors)
        yield record["fname"], record["data"]


def ustar_members(stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(name, data) of every regular file, in order; tarfile takes over at the first header the
    plain reader does not handle, from that header on."""
    try:
        yield from _ustar_members(stream)
    except _NotPlainUstar as special:
        yield from _tarfile_members(_Prepend(special.header, stream))


def read_shards(shards: Iterable[dict], reader: str, handler: Callable[[BaseException], bool]) -> Iterator[dict]:
    """Pipeline stage: shard records `{"url", ...}` -> member records, an EOF marker after each shard."""
    members_of = ustar_members if reader == "ustar" else _tarfile_members
    for shard in shards:
        url, last = shard["url"], None
        try:
            with open_url(url) as stream:
                for name, data in members_of(stream):
                    last = name
                    # "url" too: webdataset's grouping names it in the errors it hands the policy
                    yield {"fname": name, "data": data, "__url__": url, "url": url}
        except (OSError, EOFError, UnicodeDecodeError, tarfile.TarError, ValueError) as exc:
            if not handler(SampleError(url, last, describe(exc), whole_rest=True)):
                return
            prefix = base_plus_ext(last)[0] if last else None  # the key, as group_by_keys sees it
            if prefix:  # webdataset's own mark: group_by_keys drops the sample that was cut short
                yield {"fname": f"{prefix}.__bad__", "data": True, "__url__": url}
        yield {}  # webdataset's end-of-shard record: group_by_keys never joins two shards
