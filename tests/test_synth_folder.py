"""The synth output folder: `--overwrite` replaces only a synth world's own files and never clears a
folder that is not a synth world; temporary files of killed runs are cleaned up."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess

import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.synth import SynthConfig, synthesize

TINY = dict(clips=2, size=64, fps=2, duration=2, max_sources=1, seed=5)


def _user_files(folder):
    """A user's own project that happens to use the names synth writes."""
    files = {folder / "media" / "holiday.mp4": b"my holiday", folder / "music" / "song.mp3": b"my song",
             folder / "segments.csv": b"my,segments\n", folder / "notes.txt": b"mine"}
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


@pytest.mark.parametrize("marker", [None, "not json", json.dumps({"project": "my synth"})])
def test_overwrite_refuses_a_folder_that_is_not_a_synth_world(tmp_path, marker):
    folder = tmp_path / "mine"
    files = _user_files(folder)
    if marker is not None:  # a file named synth.json that synth did not write
        (folder / "synth.json").write_text(marker)
        files[folder / "synth.json"] = marker.encode()
    with pytest.raises(AvcurrError, match="not an avcurr synth world"):
        synthesize(SynthConfig(out=folder, **TINY), overwrite=True)
    result = CliRunner().invoke(app, ["synth", "--out", str(folder), "--clips", "2", "--size", "64", "--fps", "2",
                                      "--duration", "2", "--overwrite"])
    assert result.exit_code == 2 and "not an avcurr synth world" in result.stderr
    assert {p: p.read_bytes() for p in files} == files
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == sorted(
        ["media", "music", *(p.relative_to(folder).as_posix() for p in files)])


def test_overwrite_removes_only_the_old_worlds_files(tmp_path):
    old = SynthConfig(out=tmp_path / "w", **TINY)
    synthesize(old)
    old_media = {p.name for p in (old.out / "media").iterdir()}
    user = {old.out / "media" / "holiday.mp4": b"my holiday", old.out / "stems" / "mine" / "take1.wav": b"x",
            old.out / "flickr" / "annotations" / "mine.xml": b"<a/>", old.out / "notes.txt": b"mine"}
    for path, data in user.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    new = dataclasses.replace(old, seed=6)
    summary = synthesize(new, overwrite=True)
    assert summary.n_ok == 2 and summary.n_reused == 0
    assert {p: p.read_bytes() for p in user} == user
    media = {p.name for p in (old.out / "media").iterdir()}
    assert media.isdisjoint(old_media) and len(media - {"holiday.mp4"}) == 2
    truth = sorted((old.out / "truth").glob("*.json"))
    assert len(truth) == 2 and all(json.loads(t.read_text())["seed"] == 6 for t in truth)
    assert json.loads((old.out / "synth.json").read_text())["seed"] == 6
    stems = {p.name for p in (old.out / "stems").iterdir()}
    assert stems == {"mine"} | {t.stem for t in truth}  # the old world's stem folders are gone


def test_stale_temporary_files_of_killed_runs_are_removed(tmp_path):
    from avcurr.synth.folder import remove_stale_temps

    cfg = SynthConfig(out=tmp_path / "w", **TINY)
    synthesize(cfg)
    key = sorted(p.stem for p in (cfg.out / "truth").glob("*.json"))[0]
    dead, alive = _dead_pid(), os.getppid()
    stale = [cfg.out / "media" / f".{key}.mp4.{dead}.part", cfg.out / "stems" / key / f".0_dog.wav.{dead}.part",
             cfg.out / f".segments.csv.{dead}.part"]
    kept = [cfg.out / "media" / f".{key}.mp4.{alive}.part",        # a run that is still writing
            cfg.out / "media" / f".holiday.mp4.{dead}.part"]       # not a file of this world
    for path in stale + kept:
        path.write_bytes(b"partial")
    remove_stale_temps(cfg, [json.loads((cfg.out / "truth" / f"{key}.json").read_text())["index"]])
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)


def _dead_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
