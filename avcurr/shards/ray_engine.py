"""`build-shards --engine ray`: each planned shard group is one Ray task, anywhere on the cluster.

The driver keeps everything that has state: the plan, the summary, the repairs and the side files
(index, failures, shard indexes, card). A task decodes its group's clips one after another and
writes the group's shard into the shared output folder by the same atomic protocol as the local
engine (hidden partial file, rename, stats last), then returns what it did. Its only state is on
disk and building a group again writes the same bytes under the same name, so Ray may retry a task
whose worker died (`GROUP_RETRIES` times); if it keeps dying, the group's clips fail as
`worker_died` and a rerun builds them. The output and media folders must be reachable by every
node at the same path, and every node needs avcurr installed in the same Python environment.

Parallelism is one CPU per group: give a manifest enough groups (`--max-samples`) to fill the
cluster. Ray is optional (`pip install 'avcurr[ray]'`); this module imports it only when used.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from avcurr.ray_cluster import connect_ray
from avcurr.shards.groups import GroupOutcome, build_group
from avcurr.shards.plan import GroupContext, ShardGroup
from avcurr.shards.pool import WORKER_DIED
from avcurr.shards.sample import ClipResult

GROUP_RETRIES = 2  # extra tries of a group whose worker died (killed, out of memory, node lost)


def build_shard_group(group: ShardGroup, ctx: GroupContext) -> GroupOutcome:
    """The Ray task (its name shows in the worker's process title: `ray::build_shard_group`)."""
    return build_group(group, ctx)


def _died(group: ShardGroup, exc: BaseException) -> GroupOutcome:
    """Every clip of a group whose worker kept dying fails; a rerun builds the group."""
    outcome = GroupOutcome(group.curriculum, group.number)
    reason = type(exc).__name__
    for task in group.tasks:
        outcome.statuses[WORKER_DIED] += 1
        outcome.failures.append(ClipResult(task.key, task.curriculum, WORKER_DIED,
                                           f"the Ray worker building shard {group.number} of {group.curriculum} "
                                           f"died {GROUP_RETRIES + 1} times ({reason}); rerun build-shards to "
                                           "build it", None, task.n_sources))
    return outcome


class RayEngine:
    """Shard groups as Ray tasks on a new local Ray instance, or on the cluster at `address`."""

    def __init__(self, address: str | None = None, in_flight: int | None = None):
        ray, self.started_here = connect_ray(address)
        self.ray = ray
        self.task = ray.remote(num_cpus=1, max_retries=GROUP_RETRIES, retry_exceptions=False)(build_shard_group)
        self.in_flight = in_flight

    @contextmanager
    def start(self, groups: list[ShardGroup], ctx: GroupContext) -> Iterator[Iterator[tuple[int, GroupOutcome]]]:
        running: dict = {}
        try:
            yield self._events(groups, ctx, running)
        finally:
            for ref in running:  # Ctrl-C or an error: stop the groups in flight (their partials are leftovers)
                self.ray.cancel(ref, force=True)

    def _events(self, groups: list[ShardGroup], ctx: GroupContext, running: dict):
        ray = self.ray
        context = ray.put(ctx)
        waiting = list(reversed(groups))
        limit = self.in_flight or len(groups)
        while waiting or running:
            while waiting and len(running) < limit:
                group = waiting.pop()
                running[self.task.remote(group, context)] = group
            ready, _ = ray.wait(list(running), num_returns=1)
            group = running.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except ray.exceptions.RayError as exc:  # the worker died more often than it was retried
                outcome = _died(group, exc)
            yield len(group.tasks) - len(outcome.left_over), outcome

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()
