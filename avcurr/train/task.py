"""What a model needs to be trained by avcurr's one training loop (`run_training`).

Every trainable model (the curriculum model, the counter, the separator, the AVE models) is a
`TrainTask`: it builds its model, streams its batches, turns a batch into a loss and statistics,
and says what its checkpoint records. The loop does the rest, the same way for all of them:
stopping (steps, epochs, wall clock), resuming, atomic checkpoints, metrics, curves, progress.

    class CounterTask(TrainTask):
        kind = "counter"
        metrics = ("loss", "accuracy")
        ...
    summary = run_training(CounterTask(cfg), cfg, console)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from avcurr.errors import AvcurrError


class TrainTask(ABC):
    """One model's training, as the loop sees it. Subclass it and fill in the abstract parts.

    Attributes a subclass sets:
      kind: the checkpoint's kind ("cavl", "counter", "separator", "ave"...); loading a checkpoint
        of another kind is refused with a clear line.
      folder: where checkpoint.pt, metrics.jsonl/csv, curves.png and summary.json go.
      label: the progress bar's label, e.g. "train c1".
      batch_size: samples per optimiser step.
      metrics: names of the statistics `compute` returns, logged in this order ("loss" is added
        first by the loop).
      curve_panels: which metrics share a panel of curves.png (default: one panel each).
      curve_lines: horizontal reference lines per metric, {metric: (value, label)}.
      unused_parameters: True when a step may leave some trainable parameters without a gradient
        (a head the loss of this mode does not reach); DDP then looks for them at every step
        (a cost), instead of failing at the second step under torchrun.
    """

    kind: str
    folder: Path
    label: str = "train"
    batch_size: int = 16
    metrics: tuple[str, ...] = ()
    curve_panels: tuple[tuple[str, ...], ...] = ()
    curve_lines: dict[str, tuple[float, str]] = {}
    unused_parameters: bool = False

    # ---- the model -------------------------------------------------------------------------

    @abstractmethod
    def build_model(self) -> nn.Module:
        """A freshly initialised model (on the CPU; the loop moves it)."""

    @abstractmethod
    def model_config(self) -> dict:
        """JSON-able description of the architecture, stored in the checkpoint; a resume or an
        initialisation from another checkpoint must find the same one."""

    def check_model_config(self, theirs: dict, path: Path) -> None:
        """Refuse weights of another architecture (a task may word this for its own options)."""
        mine = self.model_config()
        if theirs != mine:
            differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            detail = ", ".join(f"{k}: {theirs.get(k)!r} there, {mine.get(k)!r} here" for k in differ[:4])
            raise AvcurrError(f"{path} holds a model of another configuration ({detail})")

    def initialise(self, model: nn.Module, device: torch.device) -> str:
        """Weights for a run that does not resume (from another checkpoint, or none); returns
        how it started, e.g. "scratch" or "weights of runs/x/c1/checkpoint.pt"."""
        return "scratch"

    # ---- the optimisation ------------------------------------------------------------------

    @abstractmethod
    def default_lr(self) -> float:
        """The learning rate when --lr is not given."""

    def lr_at(self, step: int, base_lr: float) -> float:
        """Learning rate of optimiser step `step` (0-based): constant unless a task decays it."""
        return base_lr

    def make_optimizer(self, model: nn.Module, lr: float) -> torch.optim.Optimizer:
        """Adam over the trainable parameters (a task may choose another)."""
        return torch.optim.Adam((p for p in model.parameters() if p.requires_grad), lr=lr)

    # ---- the data --------------------------------------------------------------------------

    @abstractmethod
    def batches(self, first_step: int) -> Iterable[dict]:
        """Training batches from optimiser step `first_step` on (seed the order with it, so a
        resumed run does not replay what it saw). May be endless."""

    @abstractmethod
    def samples_per_epoch(self) -> int | None:
        """Training samples in one pass (for --epochs, and to refuse a batch that can never fill);
        None when the data's size is unknown (batches handed in by a caller)."""

    @abstractmethod
    def compute(self, model: nn.Module, batch: dict, device: torch.device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of one batch and its statistics (0-d tensors, detached; named in `metrics`).

        Call the model only through `model(...)` (its forward): under DDP it is wrapped."""

    def batch_samples(self, batch: dict) -> int:
        """Samples in a batch (for counts and throughput)."""
        return len(batch["key"])

    # ---- what the checkpoint records beyond the weights ------------------------------------

    def checkpoint_extra(self) -> dict:
        """JSON-able facts evaluation needs (a stage, an alignment, a conditioning...)."""
        return {}

    #: keys of `checkpoint_extra` a run keeps for life: a resume with other values is refused
    #: (they would change training halfway and rewrite what the checkpoint says it was)
    fixed_on_resume: tuple[str, ...] = ()

    def check_resume(self, state: dict, path: Path) -> None:
        """Refuse to resume a checkpoint whose fixed settings differ from this run's."""
        mine = self.checkpoint_extra()
        differ = [k for k in self.fixed_on_resume if k in state and state[k] != mine.get(k)]
        if differ:
            detail = ", ".join(f"{k}: {state[k]!r} there, {mine.get(k)!r} here" for k in differ[:3])
            raise AvcurrError(f"{path} was trained with other settings ({detail}); pass the same options to "
                              "resume it, or choose a new run folder")
