"""The pure parts of the downloader: error classification on yt-dlp's real messages, rates,
backoff, the crash-safe status store, and the CLI's option mapping and errors."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.fetch import FetchConfig, FetchJob, classify_error, parse_rate, run_fetch
from avcurr.fetch.schedule import backoff_delay
from avcurr.fetch.status import JOURNAL, MANIFEST, StatusStore

# Messages as yt-dlp's YouTube extractor and networking layer print them.
MESSAGES = [
    ("[youtube] abc: Video unavailable. This video has been removed by the uploader", "unavailable", "removed"),
    ("[youtube] abc: Private video. Sign in if you've been granted access to this video", "unavailable", "private"),
    ("[youtube] abc: This video is no longer available because the YouTube account associated with "
     "this video has been terminated.", "unavailable", "terminated"),
    ("[youtube] abc: The uploader has not made this video available in your country", "unavailable", "geo_blocked"),
    ("[youtube] abc: Sign in to confirm your age. This video may be inappropriate for some users.",
     "unavailable", "age_restricted"),
    ("[youtube] abc: Video unavailable", "unavailable", "not_found"),
    ("[generic] abc: Unable to download webpage: HTTP Error 404: Not Found", "unavailable", "not_found"),
    ("[youtube] abc: Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser", "transient", "bot_check"),
    ("Unable to download webpage: HTTP Error 429: Too Many Requests", "transient", "rate_limited"),
    ("Unable to download webpage: timed out (caused by TransportError('timed out'))", "transient", "timeout"),
    ("Unable to download webpage: [Errno 111] Connection refused", "transient", "network"),
    ("HTTP Error 503: Service Unavailable", "transient", "network"),
    ("something nobody has seen before", "transient", "other"),
]


@pytest.mark.parametrize("text,status,reason", MESSAGES)
def test_classify_real_messages(text, status, reason):
    verdict = classify_error(text)
    assert (verdict.status, verdict.reason) == (status, reason)
    assert verdict.pauses_everyone == (reason in ("rate_limited", "bot_check"))
    assert verdict.retryable == (status != "unavailable")


def test_parse_rate_and_backoff():
    assert parse_rate("2") == 2 and parse_rate("30/m") == 0.5 and parse_rate("3600/h") == 1
    with pytest.raises(AvcurrError, match="--rate 'fast'"):
        parse_rate("fast")
    rng = random.Random(0)
    delays = [backoff_delay(n, 2.0, 10.0, rng) for n in (1, 2, 3, 4, 5)]
    assert 1.0 <= delays[0] < 3.0 and 2.0 <= delays[1] < 6.0 and all(d < 15.0 for d in delays[3:])


def test_config_rejects_bad_settings(tmp_path):
    with pytest.raises(AvcurrError, match="must contain \\{ytid\\}"):
        FetchConfig(out=tmp_path, url_template="http://x/video.mp4")
    with pytest.raises(AvcurrError, match="cookies file not found"):
        FetchConfig(out=tmp_path, cookies=tmp_path / "nope.txt")
    with pytest.raises(AvcurrError, match="only \\{ytid\\} as a field"):
        FetchConfig(out=tmp_path, url_template="http://x/{ytid}.mp4?t={start}")


def test_a_worker_that_fails_stops_the_run_with_one_line(tmp_path, monkeypatch):
    """Not a clip's failure but a bug in a worker thread (injected here while it records a clip):
    the run stops with an error naming it, instead of the thread dying and the run reporting
    success with nothing recorded."""
    import avcurr.fetch.runner as runner_module

    def broken_row(*args):
        raise KeyError("start")

    monkeypatch.setattr(runner_module, "_row", broken_row)
    config = FetchConfig(out=tmp_path / "clips", url_template="http://127.0.0.1:9/{ytid}.mp4", max_attempts=1,
                         progress=False, seed=0, timeout=2)
    with pytest.raises(AvcurrError, match="a worker failed with KeyError"):
        run_fetch([FetchJob("abcdefghijk")], config)


def test_relative_output_folders_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert FetchConfig(out="clips").out == tmp_path / "clips"  # a Ray task elsewhere writes to the same place


def _row(key, status="ok"):
    return {"key": key, "ytid": key[:11], "start": 0.0, "status": status, "reason": status, "attempts": 1}


def test_status_store_survives_a_torn_line_and_compacts(tmp_path):
    store = StatusStore(tmp_path)
    store.record(_row("aaaaaaaaaaa_0"))
    store.close()
    with open(tmp_path / JOURNAL, "ab") as handle:  # what kill -9 in the middle of a write leaves
        handle.write(b'{"key": "bbbbbbbbbbb_0", "sta')
    store = StatusStore(tmp_path)
    assert set(store.records) == {"aaaaaaaaaaa_0"}
    store.record(_row("ccccccccccc_0", "transient"))
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    assert json.loads(lines[-1])["key"] == "ccccccccccc_0"  # the next record starts on its own line
    store.compact()
    store.close()
    assert (tmp_path / JOURNAL).read_bytes() == b""
    table = pq.read_table(tmp_path / MANIFEST)
    assert table.column("key").to_pylist() == ["aaaaaaaaaaa_0", "ccccccccccc_0"]
    assert StatusStore(tmp_path).get("ccccccccccc_0")["status"] == "transient"


def test_cli_maps_errors_to_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["fetch", "audioset", "--out", str(tmp_path), "--url-template", "http://x/a.mp4"])
    assert result.exit_code == 2 and "must contain {ytid}" in result.output
    result = runner.invoke(app, ["fetch", "flickr", "--out", str(tmp_path), "--archive", str(tmp_path / "no.zip")])
    assert result.exit_code == 2 and "archive not found" in result.output
    result = runner.invoke(app, ["fetch", "audioset", "--out", str(tmp_path), "--rate", "lots"])
    assert result.exit_code == 2 and "--rate 'lots'" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text('../../etc/pa, 0.0, 10.0, "/m/09x0r"\n')
    result = runner.invoke(app, ["fetch", "audioset", "--out", str(tmp_path / "o"), "--segments", str(bad)])
    assert result.exit_code == 2 and "is not a YouTube id" in result.output


def test_cli_fetches_through_a_mirror_and_prints_the_table(tmp_path):
    from http_mirror import Mirror, make_video

    data = make_video(tmp_path / "v.mp4", 3)
    csv = tmp_path / "s.csv"
    csv.write_text('cliclip0001, 0.000, 2.000, "/m/09x0r"\ncliclip0404, 0.000, 2.000, "/m/09x0r"\n')
    with Mirror() as mirror:
        mirror.add("cliclip0001.mp4", data)
        result = CliRunner().invoke(app, [
            "fetch", "audioset", "--split", "unbalanced", "--segments", str(csv), "--out", str(tmp_path / "o"),
            "--url-template", mirror.url_template, "--no-progress", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "not_found" in result.output and "1 ok, 1 failed" in result.output
    assert (tmp_path / "o" / "cliclip0001_0.mp4").is_file()


def test_clip_keys_and_safe_names():
    from avcurr.keys import clip_key, safe_name

    assert clip_key("--PJHxphWEs", 30.0) == "--PJHxphWEs_30000"
    assert clip_key("abcdefghijk", 12.3456) == "abcdefghijk_12346"
    for bad in ("../etc/passwd", "a/b", "a.b", "", "x y"):
        with pytest.raises(AvcurrError, match="unsafe"):
            safe_name(bad)


def test_cli_archive_commands_report_what_they_found(tmp_path):
    from test_fetch_sources import _esc50_csv, _flickr_files, _wav_bytes, _zip

    from avcurr.sources.flickr import flickr_test_ids

    meta = _esc50_csv(["1-100032-A-0.wav,1,0,dog,True,100032,A", "1-1-A-1.wav,1,1,rooster,False,1,A"])
    esc = _zip(tmp_path / "esc.zip", {"ESC-50-master/meta/esc50.csv": meta,
                                      "ESC-50-master/audio/1-100032-A-0.wav": _wav_bytes()})
    result = CliRunner().invoke(app, ["fetch", "esc50", "--out", str(tmp_path / "o"), "--archive", str(esc)])
    assert result.exit_code == 0, result.output
    assert "1/2 clips (metadata from the archive)" in result.output and "1-1-A-1.wav" in result.output
    flickr = _zip(tmp_path / "f.zip", _flickr_files(flickr_test_ids()))
    result = CliRunner().invoke(app, ["fetch", "flickr", "--out", str(tmp_path / "o"), "--archive", str(flickr)])
    assert result.exit_code == 0, result.output
    assert "1/250 test ids complete" in result.output and "248 test ids missing" in result.output
