"""The Segment-Wise Attention Block (paper §3.4, Fig. 4, eqs. 9-11).

For one stream's LSTM outputs h_t (B x T x H): global mean and/or max pooling over the T segments,
a shared dense layer on each (g_ave, g_max), a dense layer on every h_t (g-bar_t), their product
P_t = g-bar_t * (g_ave + g_max), segment weights alpha_t = softmax over T of W_alpha P_t + b_alpha,
and s_t = alpha_t h_t (times T with `rescale`, so that a uniform alpha leaves h_t as it is).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SWAB(nn.Module):
    """forward(h) -> (s: B x T x H, alpha: B x T, summing to 1 over T)."""

    def __init__(self, width: int, hidden: int, pool: str = "mean+max", rescale: bool = False):
        super().__init__()
        if pool not in ("mean+max", "mean", "max"):
            raise ValueError(f"unknown SWAB pooling {pool!r}")
        self.pool, self.rescale = pool, rescale
        self.global_fc = nn.Linear(width, hidden)    # W_g, shared by the mean and max paths
        self.segment_fc = nn.Linear(width, hidden)   # W_g-bar
        self.weight = nn.Linear(hidden, 1)           # W_alpha

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = 0
        if self.pool in ("mean+max", "mean"):
            g = g + F.relu(self.global_fc(h.mean(1)))
        if self.pool in ("mean+max", "max"):
            g = g + F.relu(self.global_fc(h.amax(1)))
        p = F.relu(self.segment_fc(h)) * g.unsqueeze(1)
        alpha = torch.softmax(self.weight(p).squeeze(-1), dim=1)
        scale = h.shape[1] if self.rescale else 1
        return (scale * alpha).unsqueeze(-1) * h, alpha
