"""The AVE and ESC-50 layouts of `avcurr synth` never clear a folder that is not theirs: issue 9's
`--overwrite` rule holds for every generated set, not only the standard world."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.synth.ave_world import AveWorldConfig, synthesize_ave
from avcurr.synth.esc50 import Esc50SynthConfig, synthesize_esc50


def _ave(out, seed=0):
    return synthesize_ave(AveWorldConfig(out=out, clips=2, background_clips=0, segments=3, min_event=1, max_event=2, fps=2, size=64, seed=seed),
                          overwrite=True)


def _esc50(out, seed=0):
    return synthesize_esc50(Esc50SynthConfig(out=out, per_fold=1, folds=2, seed=seed), overwrite=True)


LAYOUTS = {"ave": (_ave, "media", "mine.mp4"), "esc50": (_esc50, "audio", "mine.wav")}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_overwrite_never_clears_a_folder_that_is_not_the_layouts(tmp_path, layout):
    make, folder, name = LAYOUTS[layout]
    user = tmp_path / "user"
    (user / folder).mkdir(parents=True)
    (user / folder / name).write_text("precious")
    with pytest.raises(AvcurrError, match="is not an avcurr .* never written into or cleared"):
        make(user)
    assert (user / folder / name).read_text() == "precious"
    result = CliRunner().invoke(app, ["synth", "--layout", layout, "--out", str(user), "--overwrite", "--clips", "20"])
    assert result.exit_code == 2 and "never written into or cleared" in result.output
    assert (user / folder / name).read_text() == "precious"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_overwrite_replaces_only_the_old_sets_own_files(tmp_path, layout):
    make, folder, name = LAYOUTS[layout]
    out = tmp_path / "set"
    make(out, seed=1)
    (out / folder / name).write_text("added by the user")
    old = {p for p in (out / folder).iterdir() if p.name != name}
    make(out, seed=2)
    new = {p for p in (out / folder).iterdir() if p.name != name}
    assert (out / folder / name).read_text() == "added by the user"
    assert old and new and not old & new   # the first set's files are gone, the second's are there
