"""The status manifest: one row per clip, crash-safe.

Each finished clip is appended to a JSON-lines journal (one `write` of one line, flushed and
fsynced) the moment it finishes, so `kill -9` loses nothing finished. `compact()` folds the
journal into `fetch_status.parquet` (written atomically) and only then empties the journal; a
crash between the two just replays the journal, since the last record of a key wins.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from avcurr.parquet_io import write_table_atomic

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


class StatusStore:
    """Latest record per clip key, backed by the Parquet manifest plus the append-only journal."""

    def __init__(self, out: Path) -> None:
        self.manifest = Path(out) / MANIFEST
        self.journal = Path(out) / JOURNAL
        self.lock = threading.Lock()
        self.records: dict[str, dict] = {}
        self._load()
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._repair_tail()

    def _load(self) -> None:
        if self.manifest.exists():
            for row in pq.read_table(self.manifest).to_pylist():
                self.records[row["key"]] = row
        if self.journal.exists():
            for line in self.journal.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the torn last line of a killed run: that clip simply reruns
                if isinstance(row, dict) and "key" in row:
                    self.records[row["key"]] = row

    def _repair_tail(self) -> None:
        """After a kill mid-line, start the next record on a fresh line."""
        size = os.fstat(self._fd).st_size
        if size:
            with open(self.journal, "rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    os.write(self._fd, b"\n")

    def get(self, key: str) -> dict | None:
        return self.records.get(key)

    def record(self, row: dict) -> None:
        """Store one finished clip durably (journal line + fsync) before anything else sees it."""
        row = {name: row.get(name) for name in SCHEMA.names}
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock:
            os.write(self._fd, line)
            os.fsync(self._fd)
            self.records[row["key"]] = row

    def table(self) -> pa.Table:
        rows = sorted(self.records.values(), key=lambda r: r["key"])
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    def compact(self) -> Path:
        """Write the Parquet manifest atomically, then empty the journal it now contains."""
        with self.lock:
            write_table_atomic(self.table(), self.manifest)
            os.ftruncate(self._fd, 0)
        return self.manifest

    def close(self) -> None:
        os.close(self._fd)
