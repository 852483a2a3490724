"""The streaming loader: shards of some curricula -> shuffled batches of float32 tensors.

One epoch of one reader is a webdataset pipeline:

    shard list (this epoch's order) -> node x worker split -> read tars (local, file:, http(s),
    pipe:) -> webdataset group_by_keys -> sample split -> frame choice -> webdataset shuffle ->
    decode (webdataset map) -> webdataset batched (into reused buffers)

with one error policy (`handler=`) for every stage. Batches are the same everywhere: float32
`spec` B x 1 x 512 x 432, float32 `image` B x 3 x 256 x 256 in [0, 1], `key`, `meta`
(and `audio` B x 110336 with_audio), whether made in this process or in DataLoader workers.
"""

from __future__ import annotations

import functools
import itertools
import random
from typing import Iterator

import torch
import webdataset as wds
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from webdataset.tariterators import group_by_keys

from avcurr.data.batch import IMAGE_DTYPES, buffer_size, collate, decode_sample
from avcurr.data.config import LoaderConfig
from avcurr.data.policy import ErrorPolicy, SkipCounts, check_policy
from avcurr.data.pool import BufferPool, adopt
from avcurr.data.sources import Shard, count_samples, shard_list
from avcurr.data.stream import every_nth, pick_frame, split_for
from avcurr.data.tario import READERS, read_shards
from avcurr.errors import AvcurrError

__all__ = ["Loader", "ShardStream", "count_samples", "make_loader", "shard_list", "Shard"]

# The JPEG of the middle frame is what evaluation sees (SPEC §3).
EVAL_FRAME = 1
# Buffers a reader keeps for reuse: DataLoader's 2 prefetched batches per worker, the one being
# filled, and two the consumer may still hold (the batch in use and the one before it).
KEEP_BUFFERS = 5


def _check(config: LoaderConfig) -> None:
    if config.batch_size < 1:
        raise AvcurrError(f"batch_size must be at least 1, got {config.batch_size}")
    if config.num_workers < 0 or config.shuffle_buffer < 0:
        raise AvcurrError("num_workers and shuffle_buffer must not be negative")
    if config.epochs is not None and config.epochs < 1:
        raise AvcurrError(f"epochs must be at least 1 (or None: endless), got {config.epochs}")
    check_policy(config.handler)
    if config.image_dtype not in IMAGE_DTYPES:
        raise AvcurrError(f"bad image_dtype {config.image_dtype!r}: expected one of {', '.join(IMAGE_DTYPES)}")
    if config.tar_reader not in READERS:
        raise AvcurrError(f"bad tar_reader {config.tar_reader!r}: expected one of {', '.join(READERS)}")


class ShardStream(IterableDataset):
    """Yields ready batches; one copy runs in each DataLoader worker (or in this process)."""

    def __init__(self, config: LoaderConfig):
        super().__init__()
        _check(config)
        self.config = config
        self.shards = shard_list(config)
        self.skips = SkipCounts([s.url for s in self.shards], rows=config.num_workers, shared=config.num_workers > 0)

    def _reader(self) -> tuple[int, int, int, bool]:
        """(part, parts, worker, in a worker): this reader's place among all nodes x workers."""
        rank, world = self.config.node()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * workers + worker, world * workers, worker, info is not None

    def _wanted(self) -> set[str]:
        """Member extensions kept by group_by_keys (FLAC is dropped later where unneeded)."""
        frames = {"f0.jpg", "f1.jpg", "f2.jpg"} if self.config.training else {f"f{EVAL_FRAME}.jpg"}
        return {"spec.npy", "json", "flac", "__bad__"} | frames

    def _epoch(self, epoch: int, part: int, parts: int, policy: ErrorPolicy) -> Iterator[dict]:
        """Decoded samples of one epoch for reader `part` of `parts`."""
        cfg = self.config
        rng = random.Random(f"{cfg.seed}-{epoch}-{part}")
        shuffle = cfg.training and cfg.shuffle_buffer > 1
        shard_stride, sample_stride = split_for(len(self.shards), part, parts)
        frame_of = (lambda: rng.randrange(3)) if cfg.training else (lambda: EVAL_FRAME)
        pipeline = wds.DataPipeline(
            # the same shard order on every node and worker, so that the splits partition it
            wds.SimpleShardList([s.url for s in self.shards], seed=cfg.seed * 1_000_003 + epoch if shuffle else None),
            functools.partial(every_nth, stride=shard_stride, offset=part),
            functools.partial(read_shards, reader=cfg.tar_reader, handler=policy),
            functools.partial(group_by_keys, suffixes=self._wanted(), handler=policy),
            functools.partial(every_nth, stride=sample_stride, offset=part),
            functools.partial(pick_frame, frame_of=frame_of, keep_flac=cfg.with_audio),
            wds.shuffle(cfg.shuffle_buffer, initial=cfg.shuffle_buffer, rng=rng) if shuffle else None,
            wds.map(functools.partial(decode_sample, with_audio=cfg.with_audio), handler=policy),
        )
        return iter(pipeline)

    def _endless(self, part: int, parts: int, policy: ErrorPolicy) -> Iterator[dict]:
        """Epoch after epoch; a clear error where batching would otherwise wait forever."""
        cfg = self.config
        for epoch in itertools.count():
            n = 0
            for sample in self._epoch(epoch, part, parts, policy):
                n += 1
                yield sample
            if n == 0 or (epoch == 0 and cfg.drop_last and n < cfg.batch_size):
                raise AvcurrError(
                    f"reader {part + 1} of {parts} (ranks x DataLoader workers) got {n} sample(s) in an epoch "
                    f"of {len(self.shards)} shard(s), fewer than batch_size {cfg.batch_size} with drop_last: "
                    "no batch can be formed; use a smaller batch, fewer workers or ranks, or more samples")

    def __iter__(self) -> Iterator[dict]:
        cfg = self.config
        part, parts, worker, in_worker = self._reader()
        policy = ErrorPolicy(cfg.handler, self.skips, row=worker)
        pool = BufferPool(buffer_size(cfg.batch_size, cfg.with_audio, cfg.image_dtype), shared=in_worker,
                          keep=KEEP_BUFFERS)
        batches = wds.batched(cfg.batch_size, partial=not cfg.drop_last,
                              collation_fn=functools.partial(collate, pool=pool, with_audio=cfg.with_audio,
                                                             image_dtype=cfg.image_dtype))
        if cfg.epochs is None:  # a stream: batches run across epoch ends, as webdataset's repeat does
            stream = batches(self._endless(part, parts, policy))
        else:
            stream = (b for epoch in range(cfg.epochs) for b in batches(self._epoch(epoch, part, parts, policy)))
        for batch in stream:
            # In a worker the batch goes to the main process as it is (views of shared memory) and
            # is adopted there; here it is adopted at once. Either way the consumer gets the same.
            yield batch if in_worker else adopt(batch)


def _worker_message(exc: AvcurrError) -> str:
    """The original one-line message of an AvcurrError that DataLoader re-raised with a traceback."""
    text = str(exc)
    if "Original Traceback" not in text:
        return text
    last = text.rstrip().splitlines()[-1]
    return last.split("AvcurrError: ", 1)[-1]


class Loader:
    """What make_loader returns: iterate it for batches (each iteration starts afresh).

    `skipped` is {shard: count} of what handler="skip" dropped, this process and its workers
    together; `shards` the selected shards.
    """

    def __init__(self, config: LoaderConfig):
        self.config = config
        self.stream = ShardStream(config)
        self.pin = config.pin_memory and torch.cuda.is_available()

    @property
    def shards(self) -> list[Shard]:
        return self.stream.shards

    @property
    def skipped(self) -> dict[str, int]:
        return self.stream.skips.by_shard()

    def _batches(self) -> Iterator[dict]:
        if self.config.num_workers <= 0:
            return iter(self.stream)
        loader = DataLoader(self.stream, batch_size=None, num_workers=self.config.num_workers,
                            persistent_workers=False)
        return (adopt(batch) for batch in loader)

    def __iter__(self) -> Iterator[dict]:
        try:
            for batch in self._batches():
                yield _pinned(batch) if self.pin else batch
        except AvcurrError as exc:
            raise AvcurrError(_worker_message(exc)) from None


def _pinned(batch: dict) -> dict:
    """Tensors copied into pinned memory (reused by torch's host allocator); the buffers they
    came from are freed at once."""
    for name in ("spec", "image", "audio"):
        if name in batch:
            batch[name] = batch[name].pin_memory()
    return batch


def make_loader(config: LoaderConfig) -> Loader:
    """An iterable of batches `{"spec", "image", "key", "meta"[, "audio"]}` (see LoaderConfig).

    spec: float32 B x 1 x 512 x 432 (stored log spectrogram); image: float32 B x 3 x 256 x 256 in
    [0, 1]; key: list of sample keys; meta: list of the samples' JSON dicts; audio (with_audio):
    float32 B x 110336. The same in this process and from DataLoader workers.
    """
    return Loader(config)
