"""The AudioSet segment-CSV reader: real layout accepted, every malformed row named."""

import pytest

from avcurr.errors import AvcurrError
from avcurr.paths import bundled
from avcurr.segments import read_segments

HEADER = ("# Segments csv created Sun Mar  5 10:54:31 2017\n"
          "# num_ytids=2, num_segs=2, num_unique_labels=2, num_positive_labels=3\n"
          "# YTID, start_seconds, end_seconds, positive_labels\n")
KNOWN = {"/m/09x0r", "/t/dd00088", "/m/0bt9lr"}


def write(tmp_path, text, name="segments.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_official_layout(tmp_path):
    path = write(tmp_path, HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"\n'
                                    "-0DdlOuIFUI, 50.000, 60.000, \"/m/0bt9lr\"\n")
    first, second = read_segments(path, KNOWN)
    assert (first.ytid, first.start, first.end, first.labels, first.line) == \
        ("--PJHxphWEs", 30.0, 40.0, ("/m/09x0r", "/t/dd00088"), 4)
    assert second.ytid == "-0DdlOuIFUI" and second.labels == ("/m/0bt9lr",)


def test_bundled_lists_read_completely():
    assert len(read_segments(bundled("audioset", "balanced_train_segments.csv"))) == 22160
    assert len(read_segments(bundled("audioset", "eval_segments.csv"))) == 20371


@pytest.mark.parametrize("row, message", [
    ('--PJHxphWEs, 30.000, 40.000\n', "expected 4 fields"),
    ('--PJHxphWEs, thirty, 40.000, "/m/09x0r"\n', "start 'thirty' is not a number"),
    ('--PJHxphWEs, 30.000, 20.000, "/m/09x0r"\n', "end 20.000 is not after start 30.000"),
    ('../../etc/pw, 30.000, 40.000, "/m/09x0r"\n', "is not a YouTube id"),
    ('#NAME?, 30.000, 40.000, "/m/09x0r"\n', "'#NAME?' is not a YouTube id"),  # spreadsheet-mangled
    ('--PJHxphWEs, 30.000, 40.000, "/m/09x0r,"\n', "empty label"),
    ('--PJHxphWEs, 30.000, 40.000, "/m/nope"\n', "unknown label id '/m/nope'"),
    ('--PJHxphWEs, 30.000, 40.000, "/m/09x0r\n', "malformed CSV"),  # unclosed quote
])
def test_bad_rows_name_file_line_and_value(tmp_path, row, message):
    good = '-0DdlOuIFUI, 50.000, 60.000, "/m/0bt9lr"\n'
    path = write(tmp_path, HEADER + good + row)
    with pytest.raises(AvcurrError) as err:
        read_segments(path, KNOWN)
    assert f"{path}:" in str(err.value)  # names the file and the line
    assert message in str(err.value)


def test_empty_and_header_only_files_are_errors(tmp_path):
    for text in ("", HEADER):
        with pytest.raises(AvcurrError, match="no segments"):
            read_segments(write(tmp_path, text), KNOWN)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(AvcurrError, match="segment list not found"):
        read_segments(tmp_path / "absent.csv", KNOWN)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    rows = '--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"\n'
    for text in (HEADER + rows, rows):  # the mark before a comment line, and before a data row
        path = tmp_path / "bom.csv"
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        (segment,) = read_segments(path, KNOWN)
        assert segment.ytid == "--PJHxphWEs" and segment.labels == ("/m/09x0r", "/t/dd00088")


def test_a_clip_listed_twice_with_other_labels_is_an_error_naming_both_lines(tmp_path):
    from avcurr.segments import unique_segments

    path = write(tmp_path, HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/09x0r"\n'
                                    '-0DdlOuIFUI, 50.000, 60.000, "/m/0bt9lr"\n'
                                    '--PJHxphWEs, 30.000, 40.000, "/m/0bt9lr"\n'      # same clip, other label
                                    '-0DdlOuIFUI, 50.000, 60.000, "/m/0bt9lr"\n')     # same clip, same label
    with pytest.raises(AvcurrError) as err:
        unique_segments(read_segments(path, KNOWN), path)
    assert f"{path}: 1 clip(s) listed twice with different labels: --PJHxphWEs_30000 on lines 4 (/m/09x0r) " \
           f"and 6 (/m/0bt9lr)" == str(err.value)
    path.write_text(HEADER + '--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"\n'
                             '--PJHxphWEs, 30.000, 40.000, "/t/dd00088,/m/09x0r"\n'
                             '--PJHxphWEs, 40.000, 50.000, "/m/09x0r"\n')   # another start: another clip
    kept, repeats = unique_segments(read_segments(path, KNOWN), path)
    assert [s.line for s in kept] == [4, 6]
    assert [(d.key, d.first_line, d.line) for d in repeats] == [("--PJHxphWEs_30000", 4, 5)]
