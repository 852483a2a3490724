"""MUSIC solo videos -> window manifests split as the paper: first video per instrument val, second test."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from avcurr.errors import AvcurrError
from avcurr.separation.music import music_solo_manifests
from avcurr.shards.manifest import read_manifest
from avcurr.sources.listing import write_manifest
from avcurr.sources.music import music_videos
from tests.shards_fixtures import make_clip


def test_windows_split_by_the_lists_order(tmp_path):
    videos = music_videos("solo")
    instrument = videos[0][1]
    same = [ytid for ytid, inst in videos if inst == instrument][:3]
    make_clip(tmp_path / "perf.mp4", seconds=21, video=True)
    rows = [{"key": f"{y}_0", "ytid": y, "instruments": instrument, "list": "solo", "start": 0.0, "end": None,
             "status": "ok", "path": "perf.mp4"} for y in reversed(same)]  # fetch order is not the split order
    rows.append({"key": "gone_0", "ytid": videos[-1][0], "instruments": videos[-1][1], "list": "solo",
                 "start": 0.0, "end": None, "status": "unavailable", "path": None})
    write_manifest(rows, tmp_path / "music_solo.parquet")
    made = music_solo_manifests(tmp_path, seconds=10)
    by_split = {s: pq.read_table(path).to_pylist() for s, (path, _, _) in made.items()}
    assert [r["ytid"] for r in by_split["val"]] == [same[0]] * 2       # 21 s: two whole windows
    assert [r["ytid"] for r in by_split["test"]] == [same[1]] * 2
    assert [r["ytid"] for r in by_split["train"]] == [same[2]] * 2
    assert [(r["start"], r["end"]) for r in by_split["test"]] == [(0.0, 10.0), (10.0, 20.0)]
    # build-shards reads them as they are: one c1 clip per window, keys <ytid>_<start ms>, the video's file.
    tasks = read_manifest(made["test"][0]).tasks
    assert [t.key for t in tasks] == [f"{same[1]}_0", f"{same[1]}_10000"]
    assert tasks[0].media == tmp_path / "perf.mp4" and tasks[0].curriculum == "c1"


def test_missing_fetch_manifest_is_one_clear_error(tmp_path):
    with pytest.raises(AvcurrError, match="avcurr fetch music --list solo"):
        music_solo_manifests(tmp_path)
