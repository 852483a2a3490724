"""The process pool of build-shards survives a worker killed while the driver is handing results
on (not only while it waits): the dead worker's clips fail as worker_died, the rest are built."""

from __future__ import annotations

import os
import signal
import time

from avcurr.shards.manifest import ClipTask
from avcurr.shards.pool import WORKER_DIED, ordered_results
from avcurr.shards.sample import ClipResult


def _task(i: int) -> ClipTask:
    return ClipTask(key=f"k{i:02d}", ytid=f"k{i:02d}", start=0.0, end=None, curriculum="c1", n_sources=1,
                    labels=(), sources=(), media=None, extras={})


def _work(task: ClipTask) -> ClipResult:
    if task.key == "k00":
        time.sleep(1.5)   # holds every later result back, so the driver hands them on in a burst
    if task.key == "k16":
        os.kill(os.getpid(), signal.SIGKILL)
    return ClipResult(task.key, task.curriculum, "ok", "", None, task.n_sources)


def test_a_worker_killed_while_results_are_handed_on_fails_only_its_clips():
    tasks = [_task(i) for i in range(40)]
    with ordered_results(tasks, _work, 2) as results:
        got = []
        for result in results:
            got.append(result)
            time.sleep(0.1)  # a slow consumer (the tar writer): submits happen between results
    assert [r.key for r in got] == [t.key for t in tasks]
    died = {r.key for r in got if r.status == WORKER_DIED}
    assert "k16" in died and len(died) <= 2
    assert all(r.status == "ok" for r in got if r.key not in died)
