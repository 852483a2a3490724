"""Which shards a LoaderConfig selects, and how many samples they hold.

- A local root (a Path, a path string or a `file:` URL): the finished shards of each curriculum
  folder (a tar with its stats beside it; SPEC §4), counted from their stats.
- A URL root (`http(s)://`, `pipe:`): each curriculum's `_shards.json`, the `wids` shard index
  build-shards writes (finished shards only, names relative to it, sample counts), so nothing
  needs a directory listing.
- `shard_urls`: webdataset's notation (brace expansion, `::` between lists), used as given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from webdataset.shardlists import expand_urls

from avcurr.data.config import LoaderConfig
from avcurr.data.urls import check_shard_name, is_remote, join, local_path, read_bytes
from avcurr.errors import AvcurrError
from avcurr.keys import safe_name
from avcurr.shards.layout import SHARD_INDEX_NAME, check_curriculum, existing_stats, finished_shards, read_stats

INDEX_KIND = "wids-shard-index-v1"


@dataclass(frozen=True)
class Shard:
    """One shard: where to read it, and its sample count where an index or stats says."""

    url: str
    nsamples: int | None = None


def curricula_of(config: LoaderConfig) -> list[str]:
    chosen = (config.curricula,) if isinstance(config.curricula, str) else config.curricula
    return [check_curriculum(c) for c in chosen]


def relative_dir(dataset: str, split: str, curriculum: str) -> str:
    """`<dataset>/<split>/c<k>`, every part checked (they become parts of a URL or a command)."""
    return "/".join((safe_name(dataset, "dataset name"), safe_name(split, "split name"),
                     check_curriculum(curriculum)))


def parse_index(raw: bytes, where: str) -> list[tuple[str, int]]:
    """(shard name, nsamples) of a wids shard index; a clear error naming `where` otherwise."""
    try:
        index = json.loads(raw)
        kind = index.get("__kind__", INDEX_KIND)
        if kind != INDEX_KIND:
            raise ValueError(f"__kind__ is {kind!r}, expected {INDEX_KIND!r}")
        entries = index["shardlist"]
        out = []
        for entry in entries:
            n = entry["nsamples"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError(f"nsamples {n!r} of {entry.get('url')!r} is not a count")
            out.append((check_shard_name(entry["url"], where), n))
        return out
    except AvcurrError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AvcurrError(f"bad shard index {where}: {type(exc).__name__}: {exc}") from None


def _remote_shards(config: LoaderConfig, curricula: list[str]) -> list[Shard]:
    out: list[Shard] = []
    for curriculum in curricula:
        folder = relative_dir(config.dataset, config.split, curriculum)
        index_url = join(config.root, f"{folder}/{SHARD_INDEX_NAME}")
        try:
            raw = read_bytes(index_url)
        except OSError as exc:
            raise AvcurrError(f"cannot read shard index {index_url}: {exc}") from None
        out += [Shard(join(config.root, f"{folder}/{name}"), n) for name, n in parse_index(raw, index_url)]
    return out


def _explicit_shards(spec: str) -> list[Shard]:
    out = []
    for url in expand_urls(spec):
        stats = None if is_remote(url) else existing_stats(local_path(url))
        n = read_stats(local_path(url))["n_samples"] if stats is not None and stats.is_file() else None
        out.append(Shard(url, n))
    return out


def shard_list(config: LoaderConfig) -> list[Shard]:
    """The selected shards, in a stable order; an error naming where none were found."""
    if config.shard_urls:
        shards = _explicit_shards(config.shard_urls)
        where = config.shard_urls
    elif is_remote(config.root):
        curricula = curricula_of(config)
        shards = _remote_shards(config, curricula)
        where = f"{', '.join(curricula)} in the shard indexes under {config.root}"
    else:
        curricula = curricula_of(config)
        root = local_path(config.root)
        shards = [Shard(str(p), None) for p in finished_shards(root, config.dataset, config.split, curricula)]
        where = f"{', '.join(curricula)} under {Path(root) / config.dataset / config.split}"
    if not shards:
        raise AvcurrError(f"no finished shards for {where}")
    return shards


def count_samples(config: LoaderConfig) -> int:
    """Samples in the selected shards (all nodes and workers together), from the shard index of a
    URL root or the stats of local shards."""
    total = 0
    for shard in shard_list(config):
        if shard.nsamples is not None:
            total += shard.nsamples
        elif is_remote(shard.url):
            raise AvcurrError(f"cannot count the samples of {shard.url}: no shard index lists it "
                              "(give a shard root with _shards.json instead of shard_urls)")
        else:
            total += int(read_stats(local_path(shard.url))["n_samples"])
    return total
