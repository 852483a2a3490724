"""MIT MUSIC (Sound of Pixels): bundled solo/duet/MUSIC21 id lists.

MUSIC gives no segment times: each entry is a whole performance video (typically 1-5 minutes).
By default we fetch the whole video (key `<ytid>_0`), as the paper samples its training clips
from anywhere in it; `window=(start, seconds)` fetches one window instead (key `<ytid>_<start ms>`).
"""

from __future__ import annotations

import json
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.fetch import FetchConfig, FetchJob, FetchSummary, run_fetch
from avcurr.keys import safe_name
from avcurr.paths import bundled
from avcurr.sources.listing import fetch_status, write_manifest

LISTS = {"solo": "MUSIC_solo_videos.json", "duet": "MUSIC_duet_videos.json",
         "music21": "MUSIC21_solo_videos.json"}


def music_videos(list_name: str) -> list[tuple[str, list[str]]]:
    """(ytid, instruments) pairs of a bundled list, in file order; duet classes hold two names."""
    if list_name not in LISTS:
        raise AvcurrError(f"unknown MUSIC list {list_name!r}; choose one of {', '.join(LISTS)}")
    path = bundled("music", LISTS[list_name])
    videos = json.loads(path.read_text(encoding="utf-8")).get("videos")
    if not isinstance(videos, dict):
        raise AvcurrError(f"{path}: expected {{'videos': {{class: [ids]}}}}")
    return [(safe_name(ytid, f"video id in {path.name}"), cls.split())
            for cls, ids in videos.items() for ytid in ids]


def music_jobs(list_name: str, window: tuple[float, float] | None = None,
               limit: int | None = None) -> list[FetchJob]:
    start, end = (0.0, None) if window is None else (window[0], window[0] + window[1])
    videos = music_videos(list_name)[:limit] if limit else music_videos(list_name)
    return [FetchJob(ytid, start, end, f"music-{list_name}") for ytid, _ in videos]


def download_music(list_name: str, config: FetchConfig, window: tuple[float, float] | None = None,
                   limit: int | None = None, console=None) -> FetchSummary:
    """Fetch one MUSIC list into `config.out`, then write `music_<list>.parquet` beside it."""
    jobs = music_jobs(list_name, window, limit)
    summary = run_fetch(jobs, config, console)
    prepare_music(list_name, config.out, jobs)
    return summary


def prepare_music(list_name: str, out: Path, jobs: list[FetchJob]) -> Path:
    """Manifest: key, ytid, instruments, and the clip's fetch status/path."""
    status = fetch_status(out)
    instruments = dict(music_videos(list_name))
    rows = [{"key": j.key, "ytid": j.ytid, "instruments": instruments[j.ytid], "list": list_name,
             "start": j.start, "end": j.end, "status": status.get(j.key, {}).get("status"),
             "path": status.get(j.key, {}).get("path") or None} for j in jobs]
    return write_manifest(rows, Path(out) / f"music_{list_name}.parquet")
