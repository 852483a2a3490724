"""Read a clip manifest (build-curricula's Parquet, or any with its columns) into clip tasks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from avcurr.errors import AvcurrError
from avcurr.keys import clip_key
from avcurr.parquet_io import read_table
from avcurr.shards.layout import check_curriculum

REQUIRED = ("ytid", "start", "curriculum")
KNOWN = ("ytid", "start", "end", "labels", "sources", "n_sources", "curriculum", "path")
MEDIA_EXTENSIONS = ("mp4", "mkv", "webm", "mov", "avi", "m4a", "wav", "flac", "mp3", "ogg", "opus")


@dataclass(frozen=True)
class ClipTask:
    """One clip to turn into a sample: where its media is and the metadata its JSON carries."""

    key: str
    ytid: str
    start: float
    end: float | None
    curriculum: str | None
    n_sources: int | None
    labels: tuple[str, ...]
    sources: tuple[str, ...]
    media: Path | None
    extras: dict = field(default_factory=dict)
    pair: bool = False         # an image+audio pair: `media` is its audio, `image` its still frame
    image: Path | None = None


@dataclass(frozen=True)
class Manifest:
    """Clips with a curriculum, plus what was set aside: no curriculum, duplicate keys."""

    tasks: list[ClipTask]
    no_curriculum: list[str]
    duplicates: list[str]


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or (
        pa.types.is_dictionary(t) and _is_text(t.value_type))


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_text_list(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t)) and (
        _is_text(t.value_type) or pa.types.is_null(t.value_type))


# column -> (test of its Arrow type, what it should be)
_TYPES = {"ytid": (_is_text, "text"), "start": (_is_number, "a number (seconds)"),
          "end": (_is_number, "a number (seconds)"), "labels": (_is_text_list, "a list of strings"),
          "sources": (_is_text_list, "a list of strings"), "n_sources": (_is_number, "an integer"),
          "curriculum": (_is_text, "text (c1, c2, ...)"), "path": (_is_text, "text (a file path)")}


def check_column_types(schema: pa.Schema, path: Path) -> None:
    """One clear error naming the first known column whose type is wrong (an all-null column passes)."""
    for name, (ok, want) in _TYPES.items():
        if name in schema.names:
            kind = schema.field(name).type
            if not pa.types.is_null(kind) and not ok(kind):
                raise AvcurrError(f"manifest {path}: column `{name}` has type {kind}, expected {want}")


def _media_index(media_dir: Path | None) -> dict[str, Path]:
    """`<stem> -> path` for every media file in `media_dir` (one listing, not one stat per clip)."""
    if media_dir is None:
        return {}
    if not Path(media_dir).is_dir():
        raise AvcurrError(f"media folder not found: {media_dir}")
    found: dict[str, Path] = {}
    for path in sorted(Path(media_dir).iterdir()):
        stem, _, ext = path.name.partition(".")
        if ext.lower() in MEDIA_EXTENSIONS and stem not in found:
            found[stem] = path
    return found


def _float(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _count(value) -> int | None:
    number = _float(value)
    if number is None:
        return None
    if number != int(number) or number < 0:
        raise AvcurrError(f"bad n_sources {value!r}: expected a whole number")
    return int(number)


def _task(row: dict, media: dict[str, Path], base: Path) -> ClipTask:
    if row["ytid"] is None or not str(row["ytid"]).strip():
        raise AvcurrError("no video id (ytid is empty)")
    start = _float(row["start"])
    if start is None or start < 0:
        raise AvcurrError(f"bad start {row['start']!r} for video id {row['ytid']!r}")
    key = clip_key(str(row["ytid"]), start)
    path = row.get("path")
    media_path = (base / str(path)) if path else media.get(key)
    curriculum = row.get("curriculum")
    extras = {k: v for k, v in row.items() if k not in KNOWN}
    return ClipTask(key=key, ytid=str(row["ytid"]), start=start, end=_float(row.get("end")),
                    curriculum=check_curriculum(curriculum) if curriculum else None,
                    n_sources=_count(row.get("n_sources")),
                    labels=tuple(row.get("labels") or ()), sources=tuple(row.get("sources") or ()),
                    media=media_path, extras=extras)


def read_manifest(path: Path, media_dir: Path | None = None) -> Manifest:
    """Clip tasks of a manifest. A `path` column (relative to the manifest's folder, or absolute)
    overrides the lookup of `<key>.<ext>` in `media_dir`."""
    path = Path(path)
    table = read_table(path, "manifest")
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise AvcurrError(f"manifest {path} lacks column(s) {', '.join(missing)}")
    check_column_types(table.schema, path)
    if media_dir is None and "path" not in table.column_names:
        raise AvcurrError(f"manifest {path} has no `path` column: give --media DIR")
    media = _media_index(media_dir)
    tasks, no_curriculum, duplicates, seen = [], [], [], {}
    for i, row in enumerate(table.to_pylist()):
        try:
            task = _task(row, media, path.parent)
        except AvcurrError as exc:
            raise AvcurrError(f"manifest {path} row {i}: {exc}") from None
        if task.key in seen:
            first, earlier = seen[task.key]
            if (earlier.curriculum, earlier.labels, earlier.media) != (task.curriculum, task.labels, task.media):
                raise AvcurrError(f"manifest {path} rows {first} and {i}: clip {task.key} twice, with other "
                                  "labels, curriculum or media; keep one of them")
            duplicates.append(task.key)  # the same row again: built once
            continue
        seen[task.key] = (i, task)
        if task.curriculum:
            tasks.append(task)
        else:
            no_curriculum.append(task.key)
    return Manifest(tasks=tasks, no_curriculum=no_curriculum, duplicates=duplicates)
