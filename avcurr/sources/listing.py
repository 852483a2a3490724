"""Helpers the dataset modules share: reading the fetch status back, writing a manifest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from avcurr.fetch.status import merged_records
from avcurr.parquet_io import write_table_atomic


def fetch_status(out: Path) -> dict[str, dict]:
    """`key -> {status, reason, path}` of every clip a fetch into `out` recorded ({} if none yet),
    whole-list runs and `--slice` runs together (the newest record of a clip wins)."""
    return {key: {name: row.get(name) for name in ("key", "status", "reason", "path")}
            for key, row in merged_records(Path(out)).items()}


def write_manifest(rows: list[dict], path: Path, schema: pa.Schema | None = None) -> Path:
    """Write a dataset manifest (one row per clip) atomically."""
    return write_table_atomic(pa.Table.from_pylist(rows, schema=schema), Path(path))
