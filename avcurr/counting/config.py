"""Settings of a counter training run (`avcurr train-counter`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.models.counter import HEADS, MAX_COUNT
from avcurr.train.config import LoopConfig

# Supplement 6.3: "the learning rate is initialized at 1e-2 and decays by 0.01/(1 + epoch * 0.5)".
BASE_LR = 1e-2
DECAY_PER_EPOCH = 0.5
MOMENTUM = 0.9


@dataclass(frozen=True, kw_only=True)
class CounterTrainConfig(LoopConfig):
    """One counter: the audio net, global max-pool, FC, trained to count sources (SPEC §6).

    run: the run folder; checkpoint.pt (kind "counter"), metrics and curves go straight into it.
    shards/dataset/split: training shards; every curriculum present is used (or `curricula`),
      the target is each clip's `n_sources` with 5 or more counted as 5 (the c5 clips).
    model: preset of the audio net and the FC width (`paper`: 512-512-1, `tiny`: 64-64-1).
    head: `poisson` (the paper's: lambda = softplus(out), Poisson NLL) or `softmax` (a 5-way
      classifier on the same features, cross-entropy: measures the Poisson choice itself).
    init: a cavl (or counter) checkpoint whose audio net starts the counter; None = random init.
    batch_size: clips per step; each slot draws its curriculum in proportion to its size.
    shuffle_buffer: samples each curriculum's stream holds for shuffling.
    num_workers (from LoopConfig): loader processes of each curriculum's stream.

    Optimiser and schedule (supplement 6.3): SGD with momentum 0.9, learning rate 1e-2 (`lr`
    overrides it), "decays by 0.01/(1 + epoch * 0.5)". We read this as Keras-style time-based
    decay of the initial rate per whole epoch: lr(step) = lr0 / (1 + 0.5 * e), e = the number of
    completed passes over the training data (step // steps per epoch); at 1e-2 that is exactly
    0.01 / (1 + epoch * 0.5). Data of unknown size (batches handed in) is not decayed.
    """

    shards: Path | str | None = None
    dataset: str = "audioset"
    split: str = "train"
    curricula: tuple[str, ...] | None = None
    model: str = "paper"
    head: str = "poisson"
    init: Path | None = None
    batch_size: int = 16
    shuffle_buffer: int = 128
    max_count: int = MAX_COUNT

    def validate(self) -> "CounterTrainConfig":
        super().validate()
        if self.head not in HEADS:
            raise AvcurrError(f"--head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.batch_size < 1:
            raise AvcurrError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.shuffle_buffer < 0:
            raise AvcurrError(f"shuffle_buffer must be 0 or more, got {self.shuffle_buffer}")
        if self.init is not None and not Path(self.init).is_file():
            raise AvcurrError(f"--init checkpoint not found: {self.init}")
        return self
