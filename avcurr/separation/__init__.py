"""Visually guided sound separation (curriculum paper §3.3.2, supplement 6.4; SPEC §7).

    train_separator(SeparatorConfig(...))          mix-and-separate training of the U-Net
    evaluate_separation(SeparationEvalConfig(...)) SDR / SIR / SAR beside the floor and the ceiling
    separate_video(checkpoint, video, out)         one object's sound from a real video
"""

from avcurr.separation.evaluate import SeparationEvalConfig, SeparationReport, evaluate_separation
from avcurr.separation.model import Separator, separator_from_checkpoint
from avcurr.separation.separate import SeparateResult, separate_video
from avcurr.separation.task import SeparatorConfig, SeparatorTask, train_separator

__all__ = ["SeparateResult", "SeparationEvalConfig", "SeparationReport", "Separator", "SeparatorConfig",
           "SeparatorTask", "evaluate_separation", "separate_video", "separator_from_checkpoint",
           "train_separator"]
