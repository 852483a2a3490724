"""Run a list of fetch jobs: choose what still needs doing, drive the workers, record every
finished clip at once, and summarise.

The workers are threads of this process in both engines. With `engine="local"` each thread runs
the attempt itself; with `engine="ray"` it hands the attempt to a Ray task and waits for its
outcome (see `avcurr.fetch.ray_engine`). Either way the retry rules, the work queue and the one
status journal stay here, in the driver."""

from __future__ import annotations

import fcntl
import queue
import random
import shutil
import threading
import time
from pathlib import Path
from typing import Iterable

from avcurr.errors import AvcurrError
from avcurr.fetch.classify import OK, UNAVAILABLE
from avcurr.fetch.download import PARTIAL_DIR, Outcome, attempt_clip
from avcurr.fetch.jobs import FetchConfig, FetchJob
from avcurr.fetch.progress import FetchProgress, FetchSummary, Tally
from avcurr.fetch.schedule import Task, WorkQueue, backoff_delay
from avcurr.fetch.status import StatusStore, now_iso

COMPACT_EVERY_S = 30.0


def _wanted(job: FetchJob, previous: dict | None, config: FetchConfig) -> bool:
    """Does this clip need an attempt in this run?"""
    if previous is None:
        return True
    status = previous.get("status")
    if status == OK:
        return not (Path(config.out) / (previous.get("path") or "")).is_file()  # deleted since: fetch again
    if status == UNAVAILABLE:
        return config.include_permanent
    return config.retry_failed or config.include_permanent


def _lock(state: Path):
    """One fetch per status folder (the output folder, or one slice of it) at a time; the lock
    dies with the process, even on kill -9."""
    handle = open(state / ".fetch.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AvcurrError(f"another avcurr fetch is writing to {state}; wait for it or use another --out") from None
    return handle


def _clean_partials(out: Path) -> None:
    """Whatever a killed run left half-written is garbage: nothing under a final name is partial."""
    shutil.rmtree(out / PARTIAL_DIR, ignore_errors=True)
    (out / PARTIAL_DIR).mkdir()


def _row(job: FetchJob, outcome: Outcome, attempts: int, config: FetchConfig) -> dict:
    return {"key": job.key, "ytid": job.ytid, "start": job.start, "end": job.end, "dataset": job.dataset,
            "url": job.url(config.url_template), "status": outcome.status, "reason": outcome.reason,
            "attempts": attempts, "error": outcome.error, "path": outcome.path, "bytes": outcome.bytes,
            "duration": outcome.duration, "updated": now_iso()}


class LocalAttempts:
    """The local engine: the worker thread runs the attempt itself."""

    def __call__(self, job: FetchJob, config: FetchConfig, pause_for: float | None) -> Outcome:
        return attempt_clip(job, config)  # the driver's queue pauses everyone (pause_all), at once

    def cancel_all(self) -> None:
        pass  # Ctrl-C reaches our own ffmpeg children directly

    def pauses(self, work: WorkQueue) -> tuple:
        return tuple(work.pauses)

    def close(self) -> None:
        pass


def _open_engine(config: FetchConfig):
    if config.engine == "ray":
        from avcurr.fetch.ray_engine import RayAttempts

        return RayAttempts(config)
    return LocalAttempts()


def _worker(work: WorkQueue, store: StatusStore, config: FetchConfig, events: queue.Queue,
            rng: random.Random, attempt) -> None:
    try:
        _work_through(work, store, config, events, rng, attempt)
    except Exception as exc:  # a bug, not a clip's failure: stop everyone, the driver says what
        work.stop()
        events.put(("crash", exc))


def _work_through(work: WorkQueue, store: StatusStore, config: FetchConfig, events: queue.Queue,
                  rng: random.Random, attempt) -> None:
    while (task := work.get()) is not None:
        made = task.attempt + 1
        # Drawn before the attempt, so that a Ray task can start the cluster-wide pause itself.
        delay = backoff_delay(made, config.backoff_base, config.backoff_cap, rng)
        outcome = attempt(task.job, config, delay if made < config.max_attempts else None)
        if work.stopped and outcome.status != OK:
            pass  # interrupted (Ctrl-C reaches ffmpeg too): not a verdict, the clip stays pending
        elif outcome.verdict.retryable and made < config.max_attempts and not work.stopped:
            if outcome.verdict.pauses_everyone:
                work.pause_all(delay)
            work.put(Task(task.job, made, task.prior_attempts), delay)
            events.put(("retry", outcome))
        else:
            store.record(_row(task.job, outcome, task.prior_attempts + made, config))
            events.put(("done", outcome))
        work.task_done()


def _dedupe(jobs: Iterable[FetchJob]) -> list[FetchJob]:
    seen: dict[str, FetchJob] = {}
    for job in jobs:
        seen.setdefault(job.key, job)
    return list(seen.values())


def select_slice(jobs: list[FetchJob], part: tuple[int, int] | None) -> list[FetchJob]:
    """Clips `i, i+n, i+2n, ...` of the (deduplicated) list for slice `(i, n)`; all for None.
    Every clip falls in exactly one slice, and a slice is the same on every rerun of the list."""
    if part is None:
        return jobs
    index, count = part
    return jobs[index::count]


def run_fetch(jobs: Iterable[FetchJob], config: FetchConfig, console=None) -> FetchSummary:
    """Fetch every job (of `config.slice`, if set) that still needs it into `config.out`; returns
    what happened."""
    if config.engine == "ray":
        from avcurr.ray_cluster import require_ray

        require_ray()  # say so before anything is locked or written
    out = Path(config.out)
    state = config.state_dir
    state.mkdir(parents=True, exist_ok=True)
    lock = _lock(state)
    try:
        _clean_partials(state)
        store = StatusStore(state, out)
        try:
            return _run(select_slice(_dedupe(jobs), config.slice), config, store, console)
        finally:
            store.compact()
            store.close()
            shutil.rmtree(state / PARTIAL_DIR, ignore_errors=True)
    finally:
        lock.close()


def _run(jobs: list[FetchJob], config: FetchConfig, store: StatusStore, console) -> FetchSummary:
    todo = [job for job in jobs if _wanted(job, store.get(job.key), config)]
    tally = Tally(total=len(todo), skipped=len(jobs) - len(todo))
    # With Ray, clip starts are spaced and paused by the cluster-wide gate, where the tasks start.
    work = WorkQueue(config.rate if config.engine == "local" else None)
    for job in todo:
        previous = store.get(job.key)
        work.put(Task(job, 0, int(previous.get("attempts") or 0) if previous else 0))
    events: queue.Queue = queue.Queue()
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    engine = _open_engine(config) if todo else LocalAttempts()
    try:
        threads = [threading.Thread(target=_worker, daemon=True, name=f"fetch-{i}",
                                    args=(work, store, config, events, random.Random(seed + i), engine))
                   for i in range(min(config.workers, max(1, len(todo))))]
        for thread in threads:
            thread.start()
        last_compact = time.monotonic()
        with FetchProgress(tally, config.progress, console) as bar:
            try:
                while any(t.is_alive() for t in threads):
                    _drain(events, tally, timeout=0.2)
                    bar.update(work.waiting_retry)
                    if time.monotonic() - last_compact > COMPACT_EVERY_S:
                        store.compact()
                        last_compact = time.monotonic()
            except KeyboardInterrupt:
                work.stop()  # workers finish the attempt in hand; finished clips are already recorded
                engine.cancel_all()
                for thread in threads:
                    thread.join()
                raise
            _drain(events, tally, timeout=0)
            bar.update(0)
        if tally.crashes:
            raise AvcurrError(f"fetch stopped: a worker failed with {tally.crashes[0]!r} "
                              f"({tally.ok} clips fetched and recorded first; rerun to go on)")
        pauses = engine.pauses(work)
    finally:
        engine.close()
    return FetchSummary(by_reason=dict(tally.by_reason), skipped=tally.skipped, manifest=store.manifest,
                        seconds=time.monotonic() - tally.started, retries=tally.retries, pauses=pauses)


def _drain(events: queue.Queue, tally: Tally, timeout: float) -> None:
    try:
        kind, outcome = events.get(timeout=timeout) if timeout else events.get_nowait()
    except queue.Empty:
        return
    while True:
        if kind == "retry":
            tally.retries += 1
        elif kind == "crash":
            tally.crashes.append(outcome)
        else:
            tally.finish(outcome.status, outcome.reason)
        try:
            kind, outcome = events.get_nowait()
        except queue.Empty:
            return
