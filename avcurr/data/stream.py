"""The loader's own pipeline stages: the node x worker split, the sample split, frame choice.
Everything else (shard list, grouping, shuffling, mapping, batching) is webdataset's.

The split is ours, not webdataset's `split_by_node`/`split_by_worker`, for one guarantee they do
not give: with fewer shards than readers every reader still gets samples (each reads all the
shards and keeps every n-th sample), so no data-parallel rank sits idle, and every sample is read
by exactly one reader in either case. Ranks come from the LoaderConfig (or torch.distributed /
RANK, WORLD_SIZE), workers from the DataLoader.
"""

from __future__ import annotations

from typing import Iterable, Iterator

Sample = dict  # {"__key__": str, "__url__": str, "<member ext>": bytes, ...}


def split_for(n_shards: int, part: int, parts: int) -> tuple[int, int]:
    """(shard stride, sample stride) for reader `part` of `parts` over `n_shards` shards.

    With at least one shard per reader, readers take whole shards (every `parts`-th, from
    `part`); with fewer shards than readers each reader reads them all and keeps every
    `parts`-th sample instead (from `part`).
    """
    if parts <= 1:
        return 1, 1
    return (parts, 1) if n_shards >= parts else (1, parts)


def every_nth(items: Iterable, stride: int, offset: int) -> Iterator:
    """Keep items offset, offset + stride, ... (the shard split, or the sample split)."""
    if stride == 1:
        yield from items
        return
    for i, item in enumerate(items):
        if i % stride == offset:
            yield item


def pick_frame(samples: Iterable[Sample], frame_of, keep_flac: bool) -> Iterator[Sample]:
    """Choose each sample's frame (`frame_of()`) and drop the members that will not be decoded,
    before the shuffle buffer holds them."""
    for sample in samples:
        frame = frame_of()
        sample["__frame__"] = frame
        for other in (0, 1, 2):
            if other != frame:
                sample.pop(f"f{other}.jpg", None)
        if "spec.npy" in sample and not keep_flac:
            sample.pop("flac", None)
        yield sample
