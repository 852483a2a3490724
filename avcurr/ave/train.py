"""Training the AVE models with avcurr's one loop (`avcurr train-ave`): three modes, one task.

- supervised: cross-entropy over every segment's C-way prediction (paper §3.6);
- weak: only video-level labels (AVE-ECCV18's weak setting: the video's event category, and
  background for the background-only videos it adds when the feature folder has them); the
  segments' softmax predictions are MIL-pooled (mean over T) into the video's prediction;
- unsupervised: no labels; AVTGML (eqs. 13-16) between the visual stream's SWAB outputs and the
  audio stream's of the same video (positive) and of another video of the batch (negative).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import torch

from avcurr.ave.annotations import VIDEO_LABELS
from avcurr.ave.data import endless_batches, input_stats, training_rows
from avcurr.ave.layout import AveFeatures, read_features
from avcurr.errors import AvcurrError
from avcurr.models.ave import (AveModelConfig, avtgml, build_ave_model, derangement, mil_pool, modality_settings,
                               segment_loss, weak_loss)
from avcurr.train.config import LoopConfig
from avcurr.train.distributed import current_rank
from avcurr.train.loop import TrainSummary, run_training
from avcurr.train.task import TrainTask

if TYPE_CHECKING:
    from rich.console import Console

MODES = ("supervised", "weak", "unsupervised")
MIL_POOLS = ("mean", "max")
KIND = "ave"


@dataclass(frozen=True, kw_only=True)
class AveTrainConfig(LoopConfig):
    """One AVE training run (writes checkpoint.pt, metrics, curves and summary.json into `run`).

    features: a feature folder in the official layout; mode: supervised, weak or unsupervised;
    model: ours, ave-baseline or ave-dmrn; modality / fusion / swab / aggregation: the ablations
    of the paper's Tables 1-3 (see AveModelConfig); swab_rescale: s_t = T alpha_t h_t (see
    AveModelConfig; False: eq. 11 as written); mil_pool: the weak mode's pooling over
    segments (mean, the paper; max, AVE-ECCV18's code); video_label: the weak mode's video labels
    ("event": AVE-ECCV18's, the event category; "present": every class present, background
    included; see avcurr.ave.annotations.video_targets); gamma: AVTGML's margin; batch_size:
    videos per step (AVE-ECCV18: 64); background_videos: in the weak mode, add the folder's
    background-only videos (labelled background) to training, as AVE-ECCV18 does.
    Learning rate: Adam 1e-3 (AVE-ECCV18's) unless --lr.
    """

    features: Path
    mode: str = "supervised"
    model: str = "ours"
    modality: str = "audio+assisted"
    fusion: str = "avfb"
    swab: str = "mean+max"
    aggregation: bool = True
    swab_rescale: bool = True
    mil_pool: str = "mean"
    video_label: str = "event"
    gamma: float = 0.7
    batch_size: int = 64
    background_videos: bool = True

    def validate(self) -> "AveTrainConfig":
        super().validate()
        if self.mode not in MODES:
            raise AvcurrError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mil_pool not in MIL_POOLS:
            raise AvcurrError(f"--mil-pool must be mean or max, got {self.mil_pool!r}")
        if self.video_label not in VIDEO_LABELS:
            raise AvcurrError(f"--video-label must be event or present, got {self.video_label!r}")
        if self.batch_size < 1 or (self.mode == "unsupervised" and self.batch_size < 2):
            raise AvcurrError(f"--batch-size must be at least {2 if self.mode == 'unsupervised' else 1} "
                              f"(unsupervised negatives come from the batch), got {self.batch_size}")
        if self.gamma <= 0:
            raise AvcurrError(f"--gamma must be positive, got {self.gamma}")
        ablations = {"--modality": (self.modality, "audio+assisted"), "--fusion": (self.fusion, "avfb"),
                     "--swab": (self.swab, "mean+max"), "--aggregation": (self.aggregation, True),
                     "--swab-rescale": (self.swab_rescale, True)}
        changed = [name for name, (value, default) in ablations.items() if value != default]
        if self.model != "ours" and changed:  # the baselines have one fixed architecture
            raise AvcurrError(f"{', '.join(changed)} change our model only; --model {self.model} has a fixed "
                              "architecture (leave them at their defaults)")
        model = self.model_config()
        if self.mode == "unsupervised" and (model.model != "ours" or model.streams != "both" or model.swab == "none"):
            raise AvcurrError("--mode unsupervised needs our model with both streams and SWAB (AVTGML compares "
                              "the SWAB outputs of the visual and audio streams)")
        return self

    def model_config(self) -> AveModelConfig:
        """The architecture these options name (not yet sized by the data)."""
        streams, fusion = modality_settings(self.modality, self.fusion)
        return AveModelConfig(model=self.model, streams=streams, fusion=fusion, swab=self.swab,
                              aggregation=self.aggregation, swab_rescale=self.swab_rescale)


class AveTask(TrainTask):
    """An AVE model in one of the three modes; `batches` replaces the feature reader (tests)."""

    kind = KIND

    def __init__(self, cfg: AveTrainConfig, features: AveFeatures | None = None,
                 batches: Iterable[dict] | None = None):
        self.cfg = cfg
        self.folder = Path(cfg.run)
        self.features = features if features is not None else read_features(cfg.features)
        self.model_cfg = cfg.model_config().with_data(**self.features.sizes())
        self.label = f"train-ave {cfg.mode}"
        self.batch_size = cfg.batch_size
        self.metrics = {"supervised": ("accuracy",), "weak": ("video_accuracy",),
                        "unsupervised": ("d_pos", "d_neg", "triplet_accuracy")}[cfg.mode]
        self.curve_panels = (("loss",), ("d_pos", "d_neg"), ("triplet_accuracy",)) \
            if cfg.mode == "unsupervised" else (("loss",), self.metrics)
        self._given = batches
        self._rows = training_rows(self.features, cfg.mode == "weak" and cfg.background_videos)

    def build_model(self):
        model = build_ave_model(self.model_cfg)
        model.norm.set_stats(**input_stats(self.features, self.cfg.seed))
        return model

    def model_config(self) -> dict:
        return self.model_cfg.to_dict()

    def default_lr(self) -> float:
        return 1e-3

    def batches(self, first_step: int) -> Iterable[dict]:
        if self._given is not None:
            return self._given
        rank, world_size = current_rank()
        return endless_batches(self.features, self._rows, self.batch_size, self.cfg.seed, first_step,
                               self.cfg.video_label, rank, world_size)

    def samples_per_epoch(self) -> int | None:
        return None if self._given is not None else len(self._rows)

    def compute(self, model, batch: dict, device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        audio, visual = batch["audio"].to(device), batch["visual"].to(device)
        out = model(audio, visual)
        mode = self.cfg.mode
        if mode == "supervised":
            labels = batch["labels"].to(device)
            loss = segment_loss(out.logits.float(), labels)
            return loss, {"accuracy": (out.logits.argmax(-1) == labels).float().mean().detach()}
        if mode == "weak":
            targets = batch["targets"].to(device)
            loss = weak_loss(out.logits.float(), targets, self.cfg.mil_pool)
            hit = mil_pool(out.logits.float(), self.cfg.mil_pool).argmax(-1) == targets.argmax(-1)
            return loss, {"video_accuracy": hit.float().mean().detach()}
        negatives = derangement(audio.shape[0]).to(device)
        loss, d_pos, d_neg = avtgml(out.s_v.float(), out.s_a.float(), out.s_a[negatives].float(), self.cfg.gamma)
        return loss, {"d_pos": d_pos.mean().detach(), "d_neg": d_neg.mean().detach(),
                      "triplet_accuracy": (d_pos > d_neg).float().mean().detach()}

    fixed_on_resume = ("mode", "categories", "mil_pool", "video_label", "gamma")

    def checkpoint_extra(self) -> dict:
        return {"mode": self.cfg.mode, "categories": list(self.features.categories),
                "features": str(self.cfg.features), "mil_pool": self.cfg.mil_pool,
                "video_label": self.cfg.video_label, "gamma": self.cfg.gamma}


def train_ave(cfg: AveTrainConfig, features: AveFeatures | None = None, batches: Iterable[dict] | None = None,
              console: "Console | None" = None) -> TrainSummary:
    """Train (or resume) one AVE model as `cfg` says; progress on `console` (None: silent)."""
    cfg.validate()
    task = AveTask(cfg, features, batches)
    try:
        return run_training(task, cfg, console)
    finally:
        if features is None:
            task.features.close()


def load_ave_model(path: Path, device: str | torch.device = "cpu"):
    """(model in eval mode, checkpoint dict) of an AVE checkpoint."""
    from avcurr.train.checkpoint import load_checkpoint

    state = load_checkpoint(path, device, kind=KIND)
    model = build_ave_model(AveModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state
