"""Settings of the streaming loader (one frozen dataclass, passed explicitly)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoaderConfig:
    """What to stream and how.

    root/dataset/split/curricula: which shards (`<root>/<dataset>/<split>/c<k>/*.tar`, finished only).
    batch_size, drop_last: batching; the last short batch is kept unless drop_last.
    shuffle_buffer: samples held for shuffling (0 = none); shards are also shuffled per epoch.
    num_workers: DataLoader worker processes (0 = read in this process).
    seed: base of every random choice (shard order, buffer, frame), so runs repeat exactly.
    epochs: passes over the data; None streams forever.
    training: True picks a random frame and shuffles; False reads in order and takes frame f1.
    rank, world_size: this node's place among data-parallel processes (None: from torch.distributed,
      else the RANK / WORLD_SIZE environment variables, else 0 of 1).
    with_audio: also return the waveform (B x 110336 float32) decoded from the FLAC.
    """

    root: Path
    dataset: str
    split: str
    curricula: tuple[str, ...] = ("c1",)
    batch_size: int = 16
    shuffle_buffer: int = 256
    num_workers: int = 0
    seed: int = 0
    epochs: int | None = 1
    training: bool = True
    rank: int | None = None
    world_size: int | None = None
    drop_last: bool = False
    with_audio: bool = False
    pin_memory: bool = False

    def node(self) -> tuple[int, int]:
        """(rank, world_size) of this process, resolved as documented above."""
        if self.rank is not None and self.world_size is not None:
            return self.rank, self.world_size
        try:
            import torch.distributed as dist
            if dist.is_available() and dist.is_initialized():
                return dist.get_rank(), dist.get_world_size()
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
