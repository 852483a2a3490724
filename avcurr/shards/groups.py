"""Writing one planned shard group (see avcurr.shards.plan): the unit every engine runs.

A group's only state is on disk and follows the writer's protocol: its samples go into the hidden
`.<name>.tar.partial`, which is renamed to its planned name once complete, and its stats come
last. Building a group again (a retried Ray task, a rerun) writes the same bytes under the same
name, so a group is idempotent: a worker killed anywhere in it loses nothing that a retry or a
rerun does not write again.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.shards.manifest import ClipTask
from avcurr.shards.plan import GroupContext, ShardGroup
from avcurr.shards.sample import ClipResult, build_sample, sample_json
from avcurr.shards.tario import read_samples
from avcurr.shards.writer import ShardWriter


@dataclass
class GroupOutcome:
    """What building one group did: its shard (None when no clip was kept), the keys written, the
    status of every clip decoded, the failures, the keys left over for the next round (byte
    limit), and an error that stopped it (disk full...)."""

    curriculum: str
    number: int
    shard: Path | None = None
    written: tuple[str, ...] = ()
    statuses: Counter = field(default_factory=Counter)
    failures: list[ClipResult] = field(default_factory=list)
    left_over: tuple[str, ...] = ()
    error: str | None = None

    @property
    def clips(self) -> int:
        return sum(self.statuses.values())


class GroupWriter:
    """Writes the kept samples of one group, in the order given, into the group's shard; a sample
    that would take the shard past the byte limit, and every kept sample after it, is left over."""

    def __init__(self, ctx: GroupContext, group: ShardGroup):
        self.group = group
        self.writer = ShardWriter(ctx.out, ctx.dataset, ctx.split, group.curriculum, group.number,
                                  ctx.limits, ctx.with_spec)
        self.outcome = GroupOutcome(group.curriculum, group.number)
        self._written: list[str] = []
        self._left: list[str] = []

    def add(self, result: ClipResult) -> None:
        """One decoded clip (kept or failed)."""
        if result.kept and self._take(result.key, result.members, result.n_sources):
            self.outcome.statuses[result.status] += 1
        elif not result.kept:
            self.outcome.statuses[result.status] += 1
            self.outcome.failures.append(replace(result, members=None))

    def add_moved(self, task: ClipTask, members: dict) -> None:
        """One sample copied from another curriculum's shard (not a decoded clip: no status)."""
        self._take(task.key, members, task.n_sources)

    def _take(self, key: str, members: dict, n_sources: int | None) -> bool:
        if self._left or not self.writer.fits(members):
            self._left.append(key)
            return False
        self.writer.add(key, members, n_sources)
        self._written.append(key)
        return True

    def finish(self) -> GroupOutcome:
        """Finish the shard (rename, then stats) and say what was done."""
        self.writer.close()
        outcome = self.outcome
        outcome.shard = self.writer.finished[0] if self.writer.finished else None
        outcome.written, outcome.left_over = tuple(self._written), tuple(self._left)
        return outcome

    def discard(self) -> None:
        """Drop the unfinished shard's temporary file (a finished one stays)."""
        self.writer.discard()


def build_group(group: ShardGroup, ctx: GroupContext) -> GroupOutcome:
    """Decode the group's clips one after another and write its shard (what a Ray task runs).
    A write error (disk full, folder gone) comes back as `error`, not raised."""
    writer = GroupWriter(ctx, group)
    try:
        for task in group.tasks:
            writer.add(build_sample(task, ctx.dataset, ctx.split, ctx.with_spec))
        return writer.finish()
    except (OSError, AvcurrError) as exc:
        writer.discard()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return GroupOutcome(group.curriculum, group.number, error=reason)


def moved_members(members: dict, task: ClipTask, dataset: str, split: str) -> dict:
    """The sample's members with its JSON saying what the manifest says now."""
    meta = json.loads(members["json"])
    fresh = json.loads(sample_json(task, dataset, split, meta.get("n_valid_samples", 0), meta.get("frame_times", [])))
    return {**members, "json": json.dumps({**meta, **fresh}, default=str, ensure_ascii=False).encode("utf-8")}


def build_move_group(group: ShardGroup, ctx: GroupContext) -> GroupOutcome:
    """Copy the group's samples out of the finished shards they sit in now (each read once) into
    the group's shard, with their JSON updated. Errors are raised: this runs in the driver."""
    needed: dict[Path, list[int]] = defaultdict(list)
    for i, source in enumerate(group.sources):
        needed[source].append(i)
    members: dict[int, dict] = {}
    for source, indexes in sorted(needed.items()):
        samples = read_samples(source).samples
        for i in indexes:
            members[i] = samples[group.tasks[i].key]
    writer = GroupWriter(ctx, group)
    try:
        for i, task in enumerate(group.tasks):
            writer.add_moved(task, moved_members(members[i], task, ctx.dataset, ctx.split))
        return writer.finish()
    except BaseException:
        writer.discard()
        raise
