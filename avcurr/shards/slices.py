"""`build-shards --slice I/N`: the tasks of a job array build one shared plan side by side.

The first task to start plans the build as a run without `--slice` would (avcurr.shards.plan:
what the manifest still needs, in shard groups numbered after the shards already there) and
writes the plan into the split folder as `_build_plan.parquet`. The file is created once: a task
that finds it reads it, and a task that loses the race to create it reads the winner's. Task I
then builds groups I, I+N, I+2N, ... of the plan. A group writes only its own shard, so no two
tasks ever write the same file, and no task writes the split's side files (index.parquet,
failures.parquet, `c<k>/_shards.json`, the card).

A run without `--slice` after the array publishes: it removes the plan (the array's build is its
own from then on), builds what the tasks left (clips that failed are tried once more, clips left
over by the byte limit, moves between curricula, recoveries, and reports clips without media),
then writes the side files. A rerun of a task, or of the whole array, builds only the groups of its
slice whose shard is not finished; the same plan gives the same bytes under the same names.

Tasks hold the split's lock shared and a run without `--slice` holds it alone, so it never runs
beside them. The lock is an flock: where a cluster file system does not support flock across
nodes, start the publishing run only after the array has ended (`--dependency=afterany:<job>`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from avcurr.atomic import fsync_folder
from avcurr.errors import AvcurrError
from avcurr.locks import shared
from avcurr.parquet_io import read_table
from avcurr.shards.layout import existing_stats, split_dir
from avcurr.shards.manifest import ClipTask, Manifest
from avcurr.shards.plan import ShardGroup, plan_groups
from avcurr.shards.resume import scan_split

if TYPE_CHECKING:
    from rich.console import Console

    from avcurr.shards.build import BuildConfig, BuildSummary

PLAN_NAME = "_build_plan.parquet"
_IDENTITY = b"avcurr_build_plan"


def remove_plan(base: Path) -> tuple[str, ...]:
    """Remove a job array's plan from split folder `base` (a run without --slice takes the build
    over); the names removed."""
    path = Path(base) / PLAN_NAME
    if not path.is_file():
        return ()
    path.unlink()
    return (PLAN_NAME,)


def plan_identity(tasks: list[ClipTask], config: "BuildConfig") -> str:
    """What a plan was made for: the clips, their media and curricula, and the shard options. Every
    task of an array must be started with the same; a plan for anything else is refused."""
    payload = json.dumps({
        "clips": sorted([t.key, t.curriculum, None if t.media is None else str(t.media)] for t in tasks),
        "dataset": config.dataset, "split": config.split, "with_spec": config.with_spec,
        "max_samples": config.limits.max_samples, "max_bytes": config.limits.max_bytes}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _table(groups: list[ShardGroup], identity: str) -> pa.Table:
    rows = {"key": [], "curriculum": [], "shard": []}
    for group in groups:
        for task in group.tasks:
            rows["key"].append(task.key)
            rows["curriculum"].append(group.curriculum)
            rows["shard"].append(group.number)
    schema = pa.schema([("key", pa.string()), ("curriculum", pa.string()), ("shard", pa.int32())],
                       metadata={_IDENTITY: identity.encode()})
    return pa.table(rows, schema=schema)


def write_plan_once(path: Path, groups: list[ShardGroup], identity: str) -> bool:
    """Create the plan file unless it exists (a hard link never replaces a file); False when
    another task created it first."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")  # one per writer, threads included
    try:
        pq.write_table(_table(groups, identity), tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.link(tmp, path)
        fsync_folder(path.parent)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        raise AvcurrError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def read_plan(path: Path, tasks: list[ClipTask], identity: str) -> list[ShardGroup]:
    """The groups of the plan in `path`; an error when it was made for other clips or options."""
    table = read_table(path, "the build plan")
    if (table.schema.metadata or {}).get(_IDENTITY, b"").decode() != identity:
        raise AvcurrError(f"the build plan {path} was made for another manifest or other options; start every "
                          "task of the array with the same ones, or run build-shards once without --slice to "
                          "finish the build it plans (that run removes it)")
    by_key = {t.key: t for t in tasks}
    groups: list[ShardGroup] = []
    current: list[ClipTask] = []
    last = None
    for key, curriculum, number in zip(*(table[c].to_pylist() for c in ("key", "curriculum", "shard"))):
        if (curriculum, number) != last and current:
            groups.append(ShardGroup(last[0], last[1], tuple(current)))
            current = []
        current.append(by_key[key])
        last = (curriculum, number)
    if current:
        groups.append(ShardGroup(last[0], last[1], tuple(current)))
    return groups


def _shared_plan(path: Path, manifest: Manifest, tasks: list[ClipTask], identity: str,
                 config: "BuildConfig") -> list[ShardGroup]:
    """The array's plan: read, or made now from what the split folder holds and created once."""
    from avcurr.shards.build import _check_media, _plan_moves, _recoverable

    if path.is_file():
        return read_plan(path, tasks, identity)
    state = scan_split(config.out, config.dataset, config.split)
    _recoverable(state)  # complete tars without stats: their clips are done (the publishing run restats them)
    done, moves, _, _ = _plan_moves(manifest, state)
    moving = {m.key for m, _, _ in moves}
    todo = sorted((t for t in tasks if t.key not in done and t.key not in moving), key=lambda t: t.key)
    _check_media(todo, config)
    groups = plan_groups([t for t in todo if t.media is not None], dict(state.next_number),
                         config.limits.max_samples)
    if write_plan_once(path, groups, identity):
        return groups
    return read_plan(path, tasks, identity)


def build_slice(config: "BuildConfig", manifest: Manifest, wanted: set[str] | None,
                console: "Console | None" = None) -> "BuildSummary":
    """Build the groups of slice `config.slice` of the shared plan (making the plan if none is
    there yet); publishes nothing."""
    from avcurr.shards.build import BuildSummary, _disk_error, default_workers, run_groups
    from avcurr.shards.engine import make_engine

    index, count = config.slice
    base = split_dir(config.out, config.dataset, config.split)
    summary = BuildSummary(no_curriculum=len(manifest.no_curriculum), duplicates=len(manifest.duplicates),
                           engine=config.engine, slice=config.slice)
    tasks = [t for t in manifest.tasks if wanted is None or t.curriculum in wanted]
    path = base / PLAN_NAME
    ctx = config.context()
    with shared(base, "a build-shards run without --slice"):
        groups = _shared_plan(path, manifest, tasks, plan_identity(tasks, config), config)
        state = scan_split(config.out, config.dataset, config.split)
        todo = []
        for group in groups[index::count]:
            shard = group.shard(ctx)
            if existing_stats(shard) is not None:
                summary.already_done += sum(1 for k in group.keys if (group.curriculum, shard) in state.where.get(k, []))
                continue
            elsewhere = [k for k in group.keys if k in state.where]
            if elsewhere:
                raise AvcurrError(f"the build plan {path} is out of date: {elsewhere[0]} is in a finished shard "
                                  "already; run build-shards once without --slice to finish the build (it removes "
                                  "the plan), then start the array again")
            todo.append(group)
        engine = make_engine(config.engine, config.workers or default_workers(), config.ray_address,
                             config.workers) if todo else None
        started = time.perf_counter()
        try:
            if engine is not None:
                run_groups(engine, todo, ctx, summary, console, numbers=None)
        except OSError as exc:
            raise _disk_error(exc, base, summary.shards) from None
        finally:
            if engine is not None:
                engine.close()
    summary.finish(started)
    return summary
