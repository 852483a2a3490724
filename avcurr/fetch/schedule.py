"""The work queue shared by the workers: clips become ready at a time (backoff), a rate-limit
signal pauses every worker, and `--rate` spaces out clip starts."""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from dataclasses import dataclass

from avcurr.fetch.jobs import FetchJob


@dataclass(frozen=True)
class Task:
    job: FetchJob
    attempt: int          # attempts already made in this run
    prior_attempts: int   # attempts recorded by earlier runs


class WorkQueue:
    """A time-ordered queue; `get()` blocks until a task is due, or returns None when all is done."""

    def __init__(self, rate: float | None = None) -> None:
        self._heap: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._resume_at = 0.0
        self._next_start = 0.0
        self._interval = 1.0 / rate if rate else 0.0
        self.stopped = False
        self.waiting_retry = 0
        self.pauses: list[tuple[float, float]] = []  # (from, until), time.monotonic() clock

    def put(self, task: Task, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), task))
            if task.attempt:
                self.waiting_retry += 1
            self._cond.notify_all()

    def pause_all(self, seconds: float) -> None:
        """Hold back every worker: the host is rate-limiting us, not just one clip."""
        with self._cond:
            now = time.monotonic()
            self._resume_at = max(self._resume_at, now + seconds)
            self.pauses.append((now, self._resume_at))
            self._cond.notify_all()

    def get(self) -> Task | None:
        with self._cond:
            while not self.stopped:
                if not self._heap:
                    if self._in_flight == 0:
                        return None
                    self._cond.wait()
                    continue
                due = max(self._heap[0][0], self._resume_at, self._next_start)
                now = time.monotonic()
                if due > now:
                    self._cond.wait(due - now)
                    continue
                task = heapq.heappop(self._heap)[2]
                if task.attempt:
                    self.waiting_retry -= 1
                self._in_flight += 1
                self._next_start = now + self._interval
                return task
            return None

    def task_done(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, times a factor in [0.5, 1.5)."""
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + rng.random())
