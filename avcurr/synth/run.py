"""`synthesize`: write a whole synthetic world, clips in parallel, collections at the end.

The output folder records its world settings in `synth.json` (see `avcurr.synth.folder`). A rerun
with the same settings keeps finished clips (their truth JSON exists) and makes only the missing
ones; a folder that holds something else is never written into, and `overwrite` replaces only an
older synth world's own files.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from avcurr.keys import clip_key
from avcurr.synth.clip import failure, paths_of, write_clip
from avcurr.synth.config import SynthConfig
from avcurr.synth.folder import MARKER, prepare_out, remove_stale_temps
from avcurr.synth.formats import write_collections
from avcurr.synth.scene import synthetic_ytid
from avcurr.workers import WorkerDied, worker_pool

__all__ = ["MARKER", "SynthSummary", "prepare_out", "synthesize"]


@dataclass
class SynthSummary:
    """What a run produced, for the closing table."""

    out: Path
    n_clips: int
    n_ok: int = 0
    n_reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    per_n_sources: Counter = field(default_factory=Counter)
    per_category: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def worker_deaths(self) -> int:
        """Clips lost because a worker process died."""
        return sum(error.startswith(WorkerDied.__name__) for _, error in self.failures)


def _finished(cfg: SynthConfig, index: int) -> dict | None:
    """The truth of a clip finished by an earlier run, if its files are all there."""
    key = clip_key(synthetic_ytid(cfg.seed, index), 0.0)
    truth_path = cfg.out / paths_of(key)["truth"]
    if not truth_path.is_file() or not (cfg.out / paths_of(key)["media"]).is_file():
        return None
    try:
        return json.loads(truth_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _generate(cfg: SynthConfig, todo: list[int]):
    if cfg.workers == 1 or len(todo) <= 1:
        for index in todo:
            yield write_clip(cfg, index)
        return
    with worker_pool(min(cfg.workers, len(todo))) as pool:
        futures = {pool.submit(write_clip, cfg, index): index for index in todo}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:  # a worker was killed (out of memory, kill -9): its clips are lost
                yield failure(cfg, futures[future], WorkerDied(
                    "a worker process died (killed by a signal, e.g. out of memory) before making this clip"))
            except Exception as exc:  # noqa: BLE001 - any other failure of that clip is a value too
                yield failure(cfg, futures[future], exc)


def synthesize(cfg: SynthConfig, on_clip: Callable[[dict], None] | None = None,
               overwrite: bool = False) -> SynthSummary:
    """Write the world described by `cfg` under `cfg.out` (layout: see `avcurr.synth`).

    With `workers > 1` clips are made in spawned processes, so a script calling this needs the
    usual `if __name__ == "__main__":` guard.

    `on_clip(record)` is called once per clip as it finishes (a truth dict with status "ok", or a
    failure record with status "failed" and the error text).

    An interrupt (KeyboardInterrupt) stops the worker processes at once and propagates; finished
    clips stay and a rerun makes the rest. A worker that dies fails the clips it had not finished
    (`WorkerDied` in their error text, counted by `summary.worker_deaths`).
    """
    cfg.validate()
    started = time.perf_counter()
    prepare_out(cfg, overwrite)
    summary = SynthSummary(out=cfg.out, n_clips=cfg.clips)
    records: dict[int, dict] = {}
    todo = []
    for index in range(cfg.clips):
        done = _finished(cfg, index)
        if done is None:
            todo.append(index)
        else:
            records[index] = done
            summary.n_reused += 1
            if on_clip:
                on_clip(done)
    remove_stale_temps(cfg, todo)
    # closing(): an interrupt raised in on_clip must stop the workers now, not when the generator is
    # garbage-collected.
    with contextlib.closing(_generate(cfg, todo)) as results:
        for record in results:
            records[record["index"]] = record
            if on_clip:
                on_clip(record)
    truths = [records[i] for i in sorted(records) if records[i]["status"] == "ok"]
    summary.failures = [(r["key"], r["error"]) for i, r in sorted(records.items()) if r["status"] != "ok"]
    summary.n_ok = len(truths)
    for t in truths:
        summary.per_n_sources[t["n_sources"]] += 1
        summary.per_category.update(o["category"] for o in t["objects"] if o["sounding"])
    if truths:
        summary.files = write_collections(cfg.out, truths, cfg.seed)
    summary.seconds = time.perf_counter() - started
    return summary
