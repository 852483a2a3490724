"""Visual stream: the VGG16 conv stack without its last pool (SPEC §5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avcurr.models.config import ModelConfig
from avcurr.models.layers import conv_stack

# ImageNet statistics: a fixed, well-known centring of RGB in [0, 1].
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class VisualNet(nn.Module):
    """B x 3 x 256 x 256 image in [0, 1] -> B x C x H x W feature map (paper: 512 x 16 x 16)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.features = conv_stack(3, cfg.visual_layers, cfg.batch_norm)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image - self.mean) / self.std
        if x.shape[-1] != self.cfg.image_size or x.shape[-2] != self.cfg.image_size:
            x = F.interpolate(x, size=(self.cfg.image_size,) * 2, mode="area")
        return self.features(x)
