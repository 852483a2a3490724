"""Audio stream: the VGGish conv stack over the log spectrogram (SPEC §5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avcurr.models.config import ModelConfig
from avcurr.models.layers import conv_stack


class AudioNet(nn.Module):
    """B x 1 x 512 x 432 log spectrogram -> B x C x H x W feature map (paper: 512 x 64 x 54)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.features = conv_stack(1, cfg.audio_layers, cfg.batch_norm)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x = (spec - self.cfg.spec_shift) / self.cfg.spec_scale
        if self.cfg.audio_pool > 1:
            x = F.avg_pool2d(x, self.cfg.audio_pool, ceil_mode=True)
        return self.features(x)
