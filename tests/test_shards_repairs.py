"""Reruns that must lose nothing and say what they did; exit codes; bad manifests; disk full; verify
finding silent corruption (issue 9)."""

from __future__ import annotations

import errno
import io
import json
import shutil
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.verify import _check_member, verify
from avcurr.shards.writer import HashingFile, ShardLimits
from shards_fixtures import (CORRUPT_ID, GOOD, SHORT_ID, SILENT_ID, built_root, lavfi_media, shared_base,
                             write_manifest)

runner = CliRunner()
KEPT = {f"{y}_0" for y, _, _ in GOOD} | {f"{SHORT_ID}_0"}


@pytest.fixture
def copy(tmp_path, tmp_path_factory):
    """A private copy of the session's built lavfi root (3 samples per shard, c1 and c2)."""
    out = tmp_path / "copy"
    shutil.copytree(built_root(tmp_path_factory)[0], out)
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    return out, media, manifest


def _build_args(manifest, media, out, *extra):
    return ["build-shards", "--manifest", str(manifest), "--media", str(media), "--out", str(out), "--dataset", "lav",
            "--split", "train", "--workers", "1", "--max-samples", "3", "--no-progress", *extra]


def _keys_by_curriculum(out: Path) -> dict[str, Counter]:
    found: dict[str, Counter] = {}
    for tar in out.glob("lav/train/c*/*.tar"):
        with tarfile.open(tar) as handle:
            keys = [n.partition(".")[0] for n in handle.getnames() if n.endswith(".json")]
        found.setdefault(tar.parent.name, Counter()).update(keys)
    return found


def test_missing_stats_and_wrong_media_lose_nothing(copy, tmp_path):
    out, media, manifest = copy
    tars = sorted(p.name for p in out.glob("lav/train/c*/*.tar"))
    (out / "lav/train/c1/_stats/lav-train-c1-000000.stats.json").unlink()
    empty = tmp_path / "wrong-media"
    empty.mkdir()
    result = runner.invoke(app, _build_args(manifest, empty, out))
    assert result.exit_code == 2 and "has a media file" in result.output and "nothing was changed" in result.output
    assert sorted(p.name for p in out.glob("lav/train/c*/*.tar")) == tars   # not one shard removed
    # with the right media: the complete tar is recovered (stats written again), not rebuilt
    result = runner.invoke(app, _build_args(manifest, media, out))
    assert "recovered (stats written again) (1): lav-train-c1-000000.tar" in result.output, result.output
    assert (out / "lav/train/c1/_stats/lav-train-c1-000000.stats.json").is_file()
    assert sorted(p.name for p in out.glob("lav/train/c*/*.tar")) == tars
    assert verify(out).ok


def _strip_member(tar: Path, key: str, ext: str) -> None:
    """Rewrite `tar` without one member: a damaged, unfinished shard."""
    with tarfile.open(tar) as handle:
        members = [(m, handle.extractfile(m).read()) for m in handle.getmembers() if m.name != f"{key}.{ext}"]
    with tarfile.open(tar, "w") as handle:
        for info, data in members:
            handle.addfile(info, io.BytesIO(data))


def test_unfinished_tar_is_removed_only_once_its_clips_are_rebuilt(copy, tmp_path):
    out, media, manifest = copy
    tar = out / "lav/train/c2/lav-train-c2-000000.tar"
    with tarfile.open(tar) as handle:
        keys = sorted({n.partition(".")[0] for n in handle.getnames()})
    (out / "lav/train/c2/_stats/lav-train-c2-000000.stats.json").unlink()
    _strip_member(tar, keys[0], "f1.jpg")           # not complete: cannot be recovered
    partial_media = tmp_path / "media"
    partial_media.mkdir()
    for path in media.iterdir():
        if not path.name.startswith(keys[1]):       # one of its clips cannot be rebuilt
            (partial_media / path.name).symlink_to(path)
    first = build_shards(BuildConfig(manifest=manifest, media=partial_media, out=out, dataset="lav", split="train",
                                     workers=1, limits=ShardLimits(max_samples=3)))
    assert first.kept_unfinished == (tar.name,) and tar.is_file()
    second = build_shards(BuildConfig(manifest=manifest, media=media, out=out, dataset="lav", split="train",
                                      workers=1, limits=ShardLimits(max_samples=3)))
    assert tar.name in second.removed and not tar.exists() and not second.kept_unfinished
    found = _keys_by_curriculum(out)
    assert set(found["c2"]) >= set(keys) and max(sum(found.values(), Counter()).values()) == 1
    assert verify(out).ok


def test_regraded_clips_move_and_every_key_is_in_one_curriculum(copy, tmp_path):
    out, media, manifest = copy
    rows = pq.read_table(manifest).to_pylist()
    to_c1, ungraded = f"{GOOD[6][0]}", f"{GOOD[1][0]}"   # a c2 clip now has 1 source; a c1 clip none
    for row in rows:
        if row["ytid"] == to_c1:
            row.update(curriculum="c1", n_sources=1)
        if row["ytid"] == ungraded:
            row.update(curriculum=None, n_sources=0)
    regraded = tmp_path / "regraded.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(manifest)), regraded)
    result = runner.invoke(app, _build_args(regraded, media, out, "--curricula", "c1"))
    assert result.exit_code == 0, result.output
    assert f"{to_c1}_0 c2->c1" in result.output and f"{ungraded}_0 c1->none" in result.output
    found = _keys_by_curriculum(out)
    assert found["c1"][f"{to_c1}_0"] == 1 and f"{to_c1}_0" not in found["c2"]
    assert all(f"{ungraded}_0" not in keys for keys in found.values())
    assert max(sum(found.values(), Counter()).values()) == 1
    index = {r["key"]: r["curriculum"] for r in pq.read_table(out / "lav/train/index.parquet").to_pylist()}
    assert index[f"{to_c1}_0"] == "c1" and f"{ungraded}_0" not in index
    for tar in out.glob("lav/train/c1/*.tar"):
        with tarfile.open(tar) as handle:
            if f"{to_c1}_0.json" in handle.getnames():
                meta = json.loads(handle.extractfile(f"{to_c1}_0.json").read())
                assert meta["curriculum"] == "c1" and meta["n_sources"] == 1
    report = verify(out)
    assert report.ok, report.problems
    again = build_shards(BuildConfig(manifest=regraded, media=media, out=out, dataset="lav", split="train", workers=1,
                                     limits=ShardLimits(max_samples=3)))
    assert not again.moves and again.samples == {}   # settled: a rerun changes nothing


def test_nothing_succeeded_and_bad_selections_exit_nonzero(tmp_path, tmp_path_factory):
    media, _ = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    manifest = write_manifest(tmp_path / "bad.parquet", [{"ytid": CORRUPT_ID, "start": 0.0},
                                                         {"ytid": SILENT_ID, "start": 0.0}])
    result = runner.invoke(app, _build_args(manifest, media, tmp_path / "out"))
    assert result.exit_code == 1 and "nothing succeeded: all 2 clips failed" in result.output
    assert "2 of 2 clips failed (1 corrupt, 1 silent)" in result.output
    result = runner.invoke(app, _build_args(manifest, media, tmp_path / "out", "--curricula", "banana"))
    assert result.exit_code == 2 and "bad curriculum 'banana'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, _build_args(manifest, media, tmp_path / "out", "--curricula", "c3"))
    assert result.exit_code == 2 and "no clip of the manifest is in c3 (its curricula: c1)" in result.output
    (tmp_path / "empty/lav/train/c1").mkdir(parents=True)
    result = runner.invoke(app, ["verify", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "no finished shard" in result.output


def _flip_inside(tar: Path, member: str, at: float = 0.5) -> None:
    """Flip one byte in the middle of a member's data (headers and sizes stay valid)."""
    with tarfile.open(tar) as handle:
        info = handle.getmember(member)
    data = bytearray(tar.read_bytes())
    data[info.offset_data + int(info.size * at)] ^= 0x01
    tar.write_bytes(bytes(data))


def test_verify_finds_a_flipped_byte_and_names_the_sample(copy):
    out, _, _ = copy
    tar = out / "lav/train/c2/lav-train-c2-000000.tar"
    with tarfile.open(tar) as handle:
        key = handle.getnames()[0].partition(".")[0]
    _flip_inside(tar, f"{key}.json", at=0.0)   # `{` -> `z`... any byte: JSON may still parse or not
    _flip_inside(tar, f"{key}.f1.jpg", at=0.7)  # a JPEG with one flipped byte still decodes
    problems = " ".join(verify(out).problems)
    assert "SHA-256 of the tar" in problems and f"{key}: content differs" in problems


def test_verify_decodes_the_whole_flac(copy):
    """A damaged block near the end of a FLAC: its header reads fine, only a full decode finds it."""
    out, _, _ = copy
    with tarfile.open(next(out.glob("lav/train/c1/*.tar"))) as handle:
        name = next(n for n in handle.getnames() if n.endswith(".flac"))
        raw = bytearray(handle.extractfile(name).read())
    assert _check_member("flac", bytes(raw)) is None
    raw[int(len(raw) * 0.9):int(len(raw) * 0.9) + 400] = bytes(400)
    assert sf.info(io.BytesIO(bytes(raw))).frames == 110336  # the header alone looks whole
    assert _check_member("flac", bytes(raw)) is not None


@pytest.mark.parametrize("column, values, words", [
    ("start", ["0", "0"], "column `start` has type string, expected a number"),
    ("labels", ["/m/x", "/m/y"], "column `labels` has type string, expected a list of strings")])
def test_manifest_column_types_are_checked(tmp_path, column, values, words):
    rows = [{"ytid": f"clip{i:07d}", "start": 0.0, "curriculum": "c1", "labels": ["/m/x"]} for i in range(2)]
    for row, value in zip(rows, values):
        row[column] = value
    path = tmp_path / "m.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    result = runner.invoke(app, ["build-shards", "--manifest", str(path), "--media", str(tmp_path), "--out",
                                 str(tmp_path / "o"), "--dataset", "d", "--split", "s"])
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_disk_full_is_one_line_and_keeps_finished_shards(tmp_path, tmp_path_factory, monkeypatch):
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    out = tmp_path / "out"
    real_write, calls = HashingFile.write, Counter()

    def write(self, data):
        if any(out.glob("lav/train/c*/_stats/*.stats.json")):  # a shard is finished: the disk fills up 10 writes on
            calls["n"] += 1
            if calls["n"] >= 10:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(HashingFile, "write", write)
    config = BuildConfig(manifest=manifest, media=media, out=out, dataset="lav", split="train", workers=1,
                         limits=ShardLimits(max_samples=2))
    with pytest.raises(AvcurrError, match="No space left on device; the 1 shard.s. finished") as caught:
        build_shards(config)
    assert "\n" not in str(caught.value)
    finished = list(out.glob("lav/train/c*/_stats/*.stats.json"))
    assert len(finished) == 1 and not [p for p in out.rglob("*") if p.name.endswith((".partial", ".part"))]
    monkeypatch.setattr(HashingFile, "write", real_write)
    build_shards(config)
    found = sum(_keys_by_curriculum(out).values(), Counter())
    assert found == Counter({k: 1 for k in KEPT}) and verify(out).ok


def test_build_config_takes_str_paths(tmp_path, tmp_path_factory):
    media, manifest = lavfi_media(shared_base(tmp_path_factory) / "lavfi")
    config = BuildConfig(manifest=str(manifest), media=str(media), out=str(tmp_path / "o"), dataset="lav",
                         split="train", workers=1, curricula=["c2"])
    assert isinstance(config.out, Path) and isinstance(config.media, Path) and config.curricula == ("c2",)
    assert build_shards(config).samples == {"c2": 3}
    with pytest.raises(AvcurrError, match="either a manifest or a folder of pairs"):
        BuildConfig(out=str(tmp_path), dataset="d", split="s")


def test_a_root_of_the_first_layout_is_read_and_moved_on_the_next_build(copy):
    """Stats beside the tars (the first layout) are still read, and the next build moves them into
    `_stats/` without rebuilding a clip, so the curriculum folder then holds only tars and `_` files."""
    from avcurr.data import LoaderConfig, count_samples

    out, media, manifest = copy
    for stats in out.glob("lav/train/c*/_stats/*.stats.json"):
        stats.rename(stats.parent.parent / stats.name)
    for index in out.glob("lav/train/c*/_shards.json"):
        index.unlink()
    before = {p: p.read_bytes() for p in out.glob("lav/train/c*/*.tar")}
    assert count_samples(LoaderConfig(root=out, dataset="lav", split="train", curricula=("c1", "c2"))) == len(KEPT)
    assert verify(out).ok
    result = runner.invoke(app, _build_args(manifest, media, out))
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in out.glob("lav/train/c*/*.tar")} == before   # nothing rebuilt
    for folder in out.glob("lav/train/c*"):
        assert all(p.suffix == ".tar" or p.name.startswith(("_", ".")) for p in folder.iterdir()), \
            sorted(p.name for p in folder.iterdir())
    assert len(list(out.glob("lav/train/c*/_stats/*.stats.json"))) == len(before)
    assert verify(out).ok


def _manifest(tmp_path, rows) -> Path:
    path = tmp_path / "m.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_a_clip_twice_with_other_labels_is_refused_and_a_missing_ytid_named(tmp_path):
    row = {"ytid": "clip0000000", "start": 0.0, "curriculum": "c1", "labels": ["/m/x"]}
    cases = [([row, {**row, "curriculum": "c2", "labels": ["/m/x", "/m/y"]}], "rows 0 and 1: clip clip0000000_0 twice"),
             ([row, {**row, "ytid": None}], "row 1: no video id")]
    for rows, words in cases:
        result = runner.invoke(app, ["build-shards", "--manifest", str(_manifest(tmp_path, rows)), "--media",
                                     str(tmp_path), "--out", str(tmp_path / "o"), "--dataset", "d", "--split", "s"])
        assert result.exit_code == 2 and words in result.output, result.output
        assert not (tmp_path / "o").exists()


def test_verify_reports_unreadable_side_files_as_problems(copy):
    out, _, _ = copy
    (out / "lav/train/index.parquet").write_bytes(b"not parquet")
    stats = next(out.glob("lav/train/c1/_stats/*.stats.json"))
    stats.write_text("[]")
    report = verify(out)
    problems = " ".join(report.problems)
    assert not report.ok and "cannot read the index" in problems and "are not a shard's stats" in problems
    assert report.shards["lav/train"] >= 2  # it went on past the bad ones


def test_the_job_array_plan_survives_a_publishing_run_that_cannot_start(copy, tmp_path):
    out, media, manifest = copy
    assert runner.invoke(app, _build_args(manifest, media, tmp_path / "sliced", "--slice", "0/2")).exit_code == 0
    plan = next((tmp_path / "sliced/lav/train").glob("_*plan*"))
    empty = tmp_path / "empty-media"
    empty.mkdir()
    result = runner.invoke(app, _build_args(manifest, empty, tmp_path / "sliced"))
    assert result.exit_code == 2 and plan.is_file()
