"""The up-front plan of a build: which clip goes into which shard, decided before any clip is decoded.

Per curriculum (c1, c2, ...), the clips to build are sorted by key and cut into groups of
`max_samples`; group j of a curriculum is shard number `first + j`, where `first` is one past the
highest shard number already in that curriculum's folder. Clips that move from another
curriculum's shards get their groups first (they are copied, not decoded). A clip without a media
file is left out of the plan: it fails as `missing` at once, there is nothing to decode.

Whatever runs the groups (the local process pool, Ray tasks, the tasks of a Slurm array), a group
writes its kept clips, in key order, into its own shard and nowhere else. So a local and a Ray
build of the same manifest put the same keys into the same shards, byte for byte, and groups can
be built side by side, retried or rebuilt without ever writing the same shard twice.

What the fixed plan costs, against filling shards with whichever clips succeed: a shard holds its
group's clips minus those that fail to decode (corrupt, silent, no stream...), so shards come out
smaller where clips fail, and a group whose clips all fail leaves its shard number unused.
`max_bytes` cannot be planned before decoding: a sample that would take its shard past it is left
over, and once every group of a round is done, the clips left over are planned again, in group
order, into new groups numbered after the last one (and decoded again).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from avcurr.shards.layout import shard_path
from avcurr.shards.manifest import ClipTask
from avcurr.shards.writer import ShardLimits


@dataclass(frozen=True)
class GroupContext:
    """Where a group's shard goes and how it is written (the same for every group of a build)."""

    out: Path
    dataset: str
    split: str
    with_spec: bool
    limits: ShardLimits


@dataclass(frozen=True)
class ShardGroup:
    """One planned shard: its curriculum, number and clips (in key order). A move group copies
    each clip's sample from the finished shard in `sources` instead of decoding it."""

    curriculum: str
    number: int
    tasks: tuple[ClipTask, ...]
    sources: tuple[Path, ...] = ()

    @property
    def moves(self) -> bool:
        return bool(self.sources)

    def shard(self, ctx: GroupContext) -> Path:
        return shard_path(ctx.out, ctx.dataset, ctx.split, self.curriculum, self.number)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.tasks)


def by_curriculum(names) -> list[str]:
    """Curriculum names in their order: c1, c2, ..., c10."""
    return sorted(names, key=lambda c: int(c[1:]))


def plan_groups(tasks: list[ClipTask], numbers: dict[str, int], max_samples: int,
                sources: dict[str, Path] | None = None) -> list[ShardGroup]:
    """Groups of at most `max_samples` clips per curriculum, keys in order, numbered from
    `numbers[c]` (which is moved past the numbers given out). `sources` makes move groups."""
    per: dict[str, list[ClipTask]] = defaultdict(list)
    for task in tasks:
        per[task.curriculum].append(task)
    groups = []
    for curriculum in by_curriculum(per):
        items = sorted(per[curriculum], key=lambda t: t.key)
        for start in range(0, len(items), max_samples):
            chunk = tuple(items[start:start + max_samples])
            number = numbers.get(curriculum, 0)
            numbers[curriculum] = number + 1
            groups.append(ShardGroup(curriculum, number, chunk,
                                     tuple(sources[t.key] for t in chunk) if sources is not None else ()))
    return groups


def replan_left_over(groups: list[ShardGroup], left_over: dict[tuple[str, int], tuple[str, ...]],
                     numbers: dict[str, int], max_samples: int) -> list[ShardGroup]:
    """The next round: clips the groups of this round could not take (byte limit), in group order,
    in new groups numbered after every number given out so far."""
    tasks, sources = [], {}
    for group in groups:
        keys = set(left_over.get((group.curriculum, group.number), ()))
        for i, task in enumerate(group.tasks):
            if task.key in keys:
                tasks.append(task)
                if group.moves:
                    sources[task.key] = group.sources[i]
    moving = [t for t in tasks if t.key in sources]
    decoding = [t for t in tasks if t.key not in sources]
    return (plan_groups(moving, numbers, max_samples, sources) +
            plan_groups(decoding, numbers, max_samples))
