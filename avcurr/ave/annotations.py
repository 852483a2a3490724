"""AVE annotations turned into rows and labels: which video, which class per segment, which split.

An annotation file holds `Category&VideoID&Quality&StartTime&EndTime` rows (avcurr.sources.ave reads
them); the splits are the official `trainSet.txt`, `valSet.txt`, `testSet.txt` beside it; the class
order is `categories.txt` beside it, else the bundled AVE list (28 events), background last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avcurr.errors import AvcurrError
from avcurr.keys import safe_name
from avcurr.paths import bundled
from avcurr.sources.ave import SPLIT_FILES, AveEvent, read_events


@dataclass(frozen=True)
class AveRow:
    """One annotated event: its row in the feature files follows the annotation file's order."""

    event: AveEvent
    split: str            # train, val, test, or "" when no split list names it


def read_category_list(path: Path) -> list[str]:
    names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise AvcurrError(f"{path} lists no categories")
    if len(set(names)) != len(names):
        raise AvcurrError(f"{path} lists a category twice")
    return names


def default_categories(annotations: Path) -> Path:
    """categories.txt beside the annotations, else the bundled AVE list."""
    beside = Path(annotations).parent / "categories.txt"
    return beside if beside.is_file() else bundled("ave", "categories.txt")


def _check_categories(path: Path, events: list[AveEvent], names: list[str]) -> None:
    known = set(names)
    for event in events:
        if event.category not in known:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            number = next((i for i, line in enumerate(lines, 1) if line.startswith(event.category + "&")), "?")
            raise AvcurrError(f"{path}:{number}: unknown category {event.category!r} (the categories are "
                              f"{len(names)} names such as {names[0]!r}; pass --categories)")


def read_rows(annotations: Path, categories: list[str]) -> list[AveRow]:
    """Every annotated event with its split; an unknown category is one line naming file and line."""
    annotations = Path(annotations)
    if not annotations.is_file():
        raise AvcurrError(f"annotation file not found: {annotations}")
    events = read_events(annotations)
    if not events:
        raise AvcurrError(f"{annotations} holds no annotation rows")
    _check_categories(annotations, events, categories)
    membership: dict[AveEvent, str] = {}
    found = False
    for split, name in SPLIT_FILES.items():
        path = annotations.parent / name
        if path.is_file():
            found = True
            for event in read_events(path):
                membership.setdefault(event, split)
    if not found:
        raise AvcurrError(f"no {', '.join(SPLIT_FILES.values())} beside {annotations}: the splits are needed")
    return [AveRow(e, membership.get(e, "")) for e in events]


def segment_labels(event: AveEvent, categories: list[str], segments: int) -> np.ndarray:
    """T x C one-hot: the event's class for every second start <= s < end, background otherwise."""
    classes = len(categories) + 1
    labels = np.zeros((segments, classes), np.float32)
    cls = categories.index(event.category)
    for s in range(segments):
        labels[s, cls if event.start <= s < event.end else classes - 1] = 1
    return labels


def background_labels(classes: int) -> np.ndarray:
    """A background-only video's video-level label (C, one-hot on the last class)."""
    label = np.zeros(classes, np.float32)
    label[-1] = 1
    return label


VIDEO_LABELS = ("event", "present")


def video_targets(labels: np.ndarray, kind: str = "event") -> np.ndarray:
    """Video-level targets (... x C) from segment labels (... x T x C).

    "event" (AVE-ECCV18's weak setting): the event categories the video holds (spread evenly if
    several); background only for a video without any event segment (the background-only videos
    that setting adds). "present": every class with at least one segment, background included,
    spread evenly (a video label that also says "some of it is background", not where).
    """
    if kind not in VIDEO_LABELS:
        raise AvcurrError(f"unknown video label {kind!r}; choose event or present")
    present = labels.max(-2)
    if kind == "present":
        return present / np.maximum(present.sum(-1, keepdims=True), 1)
    events = present[..., :-1]
    has_event = events.sum(-1, keepdims=True) > 0
    background = np.zeros_like(present)
    background[..., -1] = 1
    spread = events / np.maximum(events.sum(-1, keepdims=True), 1)
    return np.where(has_event, np.concatenate([spread, np.zeros_like(present[..., -1:])], -1), background)


def read_video_ids(path: Path) -> list[str]:
    """Background-only video ids: one per line, or AVE rows (the id is the second field)."""
    ids = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("Category&"):
            continue
        fields = line.split("&")
        ids.append(safe_name(fields[1] if len(fields) > 1 else fields[0], f"video id at {path}:{number}"))
    return ids
