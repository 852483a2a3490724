"""Clip results in task order from worker processes that may die.

A worker killed from outside (`kill -9`, the OOM killer) breaks a `ProcessPoolExecutor`: every clip
in flight then fails as `worker_died`, a fresh pool takes the rest, and the run goes on. At most
`workers` clips are in flight at a time, so a death costs at most that many. Results are handed on
in task order (a few are held back while an earlier one is still running) so that the same input
always gives the same shards, whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from avcurr.shards.manifest import ClipTask
from avcurr.shards.sample import ClipResult
from avcurr.workers import die_with_parent

WORKER_DIED = "worker_died"
_AHEAD = 8  # results held back per worker while an earlier clip is still running


def _new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def _died(task: ClipTask, exit_codes: list[int]) -> ClipResult:
    how = f" (exit status {', '.join(map(str, exit_codes))})" if exit_codes else ""
    return ClipResult(task.key, task.curriculum, WORKER_DIED,
                      f"a worker process died{how} while this clip was in flight: killed from outside "
                      "(out of memory?) or crashed; the run went on with a new worker", None, task.n_sources)


def _crashed(task: ClipTask, exc: BaseException) -> ClipResult:
    return ClipResult(task.key, task.curriculum, "error", f"{type(exc).__name__}: {exc}", None, task.n_sources)


def _exit_codes(pool: ProcessPoolExecutor) -> list[int]:
    try:
        return sorted({p.exitcode for p in (pool._processes or {}).values() if p.exitcode})
    except Exception:  # noqa: BLE001 - private attribute: only used to say more in the message
        return []


class _Ordered:
    def __init__(self, tasks: Sequence[ClipTask], work: Callable[[ClipTask], ClipResult], workers: int):
        self.tasks, self.work, self.workers = tasks, work, workers
        self.pool = _new_pool(workers)
        self.running: dict[Future, int] = {}
        self.ready: dict[int, ClipResult] = {}
        self.next_in = self.next_out = 0
        self._submit()  # the workers fork now, before the caller starts a progress thread

    def _submit(self) -> None:
        while (self.next_in < len(self.tasks) and len(self.running) < self.workers
               and self.next_in - self.next_out < self.workers * _AHEAD):
            try:
                future = self.pool.submit(self.work, self.tasks[self.next_in])
            except BrokenProcessPool:  # a worker died since the last wait: its clips fail, go on
                self._restart()
                continue
            self.running[future] = self.next_in
            self.next_in += 1

    def _collect(self, future: Future, index: int) -> bool:
        """Store one finished future's result; True if it says the pool broke."""
        try:
            self.ready[index] = future.result()
        except BrokenProcessPool:
            return True
        except Exception as exc:  # noqa: BLE001 - one clip must never stop the run
            self.ready[index] = _crashed(self.tasks[index], exc)
        return False

    def _restart(self) -> None:
        codes = _exit_codes(self.pool)
        for future, index in self.running.items():
            if not (future.done() and future.exception() is None):
                self.ready[index] = _died(self.tasks[index], codes)
            else:
                self.ready[index] = future.result()
        self.running.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = _new_pool(self.workers)

    def __iter__(self) -> Iterator[ClipResult]:
        while self.next_out < len(self.tasks):
            if self.next_out in self.ready:
                yield self.ready.pop(self.next_out)
                self.next_out += 1
                self._submit()
                continue
            done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                index = self.running.pop(future)
                if self._collect(future, index):
                    self.running[future] = index  # failed below with the rest in flight
                    broken = True
            if broken:
                self._restart()
            self._submit()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def ordered_results(tasks: Sequence[ClipTask], work: Callable[[ClipTask], ClipResult],
                    workers: int) -> Iterator[Iterator[ClipResult]]:
    """Results of `work` over `tasks`, in task order: in this process for one worker, else from a
    pool that is forked here (call it before any progress thread starts)."""
    if workers <= 1 or len(tasks) <= 1:
        yield map(work, tasks)
        return
    ordered = _Ordered(tasks, work, min(workers, len(tasks)))
    try:
        yield iter(ordered)
    finally:
        # Also on Ctrl-C: queued clips are cancelled and the few in flight (one per worker, which
        # ignore Ctrl-C) finish. Killing a worker while it sends its half-megabyte result could
        # leave half a message in the result pipe, and the pool's thread waiting for the rest.
        ordered.close()
