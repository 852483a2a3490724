"""Generated media and built shard roots shared by the shard and loader tests.

Clips are made with ffmpeg's lavfi sources (small: 128x128, 4 fps). Each thing is built once per
test session: under pytest-xdist the workers share it through a folder guarded by a file lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.writer import ShardLimits

def shared_base(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session sees (the session's basetemp without xdist)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shards-shared"
    shared.mkdir(parents=True, exist_ok=True)
    return shared


@contextmanager
def _once(folder: Path):
    """Yield True to the one process that must build `folder`; the others wait, then get False."""
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder.parent / f".{folder.name}.done"
        yield not done.exists()
        done.touch()


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_clip(path: Path, seconds: float = 10.0, freq: int = 440, video: bool = True,
              audio: bool = True, silent: bool = False) -> Path:
    """An H.264/AAC clip (or audio-only .m4a / video-only .mp4) from lavfi test sources."""
    args: list[str] = []
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size=128x128:rate=4:duration={seconds}"]
    if audio:
        source = "anullsrc=r=22050:cl=mono" if silent else f"sine=frequency={freq}:sample_rate=22050"
        args += ["-f", "lavfi", "-i", f"{source},atrim=duration={seconds}"]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    ffmpeg(*args, "-t", str(seconds), str(path))
    return path


def write_manifest(path: Path, rows: list[dict]) -> Path:
    """A manifest with build-curricula's columns (plus any extra ones given in `rows`)."""
    base = {"end": None, "labels": ["/m/x"], "sources": ["/m/x"], "source_names": ["X"],
            "n_sources": 1, "curriculum": "c1"}
    full = [{**base, **row} for row in rows]
    if any(r["end"] is None for r in full):
        for r in full:
            r["end"] = r["end"] if r["end"] is not None else r["start"] + 10.0
    table = pa.Table.from_pylist(full)
    table = table.set_column(table.schema.get_field_index("n_sources"), "n_sources",
                             table["n_sources"].cast(pa.int32()))
    pq.write_table(table, path)
    return path


# Eight good clips in c1/c2, one short (4 s) and the failure cases; ids are 11 characters.
GOOD = [(f"good{i:06d}{'A'}", "c1" if i < 5 else "c2", 1 if i < 5 else 2) for i in range(8)]
GOOD[0] = ("-startsDash", "c1", 1)  # YouTube ids may begin with '-'
SHORT_ID, SILENT_ID, NOAUDIO_ID = "shortclip01", "silentclip1", "noaudioclip"
NOVIDEO_ID, CORRUPT_ID, MISSING_ID, NOCURR_ID = "novideoclip", "corruptclip", "missingclip", "nocurricul1"


def lavfi_media(base: Path) -> tuple[Path, Path]:
    """(media folder, manifest) of the standard lavfi clip set under `base` (built once)."""
    media, manifest = base / "media", base / "manifest.parquet"
    base.mkdir(parents=True, exist_ok=True)
    with _once(media) as build:
        if build:
            _make_lavfi_media(media, manifest)
    return media, manifest


def _make_lavfi_media(media: Path, manifest: Path) -> None:
    media.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (ytid, curriculum, n) in enumerate(GOOD):
        make_clip(media / f"{ytid}_0.mp4", freq=300 + 50 * i)
        rows.append({"ytid": ytid, "start": 0.0, "curriculum": curriculum, "n_sources": n})
    make_clip(media / f"{SHORT_ID}_0.mp4", seconds=4.0)
    make_clip(media / f"{SILENT_ID}_0.mp4", silent=True)
    make_clip(media / f"{NOAUDIO_ID}_0.mp4", audio=False)
    make_clip(media / f"{NOVIDEO_ID}_0.m4a", video=False)
    (media / f"{CORRUPT_ID}_0.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    rows += [{"ytid": y, "start": 0.0, "curriculum": "c1"} for y in
             (SHORT_ID, SILENT_ID, NOAUDIO_ID, NOVIDEO_ID, CORRUPT_ID, MISSING_ID)]
    make_clip(media / f"{NOCURR_ID}_0.mp4", seconds=2.0)
    rows.append({"ytid": NOCURR_ID, "start": 0.0, "curriculum": None, "n_sources": 0})
    write_manifest(manifest, rows)


def built_root(tmp_path_factory, with_spec: bool = True) -> tuple[Path, dict]:
    """(shard root, summary dict) of the lavfi set, 3 samples per shard, built once per session.

    The summary dict has the run's `statuses`, `samples` per curriculum and `no_curriculum`.
    """
    base = shared_base(tmp_path_factory)
    media, manifest = lavfi_media(base / "lavfi")
    out = base / f"built-{with_spec}"
    with _once(out) as build:
        if build:
            summary = build_shards(BuildConfig(manifest=manifest, media=media, out=out, dataset="lav",
                                               split="train", workers=2, with_spec=with_spec,
                                               limits=ShardLimits(max_samples=3)))
            (out / "summary.json").write_text(json.dumps({
                "statuses": summary.statuses, "samples": summary.samples,
                "no_curriculum": summary.no_curriculum}))
    return out, json.loads((out / "summary.json").read_text())


def slow_clip(tmp_path_factory) -> Path:
    """A 640x360 25 fps clip of one 10 s GOP, built once per session: each decode of it takes a
    while (long enough to kill the process decoding it)."""
    base = shared_base(tmp_path_factory) / "slow"
    base.mkdir(parents=True, exist_ok=True)
    clip = base / "gop10s.mp4"
    with _once(clip) as first:
        if first:
            ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=10", "-f", "lavfi", "-i",
                   "sine=frequency=500:sample_rate=44100:duration=10", "-c:v", "libx264", "-g", "250",
                   "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip))
    return clip
