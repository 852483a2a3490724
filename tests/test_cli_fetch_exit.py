"""`avcurr fetch`: a run in which nothing was fetched exits 1 with one line saying what failed;
a run with some clips fetched, or with every clip done earlier, exits 0."""

from __future__ import annotations

from typer.testing import CliRunner

from avcurr.cli import app

runner = CliRunner()


def _fetch(csv, out, mirror):
    return runner.invoke(app, ["fetch", "audioset", "--split", "unbalanced", "--segments", str(csv), "--out", str(out),
                               "--url-template", mirror.url_template, "--no-progress", "--workers", "2",
                               "--max-attempts", "1"])


def test_every_clip_failed_exits_1_with_a_summary_line(tmp_path):
    from http_mirror import Mirror, make_video

    csv = tmp_path / "s.csv"
    csv.write_text('gonegone001, 0.000, 2.000, "/m/09x0r"\ngonegone002, 0.000, 2.000, "/m/09x0r"\n')
    with Mirror() as mirror:  # serves nothing: every clip is a 404
        result = _fetch(csv, tmp_path / "o", mirror)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no clip was fetched: all 2 failed" in lines[0] and "not_found 2" in lines[0]
    assert "fetch_status.parquet" in lines[0]

    csv.write_text('okclip00001, 0.000, 2.000, "/m/09x0r"\n')  # a clip that works: exit 0, then a rerun skips it
    with Mirror() as mirror:
        mirror.add("okclip00001.mp4", make_video(tmp_path / "v.mp4", 3))
        assert _fetch(csv, tmp_path / "o2", mirror).exit_code == 0
        again = _fetch(csv, tmp_path / "o2", mirror)
    assert again.exit_code == 0 and "already done" in again.output


def test_an_archive_with_none_of_the_listed_clips_exits_1(tmp_path):
    from test_fetch_sources import _esc50_csv, _wav_bytes, _zip

    meta = _esc50_csv(["1-100032-A-0.wav,1,0,dog,True,100032,A"])
    archive = _zip(tmp_path / "esc.zip", {"ESC-50-master/meta/esc50.csv": meta,
                                          "ESC-50-master/audio/1-999999-A-0.wav": _wav_bytes()})
    result = runner.invoke(app, ["fetch", "esc50", "--out", str(tmp_path / "o"), "--archive", str(archive)])
    assert result.exit_code == 1, result.output
    assert "0/1 clips" in result.stdout and "1-100032-A-0.wav" in result.stdout
    assert "error: no clip of the list found in" in result.stderr
