"""Parquet writing that never leaves a half-written file behind, and reading that names the file
when it cannot be read."""

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


def read_table(path: Path, what: str, columns: list[str] | None = None) -> pa.Table:
    """The table in `path`, or one AvcurrError: "cannot read <what> <path>: <why>" (missing, not
    Parquet, truncated, lacking `columns`)."""
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise AvcurrError(f"cannot read {what} {path}: {exc}") from None
