"""`synthesize`: write a whole synthetic world, clips in parallel, collections at the end.

The output folder records its world settings in `synth.json`. A rerun with the same settings
keeps finished clips (their truth JSON exists) and makes only the missing ones; a folder that
holds something else is never written into unless `overwrite` is set.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from avcurr.atomic import atomic_write
from avcurr.errors import AvcurrError
from avcurr.keys import clip_key
from avcurr.synth.clip import failure, paths_of, write_clip
from avcurr.synth.config import SynthConfig
from avcurr.synth.formats import write_collections
from avcurr.synth.scene import synthetic_ytid

MARKER = "synth.json"
OWNED = ("media", "truth", "stems", "flickr", "music", "ave", "segments.csv", MARKER)


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


def _read_marker(marker: Path) -> dict | None:
    try:
        return json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def prepare_out(cfg: SynthConfig, overwrite: bool) -> None:
    """Refuse to write into a folder holding anything else; clear an older world on `overwrite`."""
    out, marker = cfg.out, cfg.out / MARKER
    if out.exists() and not out.is_dir():
        raise AvcurrError(f"--out {out} is a file, not a folder")
    same_world = marker.is_file() and _read_marker(marker) == cfg.world()
    if not same_world and out.is_dir() and any(out.iterdir()):
        if not overwrite:
            what = "holds a synthetic world with other settings" if marker.is_file() else \
                "is not empty and is not an avcurr synth folder"
            raise AvcurrError(f"{out} {what}; use --overwrite to replace it or choose another --out")
        for name in OWNED:  # only what synth itself writes; anything else in the folder stays
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(marker, json.dumps(cfg.world(), indent=2) + "\n")


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
    # spawn: workers must not inherit threads (progress display, torch) from the parent.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(cfg.workers, len(todo)), mp_context=context) as pool:
        futures = {pool.submit(write_clip, cfg, index): index for index in todo}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. a worker killed for memory: that clip fails
                yield failure(cfg, futures[future], exc)


def synthesize(cfg: SynthConfig, on_clip: Callable[[dict], None] | None = None,
               overwrite: bool = False) -> SynthSummary:
    """Write the world described by `cfg` under `cfg.out` (layout: see `avcurr.synth`).

    With `workers > 1` clips are made in spawned processes, so a script calling this needs the
    usual `if __name__ == "__main__":` guard.

    `on_clip(record)` is called once per clip as it finishes (a truth dict with status "ok", or a
    failure record with status "failed" and the error text).
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
    for record in _generate(cfg, todo):
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
