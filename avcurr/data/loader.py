"""The streaming loader: finished shards of some curricula -> shuffled batches of tensors."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from avcurr.data.batch import collate, expand
from avcurr.data.config import LoaderConfig
from avcurr.data.stream import epoch_shards, every_nth, shuffled, split_for, tar_samples
from avcurr.errors import AvcurrError
from avcurr.shards.layout import check_curriculum, finished_shards, read_stats

# The JPEG of the middle frame is what evaluation sees (SPEC §3).
EVAL_FRAME = 1


def shard_list(config: LoaderConfig) -> list[Path]:
    """Finished shards of `config.curricula`; an error naming the folder if there are none."""
    chosen = (config.curricula,) if isinstance(config.curricula, str) else config.curricula  # "c1" or ("c1",)
    curricula = [check_curriculum(c) for c in chosen]
    shards = finished_shards(Path(config.root), config.dataset, config.split, curricula)
    if not shards:
        raise AvcurrError(f"no finished shards for {', '.join(curricula)} under "
                          f"{Path(config.root) / config.dataset / config.split}")
    return shards


def count_samples(config: LoaderConfig) -> int:
    """Samples in the selected shards (from their stats; all nodes and workers together)."""
    return sum(int(read_stats(t)["n_samples"]) for t in shard_list(config))


class ShardStream(IterableDataset):
    """Yields ready batches (dicts of tensors and lists); one copy runs in each worker."""

    def __init__(self, config: LoaderConfig):
        super().__init__()
        if config.batch_size < 1:
            raise AvcurrError(f"batch_size must be at least 1, got {config.batch_size}")
        self.config = config
        self.shards = shard_list(config)

    def _reader(self) -> tuple[int, int]:
        """(part, parts): this reader's place among all nodes x workers."""
        rank, world = self.config.node()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * workers + worker, world * workers

    def _wanted(self) -> frozenset[str]:
        frames = {"f0.jpg", "f1.jpg", "f2.jpg"} if self.config.training else {f"f{EVAL_FRAME}.jpg"}
        # FLAC is kept only when asked for or when a shard has no spectrogram (checked per batch).
        return frozenset({"spec.npy", "json", "flac"} | frames)

    def _samples(self, epoch: int, part: int, parts: int, rng: random.Random) -> Iterator[dict]:
        cfg = self.config
        shards, stride, offset = split_for(
            epoch_shards(self.shards, epoch, cfg.seed, cfg.training and cfg.shuffle_buffer > 0),
            part, parts)
        stream = (s for shard in shards for s in tar_samples(shard, self._wanted()))
        stream = every_nth(stream, stride, offset)
        stream = (self._trim(s, rng) for s in stream)
        if cfg.training:
            stream = shuffled(stream, cfg.shuffle_buffer, rng)
        yield from stream

    def _trim(self, sample: dict, rng: random.Random) -> dict:
        """Pick this sample's frame and drop what will not be decoded: keeps the buffer small."""
        frame = rng.randrange(3) if self.config.training else EVAL_FRAME
        sample["__frame__"] = frame
        for other in {0, 1, 2} - {frame}:
            sample.pop(f"f{other}.jpg", None)
        if "spec.npy" in sample and not self.config.with_audio:
            sample.pop("flac", None)
        return sample

    def __iter__(self) -> Iterator[dict]:
        cfg = self.config
        part, parts = self._reader()
        epochs = itertools.count() if cfg.epochs is None else range(cfg.epochs)
        for epoch in epochs:
            rng = random.Random(f"{cfg.seed}-{epoch}-{part}")
            batch: list[dict] = []
            for sample in self._samples(epoch, part, parts, rng):
                batch.append(sample)
                if len(batch) == cfg.batch_size:
                    yield self._collate(batch, rng)
                    batch = []
            if batch and not cfg.drop_last:
                yield self._collate(batch, rng)

    def _collate(self, batch: list[dict], rng: random.Random) -> dict:
        return collate(batch, [s["__frame__"] for s in batch], self.config.with_audio,
                       compact=get_worker_info() is not None)


def make_loader(config: LoaderConfig):
    """An iterable of batches `{"spec", "image", "key", "meta"[, "audio"]}` (see LoaderConfig).

    spec: float32 B x 1 x 512 x 432 (stored log spectrogram); image: float32 B x 3 x 256 x 256 in
    [0, 1]; key: list of sample keys; meta: list of the samples' JSON dicts.
    """
    stream = ShardStream(config)
    pin = config.pin_memory and torch.cuda.is_available()
    if config.num_workers <= 0:
        return _Expanded(stream, pin) if pin else stream
    return _Expanded(DataLoader(stream, batch_size=None, num_workers=config.num_workers,
                                persistent_workers=False), pin)


class _Expanded:
    """Batches from DataLoader workers (compact, in shared memory) as float32 batches; pinned
    here, after the conversion, when pin_memory is asked for and CUDA is there."""

    def __init__(self, source, pin: bool):
        self.source, self.pin = source, pin

    def __iter__(self) -> Iterator[dict]:
        return (expand(batch, self.pin) for batch in self.source)
