"""Clip features from an audio net for the linear probe.

Pooling: the last conv map (after its ReLU; paper 512 x 64 x 54 for a 10 s input) is reduced per
channel by the global maximum and by the global mean over time and frequency, and the two are
concatenated: 2C numbers per clip (paper 1,024; tiny 128). The maximum is the pooling the paper's
counter and scene-level model use; the mean adds how much of the clip a channel fires on. The map
covers the zero-padded second half too: it is the same silence for every clip, so it shifts
every clip's mean alike and standardisation absorbs it.
"""

from __future__ import annotations

import numpy as np
import torch

from avcurr.models.audio_net import AudioNet

POOLING = "global max and global mean of each channel of the last conv map, concatenated"


@torch.no_grad()
def pooled_features(net: AudioNet, specs: np.ndarray, batch_size: int = 32,
                    device: str | torch.device = "cpu") -> np.ndarray:
    """N x 2C float32 features (max then mean per channel) of N stored-form spectrograms."""
    net = net.to(device).eval()
    out = []
    for start in range(0, len(specs), batch_size):
        spec = torch.from_numpy(np.asarray(specs[start:start + batch_size], np.float32)).unsqueeze(1).to(device)
        fmap = net(spec).float()
        out.append(torch.cat([fmap.amax(dim=(2, 3)), fmap.mean(dim=(2, 3))], 1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
