"""Training the counter with avcurr's one training loop (`avcurr train-counter`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import torch

from avcurr.counting.config import BASE_LR, DECAY_PER_EPOCH, MOMENTUM, CounterTrainConfig
from avcurr.counting.mixing import curricula_sizes, interleaved_batches
from avcurr.counting.predict import MOST_PROBABLE, NEAREST, SOFTMAX, predictions
from avcurr.errors import AvcurrError
from avcurr.models import preset
from avcurr.models.audio_weights import load_audio_weights
from avcurr.models.counter import Counter, CounterConfig, count_loss, same_audio_net
from avcurr.train.loop import TrainSummary, run_training
from avcurr.train.task import TrainTask

if TYPE_CHECKING:
    from rich.console import Console

KIND = "counter"


def batch_counts(batch: dict, max_count: int) -> torch.Tensor:
    """True counts of a loader batch: each clip's n_sources, 5 or more counted as max_count."""
    try:
        counts = [min(int(m["n_sources"]), max_count) for m in batch["meta"]]
    except (KeyError, TypeError, ValueError):
        raise AvcurrError(f"a sample among {batch['key'][:3]}... has no n_sources in its JSON") from None
    if min(counts) < 1:
        raise AvcurrError("a sample with 0 sources cannot be counted (it belongs to no curriculum)")
    return torch.tensor(counts)


def curriculum_count(curriculum: str, max_count: int) -> int:
    """The number of sources of a curriculum's clips (c5 holds 5 or more: max_count)."""
    return min(int(curriculum[1:]), max_count)


class CounterTask(TrainTask):
    """The counter as the loop sees it; `batches` replaces the shard stream (tests, other data)."""

    kind = KIND

    def __init__(self, cfg: CounterTrainConfig, batches: Iterable[dict] | None = None):
        self.cfg = cfg
        self.folder = Path(cfg.run)
        self.label = f"train counter ({cfg.head})"
        self.batch_size = cfg.batch_size
        self.counter_cfg = CounterConfig(model=preset(cfg.model), head=cfg.head, max_count=cfg.max_count)
        if cfg.head == "poisson":
            self.metrics = ("mean_lambda", f"acc_{MOST_PROBABLE}", f"acc_{NEAREST}")
            self.curve_panels = (("loss",), (f"acc_{MOST_PROBABLE}", f"acc_{NEAREST}"), ("mean_lambda",))
        else:
            self.metrics = (f"acc_{SOFTMAX}",)
            self.curve_panels = (("loss",), (f"acc_{SOFTMAX}",))
        self._given = batches
        self._sizes: dict[str, int] | None = None

    # ---- model ------------------------------------------------------------------------------

    def build_model(self) -> Counter:
        return Counter(self.counter_cfg)

    def model_config(self) -> dict:
        return self.counter_cfg.to_dict()

    def initialise(self, model: Counter, device) -> str:
        """The audio net of --init (a curriculum checkpoint), else the models' random init."""
        if self.cfg.init is None:
            return "scratch"
        theirs, weights, _ = load_audio_weights(self.cfg.init, device)
        if not same_audio_net(theirs, self.counter_cfg.model):
            raise AvcurrError(f"{self.cfg.init} holds a '{theirs.name}' audio net that differs from the "
                              f"requested '{self.cfg.model}' configuration; pass --config {theirs.name}")
        model.audio_net.load_state_dict(weights)
        return f"audio net of {self.cfg.init}"

    # ---- optimisation -----------------------------------------------------------------------

    def default_lr(self) -> float:
        return BASE_LR

    def lr_at(self, step: int, base_lr: float) -> float:
        """lr0 / (1 + 0.5 * completed epochs) (see CounterTrainConfig)."""
        samples = self.samples_per_epoch()
        if not samples:
            return base_lr
        epoch = step // max(samples // self.batch_size, 1)
        return base_lr / (1 + DECAY_PER_EPOCH * epoch)

    def make_optimizer(self, model, lr: float) -> torch.optim.Optimizer:
        return torch.optim.SGD((p for p in model.parameters() if p.requires_grad), lr=lr, momentum=MOMENTUM)

    # ---- data -------------------------------------------------------------------------------

    def sizes(self) -> dict[str, int]:
        """{curriculum: training samples} (read once)."""
        if self._sizes is None:
            cfg = self.cfg
            if cfg.shards is None:
                raise AvcurrError("--shards is required (the folder that holds <dataset>/<split>/c<k>/)")
            self._sizes = curricula_sizes(cfg.shards, cfg.dataset, cfg.split, cfg.curricula)
        return self._sizes

    def batches(self, first_step: int) -> Iterable[dict]:
        if self._given is not None:
            return self._given
        cfg = self.cfg
        return interleaved_batches(cfg.shards, cfg.dataset, cfg.split, self.sizes(), cfg.batch_size,
                                   seed=cfg.seed + first_step, shuffle_buffer=cfg.shuffle_buffer,
                                   num_workers=cfg.num_workers)

    def samples_per_epoch(self) -> int | None:
        return None if self._given is not None else sum(self.sizes().values())

    def compute(self, model, batch: dict, device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spec = batch["spec"].to(device, non_blocking=True)
        if device.type == "cuda":
            spec = spec.contiguous(memory_format=torch.channels_last)
        counts = batch_counts(batch, self.cfg.max_count).to(device)
        out = model(spec)
        loss = count_loss(self.counter_cfg, out, counts)
        with torch.no_grad():
            stats = {f"acc_{rule}": (pred == counts).float().mean()
                     for rule, pred in predictions(self.cfg.head, out.detach().float(), self.cfg.max_count).items()}
            if self.cfg.head == "poisson":
                stats["mean_lambda"] = out.detach().float().mean()
        return loss, stats

    fixed_on_resume = ("head", "max_count", "init")

    def checkpoint_extra(self) -> dict:
        counts: dict[str, int] = {}
        if self._given is None:
            for curriculum, n in self.sizes().items():
                key = str(curriculum_count(curriculum, self.cfg.max_count))
                counts[key] = counts.get(key, 0) + n
        return {"head": self.cfg.head, "max_count": self.cfg.max_count,
                "init": None if self.cfg.init is None else str(self.cfg.init), "train_counts": counts}


def train_counter(cfg: CounterTrainConfig, batches: Iterable[dict] | None = None,
                  console: "Console | None" = None) -> TrainSummary:
    """Train a counter as `cfg` says (rerun to resume); `batches` replaces the shard stream.
    Progress is shown on `console` (None: silent)."""
    return run_training(CounterTask(cfg.validate(), batches), cfg, console)
