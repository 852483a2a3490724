"""AVE (Audio-Visual Event localisation): bundled `Annotations.txt` and train/val/test splits.

Each row is an event `Category&VideoID&Quality&StartTime&EndTime` inside a 10-second clip; the
manifest keeps one row per event with its 10 per-second labels (the category for every second
`s` with start <= s < end, else "background"). AVE does not say where in the YouTube video its
10-second clip lies: `offsets="audioset"` looks each id up in AudioSet segment lists (AVE was
drawn from AudioSet; its ids are in the unbalanced list), `offsets="zero"` takes the first 10 s,
which is right when `--url-template` serves the released AVE clips themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.fetch import FetchConfig, FetchJob, FetchSummary, run_fetch
from avcurr.keys import clip_key, safe_name
from avcurr.paths import bundled
from avcurr.segments import iter_segments
from avcurr.sources.audioset import BUNDLED, audioset_list
from avcurr.sources.listing import fetch_status, write_manifest

CLIP_SECONDS = 10
SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
BACKGROUND = "background"


@dataclass(frozen=True)
class AveEvent:
    category: str
    ytid: str
    quality: str
    start: int
    end: int

    def second_labels(self) -> list[str]:
        return [self.category if self.start <= s < self.end else BACKGROUND for s in range(CLIP_SECONDS)]


def read_events(path: Path) -> list[AveEvent]:
    """Rows of an AVE list (header optional), each checked; errors name file and line."""
    events = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("Category&"):
            continue
        fields = line.split("&")
        where = f"{path}:{number}"
        if len(fields) != 5:
            raise AvcurrError(f"{where}: expected Category&VideoID&Quality&StartTime&EndTime, got {line!r}")
        try:
            start, end = int(fields[3]), int(fields[4])
        except ValueError:
            raise AvcurrError(f"{where}: start/end {fields[3]!r}/{fields[4]!r} are not whole seconds") from None
        if not 0 <= start <= end <= CLIP_SECONDS:
            raise AvcurrError(f"{where}: event {start}-{end} s is outside the 10-second clip")
        events.append(AveEvent(fields[0], safe_name(fields[1], f"video id at {where}"), fields[2], start, end))
    return events


def ave_events(split: str = "all") -> list[tuple[AveEvent, str]]:
    """(event, split) pairs from the bundled lists; `split` is all, train, val or test."""
    if split != "all" and split not in SPLIT_FILES:
        raise AvcurrError(f"unknown AVE split {split!r}; choose all, train, val or test")
    membership = {}
    for name, file in SPLIT_FILES.items():
        for event in read_events(bundled("ave", file)):
            membership.setdefault(event, name)
    events = read_events(bundled("ave", "Annotations.txt"))
    pairs = [(e, membership.get(e, "")) for e in events]
    return pairs if split == "all" else [(e, s) for e, s in pairs if s == split]


def ave_offsets(ytids: set[str], offsets: str, segments: Path | None, out: Path) -> dict[str, float]:
    """Start of each AVE clip inside its YouTube video, for the ids that can be placed."""
    if offsets == "zero":
        return {ytid: 0.0 for ytid in ytids}
    if offsets != "audioset":
        raise AvcurrError(f"--offsets must be 'audioset' or 'zero', got {offsets!r}")
    lists = [bundled("audioset", name) for name in BUNDLED.values()]
    lists.append(audioset_list("unbalanced", segments, out))
    found: dict[str, float] = {}
    for csv_path in lists:
        for seg in iter_segments(csv_path):
            if seg.ytid in ytids:
                found.setdefault(seg.ytid, seg.start)
    return found


def download_ave(config: FetchConfig, split: str = "all", offsets: str = "audioset",
                 segments: Path | None = None, limit: int | None = None,
                 console=None) -> tuple[FetchSummary, Path, int]:
    """Fetch the AVE clips that can be placed, then write `ave_<split>.parquet`.
    Returns (fetch summary, manifest path, number of events left without an offset)."""
    pairs = ave_events(split)
    ytids = list(dict.fromkeys(e.ytid for e, _ in pairs))[:limit] if limit else None
    if ytids is not None:
        keep = set(ytids)
        pairs = [(e, s) for e, s in pairs if e.ytid in keep]
    starts = ave_offsets({e.ytid for e, _ in pairs}, offsets, segments, config.out)
    jobs = [FetchJob(e.ytid, starts[e.ytid], starts[e.ytid] + CLIP_SECONDS, "ave")
            for e, _ in pairs if e.ytid in starts]
    summary = run_fetch(jobs, config, console)
    manifest = prepare_ave(pairs, starts, config.out, split)
    return summary, manifest, sum(1 for e, _ in pairs if e.ytid not in starts)


def prepare_ave(pairs: list[tuple[AveEvent, str]], starts: dict[str, float], out: Path, split: str) -> Path:
    """One row per event: key, ytid, split, category, event start/end, 10 per-second labels,
    clip offset in the video, and the clip's fetch status and path."""
    status = fetch_status(out)
    rows = []
    for event, event_split in pairs:
        key = clip_key(event.ytid, starts[event.ytid]) if event.ytid in starts else None
        fetched = status.get(key, {}) if key else {}
        rows.append({"key": key, "ytid": event.ytid, "split": event_split, "category": event.category,
                     "event_start": event.start, "event_end": event.end, "labels": event.second_labels(),
                     "offset": starts.get(event.ytid), "status": fetched.get("status"),
                     "path": fetched.get("path") or None})
    return write_manifest(rows, Path(out) / f"ave_{split}.parquet")
