"""AudioSet: the bundled balanced/eval segment lists (or the official unbalanced list, or any
list in AudioSet's CSV layout) turned into segment-only fetch jobs."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.fetch import FetchConfig, FetchJob, FetchSummary, run_fetch
from avcurr.paths import bundled
from avcurr.segments import iter_segments
from avcurr.sources.remote import download_file

SPLITS = ("balanced", "eval", "unbalanced")
BUNDLED = {"balanced": "balanced_train_segments.csv", "eval": "eval_segments.csv"}
UNBALANCED_URL = ("http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/"
                  "unbalanced_train_segments.csv")


def audioset_list(split: str, segments: Path | None, out: Path) -> Path:
    """The segment CSV for `split`: `segments` if given, else the bundled list, else (unbalanced)
    the official CSV downloaded once into `out`."""
    if segments is not None:
        if not Path(segments).is_file():
            raise AvcurrError(f"segment list not found: {segments}")
        return Path(segments)
    if split in BUNDLED:
        return bundled("audioset", BUNDLED[split])
    if split != "unbalanced":
        raise AvcurrError(f"unknown AudioSet split {split!r}; choose one of {', '.join(SPLITS)}")
    try:
        return download_file(UNBALANCED_URL, Path(out) / "lists" / "unbalanced_train_segments.csv")
    except AvcurrError as exc:
        raise AvcurrError(f"{exc}; the unbalanced list is not bundled, pass it with --segments CSV") from None


def audioset_jobs(csv_path: Path, limit: int | None = None, dataset: str = "audioset") -> list[FetchJob]:
    """One job per segment row (ids validated by the reader), the first `limit` rows if given."""
    rows = islice(iter_segments(csv_path), limit) if limit else iter_segments(csv_path)
    return [FetchJob(s.ytid, s.start, s.end, dataset) for s in rows]


def download_audioset(split: str, config: FetchConfig, segments: Path | None = None,
                      limit: int | None = None, console=None) -> FetchSummary:
    """Fetch the segments of one AudioSet split into `config.out` (resumable; see `run_fetch`)."""
    csv_path = audioset_list(split, segments, config.out)
    return run_fetch(audioset_jobs(csv_path, limit, f"audioset-{split}"), config, console)
