"""`avcurr fetch --engine ray` on a real local Ray cluster (2 CPUs, one per module) against the
loopback mirror: the same statuses, attempts and error text as the local engine, and a 429 seen by
one Ray task pauses every other task through the shared gate actor."""

from __future__ import annotations

import sys

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.fetch import FetchConfig, FetchJob, run_fetch
from http_mirror import Mirror, make_video


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {"short": make_video(folder / "short.mp4", 4), "long": make_video(folder / "long.mp4", 30, size=192)}


IDS = {"ok": "okokokokok1", "missing": "-missing404", "limited": "limited4290", "truncated": "truncatedXX",
       "stalled": "stalledXXXX"}


def _serve_failures(mirror: Mirror, media) -> None:
    mirror.add(f"{IDS['ok']}.mp4", media["short"])
    mirror.add(f"{IDS['missing']}.mp4", media["short"], "404")
    mirror.add(f"{IDS['limited']}.mp4", media["short"], "429:1")
    mirror.add(f"{IDS['truncated']}.mp4", media["long"], "truncate:0.3")
    mirror.add(f"{IDS['stalled']}.mp4", media["short"], "stall:10")


def _config(out, mirror, **kw):
    base = dict(out=out, workers=2, url_template=mirror.url_template, timeout=1.0, backoff_base=0.2,
                max_attempts=2, progress=False, seed=0)
    return FetchConfig(**{**base, **kw})


def _rows(out):
    return {r["ytid"]: r for r in pq.read_table(out / "fetch_status.parquet").to_pylist()}


def test_ray_fetch_gives_the_same_statuses_as_the_local_fetch(tmp_path, media, ray_cluster):
    jobs = [FetchJob(IDS[name], 1, 3) for name in ("ok", "missing", "limited", "stalled")]
    jobs.append(FetchJob(IDS["truncated"], 20, 25))
    rows = {}
    for engine in ("local", "ray"):
        with Mirror() as mirror:  # a fresh host each time: the 429 must be met by both engines
            _serve_failures(mirror, media)
            summary = run_fetch(jobs, _config(tmp_path / engine, mirror, engine=engine))
        rows[engine] = _rows(tmp_path / engine)
        assert summary.ok == 2 and summary.failed == 3 and len(summary.pauses) == 1, engine

    def verdicts(table):
        return {ytid: (r["status"], r["reason"], r["attempts"], r["path"]) for ytid, r in table.items()}

    assert verdicts(rows["ray"]) == verdicts(rows["local"])
    assert verdicts(rows["ray"])[IDS["limited"]] == ("ok", "ok", 2, f"{IDS['limited']}_1000.mp4")
    assert verdicts(rows["ray"])[IDS["truncated"]][:3] == ("corrupt", "corrupt", 2)
    # The tools' own words travel back from the Ray workers into the driver's one journal.
    for engine in ("local", "ray"):
        assert "HTTP Error 404: Not Found" in rows[engine][IDS["missing"]]["error"]
        assert "Stream ends prematurely" in rows[engine][IDS["truncated"]]["error"]
        assert "timed out" in rows[engine][IDS["stalled"]]["error"]
    assert (tmp_path / "ray" / f"{IDS['ok']}_1000.mp4").is_file()
    assert not (tmp_path / "ray" / ".partial").exists()


def test_a_429_in_one_ray_task_pauses_every_task(tmp_path, media, ray_cluster):
    others = [f"other{i:06d}" for i in range(7)]
    with Mirror() as mirror:
        mirror.add("limited4291.mp4", media["short"], "429:1")
        for ytid in others:
            mirror.add(f"{ytid}.mp4", media["short"], "slow:0.2")
        jobs = [FetchJob("limited4291", 0, 2)] + [FetchJob(y, 0, 2) for y in others]
        # 6 clips in flight on 2 CPUs: four wait in Ray's queue and start as soon as a CPU frees up,
        # whatever the driver knows; only the gate actor can hold them back during the pause.
        summary = run_fetch(jobs, _config(tmp_path, mirror, engine="ray", workers=6, max_attempts=3,
                                          backoff_base=2.0, backoff_cap=2.0))
    assert all(r["status"] == "ok" for r in _rows(tmp_path).values()) and len(_rows(tmp_path)) == 8
    assert len(summary.pauses) == 1
    paused_from, paused_until = summary.pauses[0]  # the gate actor's pause, on this process's clock
    assert paused_until - paused_from >= 1.0  # backoff 2 s x jitter in [0.5, 1.5)
    # A clip starts with yt-dlp's probe request (no Range header). While the gate holds the pause,
    # no Ray task may start a clip (0.5 s allows for a clip the gate had let through just before
    # the 429 came: on a busy 2-core machine a worker process may take that long to reach the host).
    starts = sorted(t for t, (_, rng, _) in zip(mirror.times, mirror.log) if rng == "")
    assert not [t - paused_from for t in starts if paused_from + 0.5 < t < paused_until]
    assert [t for t in starts if t >= paused_until], "no clip was left for after the pause"


def test_engine_ray_without_ray_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as it does where Ray is absent
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["fetch", "audioset", "--out", str(out), "--engine", "ray", "--limit", "1"])
    assert result.exit_code == 2
    assert "--engine ray needs Ray" in result.output and "pip install 'avcurr[ray]'" in result.output
    assert "Traceback" not in result.output and not out.exists()  # said before anything was written
    result = CliRunner().invoke(app, ["fetch", "audioset", "--out", str(out), "--ray-address", "auto"])
    assert result.exit_code == 2 and "--ray-address needs --engine ray" in result.output


def test_cli_engine_ray_fetches_through_the_cluster(tmp_path, media, ray_cluster):
    csv = tmp_path / "s.csv"
    csv.write_text('rayclip0001, 0.000, 2.000, "/m/09x0r"\nrayclip0404, 0.000, 2.000, "/m/09x0r"\n')
    with Mirror() as mirror:
        mirror.add("rayclip0001.mp4", media["short"])
        result = CliRunner().invoke(app, [
            "fetch", "audioset", "--split", "unbalanced", "--segments", str(csv), "--out", str(tmp_path / "o"),
            "--url-template", mirror.url_template, "--no-progress", "--engine", "ray", "--cut", "copy"])
    assert result.exit_code == 0, result.output
    assert "not_found" in result.output and "1 ok, 1 failed" in result.output
    assert (tmp_path / "o" / "rayclip0001_0.mkv").is_file()
    assert ray_cluster.is_initialized()  # the command used the running instance and left it running


def test_the_gate_spaces_starts_by_rate_and_holds_them_during_a_pause():
    from avcurr.fetch.ray_engine import ClusterGate

    gate = ClusterGate(rate=10.0)  # the actor's class itself: its rules need no cluster
    assert gate.admit() == 0.0
    assert 0.05 < gate.admit() <= 0.1  # the next start is due a tenth of a second later
    gate.pause(2.0)
    assert 1.9 < gate.admit() <= 2.0
    gate.pause(0.5)  # a shorter pause never cuts a longer one short
    assert 1.9 < gate.admit() <= 2.0
    (began, ended), _ = gate.pauses_ago()
    assert began >= 0.0 and -2.0 <= ended < -1.9
