"""Batches that mix curricula sample by sample.

Shards hold one curriculum each and the loader reads a shard at a time through a bounded shuffle
buffer, so a plain loader over c1..c4 yields long runs of clips with the same number of sources:
fatal for a counter (it would learn "the count of the current shard"). Here each curriculum has
its own endless, shuffled stream, and every slot of a batch draws its curriculum at random in
proportion to the curriculum's size.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

import torch

from avcurr.errors import AvcurrError


def curricula_sizes(root: Path | str, dataset: str, split: str, curricula: tuple[str, ...] | None) -> dict[str, int]:
    """{curriculum: samples} of the finished shards (all curricula present when None); an error
    naming the folder when there are none."""
    from avcurr.data import LoaderConfig, count_samples
    from avcurr.shards.layout import curricula_present, split_dir

    if curricula is None:
        if not Path(root).is_dir():
            raise AvcurrError(f"shard folder not found: {root} (a URL root needs the curricula named)")
        curricula = tuple(curricula_present(Path(root), dataset, split))
        if not curricula:
            raise AvcurrError(f"no curriculum folders c<k> under {split_dir(Path(root), dataset, split)}")
    return {c: count_samples(LoaderConfig(root=root, dataset=dataset, split=split, curricula=(c,)))
            for c in curricula}


def _concat(samples: list[dict]) -> dict:
    out = {"key": [k for s in samples for k in s["key"]], "meta": [m for s in samples for m in s["meta"]]}
    for name in ("spec", "image", "audio"):
        if name in samples[0]:
            out[name] = torch.cat([s[name] for s in samples])
    return out


def interleaved_batches(root: Path | str, dataset: str, split: str, sizes: dict[str, int], batch_size: int,
                        seed: int, shuffle_buffer: int = 128, num_workers: int = 0) -> Iterator[dict]:
    """Endless training batches in the loader's format, each slot's curriculum drawn with
    probability proportional to `sizes`; every curriculum streams shuffled with its own seed."""
    from avcurr.data import LoaderConfig, make_loader

    names = [c for c, n in sizes.items() if n > 0]
    if not names:
        raise AvcurrError(f"no training samples in {', '.join(sizes) or 'any curriculum'}")
    streams = {c: iter(make_loader(LoaderConfig(
        root=root, dataset=dataset, split=split, curricula=(c,), batch_size=1, shuffle_buffer=shuffle_buffer,
        num_workers=num_workers, seed=seed * 1000 + i, epochs=None, training=True)))
        for i, c in enumerate(names)}
    rng = random.Random(f"interleave-{seed}")
    weights = [sizes[c] for c in names]
    while True:
        picks = rng.choices(names, weights, k=batch_size)
        yield _concat([next(streams[c]) for c in picks])
