"""Stage-by-stage training of the curriculum audiovisual model."""

from avcurr.train.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from avcurr.train.config import TrainConfig
from avcurr.train.loop import TrainSummary, train_stage

__all__ = ["TrainConfig", "TrainSummary", "load_checkpoint", "model_from_checkpoint", "save_checkpoint",
           "train_stage"]
