"""Parquet writing that never leaves a half-written file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from avcurr.errors import AvcurrError


def write_table_atomic(table: pa.Table, path: Path) -> Path:
    """Write `table` to `path` through a temporary file in the same folder, then rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AvcurrError(f"cannot create output folder {path.parent}: {exc.strerror}") from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AvcurrError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
