"""Training one curriculum stage of the audiovisual model (`avcurr train --stage cK`).

Stage k streams the `c<k>` shards, clusters with k_a = k audio and k_v = k + m visual centres
(the localization rule's m; the paper's m = 1 is one background centre),
scores every (audio i, image j) pair of the batch by structural alignment (eq. 4) and trains with
the contrastive loss (eq. 5); it starts from stage k-1's weights in the same run folder, at
learning rate base * 0.1 ** (k - 1). With `alignment="scene"` the pairs are scored by the
distance between globally pooled embeddings instead (the paper's scene-level baseline).
Under torchrun the negatives are the rank's own batch, or with `global_negatives` the global
batch: every rank gathers every rank's centres and scores all pairs, so each rank computes the
loss a single process would compute on the concatenated batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import torch

from avcurr.errors import AvcurrError
from avcurr.models import CAVL, ModelConfig, alignment_scores, clusters_for_stage, contrastive_loss, preset
from avcurr.train.checkpoint import NAME, load_checkpoint
from avcurr.train.config import TrainConfig
from avcurr.train.device import pick_device, to_device
from avcurr.train.distributed import gather_across_ranks
from avcurr.train.loop import TrainSummary, run_training
from avcurr.train.task import TrainTask

if TYPE_CHECKING:
    from rich.console import Console


def check_same_model(theirs: dict, cfg: ModelConfig, path: Path) -> None:
    """Refuse to load weights of another architecture into this one, naming the option to pass."""
    other = ModelConfig.from_dict(theirs)
    if other != cfg:
        raise AvcurrError(f"{path} holds a '{other.name}' model that differs from the requested "
                          f"'{cfg.name}' configuration; pass --config {other.name}")


class CurriculumTask(TrainTask):
    """The curriculum model at one stage; `batches` replaces the shard loader (tests, other data)."""

    kind = "cavl"
    metrics = ("pos_dist", "neg_dist", "accuracy")
    curve_panels = (("loss",), ("pos_dist", "neg_dist"), ("accuracy",))

    def __init__(self, cfg: TrainConfig, batches: Iterable[dict] | None = None):
        self.cfg = cfg
        self.folder = cfg.stage_dir()
        self.label = f"train c{cfg.stage}"
        self.batch_size = cfg.batch_size
        self.model_cfg = preset(cfg.model)
        self.rule = cfg.localization_rule()
        self.k_a = clusters_for_stage(cfg.stage)[0]
        self.k_v = self.rule.training_visual_centres(self.k_a)
        self.curve_lines = {"pos_dist": (self.model_cfg.margin / 2, "margin / 2 (collapse)")}
        self._given = batches

    def build_model(self) -> CAVL:
        return CAVL(self.model_cfg)

    def model_config(self) -> dict:
        return self.model_cfg.to_dict()

    def check_model_config(self, theirs: dict, path: Path) -> None:
        check_same_model(theirs, self.model_cfg, path)

    def initialise(self, model, device) -> str:
        """Weights of --init, else of stage k-1 in the same run folder, else none."""
        cfg = self.cfg
        source = Path(cfg.init) if cfg.init else cfg.stage_dir(cfg.stage - 1) / NAME
        if not (cfg.init or (cfg.stage > 1 and source.is_file())):
            return "scratch"
        state = load_checkpoint(source, device, kind="cavl")
        self.check_model_config(state["model_config"], source)
        model.load_state_dict(state["model"])
        return f"weights of {source}"

    def default_lr(self) -> float:
        return self.model_cfg.lr_for_stage(self.cfg.stage)

    def batches(self, first_step: int) -> Iterable[dict]:
        if self._given is not None:
            return self._given
        from avcurr.data import make_loader

        return make_loader(self._loader_config(seed=self.cfg.seed + first_step))

    def _loader_config(self, seed: int = 0):
        from avcurr.data import LoaderConfig

        cfg = self.cfg
        if cfg.shards is None:
            raise AvcurrError("--shards is required (the folder that holds <dataset>/<split>/c<k>/)")
        # On a GPU frames travel as uint8 (a quarter of the bytes to copy) and become floats there.
        on_gpu = pick_device(cfg.device).type == "cuda"
        return LoaderConfig(root=cfg.shards, dataset=cfg.dataset, split=cfg.split,
                            curricula=(f"c{cfg.stage}",), batch_size=cfg.batch_size,
                            shuffle_buffer=cfg.shuffle_buffer, num_workers=cfg.num_workers, seed=seed,
                            epochs=None, training=True, drop_last=True, pin_memory=True,
                            image_dtype="uint8" if on_gpu else "float32")

    def samples_per_epoch(self) -> int | None:
        if self._given is not None:
            return None
        from avcurr.data import count_samples

        return count_samples(self._loader_config())

    def compute(self, model, batch: dict, device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spec, image = to_device(batch, device)
        if self.cfg.alignment == "scene":
            out = model(spec, image, scene=True)
            audio, visual = out.audio[:, None], out.visual[:, None]  # one "centre" each
        else:
            out = model(spec, image, self.k_a, self.k_v)
            audio, visual = out.audio.centres, out.visual.centres
        if self.cfg.global_negatives:
            audio, visual = gather_across_ranks(audio), gather_across_ranks(visual)
        return contrastive_loss(alignment_scores(audio, visual).float(), self.model_cfg.margin)

    fixed_on_resume = ("stage", "alignment", "k_a", "k_v", "localization_rule")

    def checkpoint_extra(self) -> dict:
        from avcurr.localize.rules import RULE_KEY

        return {"stage": self.cfg.stage, "alignment": self.cfg.alignment, "k_a": self.k_a, "k_v": self.k_v,
                RULE_KEY: self.rule.to_dict()}


def train_stage(cfg: TrainConfig, batches: Iterable[dict] | None = None,
                console: "Console | None" = None) -> TrainSummary:
    """Train curriculum stage `cfg.stage` (rerun to resume); `batches` replaces the shard loader.
    Progress is shown on `console` (None: silent)."""
    return run_training(CurriculumTask(cfg.validate(), batches), cfg, console)
