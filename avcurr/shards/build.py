"""build-shards: manifest + media -> per-curriculum WebDataset shards, resumable after a crash."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pyarrow as pa

from avcurr.errors import AvcurrError
from avcurr.parquet_io import write_table_atomic
from avcurr.progress import progress_bar
from avcurr.shards.layout import (FAILURES_NAME, INDEX_NAME, curricula_present, curriculum_dir,
                                  finished_shards, read_stats, split_dir)
from avcurr.shards.manifest import ClipTask, read_manifest
from avcurr.shards.sample import ClipResult, build_sample
from avcurr.shards.writer import ShardLimits, ShardWriter, resume_curriculum

if TYPE_CHECKING:
    from rich.console import Console


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class BuildConfig:
    """Inputs of one build-shards run (see `avcurr build-shards --help`)."""

    manifest: Path
    out: Path
    dataset: str
    split: str
    media: Path | None = None
    workers: int | None = None
    with_spec: bool = True
    limits: ShardLimits = ShardLimits()
    curricula: tuple[str, ...] | None = None


@dataclass
class BuildSummary:
    """What a run did: clip statuses, samples per curriculum, shards, time."""

    statuses: Counter = field(default_factory=Counter)
    samples: Counter = field(default_factory=Counter)
    already_done: int = 0
    no_curriculum: int = 0
    duplicates: int = 0
    removed: tuple[str, ...] = ()
    shards: list[Path] = field(default_factory=list)
    failures: list[ClipResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def processed(self) -> int:
        return sum(self.statuses.values())

    @property
    def clips_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0


@contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """One build per `<dataset>/<split>` at a time: a second one would number shards twice."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise AvcurrError(f"another build-shards is writing {folder}") from None
        yield


def _die_with_parent() -> None:
    """Pool initializer: a worker gets SIGKILL when the main process dies (even by kill -9),
    instead of waiting forever for tasks that will never come."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux/glibc: orphans then exit when the queue closes
        pass


@contextmanager
def _result_stream(tasks: list[ClipTask], config: BuildConfig, workers: int) -> Iterator[Iterator[ClipResult]]:
    """Results of `tasks` in completion order: in this process for one worker, else from a pool
    that is forked here, before any progress thread starts. One clip per task, so a slow clip
    does not hold back others."""
    work = partial(build_sample, dataset=config.dataset, split=config.split, with_spec=config.with_spec)
    if workers <= 1 or len(tasks) <= 1:
        yield map(work, tasks)
        return
    with multiprocessing.get_context("fork").Pool(min(workers, len(tasks)), _die_with_parent) as pool:
        yield pool.imap_unordered(work, tasks, chunksize=1)


def write_index(root: Path, dataset: str, split: str) -> Path:
    """index.parquet of `<dataset>/<split>` from every finished shard's stats."""
    rows = {"key": [], "shard": [], "curriculum": [], "n_sources": [], "bytes": []}
    for tar in finished_shards(root, dataset, split, curricula_present(root, dataset, split)):
        stats = read_stats(tar)
        for sample in stats["samples"]:
            rows["key"].append(sample["key"])
            rows["shard"].append(f"{stats['curriculum']}/{tar.name}")
            rows["curriculum"].append(stats["curriculum"])
            rows["n_sources"].append(sample["n_sources"])
            rows["bytes"].append(sample["bytes"])
    schema = pa.schema([("key", pa.string()), ("shard", pa.string()), ("curriculum", pa.string()),
                        ("n_sources", pa.int32()), ("bytes", pa.int64())])
    return write_table_atomic(pa.table(rows, schema=schema), split_dir(root, dataset, split) / INDEX_NAME)


def _write_failures(folder: Path, failures: list[ClipResult]) -> None:
    table = pa.table({"key": [f.key for f in failures], "curriculum": [f.curriculum for f in failures],
                      "status": [f.status for f in failures], "message": [f.message for f in failures]},
                     schema=pa.schema([("key", pa.string()), ("curriculum", pa.string()),
                                       ("status", pa.string()), ("message", pa.string())]))
    write_table_atomic(table, folder / FAILURES_NAME)


def build_shards(config: BuildConfig, console: Console | None = None) -> BuildSummary:
    """Build (or finish) the shards of `config`; per-clip failures are counted, never raised.
    Progress is shown on `console` (None: silent)."""
    base = split_dir(config.out, config.dataset, config.split)
    manifest = read_manifest(config.manifest, config.media)
    wanted = set(config.curricula) if config.curricula else None
    tasks = [t for t in manifest.tasks if wanted is None or t.curriculum in wanted]
    summary = BuildSummary(no_curriculum=len(manifest.no_curriculum), duplicates=len(manifest.duplicates))
    with _build_lock(base):
        writers, removed, done = {}, [], set()
        for curriculum in sorted({t.curriculum for t in tasks}, key=lambda c: int(c[1:])):
            state = resume_curriculum(curriculum_dir(config.out, config.dataset, config.split, curriculum))
            removed += state.removed
            done |= state.done_keys
            writers[curriculum] = ShardWriter(config.out, config.dataset, config.split, curriculum,
                                              state.next_number, config.limits, config.with_spec)
        todo = sorted((t for t in tasks if t.key not in done), key=lambda t: t.key)
        summary.already_done, summary.removed = len(tasks) - len(todo), tuple(removed)
        started = time.perf_counter()
        with _result_stream(todo, config, config.workers or default_workers()) as results, \
                progress_bar(console, "building shards", len(todo)) as bar:
            for result in results:
                summary.statuses[result.status] += 1
                if result.kept:
                    writers[result.curriculum].add(result.key, result.members, result.n_sources)
                    summary.samples[result.curriculum] += 1
                else:
                    summary.failures.append(result)
                elapsed = time.perf_counter() - started
                bar.update(advance=1, info=f"{summary.processed / max(elapsed, 1e-9):.1f} clips/s")
        for writer in writers.values():
            writer.close()
            summary.shards += writer.finished
        summary.seconds = time.perf_counter() - started
        write_index(config.out, config.dataset, config.split)
        _write_failures(base, summary.failures)
    return summary

