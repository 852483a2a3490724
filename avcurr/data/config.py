"""Settings of the streaming loader (one frozen dataclass, passed explicitly)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


#: LoaderConfig options of an evaluation: every sample of the split, read by this one process
#: (not a rank's share, even where a launcher set RANK / WORLD_SIZE)
WHOLE_SPLIT = {"rank": 0, "world_size": 1}


@dataclass(frozen=True)
class LoaderConfig:
    """What to stream and how.

    root/dataset/split/curricula: which shards: `<root>/<dataset>/<split>/c<k>/*.tar`, finished
      only. root is a folder (Path or str, `file:` URLs too) or a URL (`http(s)://host/shards`, or
      `pipe:` + a command, e.g. `pipe:curl -s http://host/shards` or `pipe:aws s3 cp
      s3://bucket/shards/{} -` with `{}` where the relative path goes); URL roots are read through
      each curriculum's `_shards.json` (the wids shard index build-shards writes).
    shard_urls: instead of root's shards, these (webdataset notation: brace expansion such as
      `http://host/lav-train-c1-{000000..000009}.tar`, `::` between lists; paths or URLs).
    batch_size, drop_last: batching; the last short batch is kept unless drop_last.
    shuffle_buffer: samples held for shuffling (0 = none); shards are also shuffled per epoch.
    num_workers: DataLoader worker processes (0 = read in this process).
    seed: base of every random choice (shard order, buffer, frame), so runs repeat exactly.
    epochs: passes over the data; None streams forever (batches then run across epoch ends).
    training: True picks a random frame and shuffles; False reads in order and takes frame f1.
    rank, world_size: this node's place among data-parallel processes (None: from torch.distributed,
      else the RANK / WORLD_SIZE environment variables, else 0 of 1).
    with_audio: also return the waveform (B x 110336 float32) decoded from the FLAC.
    image_dtype: "float32" (the pinned batch format: in [0, 1]) or "uint8" (the JPEG's own bytes,
      0..255, a quarter of the memory to copy to a GPU; `avcurr.train.device.to_device` turns them
      into the same float32 images there).
    pin_memory: hand batches over in pinned memory (when CUDA is there), for fast copies to a GPU.
    handler: what a bad sample or unreadable shard does: "raise" (one AvcurrError naming shard and
      key) or "skip" (logged, counted per shard on the loader: `loader.skipped`).
    tar_reader: "ustar" (our plain-ustar reader; faster, see avcurr/data/tario.py) or "webdataset"
      (its tarfile-based reader); both feed webdataset's grouping stage.
    """

    root: str | Path
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
    shard_urls: str | None = None
    handler: str = "raise"
    tar_reader: str = "ustar"
    image_dtype: str = "float32"

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
