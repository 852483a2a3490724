"""`avcurr build-curricula` through the real console script: outputs, table, and one-line errors."""

import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from avcurr.cli import app

HEADER = "# Segments csv\n# num_ytids=1\n# YTID, start_seconds, end_seconds, positive_labels\n"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "avcurr", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_builds_parquet_table_and_histogram(tmp_path):
    segments = tmp_path / "mini.csv"
    segments.write_text(HEADER
                        + '--PJHxphWEs, 30.000, 40.000, "/m/0jbk,/m/0bt9lr,/m/05tny_"\n'   # Animal, Dog, Bark
                        + '-0DdlOuIFUI, 50.000, 60.000, "/m/09x0r,/m/0bt9lr"\n'            # Speech, Dog
                        + 'abcdefghijk, 0.000, 10.000, "/m/0jbk"\n')                      # Animal only
    out = tmp_path / "out" / "mini.parquet"
    result = CliRunner().invoke(app, ["build-curricula", "--segments", str(segments), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.schema.field("ytid").type == pa.string()
    assert table.schema.field("start").type == pa.float64()
    assert table.schema.field("sources").type == pa.list_(pa.string())
    rows = table.to_pylist()
    assert [(r["ytid"], r["n_sources"], r["curriculum"]) for r in rows] == [
        ("--PJHxphWEs", 1, "c1"), ("-0DdlOuIFUI", 2, "c2"), ("abcdefghijk", 0, None)]
    assert rows[0]["sources"] == ["/m/0bt9lr"] and rows[0]["source_names"] == ["Dog"]
    assert rows[0]["start"] == 30.0 and rows[0]["end"] == 40.0
    histogram = out.with_name("mini_n_sources.png")
    assert histogram.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "c1" in result.output and "33.3 %" in result.output and "none" in result.output


def test_default_runs_on_bundled_balanced_list(tmp_path):
    result = run_cli("build-curricula", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(tmp_path / "avcurr-work" / "curricula" / "balanced_train_segments.parquet")
    assert table.num_rows == 22160


@pytest.mark.parametrize("content, expected", [
    (HEADER + '--PJHxphWEs, 30.000, "/m/09x0r"\n', ":4: expected 4 fields"),
    (HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/m/not_a_class"\n', ":4: unknown label id '/m/not_a_class'"),
    ("", "no segments"),
    (None, "segment list not found"),
])
def test_bad_input_is_one_line_and_nonzero(tmp_path, content, expected):
    segments = tmp_path / "bad.csv"
    if content is not None:
        segments.write_text(content)
    out = tmp_path / "bad.parquet"
    result = run_cli("build-curricula", "--segments", str(segments), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not out.exists()


def test_help_lists_commands_and_options():
    top = CliRunner().invoke(app, ["--help"])
    assert top.exit_code == 0 and "build-curricula" in top.output
    sub = CliRunner().invoke(app, ["build-curricula", "--help"])
    for option in ("--segments", "--ontology", "--policy", "--out"):
        assert option in sub.output


def test_duplicate_clips_are_refused_or_reported_with_their_lines(tmp_path):
    segments = tmp_path / "dup.csv"
    segments.write_text(HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/0bt9lr"\n'
                        + '--PJHxphWEs, 30.000, 40.000, "/m/09x0r"\n')
    out = tmp_path / "dup.parquet"
    result = CliRunner().invoke(app, ["build-curricula", "--segments", str(segments), "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert "--PJHxphWEs_30000 on lines 4 (/m/0bt9lr) and 5 (/m/09x0r)" in result.stderr
    segments.write_text(HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/0bt9lr"\n'
                        + 'abcdefghijk, 0.000, 10.000, "/m/0jbk"\n'
                        + '--PJHxphWEs, 30.000, 40.000, "/m/0bt9lr"\n')
    result = CliRunner().invoke(app, ["build-curricula", "--segments", str(segments), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).column("ytid").to_pylist() == ["--PJHxphWEs", "abcdefghijk"]
    assert "warning: 1 repeated row(s) with the same labels graded once: --PJHxphWEs_30000 (lines 4 and 6)" \
        in result.stderr


def test_a_csv_saved_with_a_byte_order_mark_is_graded(tmp_path):
    segments = tmp_path / "bom.csv"
    segments.write_bytes(b"\xef\xbb\xbf" + (HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/0bt9lr"\n').encode())
    out = tmp_path / "bom.parquet"
    result = CliRunner().invoke(app, ["build-curricula", "--segments", str(segments), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).column("curriculum").to_pylist() == ["c1"]
