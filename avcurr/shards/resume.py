"""What earlier runs left in a `<dataset>/<split>` folder, read without changing anything.

- Finished shards (tar and stats): where every key is. After a crash in the middle of a move a key
  can sit in two curricula; the build then keeps it where the manifest says.
- Unfinished tars (no stats). A tar is renamed into place only once complete, so one that reads
  whole, with full samples whose keys are nowhere else, is *recoverable*: writing its stats again
  finishes it. Any other is kept until its clips are rebuilt in the same run.
- Leftovers of our own writes: hidden `.partial` tars, temporary files of atomic writes, stats whose
  tar is gone. The build removes them and reports their names.
- Stats of the first layout (beside their tars): the build moves them into `_stats/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from avcurr.atomic import is_temp
from avcurr.errors import AvcurrError
from avcurr.shards.layout import (PARTIAL_SUFFIX, STATS_DIR, all_tars, curricula_present, curriculum_dir,
                                  existing_stats, read_stats, shard_number)
from avcurr.shards.tario import ShardContent, complete_content, read_samples


@dataclass
class Unfinished:
    """A tar without stats: its keys (None when it cannot be read) and, when it is complete, its content."""

    tar: Path
    curriculum: str
    keys: frozenset[str] | None
    content: ShardContent | None = None


@dataclass
class SplitState:
    """Everything in one `<dataset>/<split>` folder an earlier run left."""

    where: dict[str, list[tuple[str, Path]]] = field(default_factory=dict)  # key -> [(curriculum, tar)]
    unfinished: list[Unfinished] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)
    legacy_stats: list[Path] = field(default_factory=list)  # first-layout stats beside their tars
    next_number: dict[str, int] = field(default_factory=dict)

    def locations(self, key: str) -> list[tuple[str, Path]]:
        return self.where.get(key, [])


def _scan_curriculum(folder: Path, curriculum: str, state: SplitState) -> None:
    numbers = [-1]
    stats_folder = folder / STATS_DIR
    for path in [*folder.iterdir(), *(stats_folder.iterdir() if stats_folder.is_dir() else ())]:
        if path.name.endswith(PARTIAL_SUFFIX) or is_temp(path):
            state.leftovers.append(path)
        elif path.name.endswith(".stats.json") and not folder.joinpath(
                path.name[:-len(".stats.json")] + ".tar").is_file():
            state.leftovers.append(path)
        elif path.parent == folder and path.name.endswith(".stats.json"):
            state.legacy_stats.append(path)
    finished_keys: set[str] = set()
    for tar in all_tars(folder):
        numbers.append(shard_number(tar))
        if existing_stats(tar) is None:
            state.unfinished.append(Unfinished(tar, curriculum, None))
            continue
        keys = [row["key"] for row in read_stats(tar)["samples"]]
        clash = finished_keys.intersection(keys)
        if clash:
            raise AvcurrError(f"{tar}: key(s) {sorted(clash)[:3]} already in another shard of {curriculum}; "
                              "run `avcurr verify` and remove the damaged shard")
        finished_keys.update(keys)
        for key in keys:
            state.where.setdefault(key, []).append((curriculum, tar))
    state.next_number[curriculum] = max(numbers) + 1


def _classify_unfinished(state: SplitState) -> None:
    for item in state.unfinished:
        try:
            content = read_samples(item.tar)
        except AvcurrError:
            continue  # keys unknown: kept as it is, and reported
        item.keys = frozenset(content.samples)
        if complete_content(content, item.curriculum) and not any(k in state.where for k in item.keys):
            item.content = content


def scan_split(root: Path, dataset: str, split: str) -> SplitState:
    """Read (never change) what is in `<root>/<dataset>/<split>`."""
    state = SplitState()
    for curriculum in curricula_present(root, dataset, split):
        _scan_curriculum(curriculum_dir(root, dataset, split, curriculum), curriculum, state)
    _classify_unfinished(state)
    return state
