"""Run a list of fetch jobs: choose what still needs doing, drive the workers, record every
finished clip at once, and summarise."""

from __future__ import annotations

import fcntl
import os
import queue
import random
import shutil
import threading
import time
from pathlib import Path
from typing import Iterable

from avcurr.errors import AvcurrError
from avcurr.fetch.classify import OK, TRANSIENT, UNAVAILABLE
from avcurr.fetch.download import PARTIAL_DIR, Outcome, fetch_clip
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
        return not (config.out / (previous.get("path") or "")).is_file()  # deleted since: fetch again
    if status == UNAVAILABLE:
        return config.include_permanent
    return config.retry_failed or config.include_permanent


def _lock(out: Path):
    """One fetch per output folder at a time; the lock dies with the process, even on kill -9."""
    handle = open(out / ".fetch.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AvcurrError(f"another avcurr fetch is writing to {out}; wait for it or use another --out") from None
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


def _attempt(job: FetchJob, config: FetchConfig) -> Outcome:
    try:
        return fetch_clip(job, config)
    except Exception as exc:  # a bug or an odd OS error must not kill the worker or the run
        return Outcome(TRANSIENT, "other", error=f"{type(exc).__name__}: {exc}")


def _worker(work: WorkQueue, store: StatusStore, config: FetchConfig, events: queue.Queue,
            rng: random.Random) -> None:
    while (task := work.get()) is not None:
        outcome = _attempt(task.job, config)
        made = task.attempt + 1
        if work.stopped and outcome.status != OK:
            pass  # interrupted (Ctrl-C reaches ffmpeg too): not a verdict, the clip stays pending
        elif outcome.verdict.retryable and made < config.max_attempts and not work.stopped:
            delay = backoff_delay(made, config.backoff_base, config.backoff_cap, rng)
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


def run_fetch(jobs: Iterable[FetchJob], config: FetchConfig, console=None) -> FetchSummary:
    """Fetch every job that still needs it into `config.out`; returns what happened."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    try:
        _clean_partials(out)
        store = StatusStore(out)
        try:
            return _run(_dedupe(jobs), config, store, console)
        finally:
            store.compact()
            store.close()
            shutil.rmtree(out / PARTIAL_DIR, ignore_errors=True)
    finally:
        lock.close()


def _run(jobs: list[FetchJob], config: FetchConfig, store: StatusStore, console) -> FetchSummary:
    todo = [job for job in jobs if _wanted(job, store.get(job.key), config)]
    tally = Tally(total=len(todo), skipped=len(jobs) - len(todo))
    work = WorkQueue(config.rate)
    for job in todo:
        previous = store.get(job.key)
        work.put(Task(job, 0, int(previous.get("attempts") or 0) if previous else 0))
    events: queue.Queue = queue.Queue()
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    threads = [threading.Thread(target=_worker, args=(work, store, config, events, random.Random(seed + i)),
                                daemon=True, name=f"fetch-{i}")
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
            for thread in threads:
                thread.join()
            raise
        _drain(events, tally, timeout=0)
        bar.update(0)
    return FetchSummary(by_reason=dict(tally.by_reason), skipped=tally.skipped, manifest=store.manifest,
                        seconds=time.monotonic() - tally.started, retries=tally.retries,
                        pauses=tuple(work.pauses))


def _drain(events: queue.Queue, tally: Tally, timeout: float) -> None:
    try:
        kind, outcome = events.get(timeout=timeout) if timeout else events.get_nowait()
    except queue.Empty:
        return
    while True:
        if kind == "retry":
            tally.retries += 1
        else:
            tally.finish(outcome.status, outcome.reason)
        try:
            kind, outcome = events.get_nowait()
        except queue.Empty:
            return
