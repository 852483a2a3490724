"""The status manifest: one row per clip, crash-safe.

Each finished clip is appended to a JSON-lines journal (one `write` of one line, flushed and
fsynced) the moment it finishes, so `kill -9` loses nothing finished. `compact()` folds the
journal into `fetch_status.parquet` (written atomically) and only then empties the journal; a
crash between the two just replays the journal, since the last record of a key wins.

A run over one slice of a list (`--slice I/N`, e.g. one task of a Slurm job array) keeps its own
manifest and journal in `slices/<I>-of-<N>/`, so slices never write the same file. Every run
*reads* all of them (`merged_records`): a clip finished by any slice or by a whole-list run counts
as done, and where two folders know a clip the newer record wins. A whole-list run writes that
merged view into the top manifest, so that after it `fetch_status.parquet` lists every clip.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from avcurr.fetch.jobs import SLICES_DIR
from avcurr.parquet_io import read_table, write_table_atomic

JOURNAL = "fetch_status.jsonl"
MANIFEST = "fetch_status.parquet"

SCHEMA = pa.schema([
    ("key", pa.string()), ("ytid", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
    ("dataset", pa.string()), ("url", pa.string()), ("status", pa.string()), ("reason", pa.string()),
    ("attempts", pa.int32()), ("error", pa.string()), ("path", pa.string()), ("bytes", pa.int64()),
    ("duration", pa.float64()), ("updated", pa.string()),
])


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_records(folder: Path) -> dict[str, dict]:
    """Latest record per key in one status folder: its manifest, then its journal on top."""
    records: dict[str, dict] = {}
    manifest, journal = Path(folder) / MANIFEST, Path(folder) / JOURNAL
    if manifest.exists():
        for row in read_table(manifest, "the fetch status").to_pylist():
            records[row["key"]] = row
    if journal.exists():
        for line in journal.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # the torn last line of a killed run: that clip simply reruns
            if isinstance(row, dict) and "key" in row:
                records[row["key"]] = row
    return records


def status_folders(out: Path) -> list[Path]:
    """`out` and every slice folder under it that holds a status manifest or journal."""
    slices = sorted(p for p in (Path(out) / SLICES_DIR).glob("*-of-*")
                    if (p / MANIFEST).exists() or (p / JOURNAL).exists())
    return [Path(out), *slices]


def _newer(row: dict, than: dict | None) -> bool:
    return than is None or str(row.get("updated") or "") >= str(than.get("updated") or "")


def merged_records(out: Path, exclude: Path | None = None) -> dict[str, dict]:
    """Latest record per key over every status folder of `out` (see the module docstring)."""
    merged: dict[str, dict] = {}
    for folder in status_folders(out):
        if exclude is not None and folder == Path(exclude):
            continue
        for key, row in read_records(folder).items():
            if _newer(row, merged.get(key)):
                merged[key] = row
    return merged


class StatusStore:
    """Latest record per clip key, backed by the Parquet manifest plus the append-only journal.

    It writes only `folder`; with `out` (the clip folder that `folder` is a slice of, or the same
    folder) `get` also sees what the other status folders of `out` recorded, and when `folder` is
    `out` itself its manifest takes in those records too."""

    def __init__(self, folder: Path, out: Path | None = None) -> None:
        folder = Path(folder)
        self.manifest = folder / MANIFEST
        self.journal = folder / JOURNAL
        self.lock = threading.Lock()
        self.records: dict[str, dict] = read_records(folder)
        self.others: dict[str, dict] = merged_records(out, exclude=folder) if out is not None else {}
        self.consolidates = out is not None and Path(out) == folder
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._repair_tail()

    def _repair_tail(self) -> None:
        """After a kill mid-line, start the next record on a fresh line."""
        size = os.fstat(self._fd).st_size
        if size:
            with open(self.journal, "rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    os.write(self._fd, b"\n")

    def get(self, key: str) -> dict | None:
        """The newest record of `key`: this folder's own (it wins a tie), or another folder's."""
        own, other = self.records.get(key), self.others.get(key)
        if other is not None and (own is None or not _newer(own, other)):
            return other
        return own

    def record(self, row: dict) -> None:
        """Store one finished clip durably (journal line + fsync) before anything else sees it."""
        row = {name: row.get(name) for name in SCHEMA.names}
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock:
            os.write(self._fd, line)
            os.fsync(self._fd)
            self.records[row["key"]] = row

    def table(self) -> pa.Table:
        if self.consolidates:
            rows = [self.get(key) for key in sorted(set(self.records) | set(self.others))]
        else:
            rows = [self.records[key] for key in sorted(self.records)]
        return pa.Table.from_pylist([{name: row.get(name) for name in SCHEMA.names} for row in rows],
                                    schema=SCHEMA)

    def compact(self) -> Path:
        """Write the Parquet manifest atomically, then empty the journal it now contains."""
        with self.lock:
            write_table_atomic(self.table(), self.manifest)
            os.ftruncate(self._fd, 0)
        return self.manifest

    def close(self) -> None:
        os.close(self._fd)
