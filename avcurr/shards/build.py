"""build-shards: manifest (or a folder of image+audio pairs) + media -> per-curriculum WebDataset
shards, resumable after a crash, reproducible byte for byte.

A rerun first reads what is there (`resume.scan_split`) and changes nothing until it knows it can
build: complete tars whose stats are missing are recovered (stats written again), clips the manifest
now puts in another curriculum are moved (their samples copied, JSON updated, then removed from the
old shard), and clips the manifest no longer grades are removed. An unfinished tar is only removed
once all its clips are in finished shards again. Every removal and move is reported.

What is left to build is planned up front (`avcurr.shards.plan`): each shard is a group of clips
fixed before decoding, so the local engine (a process pool here) and the Ray engine (one task per
group, `avcurr.shards.ray_engine`) write the same keys into the same shards. `--slice I/N` builds
only every N-th group of a plan shared through the split folder (`avcurr.shards.slices`), so the
tasks of a job array build side by side; a run without `--slice` then finishes and publishes.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from avcurr.errors import AvcurrError
from avcurr.locks import exclusive
from avcurr.progress import progress_bar
from avcurr.shards.engine import Engine, check_engine, make_engine
from avcurr.shards.groups import GroupOutcome, build_move_group
from avcurr.shards.layout import check_curriculum, is_curriculum, partial_files, split_dir
from avcurr.shards.manifest import ClipTask, Manifest, read_manifest
from avcurr.shards.pairs import read_pairs
from avcurr.shards.plan import GroupContext, ShardGroup, plan_groups, replan_left_over
from avcurr.shards.publish import publish, write_index  # noqa: F401 - write_index is public here too
from avcurr.shards.resume import SplitState, scan_split
from avcurr.shards.sample import ClipResult, build_sample
from avcurr.shards.tario import read_samples, restat, rewrite_shard
from avcurr.shards.writer import ShardLimits, move_legacy_stats

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
    (`frames/<id>.jpg`, `audio/<id>.wav`), each one sample of c1.

    engine: "local" (decode in `workers` processes here) or "ray" (one Ray task per shard group:
    a new local Ray instance, or the cluster at `ray_address`, e.g. "auto"; `workers` then caps
    the groups in flight, None: as many as the cluster runs).
    slice: (i, n) builds only groups i, i+n, ... of the plan shared in the split folder and
    publishes nothing (a job array's task); a run without a slice finishes and publishes."""

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
    engine: str = "local"
    ray_address: str | None = None
    slice: tuple[int, int] | None = None

    def __post_init__(self):
        # Absolute: a Ray worker on a cluster started elsewhere resolves relative paths against
        # its own working folder, and would write the shards there.
        for name in ("manifest", "out", "media", "pairs"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).absolute())
        if self.curricula is not None and not isinstance(self.curricula, tuple):
            object.__setattr__(self, "curricula", (self.curricula,) if isinstance(self.curricula, str)
                               else tuple(self.curricula))
        if (self.manifest is None) == (self.pairs is None):
            raise AvcurrError("give either a manifest or a folder of pairs (--manifest or --pairs), not both")
        check_engine(self.engine, self.ray_address)
        if self.slice is not None and not (self.slice[1] >= 1 and 0 <= self.slice[0] < self.slice[1]):
            raise AvcurrError(f"--slice must be I/N with 0 <= I < N, got {self.slice[0]}/{self.slice[1]}")

    def context(self) -> GroupContext:
        """What every shard group of this build shares."""
        return GroupContext(out=self.out, dataset=self.dataset, split=self.split, with_spec=self.with_spec,
                            limits=self.limits)


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
    engine: str = "local"
    groups: int = 0                        # shard groups this run built
    left_for_final: int = 0                # a slice: clips left to the run that publishes (byte limit)
    slice: tuple[int, int] | None = None

    @property
    def processed(self) -> int:
        return sum(self.statuses.values())

    @property
    def kept(self) -> int:
        return sum(self.samples.values())

    def finish(self, started: float) -> None:
        """Put shards and failures in name order and record the time since `started`."""
        self.shards.sort()
        self.failures.sort(key=lambda f: f.key)
        self.seconds = time.perf_counter() - started

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


def _check_media(todo: list[ClipTask], config: BuildConfig) -> None:
    """Stop before anything changes when not one clip to build has a media file (a wrong --media)."""
    if todo and config.pairs is None and all(t.media is None for t in todo):
        where = f" in {config.media}" if config.media else ""
        raise AvcurrError(f"none of the {len(todo)} clips to build has a media file{where} (looked for "
                          f"<key>.<ext>, e.g. {todo[0].key}.mp4); nothing was changed")


def _sweep_partials(base: Path, summary: BuildSummary) -> None:
    swept = [path for folder in sorted(base.iterdir()) if folder.is_dir() and is_curriculum(folder.name)
             for path in partial_files(folder)]
    for path in swept:
        path.unlink(missing_ok=True)
    summary.removed += tuple(path.name for path in swept)


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


def add_outcome(summary: BuildSummary, outcome: GroupOutcome) -> None:
    """Count one finished group into the run's summary."""
    summary.statuses.update(outcome.statuses)
    summary.failures += outcome.failures
    if outcome.shard is not None:
        summary.shards.append(outcome.shard)
        kept = len(outcome.written)
        if kept and outcome.statuses:  # a move group's samples are moves, not new samples
            summary.samples[outcome.curriculum] += kept
    summary.groups += 1


def run_groups(engine: Engine, groups: list[ShardGroup], ctx: GroupContext, summary: BuildSummary,
               console, numbers: dict[str, int] | None) -> list[GroupOutcome]:
    """Build `groups` on `engine`, round after round while the byte limit leaves clips over (a new
    round's groups are numbered from `numbers`; None: leave them over, counted in the summary)."""
    outcomes: list[GroupOutcome] = []
    started, processed, label = time.perf_counter(), 0, "building shards"
    while groups:
        left: dict[tuple[str, int], tuple[str, ...]] = {}
        with engine.start(groups, ctx) as events, \
                progress_bar(console, label, sum(len(g.tasks) for g in groups)) as bar:
            for clips, outcome in events:
                if outcome is not None:
                    if outcome.error is not None:
                        raise OSError(outcome.error)
                    outcomes.append(outcome)
                    add_outcome(summary, outcome)
                    if outcome.left_over:
                        left[(outcome.curriculum, outcome.number)] = outcome.left_over
                processed += clips
                elapsed = time.perf_counter() - started
                bar.update(advance=clips, info=f"{processed / max(elapsed, 1e-9):.1f} clips/s")
        if numbers is None:
            summary.left_for_final += sum(len(keys) for keys in left.values())
            break
        groups = replan_left_over(groups, left, numbers, ctx.limits.max_samples)
        label = "building shards (clips left over by the byte limit)"
    return outcomes


def _run_moves(groups: list[ShardGroup], ctx: GroupContext, numbers: dict[str, int], summary: BuildSummary) -> set[str]:
    """Copy moved samples into their planned shards, here (no decoding); returns the keys written."""
    written: set[str] = set()
    while groups:
        left = {}
        for group in groups:
            outcome = build_move_group(group, ctx)
            add_outcome(summary, outcome)
            written.update(outcome.written)
            if outcome.left_over:
                left[(group.curriculum, group.number)] = outcome.left_over
        groups = replan_left_over(groups, left, numbers, ctx.limits.max_samples)
    return written


def build_shards(config: BuildConfig, console: Console | None = None) -> BuildSummary:
    """Build (or finish) the shards of `config`; per-clip failures are counted, never raised.
    Progress is shown on `console` (None: silent)."""
    base = split_dir(config.out, config.dataset, config.split)
    manifest = _read_input(config)
    wanted = _selected(config, manifest)
    if config.slice is not None:
        from avcurr.shards.slices import build_slice

        return build_slice(config, manifest, wanted, console)
    summary = BuildSummary(no_curriculum=len(manifest.no_curriculum), duplicates=len(manifest.duplicates),
                           engine=config.engine)
    with exclusive(base, "another build-shards"):
        from avcurr.shards.slices import remove_plan

        state = scan_split(config.out, config.dataset, config.split)
        recover = _recoverable(state)
        done, moves, drop, removals = _plan_moves(manifest, state)
        tasks = [t for t in manifest.tasks if wanted is None or t.curriculum in wanted]
        moving = {m.key for m, _, _ in moves}
        todo = sorted((t for t in tasks if t.key not in done and t.key not in moving), key=lambda t: t.key)
        _check_media(todo, config)
        numbers = dict(state.next_number)
        ctx = config.context()
        move_groups = plan_groups([task for _, task, _ in moves], numbers, config.limits.max_samples,
                                  sources={task.key: tar for _, task, tar in moves})
        clip_groups = plan_groups([t for t in todo if t.media is not None], numbers, config.limits.max_samples)
        engine = make_engine(config.engine, config.workers or default_workers(), config.ray_address,
                             config.workers) if clip_groups else None
        # A job array's plan: this run finishes that build (removed only now that it can run).
        plan_removed = remove_plan(base)
        summary.already_done = sum(1 for t in tasks if t.key in done)
        for item in recover:
            restat(item.tar, item.content, config.dataset, config.split, item.curriculum)
        summary.recovered = tuple(item.tar.name for item in recover)
        for path in state.leftovers:
            path.unlink(missing_ok=True)
        summary.removed = tuple(p.name for p in state.leftovers) + plan_removed
        for legacy in state.legacy_stats:  # the first layout kept stats beside the tars
            move_legacy_stats(legacy)
        summary.moves = [m for m, _, _ in moves] + removals
        started = time.perf_counter()
        try:
            for task in todo:
                if task.media is None:  # nothing to decode: fails as missing at once, in no group
                    result = build_sample(task, config.dataset, config.split, config.with_spec)
                    summary.statuses[result.status] += 1
                    summary.failures.append(result)
            written = _run_moves(move_groups, ctx, numbers, summary)
            if engine is not None:
                for outcome in run_groups(engine, clip_groups, ctx, summary, console, numbers):
                    written.update(outcome.written)
                # A Ray task whose worker died and was retried left its half-written tar behind;
                # this run holds the folder alone, so every partial tar now is one of ours.
                _sweep_partials(base, summary)
            _tidy(state, drop, written, config, summary)
        except OSError as exc:  # disk full, folder gone: one line, finished shards stay
            raise _disk_error(exc, base, summary.shards) from None
        finally:
            if engine is not None:
                engine.close()
        summary.finish(started)
        summary.card = publish(config.out, config.dataset, config.split, summary.failures)
    return summary
