"""The side files a build writes once its shards are finished: `index.parquet` and
`failures.parquet` per split, `c<k>/_shards.json` per curriculum (the `wids` shard index), and the
dataset card. All are derived from finished shards' stats, so they can always be written again."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from avcurr.atomic import atomic_write
from avcurr.parquet_io import write_table_atomic
from avcurr.shards.card import write_card
from avcurr.shards.layout import (FAILURES_NAME, INDEX_NAME, curricula_present, finished_shards, read_stats,
                                  shard_index_path, split_dir)
from avcurr.shards.sample import ClipResult

WIDS_KIND = "wids-shard-index-v1"


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


def write_failures(root: Path, dataset: str, split: str, failures: list[ClipResult]) -> Path:
    """failures.parquet: this run's failed clips with their status and message."""
    table = pa.table({"key": [f.key for f in failures], "curriculum": [f.curriculum for f in failures],
                      "status": [f.status for f in failures], "message": [f.message for f in failures]},
                     schema=pa.schema([("key", pa.string()), ("curriculum", pa.string()),
                                       ("status", pa.string()), ("message", pa.string())]))
    return write_table_atomic(table, split_dir(root, dataset, split) / FAILURES_NAME)


def shard_index(root: Path, dataset: str, split: str, curriculum: str) -> dict:
    """The wids shard index of one curriculum: finished shards only, sorted by name, relative urls."""
    tars = sorted(finished_shards(root, dataset, split, [curriculum]), key=lambda t: t.name)
    return {"__kind__": WIDS_KIND, "wids_version": 1, "name": f"{dataset}-{split}-{curriculum}",
            "shardlist": [{"url": t.name, "nsamples": int(read_stats(t)["n_samples"]),
                           "filesize": t.stat().st_size} for t in tars]}


def write_shard_indexes(root: Path, dataset: str, split: str) -> list[Path]:
    """`c<k>/_shards.json` for every curriculum folder of the split (rewritten atomically)."""
    return [atomic_write(shard_index_path(root, dataset, split, c),
                         json.dumps(shard_index(root, dataset, split, c), indent=1) + "\n")
            for c in curricula_present(root, dataset, split)]


def publish(root: Path, dataset: str, split: str, failures: list[ClipResult]) -> Path | None:
    """Every side file of one split, and the dataset's card; returns the card (None: not ours/none)."""
    write_index(root, dataset, split)
    write_failures(root, dataset, split, failures)
    write_shard_indexes(root, dataset, split)
    return write_card(root, dataset)
