"""build-shards: manifest (or a folder of image+audio pairs) + media -> per-curriculum WebDataset
shards, resumable after a crash, reproducible byte for byte.

A rerun first reads what is there (`resume.scan_split`) and changes nothing until it knows it can
build: complete tars whose stats are missing are recovered (stats written again), clips the manifest
now puts in another curriculum are moved (their samples copied, JSON updated, then removed from the
old shard), and clips the manifest no longer grades are removed. An unfinished tar is only removed
once all its clips are in finished shards again. Every removal and move is reported.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from avcurr.errors import AvcurrError
from avcurr.locks import exclusive
from avcurr.progress import progress_bar
from avcurr.shards.layout import check_curriculum, split_dir
from avcurr.shards.manifest import ClipTask, Manifest, read_manifest
from avcurr.shards.pairs import read_pairs
from avcurr.shards.pool import ordered_results
from avcurr.shards.publish import publish, write_index  # noqa: F401 - write_index is public here too
from avcurr.shards.resume import SplitState, scan_split
from avcurr.shards.sample import ClipResult, build_sample, sample_json
from avcurr.shards.tario import read_samples, restat, rewrite_shard
from avcurr.shards.writer import ShardLimits, ShardWriter, move_legacy_stats

if TYPE_CHECKING:
    from rich.console import Console


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, kw_only=True)
class BuildConfig:
    """Inputs of one build-shards run (see `avcurr build-shards --help`). Paths may be str or Path.

    Give `manifest` (with `media`, or a `path` column), or `pairs`: a folder of image+audio pairs
    (`frames/<id>.jpg`, `audio/<id>.wav`), each one sample of c1."""

    out: Path
    dataset: str
    split: str
    manifest: Path | None = None
    media: Path | None = None
    workers: int | None = None
    with_spec: bool = True
    limits: ShardLimits = ShardLimits()
    curricula: tuple[str, ...] | None = None
    pairs: Path | None = None

    def __post_init__(self):
        for name in ("manifest", "out", "media", "pairs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if self.curricula is not None and not isinstance(self.curricula, tuple):
            object.__setattr__(self, "curricula", (self.curricula,) if isinstance(self.curricula, str)
                               else tuple(self.curricula))
        if (self.manifest is None) == (self.pairs is None):
            raise AvcurrError("give either a manifest or a folder of pairs (--manifest or --pairs), not both")


@dataclass(frozen=True)
class Move:
    """A key the manifest now puts elsewhere: from (curriculum, tar) to a curriculum (None: no curriculum)."""

    key: str
    source: str
    target: str | None


@dataclass
class BuildSummary:
    """What a run did: clip statuses, samples per curriculum, shards, repairs, time."""

    statuses: Counter = field(default_factory=Counter)
    samples: Counter = field(default_factory=Counter)
    already_done: int = 0
    no_curriculum: int = 0
    duplicates: int = 0
    removed: tuple[str, ...] = ()          # files removed: leftovers, rebuilt unfinished tars, emptied shards
    recovered: tuple[str, ...] = ()        # tars without stats that were complete: stats written again
    kept_unfinished: tuple[str, ...] = ()  # tars without stats kept (their clips were not all rebuilt)
    moves: list[Move] = field(default_factory=list)
    shards: list[Path] = field(default_factory=list)
    failures: list[ClipResult] = field(default_factory=list)
    card: Path | None = None
    seconds: float = 0.0

    @property
    def processed(self) -> int:
        return sum(self.statuses.values())

    @property
    def kept(self) -> int:
        return sum(self.samples.values())

    @property
    def clips_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def nothing_succeeded(self) -> bool:
        """Clips were tried, none made it into a shard, and no clip of the input is in one from
        before either (a rerun that only retries clips that keep failing has succeeded already)."""
        moved = any(m.target for m in self.moves)
        return self.processed > 0 and self.kept == 0 and self.already_done == 0 and not moved


def _read_input(config: BuildConfig) -> Manifest:
    if config.pairs is not None:
        return read_pairs(config.pairs)
    return read_manifest(config.manifest, config.media)


def _selected(config: BuildConfig, manifest: Manifest) -> set[str] | None:
    """The curricula to build (None: all); a clear error for a bad or absent name."""
    if config.curricula is None:
        return None
    names = [check_curriculum(c) for c in config.curricula]
    present = sorted({t.curriculum for t in manifest.tasks}, key=lambda c: int(c[1:]))
    absent = [c for c in names if c not in present]
    if absent:
        raise AvcurrError(f"no clip of the manifest is in {', '.join(absent)} "
                          f"(its curricula: {', '.join(present) or 'none'})")
    return set(names)


def _recoverable(state: SplitState) -> list:
    """Complete tars whose stats are missing and whose keys are nowhere else: counted as finished
    from now on (their stats are written once the build is known to go ahead)."""
    chosen = []
    for item in state.unfinished:
        if item.content is None or any(k in state.where for k in item.keys):
            continue
        for key in item.keys:
            state.where.setdefault(key, []).append((item.curriculum, item.tar))
        chosen.append(item)
    state.unfinished = [u for u in state.unfinished if not any(u is c for c in chosen)]
    return chosen


def _plan_moves(manifest: Manifest, state: SplitState) -> tuple[set[str], list[tuple[Move, ClipTask, Path]],
                                                                 dict[Path, set[str]], list[Move]]:
    """(keys already where the manifest says, moves to make, keys to drop per tar, removals)."""
    done: set[str] = set()
    moves: list[tuple[Move, ClipTask, Path]] = []
    drop: dict[Path, set[str]] = defaultdict(set)
    removals: list[Move] = []
    for task in manifest.tasks:
        places = state.locations(task.key)
        wrong = [(c, tar) for c, tar in places if c != task.curriculum]
        if len(wrong) < len(places):
            done.add(task.key)
        elif wrong:
            moves.append((Move(task.key, wrong[0][0], task.curriculum), task, wrong[0][1]))
        for c, tar in wrong:
            drop[tar].add(task.key)
            if len(wrong) < len(places):
                removals.append(Move(task.key, c, task.curriculum))  # a leftover copy of an earlier move
    for key in manifest.no_curriculum:
        for c, tar in state.locations(key):
            drop[tar].add(key)
            removals.append(Move(key, c, None))
    return done, moves, drop, removals


def _moved_members(members: dict, task: ClipTask, dataset: str, split: str) -> dict:
    """The sample's members with its JSON saying what the manifest says now."""
    meta = json.loads(members["json"])
    fresh = json.loads(sample_json(task, dataset, split, meta.get("n_valid_samples", 0), meta.get("frame_times", [])))
    return {**members, "json": json.dumps({**meta, **fresh}, default=str, ensure_ascii=False).encode("utf-8")}


class _Writers:
    """One ShardWriter per curriculum, made on first use; a write error discards open shards."""

    def __init__(self, config: BuildConfig, state: SplitState):
        self.config, self.state = config, state
        self.writers: dict[str, ShardWriter] = {}
        self.keys: set[str] = set()

    def add(self, curriculum: str, key: str, members: dict, n_sources: int | None) -> None:
        if curriculum not in self.writers:
            self.writers[curriculum] = ShardWriter(self.config.out, self.config.dataset, self.config.split,
                                                   curriculum, self.state.next_number.get(curriculum, 0),
                                                   self.config.limits, self.config.with_spec)
        self.writers[curriculum].add(key, members, n_sources)
        self.keys.add(key)

    def close(self) -> list:
        finished = []
        for writer in self.writers.values():
            writer.close()
            finished += writer.finished
        return finished

    def discard(self) -> list:
        finished = []
        for writer in self.writers.values():
            writer.discard()
            finished += writer.finished
        return finished


def _write_moves(moves, writers: _Writers, config: BuildConfig) -> None:
    by_tar: dict[Path, list] = defaultdict(list)
    for move, task, tar in moves:
        by_tar[tar].append((move, task))
    for tar, items in sorted(by_tar.items()):
        samples = read_samples(tar).samples
        for move, task in sorted(items, key=lambda it: it[0].key):
            writers.add(task.curriculum, task.key, _moved_members(samples[task.key], task, config.dataset,
                                                                  config.split), task.n_sources)


def _check_media(todo: list[ClipTask], config: BuildConfig) -> None:
    """Stop before anything changes when not one clip to build has a media file (a wrong --media)."""
    if todo and config.pairs is None and all(t.media is None for t in todo):
        where = f" in {config.media}" if config.media else ""
        raise AvcurrError(f"none of the {len(todo)} clips to build has a media file{where} (looked for "
                          f"<key>.<ext>, e.g. {todo[0].key}.mp4); nothing was changed")


def _tidy(state: SplitState, drop: dict[Path, set[str]], written: set[str], config: BuildConfig,
          summary: BuildSummary) -> None:
    """After the new shards are finished: shrink shards that lost keys, remove unfinished tars whose
    clips are all in finished shards now, report the rest."""
    removed = list(summary.removed)
    for tar, keys in sorted(drop.items()):
        samples = read_samples(tar).samples
        kept = {k: v for k, v in samples.items() if k not in keys}
        curriculum = tar.parent.name
        if not rewrite_shard(tar, kept, config.dataset, config.split, curriculum):
            removed.append(tar.name)
    finished = {k for k, places in state.where.items() for c, tar in places if tar not in drop or k not in drop[tar]}
    finished |= written
    kept_unfinished = []
    for item in state.unfinished:
        if item.keys is not None and item.keys <= finished:
            item.tar.unlink(missing_ok=True)
            removed.append(item.tar.name)
        else:
            kept_unfinished.append(item.tar.name)
    summary.removed, summary.kept_unfinished = tuple(removed), tuple(kept_unfinished)


def _disk_error(exc: OSError, base: Path, finished: list) -> AvcurrError:
    reason = exc.strerror or str(exc)
    return AvcurrError(f"cannot write shards under {base}: {reason}; the {len(finished)} shard(s) finished "
                       "in this run are kept, rerun build-shards to go on")


def build_shards(config: BuildConfig, console: Console | None = None) -> BuildSummary:
    """Build (or finish) the shards of `config`; per-clip failures are counted, never raised.
    Progress is shown on `console` (None: silent)."""
    base = split_dir(config.out, config.dataset, config.split)
    manifest = _read_input(config)
    wanted = _selected(config, manifest)
    summary = BuildSummary(no_curriculum=len(manifest.no_curriculum), duplicates=len(manifest.duplicates))
    with exclusive(base, "another build-shards"):
        state = scan_split(config.out, config.dataset, config.split)
        recover = _recoverable(state)
        done, moves, drop, removals = _plan_moves(manifest, state)
        tasks = [t for t in manifest.tasks if wanted is None or t.curriculum in wanted]
        moving = {m.key for m, _, _ in moves}
        todo = sorted((t for t in tasks if t.key not in done and t.key not in moving), key=lambda t: t.key)
        _check_media(todo, config)
        summary.already_done = sum(1 for t in tasks if t.key in done)
        for item in recover:
            restat(item.tar, item.content, config.dataset, config.split, item.curriculum)
        summary.recovered = tuple(item.tar.name for item in recover)
        for path in state.leftovers:
            path.unlink(missing_ok=True)
        summary.removed = tuple(p.name for p in state.leftovers)
        for legacy in state.legacy_stats:  # the first layout kept stats beside the tars
            move_legacy_stats(legacy)
        summary.moves = [m for m, _, _ in moves] + removals
        writers = _Writers(config, state)
        work = partial(build_sample, dataset=config.dataset, split=config.split, with_spec=config.with_spec)
        started = time.perf_counter()
        try:
            _write_moves(moves, writers, config)
            with ordered_results(todo, work, config.workers or default_workers()) as results, \
                    progress_bar(console, "building shards", len(todo)) as bar:
                for result in results:
                    summary.statuses[result.status] += 1
                    if result.kept:
                        writers.add(result.curriculum, result.key, result.members, result.n_sources)
                        summary.samples[result.curriculum] += 1
                    else:
                        summary.failures.append(result)
                    elapsed = time.perf_counter() - started
                    bar.update(advance=1, info=f"{summary.processed / max(elapsed, 1e-9):.1f} clips/s")
            summary.shards = writers.close()
            _tidy(state, drop, writers.keys, config, summary)
        except OSError as exc:  # disk full, folder gone: one line, finished shards stay
            raise _disk_error(exc, base, writers.discard()) from None
        except BaseException:
            writers.discard()
            raise
        summary.seconds = time.perf_counter() - started
        summary.card = publish(config.out, config.dataset, config.split, summary.failures)
    return summary
