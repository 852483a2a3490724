"""Reader for AudioSet segment CSVs (`YTID, start_seconds, end_seconds, "label,label"`).

The official files start with `#` comment lines, quote the label list, put a space after each
comma, and have YouTube ids that may begin with `-`. Every row is checked; a bad one is an
error naming file, line and value, never a silent drop. A UTF-8 byte-order mark (spreadsheets on
Windows write one) is accepted. `unique_segments` finds rows that name the same clip twice.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Container, Iterator

from avcurr.errors import AvcurrError
from avcurr.keys import clip_key

YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")


@dataclass(frozen=True)
class Segment:
    ytid: str
    start: float
    end: float
    labels: tuple[str, ...]
    line: int


def _seconds(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AvcurrError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise AvcurrError(f"{where}: {what} {text!r} is not a non-negative time in seconds")
    return value


def _looks_like_data(fields: list[str]) -> bool:
    """A `#` line with numeric times is a data row whose id a spreadsheet mangled (`#NAME?`)."""
    try:
        float(fields[1]), float(fields[2])
    except (IndexError, ValueError):
        return False
    return True


def _parse_row(fields: list[str], path: Path, line: int, known_labels: Container[str] | None) -> Segment:
    where = f"{path}:{line}"
    if len(fields) != 4:
        raise AvcurrError(f"{where}: expected 4 fields (YTID, start, end, labels), got {len(fields)}: "
                          f"{','.join(fields)[:120]!r}")
    ytid, start_text, end_text, label_text = (f.strip() for f in fields)
    if not YOUTUBE_ID.match(ytid):
        raise AvcurrError(f"{where}: {ytid!r} is not a YouTube id (11 characters of A-Z a-z 0-9 _ -)")
    start = _seconds(start_text, "start", where)
    end = _seconds(end_text, "end", where)
    if end <= start:
        raise AvcurrError(f"{where}: end {end_text} is not after start {start_text}")
    labels = tuple(l.strip() for l in label_text.split(","))
    if not label_text or any(not l for l in labels):
        raise AvcurrError(f"{where}: empty label in {label_text!r}")
    if known_labels is not None:
        for label in labels:
            if label not in known_labels:
                raise AvcurrError(f"{where}: unknown label id {label!r} (not in the ontology)")
    return Segment(ytid, start, end, labels, line)


def iter_segments(path: Path, known_labels: Container[str] | None = None) -> Iterator[Segment]:
    """Yield the segments of one CSV, checking every row (and every label, if `known_labels`)."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # -sig: a leading BOM is not data
    except FileNotFoundError:
        raise AvcurrError(f"segment list not found: {path}") from None
    except IsADirectoryError:
        raise AvcurrError(f"segment list is a folder, not a CSV file: {path}") from None
    with handle:
        reader = csv.reader(handle, skipinitialspace=True, strict=True)
        try:
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if fields[0].lstrip().startswith("#") and not _looks_like_data(fields):
                    continue
                yield _parse_row(fields, path, reader.line_num, known_labels)
        except csv.Error as exc:
            raise AvcurrError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise AvcurrError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_segments(path: Path, known_labels: Container[str] | None = None) -> list[Segment]:
    """All segments of one CSV; an error if it holds none."""
    segments = list(iter_segments(path, known_labels))
    if not segments:
        raise AvcurrError(f"{path}: no segments (the file is empty or holds only '#' comment lines)")
    return segments


@dataclass(frozen=True)
class Duplicate:
    """A row naming the same clip (`<ytid>_<start ms>`) as an earlier row, with the same labels."""

    key: str
    first_line: int
    line: int


def unique_segments(segments: list[Segment], path: Path) -> tuple[list[Segment], list[Duplicate]]:
    """The segments with each clip once, and the repeated rows that were dropped.

    A clip listed twice with the same labels is kept once (the repeat is returned, so that callers
    can say so). Listed twice with different labels, it cannot be graded: an error naming both
    lines, for every such clip (the first ten).
    """
    first: dict[str, Segment] = {}
    kept: list[Segment] = []
    repeats: list[Duplicate] = []
    conflicts: list[str] = []
    for seg in segments:
        key = clip_key(seg.ytid, seg.start)
        earlier = first.get(key)
        if earlier is None:
            first[key] = seg
            kept.append(seg)
        elif set(earlier.labels) == set(seg.labels):
            repeats.append(Duplicate(key, earlier.line, seg.line))
        else:
            conflicts.append(f"{key} on lines {earlier.line} ({','.join(earlier.labels)}) and {seg.line} "
                             f"({','.join(seg.labels)})")
    if conflicts:
        more = f"; {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
        raise AvcurrError(f"{path}: {len(conflicts)} clip(s) listed twice with different labels: "
                          + "; ".join(conflicts[:10]) + more)
    return kept, repeats
