"""Running planned shard groups: the local engine (a process pool here) and the choice of engine.

Both engines run the same groups of the same plan and hand back one `GroupOutcome` per group, in
plan order. The local engine decodes clips in a process pool, in task order, and writes each
group's shard in this process as the group's last clip comes back: workers never write, and a
worker killed from outside fails only the clips it had in flight (`worker_died`). The Ray engine
(avcurr.shards.ray_engine) runs each group as one Ray task that decodes and writes its shard.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial
from typing import ContextManager, Iterator, Protocol

from avcurr.errors import AvcurrError
from avcurr.shards.groups import GroupOutcome, GroupWriter
from avcurr.shards.plan import GroupContext, ShardGroup
from avcurr.shards.pool import ordered_results
from avcurr.shards.sample import build_sample

ENGINES = ("local", "ray")
# What a running engine reports: (clips just finished, the outcome of the group that just finished
# or None). Outcomes come in plan order for the local engine, in completion order for Ray.
Event = tuple[int, "GroupOutcome | None"]


class Engine(Protocol):
    def start(self, groups: list[ShardGroup], ctx: GroupContext) -> ContextManager[Iterator[Event]]:
        """Start building `groups`; the iterator reports progress and each group's outcome. Leaving
        the block early (an error, Ctrl-C) stops the work; finished shards stay."""

    def close(self) -> None:
        ...


def check_engine(engine: str, ray_address: str | None) -> None:
    if engine not in ENGINES:
        raise AvcurrError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if ray_address is not None and engine != "ray":
        raise AvcurrError("--ray-address needs --engine ray")


class LocalEngine:
    """Clips decoded by `workers` processes (or here, for one), shards written here."""

    def __init__(self, workers: int):
        self.workers = workers

    @contextmanager
    def start(self, groups: list[ShardGroup], ctx: GroupContext) -> Iterator[Iterator[Event]]:
        # The pool forks its workers here, before the caller starts a progress thread.
        tasks = [task for group in groups for task in group.tasks]
        work = partial(build_sample, dataset=ctx.dataset, split=ctx.split, with_spec=ctx.with_spec)
        with ordered_results(tasks, work, self.workers) as results:
            yield self._events(groups, ctx, results)

    @staticmethod
    def _events(groups: list[ShardGroup], ctx: GroupContext, results) -> Iterator[Event]:
        if not groups:
            return
        index, seen = 0, 0
        writer = GroupWriter(ctx, groups[0])
        try:
            for result in results:
                writer.add(result)
                seen += 1
                if seen < len(groups[index].tasks):
                    yield 1, None
                    continue
                outcome = writer.finish()  # the group's last clip: its shard is complete
                index, seen = index + 1, 0
                writer = GroupWriter(ctx, groups[index]) if index < len(groups) else None
                yield 1, outcome
        except BaseException:  # an error, Ctrl-C, or the caller leaving early (GeneratorExit)
            if writer is not None:
                writer.discard()
            raise

    def close(self) -> None:
        pass


def make_engine(engine: str, workers: int, ray_address: str | None = None, in_flight: int | None = None) -> Engine:
    """The engine by name: "local" (a pool of `workers` processes) or "ray" (tasks on a Ray
    cluster: a new local instance, or the running one at `ray_address`, e.g. "auto"; at most
    `in_flight` groups at a time, None: as many as the cluster runs)."""
    check_engine(engine, ray_address)
    if engine == "ray":
        from avcurr.shards.ray_engine import RayEngine

        return RayEngine(ray_address, in_flight)
    return LocalEngine(workers)
