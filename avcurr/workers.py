"""Worker processes that never outlive the run that started them (synth, build-shards).

Each worker asks the kernel for SIGKILL when its parent dies (Linux `PR_SET_PDEATHSIG`; elsewhere
a thread polls the parent id), so a parent killed with `kill -9` or SIGTERM leaves no orphans.
Workers ignore Ctrl-C: the parent handles it and stops them at once instead of letting them
finish the queue. A worker that dies (the out-of-memory killer) fails its clips with `WorkerDied`.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator

PR_SET_PDEATHSIG = 1


class WorkerDied(RuntimeError):
    """A worker process ended abruptly (killed by a signal, e.g. the out-of-memory killer)."""


def _poll_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker when `parent_pid` ends; leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's handlers; the CLI's turns SIGTERM into Ctrl-C, which
    # would make `stop_workers`' terminate print a traceback from every worker.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl failed")
    except (OSError, AttributeError):  # not Linux: watch the parent id instead
        threading.Thread(target=_poll_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: drop queued work, terminate (then kill) its processes, do not wait for tasks."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the stdlib has no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + 5
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(timeout=1)
    # A worker stopped while sending its result leaves half a message in the result pipe: the
    # pool's manager thread would wait for the rest forever, and the interpreter for it at exit.
    # With the workers gone, our copy is the pipe's last write end: closing it turns that wait
    # into end-of-file, which the manager thread takes as a broken pool and ends.
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A spawn-context process pool whose workers die with this process; stopped at once when the
    block ends with an exception (Ctrl-C included), shut down normally otherwise."""
    # spawn: workers must not inherit threads (progress display, torch) from the parent.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)
