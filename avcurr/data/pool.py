"""Reused batch buffers: why DataLoader workers scale.

A float32 batch of 16 is 27 MB. torch's default collate puts every batch of a DataLoader worker
into fresh shared memory, and first-touch page faults plus the kernel zeroing those pages cost
about as much CPU as decoding the batch (measured: ~10 ms for the spectrograms of a batch of 16
in fresh shared memory, 0.3 ms in a buffer written before; bench_loader.py shows the effect on
the whole loader). So each reader keeps a few buffers and fills one that is free.

A buffer is one flat float32 storage (shared memory in a worker) holding every tensor of the
batch, plus one float at its end: 1 while some batch uses the buffer, 0 when it is free. The
batch handed to the user does not point at the pool's tensor but at a view made by `adopt`,
whose storage keeps a small releaser alive; when the last tensor or view of the batch is
gone, the releaser writes 0 into that float and the buffer can be filled again. A batch the user
keeps is never overwritten: the reader then takes another buffer, up to `keep` of them, and after
that allocates fresh ones as torch would. In a worker, `adopt` runs in the main process on the
batch it received (the mapping of the same shared memory), so nothing is copied.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np
import torch

_BUSY, _FREE = 1.0, 0.0


def _new_flat(size: int, shared: bool) -> torch.Tensor:
    if not shared:
        return torch.empty(size, dtype=torch.float32)
    proto = torch.empty(0, dtype=torch.float32)
    storage = proto._typed_storage()._new_shared(size, device=proto.device)
    return proto.new(storage).resize_(size)


class BufferPool:
    """Flat float32 buffers of `size` elements (+1 for the busy mark), reused once released."""

    def __init__(self, size: int, shared: bool, keep: int):
        self.size, self.shared, self.keep = size, shared, keep
        self.buffers: list[torch.Tensor] = []

    def take(self) -> torch.Tensor:
        """A buffer nobody uses, marked busy; its last element is the mark, not payload."""
        for flat in self.buffers:
            if flat[-1].item() == _FREE:
                flat[-1] = _BUSY
                return flat
        flat = _new_flat(self.size + 1, self.shared)
        flat[-1] = _BUSY
        if len(self.buffers) < self.keep:
            self.buffers.append(flat)
        return flat


class _Releaser:
    """Exposes a storage to numpy; marks its buffer free when numpy lets go of it."""

    def __init__(self, storage: torch.UntypedStorage):
        self.storage = storage  # keeps the memory (or its mapping of the worker's memory) alive
        pointer, nbytes = storage.data_ptr(), storage.nbytes()
        self.mark = pointer + nbytes - 4
        self.__array_interface__ = {"shape": (nbytes // 4,), "typestr": "<f4", "data": (pointer, False), "version": 3}

    def __del__(self):
        ctypes.c_float.from_address(self.mark).value = _FREE


def adopt(batch: dict, names: tuple[str, ...] = ("spec", "image", "audio")) -> dict:
    """The batch with its buffer tensors replaced by views whose death frees the buffer."""
    first = batch[names[0]]
    owned = torch.from_numpy(np.asarray(_Releaser(first.untyped_storage())))
    for name in names:
        if name in batch:
            tensor = batch[name]
            base = owned if tensor.dtype == owned.dtype else owned.view(tensor.dtype)  # uint8 images
            batch[name] = base.as_strided(tensor.shape, tensor.stride(), tensor.storage_offset())
    return batch


def _elements(shape: tuple[int, ...], dtype: torch.dtype) -> int:
    """float32 elements a tensor of `shape` and `dtype` takes in a buffer (rounded up)."""
    return -(-math.prod(shape) * dtype.itemsize // 4)


def buffer_elements(shapes: dict[str, tuple[int, ...]], dtypes: dict[str, torch.dtype] | None = None) -> int:
    """float32 elements that `views` lays `shapes` out in."""
    dtypes = dtypes or {}
    return sum(_elements(shape, dtypes.get(name, torch.float32)) for name, shape in shapes.items())


def views(flat: torch.Tensor, shapes: dict[str, tuple[int, ...]],
          dtypes: dict[str, torch.dtype] | None = None) -> dict[str, torch.Tensor]:
    """Consecutive tensors of `shapes` laid out at the start of `flat` (float32 unless `dtypes`
    names another dtype: a view of the same bytes)."""
    out, start, dtypes = {}, 0, dtypes or {}
    for name, shape in shapes.items():
        dtype = dtypes.get(name, torch.float32)
        n = _elements(shape, dtype)
        region = flat[start:start + n]
        if dtype != torch.float32:
            region = region.view(dtype)[:math.prod(shape)]
        out[name] = region.view(shape)
        start += n
    return out
