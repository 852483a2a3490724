"""`avcurr synth --layout esc50`: ESC-50's layout and format, deterministic, never over foreign files."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.sources.esc50 import FILENAME, HEADER, _rows
from avcurr.synth.catalogue import CATALOGUE
from avcurr.synth.esc50 import Esc50SynthConfig, clip_wave, per_fold_for, synthesize_esc50

runner = CliRunner()


def test_the_set_has_esc50s_layout_and_format(tmp_path):
    result = runner.invoke(app, ["synth", "--layout", "esc50", "--out", str(tmp_path / "esc"), "--clips", "50",
                                 "--seed", "4"])
    assert result.exit_code == 0, result.output
    meta = (tmp_path / "esc" / "meta" / "esc50.csv").read_text()
    rows = _rows(meta, "synthetic")                          # the real set's own parser accepts it
    assert len(rows) == 50 and list(csv.reader(meta.splitlines()))[0] == HEADER
    assert {r["fold"] for r in rows} == {1, 2, 3, 4, 5}
    assert {(r["target"], r["category"]) for r in rows} == {(i, c.name) for i, c in enumerate(CATALOGUE)}
    for row in rows[:5]:
        assert FILENAME.match(row["filename"]) and row["filename"].startswith(f"{row['fold']}-")
        info = sf.info(str(tmp_path / "esc" / "audio" / row["filename"]))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (44100, 1, 5 * 44100, "PCM_16")


def test_same_seed_same_bytes_other_seed_other_sounds(tmp_path):
    a = synthesize_esc50(Esc50SynthConfig(out=tmp_path / "a", per_fold=1, folds=2, seed=7))
    b = synthesize_esc50(Esc50SynthConfig(out=tmp_path / "b", per_fold=1, folds=2, seed=7))
    names = sorted(p.name for p in (a.out / "audio").iterdir())
    assert len(names) == 20
    for name in names:
        assert (a.out / "audio" / name).read_bytes() == (b.out / "audio" / name).read_bytes()
    assert not np.array_equal(clip_wave(7, 1, 0, 0), clip_wave(8, 1, 0, 0))
    # loudness and background differ from clip to clip of one category
    levels = [np.sqrt(np.mean(clip_wave(7, f, 2, 0) ** 2)) for f in range(1, 6)]
    assert max(levels) / min(levels) > 1.5


def test_a_folder_holding_other_things_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(AvcurrError, match="not empty"):
        synthesize_esc50(Esc50SynthConfig(out=tmp_path, per_fold=1, folds=2))
    synthesize_esc50(Esc50SynthConfig(out=tmp_path / "s", per_fold=1, folds=2))
    with pytest.raises(AvcurrError, match="other settings"):
        synthesize_esc50(Esc50SynthConfig(out=tmp_path / "s", per_fold=1, folds=3))
    (tmp_path / "s" / "notes.txt").write_text("keep me too")
    synthesize_esc50(Esc50SynthConfig(out=tmp_path / "s", per_fold=1, folds=3), overwrite=True)
    assert (tmp_path / "s" / "notes.txt").read_text() == "keep me too"
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    assert per_fold_for(100) == 2 and per_fold_for(1) == 1
