"""Text from outside (paths, ffmpeg's error text, CSV values, class names) is printed exactly as it
is: rich must neither read it as markup (`[mov,mp4 @ 0x..]` vanished, `[/]` crashed) nor as emoji
codes (`0:a:0`, `[1:v:0]` became pictures)."""

from __future__ import annotations

import json
from collections import Counter

from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.cli.common import console

runner = CliRunner()
FFMPEG_TEXT = "Stream #0:a:0 [1:v:0] [mov,mp4 @ 0x55d5c0] [/] [bold]x :smile: [link=y]"
ODD_NAME = "a[/]b [mov,mp4 @ 0x1] 0:a:0 [1:v:0]"
HEADER = "# YTID, start_seconds, end_seconds, positive_labels\n"


def squash(text: str) -> str:
    """Rendered text without whitespace and table borders, so that wrapped cells read on."""
    return "".join(c for c in text if not c.isspace() and c not in "│┃║|")


def rendered(renderable) -> str:
    """What the CLI's own console prints for `renderable` (wide, so nothing wraps needlessly)."""
    width = console.width
    console.width = 400
    try:
        with console.capture() as captured:
            console.print(renderable)
    finally:
        console.width = width
    return captured.get()


def test_tables_print_outside_text_as_it_is(tmp_path):
    from avcurr.cli.curricula import summary_table as curricula_table
    from avcurr.cli.evaluate import localization_table
    from avcurr.cli.synth import summary_table as synth_table
    from avcurr.curricula import CurriculaSummary
    from avcurr.synth import SynthSummary

    synth = SynthSummary(out=tmp_path / ODD_NAME, n_clips=2, n_ok=1, failures=[("k_0", FFMPEG_TEXT)])
    text = rendered(synth_table(synth))
    assert squash(FFMPEG_TEXT) in squash(text) and squash(ODD_NAME) in squash(text)
    curricula = CurriculaSummary(out=tmp_path / "o.parquet", histogram=tmp_path / "h.png", n_clips=1,
                                 per_curriculum=Counter({"c1": 1}),
                                 top_sources={"c1": [("Bell [/] :bell: 0:a:0", 1)]})
    assert squash("Bell [/] :bell: 0:a:0 (1)") in squash(rendered(curricula_table(curricula)))
    scores = {"ciou_at_0.5": 0.5, "auc": 0.5, "mean_ciou": 0.5, "pointing": 0.5}
    assert "[mine] :v:" in rendered(localization_table({"[mine] :v:": scores}, "t"))


def test_paths_with_brackets_and_colons_print_whole(tmp_path):
    folder = tmp_path / ODD_NAME  # "a[" / "]b [mov,...": the whole path holds `[/]`
    folder.mkdir(parents=True)
    segments = folder / "s.csv"
    segments.write_text(HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/0bt9lr"\n')
    out = folder / "out.parquet"
    result = runner.invoke(app, ["build-curricula", "--segments", str(segments), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} and histogram {out.with_name('out_n_sources.png')}" in result.stdout
    missing = runner.invoke(app, ["build-curricula", "--segments", str(folder / "none [/].csv"),
                                  "--out", str(out)])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    assert missing.stderr.strip() == f"error: segment list not found: {folder / 'none [/].csv'}"


def test_a_failed_clip_shows_ffmpeg_and_python_text_as_it_is(tmp_path):
    from avcurr.synth import SynthConfig

    out = tmp_path / ODD_NAME / "w"
    cfg = SynthConfig(out=out, clips=1, min_sources=1, max_sources=1, size=64, fps=2, duration=2)
    out.mkdir(parents=True)
    (out / "synth.json").write_text(json.dumps(cfg.world()))  # this world's folder, but
    (out / "media").write_text("a file where the media folder should be")  # every clip fails
    result = runner.invoke(app, ["synth", "--out", str(out), "--clips", "1", "--sources", "1", "--size", "64",
                                 "--fps", "2", "--duration", "2"])
    assert result.exit_code == 1, result.output
    assert "FileExistsError" in result.stdout and squash(str(out / "media")) in squash(result.stdout)
    assert "1 of 1 clips failed" in result.stderr
