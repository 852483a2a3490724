"""Data-parallel training under torchrun: one process per device, the model wrapped in DDP.

    torchrun --nproc_per_node 8 -m avcurr train --stage c1 --shards S --run R ...
    torchrun --nnodes 4 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HEAD:29500 -m avcurr train ...

torchrun starts the same command once per device and gives each copy RANK, WORLD_SIZE and
LOCAL_RANK. The training loop (`run_training`) calls `start_ranks` and, when there is more than
one process, joins their process group (NCCL on GPUs, each process on `cuda:LOCAL_RANK`; gloo on
CPUs), wraps the model in DistributedDataParallel (gradients averaged over the ranks at every
step, so every rank keeps the same weights) and lets rank 0 alone write the run folder. Outside
torchrun (no RANK in the environment, or a world of one) nothing changes: `Ranks` is one process.

Each rank's loader reads its own part of the shards (`LoaderConfig.node()` takes the rank from the
process group; see avcurr/data/stream.py for the split). Stopping on the wall clock or on the end
of the data is agreed by every rank at every step (one tiny all-reduce on the CPU, over gloo, so a
GPU is never made to wait), so no rank is left waiting in a collective its peers never join.

Batch and learning rate: batch_size is per rank, so one step trains on a global batch of
batch_size x world size and DDP averages its gradients. Steps, samples and epochs count global
batches. The learning rate is used as given, not scaled with the world size: the paper's rates
are Adam's at batch 16, and the linear scaling rule is an SGD rule that does not carry over to
Adam reliably; a user who wants another rate for a larger global batch passes --lr.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from avcurr.errors import AvcurrError
from avcurr.train.device import pick_device

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
# Why a run stops early, in the order one is reported when ranks stop for different reasons.
_STOPS = ("max_seconds", "data")


def torchrun_env() -> tuple[int, int, int] | None:
    """(rank, world size, local rank) from torchrun's environment; None outside torchrun."""
    if "RANK" not in os.environ and "WORLD_SIZE" not in os.environ:
        return None
    try:
        rank, world, local = (int(os.environ.get(name, "0")) for name in _ENV)
    except ValueError:
        values = ", ".join(f"{n}={os.environ.get(n)!r}" for n in _ENV)
        raise AvcurrError(f"bad torchrun environment: {values} (expected whole numbers)") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise AvcurrError(f"bad torchrun environment: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}")
    return rank, world, local


def current_rank() -> tuple[int, int]:
    """(rank, world size) of this process in its process group; (0, 1) outside one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True in the process that reports (rank 0, or the only process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0") or 0) == 0


@dataclass
class Ranks:
    """This process's place among the data-parallel processes, and what the loop asks of them.

    rank / world_size / local_rank: as torchrun numbers them (0 of 1 outside torchrun).
    device: where this rank trains (`cuda:LOCAL_RANK` under torchrun on GPUs).
    """

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owned: bool = False                      # this process group was started here (and is ended here)
    control: object = field(default=None, repr=False)  # a gloo group for CPU-side agreement

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def wrap(self, model: nn.Module, find_unused: bool = False) -> nn.Module:
        """The model as training calls it: DDP over the ranks, or the model itself in one process."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused)

    def exclusive(self, folder: Path, what: str):
        """The run folder's lock, held by rank 0 (the only writer); a no-op on the other ranks."""
        from avcurr.locks import exclusive

        return exclusive(folder, what) if self.is_main else nullcontext()

    def agree(self, stop: str | None, samples: int) -> tuple[str | None, int]:
        """Every rank's stop reason and batch size together: (why to stop, or None when no rank
        stops; samples of this step over all ranks)."""
        if not self.distributed:
            return stop, samples
        import torch.distributed as dist

        flags = torch.tensor([int(stop == reason) for reason in _STOPS] + [samples], dtype=torch.int64)
        dist.all_reduce(flags, group=self.control)
        for reason, count in zip(_STOPS, flags.tolist()):
            if count:
                return reason, 0
        return None, int(flags[-1])

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """`values` averaged over the ranks (metrics rows: every rank's statistics, not rank 0's)."""
        if not self.distributed:
            return values
        import torch.distributed as dist

        values = values.detach().clone()
        dist.all_reduce(values)
        return values / self.world_size

    def same_everywhere(self, value: int, what: str) -> None:
        """Refuse to go on when the ranks see different values of `what` (e.g. the resumed step:
        a run folder that is not on a file system every node sees)."""
        if not self.distributed:
            return
        seen = self.gather(value)
        if len(set(seen)) > 1:
            detail = ", ".join(f"rank {r}: {v}" for r, v in enumerate(seen))
            raise AvcurrError(f"the ranks disagree on {what} ({detail}); the run folder must be on a file "
                              "system every node sees")

    def gather(self, value) -> list:
        """Every rank's `value` (picklable), in rank order."""
        if not self.distributed:
            return [value]
        import torch.distributed as dist

        out: list = [None] * self.world_size
        dist.all_gather_object(out, value, group=self.control)
        return out

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier(group=self.control)

    def close(self) -> None:
        """Leave the process group if it was started here."""
        if self.owned:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.owned = False


def _rank_device(name: str, local_rank: int, local_world: int) -> torch.device:
    device = pick_device(name)
    if device.type != "cuda":
        return device
    if device.index is None:
        device = torch.device("cuda", local_rank)
    elif local_world > 1:
        raise AvcurrError(f"--device {name} names one GPU, but torchrun started {local_world} processes on this "
                          "node; pass --device cuda (or auto): each process takes cuda:LOCAL_RANK")
    if device.index >= torch.cuda.device_count():
        raise AvcurrError(f"rank on cuda:{device.index}, but this node has {torch.cuda.device_count()} GPU(s); "
                          "give torchrun --nproc_per_node at most the number of GPUs")
    torch.cuda.set_device(device)
    return device


def start_ranks(device: str) -> Ranks:
    """This process's `Ranks`: joins torchrun's process group when there is more than one process
    (reuses one a caller already started), else one process on `pick_device(device)`."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():  # a caller's own process group
        local = int(os.environ.get("LOCAL_RANK", "0") or 0)
        rank, world = dist.get_rank(), dist.get_world_size()
        where = _rank_device(device, local, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
        control = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
        return Ranks(where, rank, world, local, owned=False, control=control)
    env = torchrun_env()
    if env is None or env[1] == 1:
        return Ranks(pick_device(device))
    rank, world, local = env
    if not dist.is_available():
        raise AvcurrError("this torch build has no torch.distributed; train with one process")
    where = _rank_device(device, local, int(os.environ.get("LOCAL_WORLD_SIZE", str(world)) or world))
    backend = "nccl" if where.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, rank=rank, world_size=world)
    except (ValueError, RuntimeError) as exc:
        raise AvcurrError(f"rank {rank} of {world} cannot join the process group ({backend}): {exc}") from None
    control = dist.new_group(backend="gloo") if backend != "gloo" else None
    return Ranks(where, rank, world, local, owned=True, control=control)


def gather_across_ranks(x: torch.Tensor) -> torch.Tensor:
    """`x` (B x ...) of every rank concatenated in rank order (W*B x ...); gradients flow back to
    each rank's own part (torch.distributed.nn's all_gather sums them there). One process: `x`.
    Every rank must give the same shape (the training loader's batches all have batch_size)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), 0)


def weights_digest(named: Iterable[tuple[str, torch.Tensor]]) -> str:
    """SHA-256 (first 16 hex digits) over parameter names and bytes, in the order given: two ranks
    holding identical weights give the same digest."""
    digest = hashlib.sha256()
    for name, tensor in named:
        data = tensor.detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{name}\0{tuple(data.shape)}\0".encode())
        digest.update(data.numpy().tobytes())
    return digest.hexdigest()[:16]
