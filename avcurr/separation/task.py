"""Training the separator by mix-and-separate (`avcurr train-separator`).

Each step streams 2P solo clips of the c1 shards (audio from the FLAC, the frame, the stored
spectrogram), pairs them into P two-source mixtures (the sum of the waveforms), and asks the U-Net,
conditioned on each source's visual cue, for that source's ratio mask |S_k| / |S_mix| on the
projected magnitude (clipped to [0, 1]); the loss is their mean L1 distance (eq. 8). The cue comes
from the frozen localizer, looking in each clip's frame for the clip's own sound (the paper's
single-source localization).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import torch

from avcurr.errors import AvcurrError
from avcurr.models import ModelConfig
from avcurr.models.unet import UNET_PRESETS, unet_preset
from avcurr.separation.conditioning import check_condition, cue_width
from avcurr.separation.mixing import batch_pairs
from avcurr.separation.model import KIND, Separator, model_config
from avcurr.separation.spectra import log_input, projected_magnitude, ratio_masks
from avcurr.train.config import LoopConfig
from avcurr.train.loop import TrainSummary, run_training
from avcurr.train.task import TrainTask

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_LR = 1e-3
LOSS_WEIGHTS = ("none", "magnitude")


@dataclass(frozen=True, kw_only=True)
class SeparatorConfig(LoopConfig):
    """One separator training run (`avcurr train-separator`); the loop's options come with LoopConfig.

    localizer: a trained curriculum checkpoint (kind cavl); frozen, copied into the separator.
    condition: `centre` (the aligned visual centre) or `mask` (features max-pooled under its map).
    shards/dataset/split/curriculum: where the solo clips are (`<shards>/<dataset>/<split>/c1`).
    model: U-Net preset, `paper` or `tiny`.
    mixtures: two-source mixtures per step (2 x mixtures clips are read per step).
    visual_centres: k_v of the localizer's visual clustering (2: the object and the background).
    loss_weight: `none` (eq. 8: every bin counts alike) or `magnitude` (Sound-of-Pixels' practice:
      each bin's L1 weighted by log(1 + |S_mix|), clipped to [1e-3, 10], so loud bins count more).
    Writes `<run>/separator-<condition>/`.
    """

    localizer: Path
    condition: str = "mask"
    shards: Path | str | None = None
    dataset: str = "synth"
    split: str = "train"
    curriculum: str = "c1"
    model: str = "paper"
    mixtures: int = 8
    visual_centres: int = 2
    loss_weight: str = "none"
    shuffle_buffer: int = 256

    def validate(self) -> "SeparatorConfig":
        super().validate()
        check_condition(self.condition)
        if self.model not in UNET_PRESETS:
            raise AvcurrError(f"unknown separator config {self.model!r}; choose one of {', '.join(UNET_PRESETS)}")
        if self.mixtures < 1:
            raise AvcurrError(f"--mixtures must be at least 1, got {self.mixtures}")
        if self.visual_centres < 2:
            raise AvcurrError(f"--visual-centres must be at least 2 (object and background), got {self.visual_centres}")
        if self.loss_weight not in LOSS_WEIGHTS:
            raise AvcurrError(f"--loss-weight must be one of {', '.join(LOSS_WEIGHTS)}, got {self.loss_weight!r}")
        if self.shards is None:
            raise AvcurrError("--shards is required (the folder that holds <dataset>/<split>/c1/)")
        return self

    def folder(self) -> Path:
        return Path(self.run) / f"separator-{self.condition}"


def weights_sha256(state_dict: dict) -> str:
    """Fingerprint of a model's weights (names, shapes and values, in name order): the same weights
    give the same value whatever else their checkpoint file holds (a step count, a later re-save)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.float().numpy().tobytes())
    return digest.hexdigest()


class SeparatorTask(TrainTask):
    """Mix-and-separate training of the visually conditioned U-Net."""

    kind = KIND
    metrics = ("cue_blind_l1",)
    curve_panels = (("loss", "cue_blind_l1"),)

    def __init__(self, cfg: SeparatorConfig, batches: Iterable[dict] | None = None):
        from avcurr.train.checkpoint import load_checkpoint

        self.cfg = cfg
        self.folder = cfg.folder()
        self.label = f"separator ({cfg.condition})"
        self.batch_size = 2 * cfg.mixtures
        state = load_checkpoint(Path(cfg.localizer), "cpu", kind="cavl")  # a wrong kind: one clear line
        self.localizer_state = state["model"]
        self.localizer_cfg = ModelConfig.from_dict(state["model_config"])
        self.localizer_info = {"path": str(cfg.localizer), "weights_sha256": weights_sha256(state["model"]),
                               "stage": state.get("stage"), "step": state.get("step")}
        self.unet_cfg = unet_preset(cfg.model, cue_width(self.localizer_cfg, cfg.condition))
        self._given = batches

    def build_model(self) -> Separator:
        return Separator(self.localizer_cfg, self.unet_cfg, self.cfg.condition, self.cfg.visual_centres)

    def model_config(self) -> dict:
        return model_config(self.localizer_cfg, self.unet_cfg, self.cfg.condition, self.cfg.visual_centres,
                            self.localizer_info["weights_sha256"])

    def check_model_config(self, theirs: dict, path: Path) -> None:
        mine = self.model_config()
        if theirs.get("localizer_weights_sha256") != mine["localizer_weights_sha256"]:
            raise AvcurrError(f"{path} was trained with another localizer than {self.cfg.localizer}; "
                              "pass the same --localizer or a new --run folder")
        super().check_model_config(theirs, path)

    def initialise(self, model: Separator, device) -> str:
        model.localizer.load_state_dict(self.localizer_state)
        return f"scratch, localizer {self.cfg.localizer} (frozen)"

    def default_lr(self) -> float:
        return DEFAULT_LR

    def _loader_config(self, seed: int = 0):
        from avcurr.data import LoaderConfig

        cfg = self.cfg
        return LoaderConfig(root=cfg.shards, dataset=cfg.dataset, split=cfg.split, curricula=(cfg.curriculum,),
                            batch_size=self.batch_size, shuffle_buffer=cfg.shuffle_buffer,
                            num_workers=cfg.num_workers, seed=seed, epochs=None, training=True,
                            drop_last=True, with_audio=True, pin_memory=True)

    def batches(self, first_step: int) -> Iterable[dict]:
        if self._given is not None:
            return self._given
        from avcurr.data import make_loader

        return make_loader(self._loader_config(seed=self.cfg.seed + first_step))

    def samples_per_epoch(self) -> int | None:
        if self._given is not None:
            return None
        from avcurr.data import count_samples

        return count_samples(self._loader_config())

    def compute(self, model, batch: dict, device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        first, second = batch_pairs(batch["meta"])
        pairs = torch.tensor([first, second]).T                        # P x 2 clip indices
        waves = batch["audio"].to(device, non_blocking=True)
        with torch.autocast(device.type, enabled=False):               # spectra in float32
            sources = projected_magnitude(waves[pairs])                # P x 2 x 512 x T
            mixture = projected_magnitude(waves[pairs].sum(1))         # P x 512 x T
            target = ratio_masks(sources, mixture)
            mixture_log = log_input(mixture)[:, None]
        image = batch["image"].to(device, non_blocking=True)[pairs]    # P x 2 x 3 x 256 x 256
        spec = batch["spec"].to(device, non_blocking=True)[pairs]      # P x 2 x 1 x 512 x 432
        masks = model(mixture_log, image, spec).float()
        weight = self._weights(mixture)                                # P x 1 x 512 x T
        loss = ((masks - target).abs() * weight).mean()
        # A model blind to the cue gives both sources one mask m; per bin |m - t_0| + |m - t_1| is
        # smallest, |t_0 - t_1|, for any m between them: no such model's loss goes below this.
        blind = ((target[:, 0] - target[:, 1]).abs()[:, None] * weight).mean() / 2
        return loss, {"cue_blind_l1": blind.detach()}

    def _weights(self, mixture: torch.Tensor) -> torch.Tensor:
        """Per-bin loss weights with mean 1 over the batch: all ones (eq. 8), or log(1 + |S_mix|)."""
        if self.cfg.loss_weight == "none":
            return torch.ones_like(mixture)[:, None]
        weight = torch.log1p(mixture).clamp(1e-3, 10.0)[:, None]
        return weight / weight.mean()

    fixed_on_resume = ("condition", "loss_weight", "curriculum", "mixtures_per_step")

    def checkpoint_extra(self) -> dict:
        return {"condition": self.cfg.condition, "localizer": self.localizer_info, "loss_weight": self.cfg.loss_weight,
                "curriculum": self.cfg.curriculum, "mixtures_per_step": self.cfg.mixtures}


def train_separator(cfg: SeparatorConfig, batches: Iterable[dict] | None = None,
                    console: "Console | None" = None) -> TrainSummary:
    """Train a separator as `cfg` says (rerun to resume); `batches` replaces the shard loader."""
    return run_training(SeparatorTask(cfg.validate(), batches), cfg, console)
