"""`--slice I/N`: slices of one list fetched side by side into one folder (as the tasks of a Slurm
job array are), each clip in exactly one slice, a rerun of a slice fetching only what is missing,
and the Slurm recipe itself run as the batch system would run one array task."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.fetch import FetchConfig, FetchJob, run_fetch
from avcurr.fetch.jobs import parse_slice
from avcurr.sources.listing import fetch_status
from http_mirror import Mirror, make_video

REPO = Path(__file__).resolve().parents[1]
YTIDS = [f"slice{i:06d}" for i in range(7)]


@pytest.fixture()
def mirror(tmp_path):
    data = make_video(tmp_path / "src.mp4", 3)
    with Mirror() as server:
        for ytid in YTIDS:
            server.add(f"{ytid}.mp4", data)
        yield server


def _config(out, mirror, **kw):
    return FetchConfig(**{**dict(out=out, workers=2, url_template=mirror.url_template, timeout=2.0,
                                 progress=False, cut="copy", seed=0), **kw})


def _jobs():
    return [FetchJob(y, 0, 2) for y in YTIDS] + [FetchJob(YTIDS[0], 0, 2)]  # a duplicate row, too


def _keys(folder: Path) -> list[str]:
    return sorted(r["key"] for r in pq.read_table(folder / "fetch_status.parquet").to_pylist())


def test_slices_run_side_by_side_and_cover_the_list_once(tmp_path, mirror):
    out = tmp_path / "clips"
    errors = []

    def one(index):
        try:
            run_fetch(_jobs(), _config(out, mirror, slice=(index, 3)))
        except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []  # no slice was locked out by another

    slices = [_keys(out / "slices" / f"{i:04d}-of-0003") for i in range(3)]
    assert slices == [[f"{y}_0" for y in YTIDS[i::3]] for i in range(3)]  # round robin, duplicate dropped
    assert sorted(k for keys in slices for k in keys) == sorted(f"{y}_0" for y in YTIDS)
    assert sorted(p.stem for p in out.glob("*.mkv")) == sorted(f"{y}_0" for y in YTIDS)  # one clip folder
    assert not list(out.rglob(".partial"))
    assert {k: r["status"] for k, r in fetch_status(out).items()} == {f"{y}_0": "ok" for y in YTIDS}

    # A whole-list run afterwards has nothing to do, and writes every slice's records into the top manifest.
    requests = len(mirror.log)
    summary = run_fetch(_jobs(), _config(out, mirror))
    assert summary.skipped == len(YTIDS) and summary.ok == 0 and len(mirror.log) == requests
    assert _keys(out) == sorted(f"{y}_0" for y in YTIDS)


def test_a_rerun_of_a_slice_fetches_only_what_is_missing(tmp_path, mirror):
    out = tmp_path / "clips"
    run_fetch(_jobs(), _config(out, mirror, slice=(1, 2)))
    mine = YTIDS[1::2]
    assert sorted(p.stem for p in out.glob("*.mkv")) == [f"{y}_0" for y in mine]
    (out / f"{mine[1]}_0.mkv").unlink()  # as if the task had died before this clip
    before = {y: mirror.requests_for(f"{y}.mp4") for y in YTIDS}
    summary = run_fetch(_jobs(), _config(out, mirror, slice=(1, 2)))
    assert summary.ok == 1 and summary.skipped == len(mine) - 1
    fetched_again = [y for y in YTIDS if mirror.requests_for(f"{y}.mp4") != before[y]]
    assert fetched_again == [mine[1]]
    rows = pq.read_table(out / "slices" / "0001-of-0002" / "fetch_status.parquet").to_pylist()
    assert {r["key"]: r["attempts"] for r in rows}[f"{mine[1]}_0"] == 2  # attempts add up over reruns


def test_slice_option_is_checked(tmp_path):
    assert parse_slice("0/8") == (0, 8) and parse_slice(" 7/8 ") == (7, 8) and parse_slice(None) is None
    for bad in ("8/8", "-1/4", "3", "a/b", "1/0"):
        with pytest.raises(AvcurrError, match="--slice"):
            parse_slice(bad)
    result = CliRunner().invoke(app, ["fetch", "audioset", "--out", str(tmp_path / "o"), "--slice", "4/4"])
    assert result.exit_code == 2 and "--slice '4/4' is not I/N" in result.output
    assert not (tmp_path / "o").exists()


def test_the_slurm_array_script_fetches_its_slice(tmp_path, mirror):
    csv = tmp_path / "segments.csv"
    csv.write_text("".join(f'{y}, 0.000, 2.000, "/m/09x0r"\n' for y in YTIDS))
    out = tmp_path / "clips"
    script = REPO / "pipelines" / "slurm" / "fetch_array.sbatch"
    env = {**os.environ, "SLICES": "2", "SLURM_ARRAY_TASK_ID": "1", "SLURM_CPUS_PER_TASK": "2",
           "AVCURR": str(Path(sys.executable).with_name("avcurr"))}
    args = ["audioset", "--split", "unbalanced", "--segments", str(csv), "--out", str(out), "--cut", "copy",
            "--url-template", mirror.url_template]
    done = subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "slice 1 of 2" in done.stdout
    assert sorted(p.stem for p in out.glob("*.mkv")) == [f"{y}_0" for y in YTIDS[1::2]]
    assert _keys(out / "slices" / "0001-of-0002") == [f"{y}_0" for y in YTIDS[1::2]]
    # Without SLICES the script refuses, saying what is missing, before fetching anything.
    env.pop("SLICES")
    refused = subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "set SLICES" in refused.stderr
