"""Training: the one loop every model shares (`run_training` + a `TrainTask`, data-parallel under
torchrun: `avcurr.train.distributed`), and the curriculum model's stages (`train_stage`)."""

from avcurr.train.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from avcurr.train.config import LoopConfig, TrainConfig
from avcurr.train.curriculum import CurriculumTask, train_stage
from avcurr.train.distributed import Ranks, gather_across_ranks, start_ranks, weights_digest
from avcurr.train.loop import TrainSummary, run_training
from avcurr.train.task import TrainTask

__all__ = ["CurriculumTask", "LoopConfig", "Ranks", "TrainConfig", "TrainSummary", "TrainTask", "gather_across_ranks",
           "load_checkpoint", "model_from_checkpoint", "run_training", "save_checkpoint", "start_ranks", "train_stage",
           "weights_digest"]
