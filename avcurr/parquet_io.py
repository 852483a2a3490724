"""Parquet writing that never leaves a half-written file behind."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from avcurr.atomic import atomic_output
from avcurr.errors import AvcurrError


def write_table_atomic(table: pa.Table, path: Path) -> Path:
    """Write `table` to `path` atomically (see avcurr.atomic)."""
    path = Path(path)
    try:
        with atomic_output(path) as tmp:
            pq.write_table(table, tmp)
    except OSError as exc:
        raise AvcurrError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
