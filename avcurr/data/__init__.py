"""Streaming loader over avcurr shards: `from avcurr.data import LoaderConfig, make_loader`."""

from avcurr.data.config import LoaderConfig
from avcurr.data.loader import Loader, ShardStream, make_loader
from avcurr.data.sources import Shard, count_samples, shard_list

__all__ = ["LoaderConfig", "Loader", "Shard", "ShardStream", "count_samples", "make_loader", "shard_list"]
