"""Training: the one loop every model shares (`run_training` + a `TrainTask`), and the curriculum
model's stages (`train_stage`)."""

from avcurr.train.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from avcurr.train.config import LoopConfig, TrainConfig
from avcurr.train.curriculum import CurriculumTask, train_stage
from avcurr.train.loop import TrainSummary, run_training
from avcurr.train.task import TrainTask

__all__ = ["CurriculumTask", "LoopConfig", "TrainConfig", "TrainSummary", "TrainTask", "load_checkpoint",
           "model_from_checkpoint", "run_training", "save_checkpoint", "train_stage"]
