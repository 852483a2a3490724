"""Streaming loader over avcurr shards: `from avcurr.data import LoaderConfig, make_loader`."""

from avcurr.data.config import LoaderConfig
from avcurr.data.loader import ShardStream, count_samples, make_loader, shard_list

__all__ = ["LoaderConfig", "ShardStream", "count_samples", "make_loader", "shard_list"]
