"""`avcurr fetch --engine ray`: every clip attempt is a Ray task, anywhere on the cluster.

The driver keeps everything that has state: the work queue, the retry rules and the one status
journal (`avcurr.fetch.runner`). A task only downloads one clip into the shared output folder and
returns its Outcome. What the tasks share is one small actor, the `ClusterGate`: before a task
starts a clip it asks the gate, which holds it back while the host is rate-limiting us (a 429 or a
bot check seen by any task pauses them all) and spaces clip starts by `--rate` over the whole
cluster. The output folder must be reachable by every node at the same path (a shared file system),
and every node needs avcurr installed in the same Python environment.

Ray is optional (`pip install 'avcurr[ray]'`); this module imports it only when used.
"""

from __future__ import annotations

import threading
import time

from avcurr.fetch.classify import TRANSIENT
from avcurr.fetch.download import Outcome, attempt_clip, warm_up
from avcurr.fetch.jobs import FetchConfig, FetchJob
from avcurr.ray_cluster import connect_ray


class ClusterGate:
    """Cluster-wide start gate (run as one Ray actor). Times are on the actor's own clock; callers
    only ever get durations back, so nodes never compare their clocks."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.resume_at = 0.0
        self.next_start = 0.0
        self.pause_log: list[tuple[float, float]] = []

    def admit(self) -> float:
        """0.0: start now (and take the next `--rate` slot); otherwise seconds to wait, then ask again."""
        now = time.monotonic()
        due = max(self.resume_at, self.next_start)
        if due > now:
            return due - now
        self.next_start = now + self.interval
        return 0.0

    def pause(self, seconds: float) -> None:
        """Hold back every task's next start: the host is angry with us, not with one clip."""
        now = time.monotonic()
        self.resume_at = max(self.resume_at, now + seconds)
        self.pause_log.append((now, self.resume_at))

    def pauses_ago(self) -> list[tuple[float, float]]:
        """Every pause as (seconds since it began, seconds since it ended: negative if ahead)."""
        now = time.monotonic()
        return [(now - begin, now - until) for begin, until in self.pause_log]


def run_one_clip(job: FetchJob, config: FetchConfig, gate, pause_for: float | None) -> Outcome:
    """The Ray task: wait for the gate, attempt the clip, and if the host said "slow down" (and the
    driver will retry), pause every task through the gate before reporting back."""
    import ray

    warm_up(config, job.url(config.url_template))  # so that an admitted clip reaches the host at once
    while (wait := ray.get(gate.admit.remote())) > 0:
        time.sleep(wait)
    outcome = attempt_clip(job, config)
    if pause_for is not None and outcome.verdict.retryable and outcome.verdict.pauses_everyone:
        ray.get(gate.pause.remote(pause_for))
    return outcome


class RayAttempts:
    """The Ray engine as the runner sees it: `attempt(job, config, pause_for)` runs one Ray task."""

    def __init__(self, config: FetchConfig) -> None:
        ray, self.started_here = connect_ray(config.ray_address)
        self.ray = ray
        # One gate per run; no CPU of its own, so it never waits behind the clip tasks it gates.
        self.gate = ray.remote(num_cpus=0)(ClusterGate).remote(config.rate)
        self.task = ray.remote(num_cpus=1, max_retries=0)(run_one_clip)
        self.in_flight: set = set()
        self.lock = threading.Lock()

    def __call__(self, job: FetchJob, config: FetchConfig, pause_for: float | None) -> Outcome:
        ref = self.task.remote(job, config, self.gate, pause_for)
        with self.lock:
            self.in_flight.add(ref)
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.TaskCancelledError:
            return Outcome(TRANSIENT, "other", error="cancelled (the run was interrupted)")
        except self.ray.exceptions.RayError as exc:  # a worker or node died: retried like any transient
            return Outcome(TRANSIENT, "other", error=f"{type(exc).__name__}: {exc}")
        finally:
            with self.lock:
                self.in_flight.discard(ref)

    def cancel_all(self) -> None:
        """Ctrl-C: stop the clips in flight (a task's ffmpeg dies with it); none is recorded."""
        with self.lock:
            refs = list(self.in_flight)
        for ref in refs:
            self.ray.cancel(ref)

    def pauses(self, work) -> tuple:
        """The gate's pauses as (from, until) on this process's time.monotonic() clock."""
        now = time.monotonic()
        return tuple((now - began, now - ended) for began, ended in self.ray.get(self.gate.pauses_ago.remote()))

    def close(self) -> None:
        self.ray.kill(self.gate)
        if self.started_here:
            self.ray.shutdown()
