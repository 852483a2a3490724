"""End-to-end fetches through the real yt-dlp (generic extractor) and real ffmpeg against a
loopback mirror that honours Range requests and misbehaves on purpose."""

from __future__ import annotations

import time

import pyarrow.parquet as pq
import pytest

from avcurr.fetch import FetchConfig, FetchJob, run_fetch
from avcurr.media.ffmpeg import probe
from http_mirror import Mirror, make_video

IDS = {"ok": "okokokokok1", "missing": "-missing404", "limited": "limited4290", "truncated": "truncatedXX",
       "stalled": "stalledXXXX", "long": "longvideo30"}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {"short": make_video(folder / "short.mp4", 4), "long": make_video(folder / "long.mp4", 30, size=192)}


@pytest.fixture()
def mirror(media):
    with Mirror() as server:
        server.add(f"{IDS['ok']}.mp4", media["short"])
        server.add(f"{IDS['missing']}.mp4", media["short"], "404")
        server.add(f"{IDS['limited']}.mp4", media["short"], "429:1")
        server.add(f"{IDS['truncated']}.mp4", media["long"], "truncate:0.3")
        server.add(f"{IDS['stalled']}.mp4", media["short"], "stall:10")
        server.add(f"{IDS['long']}.mp4", media["long"])
        yield server


def _config(out, mirror, **kw):
    base = dict(out=out, workers=2, url_template=mirror.url_template, timeout=1.0, backoff_base=0.3,
                max_attempts=3, progress=False, seed=0)
    return FetchConfig(**{**base, **kw})


def _rows(out):
    return {r["ytid"]: r for r in pq.read_table(out / "fetch_status.parquet").to_pylist()}


def test_every_failure_kind_is_typed_with_real_error_text(tmp_path, mirror):
    jobs = [FetchJob(IDS[name], 1, 3) for name in ("ok", "missing", "limited", "stalled")]
    jobs.append(FetchJob(IDS["truncated"], 20, 25))
    started = time.monotonic()
    summary = run_fetch(jobs, _config(tmp_path, mirror))
    rows = _rows(tmp_path)

    assert rows[IDS["ok"]]["status"] == "ok" and rows[IDS["ok"]]["attempts"] == 1
    assert (tmp_path / f"{IDS['ok']}_1000.mp4").is_file()

    missing = rows[IDS["missing"]]
    assert (missing["status"], missing["reason"], missing["attempts"]) == ("unavailable", "not_found", 1)
    assert "HTTP Error 404: Not Found" in missing["error"]  # yt-dlp's own words
    assert mirror.requests_for(f"{IDS['missing']}.mp4") == 1  # permanent: never retried

    limited = rows[IDS["limited"]]
    assert (limited["status"], limited["attempts"]) == ("ok", 2)  # 429 first, then retried after backoff

    truncated = rows[IDS["truncated"]]
    assert (truncated["status"], truncated["attempts"]) == ("corrupt", 3)
    assert "Stream ends prematurely" in truncated["error"]  # ffmpeg's words are kept too
    assert not list(tmp_path.glob(f"{IDS['truncated']}*"))

    stalled = rows[IDS["stalled"]]
    assert (stalled["status"], stalled["reason"], stalled["attempts"]) == ("transient", "timeout", 3)
    assert "timed out" in stalled["error"]

    assert summary.ok == 2 and summary.failed == 3
    assert summary.by_reason[("unavailable", "not_found")] == 1
    assert time.monotonic() - started < 30
    assert not (tmp_path / ".partial").exists()


def test_rate_limit_pauses_every_worker(tmp_path, mirror, media):
    mirror.add("limited4291.mp4", media["short"], "429:1")
    others = [f"other{i:06d}" for i in range(4)]
    for ytid in others:
        mirror.add(f"{ytid}.mp4", media["short"], "slow:0.1")
    jobs = [FetchJob("limited4291", 0, 2)] + [FetchJob(y, 0, 2) for y in others]
    summary = run_fetch(jobs, _config(tmp_path, mirror, workers=2, backoff_base=1.5, backoff_cap=1.5))
    assert all(r["status"] == "ok" for r in _rows(tmp_path).values()) and len(_rows(tmp_path)) == 5
    assert len(summary.pauses) == 1
    paused_from, paused_until = summary.pauses[0]
    assert paused_until - paused_from >= 0.75  # backoff 1.5 s x jitter in [0.5, 1.5)
    # A clip starts with yt-dlp's probe request (no Range header). Once the 429 paused every
    # worker, no clip may start until the pause is over (0.2 s allows for a clip that a worker
    # had taken just before the pause to reach the server).
    starts = sorted(t for t, (_, rng, _) in zip(mirror.times, mirror.log) if rng == "")
    assert not [t for t in starts if paused_from + 0.2 < t < paused_until]
    assert [t for t in starts if t >= paused_until], "no clip was left for after the pause"


def test_only_the_segment_is_kept_and_checked(tmp_path, mirror, media):
    run_fetch([FetchJob(IDS["long"], 12, 17)], _config(tmp_path, mirror))
    clip = tmp_path / f"{IDS['long']}_12000.mp4"
    info = probe(clip)
    assert info.has_audio and info.has_video
    assert abs(info.duration - 5.0) < 0.3
    row = _rows(tmp_path)[IDS["long"]]
    assert row["duration"] == pytest.approx(info.duration) and row["bytes"] == clip.stat().st_size
    # ffmpeg seeks with Range requests: the host never has to send the whole 30 s file.
    served = mirror.bytes_served[f"/{IDS['long']}.mp4"]
    assert any(r.startswith("bytes=") and r != "bytes=0-" for p, r, _ in mirror.log if IDS["long"] in p)
    assert served < len(media["long"])


def test_rerun_skips_ok_and_permanent_and_retries_on_request(tmp_path, mirror):
    jobs = [FetchJob(IDS["ok"], 0, 2), FetchJob(IDS["missing"], 0, 2), FetchJob(IDS["stalled"], 0, 2)]
    run_fetch(jobs, _config(tmp_path, mirror, max_attempts=1))
    counts = {y: mirror.requests_for(f"{y}.mp4") for y in IDS.values()}

    summary = run_fetch(jobs, _config(tmp_path, mirror, max_attempts=1))  # plain rerun: nothing to do
    assert summary.skipped == 3 and summary.ok + summary.failed == 0

    run_fetch(jobs, _config(tmp_path, mirror, max_attempts=1, retry_failed=True))
    assert mirror.requests_for(f"{IDS['stalled']}.mp4") == counts[IDS["stalled"]] + 1
    assert mirror.requests_for(f"{IDS['missing']}.mp4") == counts[IDS["missing"]]  # permanent stays
    assert mirror.requests_for(f"{IDS['ok']}.mp4") == counts[IDS["ok"]]
    rows = _rows(tmp_path)
    assert rows[IDS["stalled"]]["attempts"] == 2  # attempts add up over runs

    mirror.add(f"{IDS['missing']}.mp4", mirror.entries[f"/{IDS['ok']}.mp4"].data)  # it came back
    run_fetch(jobs, _config(tmp_path, mirror, max_attempts=1, include_permanent=True))
    rows = _rows(tmp_path)
    assert rows[IDS["missing"]]["status"] == "ok" and rows[IDS["missing"]]["attempts"] == 2
    assert len(rows) == 3


def test_a_deleted_clip_is_fetched_again(tmp_path, mirror):
    run_fetch([FetchJob(IDS["ok"], 0, 2)], _config(tmp_path, mirror))
    (tmp_path / f"{IDS['ok']}_0.mp4").unlink()
    run_fetch([FetchJob(IDS["ok"], 0, 2)], _config(tmp_path, mirror))
    assert (tmp_path / f"{IDS['ok']}_0.mp4").is_file()


def test_cookies_reach_the_probe_and_the_segment_requests(tmp_path, mirror):
    jar = tmp_path / "cookies.txt"
    jar.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t2000000000\tsession\tsecret42\n")
    run_fetch([FetchJob(IDS["ok"], 0, 2)], _config(tmp_path / "out", mirror, cookies=jar))
    sent = [(rng, cookie) for path, rng, cookie in mirror.cookies if IDS["ok"] in path]
    assert sent and all("session=secret42" in cookie for _, cookie in sent)
    assert any(rng for rng, _ in sent)  # ffmpeg's Range requests carried them too


def test_proxy_carries_both_the_probe_and_the_segment(tmp_path, mirror):
    # The host name does not resolve: only a working proxy (the mirror itself) can serve it.
    config = _config(tmp_path, mirror, url_template="http://video-host.invalid/{ytid}.mp4",
                     proxy=f"http://127.0.0.1:{mirror.port}")
    summary = run_fetch([FetchJob(IDS["ok"], 0, 2)], config)
    assert summary.ok == 1
    assert mirror.proxied.count(f"/{IDS['ok']}.mp4") >= 2  # yt-dlp's probe and ffmpeg's reads
