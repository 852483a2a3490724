"""MIT MUSIC solo videos as separation data: 10-second windows, split as the paper does.

`avcurr fetch music --list solo` fetches whole performances and writes `music_solo.parquet`. Here
each fetched video is cut into consecutive whole windows of `seconds` and its windows go to one
split: per instrument, in the bundled list's order, the first video to `val`, the second to
`test`, the rest to `train` (the paper, after Co-Separation; the order is the list's, so the split
does not depend on which videos could be fetched). Each split becomes a build-shards manifest
(`music_solo_<split>.parquet` beside the fetch manifest, curriculum c1: one instrument each).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path


from avcurr.errors import AvcurrError
from avcurr.parquet_io import read_table
from avcurr.sources.listing import write_manifest
from avcurr.sources.music import music_videos

SPLITS = ("train", "val", "test")


def split_of_videos() -> dict[str, str]:
    """ytid -> split for every video of the bundled solo list."""
    seen: Counter = Counter()
    out = {}
    for ytid, instruments in music_videos("solo"):
        instrument = " ".join(instruments)
        rank = seen[instrument]
        seen[instrument] += 1
        out[ytid] = "val" if rank == 0 else "test" if rank == 1 else "train"
    return out


def music_solo_manifests(music: Path, seconds: float = 10.0, probe_duration=None) -> dict[str, tuple[Path, int, int]]:
    """Write the three window manifests from `<music>/music_solo.parquet`; returns
    {split: (manifest, videos, windows)}. `probe_duration(path) -> seconds` defaults to ffprobe."""
    from avcurr.media.ffmpeg import MediaError, probe

    music = Path(music)
    source = music / "music_solo.parquet"
    if not source.is_file():
        raise AvcurrError(f"{source} not found: run `avcurr fetch music --list solo --out {music}` first")
    if seconds <= 0:
        raise AvcurrError(f"--seconds must be positive, got {seconds}")
    duration_of = probe_duration or (lambda path: probe(path).duration)
    splits = split_of_videos()
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    videos: Counter = Counter()
    for video in read_table(source, "the fetch status").to_pylist():
        if video.get("status") != "ok" or not video.get("path") or video["ytid"] not in splits:
            continue
        try:
            duration = duration_of(music / video["path"]) or 0.0
        except MediaError:
            continue
        split = splits[video["ytid"]]
        instrument = " ".join(video.get("instruments") or [])
        windows = int(duration // seconds)
        videos[split] += windows > 0
        rows[split] += [{"ytid": video["ytid"], "start": w * seconds, "end": (w + 1) * seconds,
                         "labels": [instrument], "sources": [instrument], "n_sources": 1, "curriculum": "c1",
                         "path": video["path"], "instrument": instrument} for w in range(windows)]
    if not any(rows.values()):
        raise AvcurrError(f"{source} lists no fetched solo video of at least {seconds:g} s")
    return {split: (write_manifest(rows[split], music / f"music_solo_{split}.parquet"), videos[split], len(rows[split]))
            for split in SPLITS}
