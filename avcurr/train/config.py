"""Settings of a training run: what every model's training shares (`LoopConfig`), and the
curriculum stage of the audiovisual model (`TrainConfig`). Frozen, passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avcurr.errors import AvcurrError

MAX_STAGE = 4
ALIGNMENTS = ("source", "scene")


@dataclass(frozen=True, kw_only=True)
class LoopConfig:
    """What the one training loop needs, whatever the model (every `avcurr train*` command).

    run: the run folder (each task says where under it it writes).
    max_steps / epochs: stop after this many optimiser steps / passes over the training data
      (epochs are turned into steps from the data's sample count); max_seconds: wall-clock cap.
      At least one must be given. Steps and epochs count over resumes (a rerun continues to the
      same goal); the wall-clock cap is per invocation (a rerun gets max_seconds more).
    lr: learning rate override; None = the task's default.
    device: "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...
    seed: initialisation and data order.
    threads: CPU threads for torch (None = torch's default, one per core). On a shared or busy
      machine 1 is often much faster: OpenMP threads that wait on each other spin.
    num_workers: loader worker processes (0 = read in the training process).
    ckpt_every / log_every: steps between checkpoints (a killed run resumes from the last one)
      and between metrics rows.
    compile: run the model through `torch.compile` (worth it on GPUs for long runs; the first
      steps pay for the compilation); compile_backend: torch.compile's backend ("inductor", its
      default; "aot_eager" traces without generating code, for checks).
    Under torchrun every process runs the same config: batch sizes are per rank (the global batch
    is batch_size x world size) and the learning rate is not scaled (see avcurr/train/distributed.py).
    """

    run: Path
    max_steps: int | None = None
    epochs: int | None = None
    max_seconds: float | None = None
    lr: float | None = None
    device: str = "auto"
    seed: int = 0
    threads: int | None = None
    num_workers: int = 0
    ckpt_every: int = 200
    log_every: int = 10
    compile: bool = False
    compile_backend: str = "inductor"

    def __post_init__(self) -> None:
        object.__setattr__(self, "run", Path(self.run))

    def validate(self) -> "LoopConfig":
        """Raise AvcurrError naming the first bad setting; return self."""
        if self.max_steps is None and self.epochs is None and self.max_seconds is None:
            raise AvcurrError("give --max-steps, --epochs or --max-minutes, or training never stops")
        for name in ("max_steps", "epochs", "ckpt_every", "log_every", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise AvcurrError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise AvcurrError(f"--max-minutes must be positive, got {self.max_seconds / 60:g}")
        if self.compile:
            import torch._dynamo

            if self.compile_backend not in torch._dynamo.list_backends(exclude_tags=()):
                raise AvcurrError(f"unknown torch.compile backend {self.compile_backend!r}; "
                                  "use inductor (the default), aot_eager or eager")
        if self.lr is not None and self.lr <= 0:
            raise AvcurrError(f"--lr must be positive, got {self.lr}")
        if self.num_workers < 0:
            raise AvcurrError(f"--workers must be 0 or more, got {self.num_workers}")
        if self.seed < 0:
            raise AvcurrError(f"--seed must be 0 or more, got {self.seed}")
        return self


@dataclass(frozen=True, kw_only=True)
class TrainConfig(LoopConfig):
    """One curriculum stage of the audiovisual model (`avcurr train`).

    stage: curriculum stage 1..4 (streams `c<k>` shards; k_a = k, k_v = k + 1); writes
      `run/c<k>/` and starts from `run/c<k-1>/checkpoint.pt` when present.
    shards/dataset/split: where the shards are (`<shards>/<dataset>/<split>/c<k>/*.tar`; a local
      folder or a URL).
    model: preset name (`paper` or `tiny`).
    batch_size: pairs per batch (per rank under torchrun); the other pairs of the batch are the
      negatives.
    global_negatives: under torchrun, gather every rank's embeddings (all_gather, gradients kept
      for each rank's own part) so that the negatives are the other pairs of the global batch;
      False: the rank's own batch (each rank's loss over its own pairs, DDP averages them).
    alignment: `source` (the paper's model: clusters, structural alignment of their centres) or
      `scene` (globally pooled embeddings compared directly: the paper's Table 1 baseline, CAVL-C0).
    init: checkpoint to start from instead of stage k-1's (weights only).
    shuffle_buffer: samples held by the loader for shuffling.
    train_extra_visual / readout / extra_visual / smooth: the localization rule
      (`avcurr.localize.rules`): stage k clusters into k_v = k + train_extra_visual visual centres
      (the paper: 1, the background); evaluation reads the sound's location with `readout`, k_v =
      k_a + extra_visual and `smooth`. The rule is recorded in the checkpoint, and evaluation of
      the checkpoint uses it. None: the default rule's part.
    """

    stage: int = 1
    shards: Path | str | None = None
    dataset: str = "audioset"
    split: str = "train"
    model: str = "paper"
    batch_size: int = 16
    alignment: str = "source"
    init: Path | None = None
    shuffle_buffer: int = 256
    train_extra_visual: int | None = None
    readout: str | None = None
    extra_visual: int | None = None
    smooth: int | None = None
    global_negatives: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.shards is not None:
            from avcurr.data.urls import shard_root

            object.__setattr__(self, "shards", shard_root(self.shards))

    def validate(self) -> "TrainConfig":
        super().validate()
        if not 1 <= self.stage <= MAX_STAGE:
            raise AvcurrError(f"--stage must be c1..c{MAX_STAGE}, got c{self.stage}")
        if self.batch_size < 2:
            raise AvcurrError(f"--batch-size must be at least 2 (negatives come from the batch), got {self.batch_size}")
        if self.alignment not in ALIGNMENTS:
            raise AvcurrError(f"--alignment must be one of {', '.join(ALIGNMENTS)}, got {self.alignment!r}")
        if self.init is not None and not Path(self.init).is_file():
            raise AvcurrError(f"--init checkpoint not found: {self.init}")
        self.localization_rule()
        return self

    def localization_rule(self):
        """The rule this run trains with and records: the default rule with any part given here."""
        from avcurr.localize.rules import DEFAULT_RULE, with_parts

        return with_parts(DEFAULT_RULE, self.readout, self.extra_visual, self.smooth, self.train_extra_visual)

    def stage_dir(self, stage: int | None = None) -> Path:
        return Path(self.run) / f"c{self.stage if stage is None else stage}"
