"""Settings of one training stage (one frozen dataclass, passed explicitly)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avcurr.errors import AvcurrError

MAX_STAGE = 4


@dataclass(frozen=True)
class TrainConfig:
    """What `avcurr train` does.

    run: run folder; stage k writes `run/c<k>/` and starts from `run/c<k-1>/checkpoint.pt` if present.
    stage: curriculum stage 1..4 (streams `c<k>` shards; k_a = k, k_v = k + 1).
    shards/dataset/split: where the shards are (`<shards>/<dataset>/<split>/c<k>/*.tar`).
    model: preset name (`paper` or `tiny`).
    max_steps / epochs: stop after this many optimiser steps / passes over the stage's shards
      (epochs are turned into steps from the shards' sample counts); max_seconds: wall-clock cap.
    lr: learning rate override; None = the preset's base_lr * 0.1 ** (stage - 1).
    init: checkpoint to start from instead of stage k-1's (weights only).
    device: "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...
    threads: CPU threads for torch (None = torch's default, one per core). On a shared or busy
      machine 1 is often much faster: OpenMP threads that wait on each other spin.
    """

    run: Path
    stage: int = 1
    shards: Path | None = None
    dataset: str = "audioset"
    split: str = "train"
    model: str = "paper"
    batch_size: int = 16
    max_steps: int | None = None
    epochs: int | None = None
    max_seconds: float | None = None
    lr: float | None = None
    init: Path | None = None
    device: str = "auto"
    seed: int = 0
    threads: int | None = None
    num_workers: int = 0
    shuffle_buffer: int = 256
    ckpt_every: int = 200
    log_every: int = 10
    progress: bool = True

    def validate(self) -> "TrainConfig":
        """Raise AvcurrError naming the first bad setting; return self."""
        if not 1 <= self.stage <= MAX_STAGE:
            raise AvcurrError(f"--stage must be c1..c{MAX_STAGE}, got c{self.stage}")
        if self.batch_size < 2:
            raise AvcurrError(f"--batch-size must be at least 2 (negatives come from the batch), got {self.batch_size}")
        if self.max_steps is None and self.epochs is None and self.max_seconds is None:
            raise AvcurrError("give --max-steps, --epochs or --max-minutes, or training never stops")
        for name in ("max_steps", "epochs", "ckpt_every", "log_every", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise AvcurrError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.lr is not None and self.lr <= 0:
            raise AvcurrError(f"--lr must be positive, got {self.lr}")
        if self.init is not None and not Path(self.init).is_file():
            raise AvcurrError(f"--init checkpoint not found: {self.init}")
        return self

    def stage_dir(self, stage: int | None = None) -> Path:
        return Path(self.run) / f"c{self.stage if stage is None else stage}"
