"""Helpers the dataset modules share: reading the fetch status back, writing a manifest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from avcurr.fetch.status import MANIFEST
from avcurr.parquet_io import write_table_atomic


def fetch_status(out: Path) -> dict[str, dict]:
    """`key -> {status, reason, path}` from a fetch folder's status manifest ({} if none yet)."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return {}
    table = pq.read_table(path, columns=["key", "status", "reason", "path"])
    return {row["key"]: row for row in table.to_pylist()}


def write_manifest(rows: list[dict], path: Path, schema: pa.Schema | None = None) -> Path:
    """Write a dataset manifest (one row per clip) atomically."""
    return write_table_atomic(pa.Table.from_pylist(rows, schema=schema), Path(path))
