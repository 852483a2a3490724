"""The encoders that turn one decoded video into AVE features (T segments).

- visual: the middle frame of each segment through a conv stack -> C x h x w, average-pooled to
  the grid (7 x 7 by default, as the official features), stored H x W x C;
- audio: that second of the SPEC §2 log spectrogram (43 STFT frames, 1 s at hop 256) through the
  audio net -> C x h x w, averaged over h and w to one vector.

Encoders: `random` (a randomly initialised curriculum model of a preset, seeded), `cavl:CKPT` (a
trained curriculum checkpoint's audio and visual nets), and for the visual side `--visual-weights`
(VGG19's conv stack with a torchvision-format state dict, the paper's visual features).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avcurr.audio.spectrogram import HOP, SAMPLE_RATE, log_spectrogram_torch
from avcurr.errors import AvcurrError

FRAMES_PER_SECOND = SAMPLE_RATE // HOP      # 43 STFT frames cover one second


@dataclass
class Encoder:
    """audio_net: B x 1 x 512 x w log spectrogram -> B x C x h x w; visual_net: B x 3 x H x W in
    [0, 1] -> B x C x h x w; description: JSON-able facts recorded beside the features."""

    audio_net: nn.Module
    visual_net: nn.Module
    description: dict


def build_encoder(spec: str, visual_weights: Path | None = None, config: str = "tiny", seed: int = 0,
                  device: torch.device | str = "cpu") -> Encoder:
    """`random` or `cavl:CKPT`, optionally with VGG19 weights for the visual side."""
    from avcurr.models import CAVL, preset

    if spec == "random":
        torch.manual_seed(seed)
        model = CAVL(preset(config))
        description = {"encoder": "random", "config": config, "seed": seed}
    elif spec.startswith("cavl:"):
        from avcurr.train import model_from_checkpoint

        path = Path(spec[len("cavl:"):])
        model, state = model_from_checkpoint(path, "cpu")
        description = {"encoder": "cavl", "checkpoint": str(path), "config": model.cfg.name,
                       "stage": state.get("stage")}
    else:
        raise AvcurrError(f"--encoder must be 'random' or 'cavl:CHECKPOINT', got {spec!r}")
    visual: nn.Module = model.visual_net
    if visual_weights is not None:
        from avcurr.models.ave.vgg19 import load_vgg19

        visual = load_vgg19(visual_weights)
        description["visual"] = f"vgg19:{visual_weights}"
    return Encoder(audio_net=model.audio_net.to(device).eval(), visual_net=visual.to(device).eval(),
                   description=description)


def second_slices(spec: torch.Tensor, segments: int) -> torch.Tensor:
    """T x 1 x 512 x 43: the STFT frames of each second s (from frame round(s * 11025 / 256))."""
    starts = [int(round(s * SAMPLE_RATE / HOP)) for s in range(segments)]
    return torch.stack([spec[:, a:a + FRAMES_PER_SECOND] for a in starts])[:, None]


def audio_spectrogram(audio: np.ndarray, segments: int) -> torch.Tensor:
    """512 x frames log spectrogram of the first T seconds (zero-padded to T s + one hop)."""
    n = segments * SAMPLE_RATE + HOP
    wave = np.zeros(n, np.float32)
    wave[:min(n, audio.size)] = audio[:n]
    return log_spectrogram_torch(torch.from_numpy(wave)[None])[0]


@torch.no_grad()
def encode_video(encoder: Encoder, frames: np.ndarray, audio: np.ndarray, grid: int | None,
                 device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(audio features T x d_a, visual features T x H x W x d_v), float32, for one decoded video.
    `grid` None keeps the conv stack's own grid."""
    segments = frames.shape[0]
    images = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float() / 255.0
    fmap = encoder.visual_net(images)
    if grid is not None and fmap.shape[-2:] != (grid, grid):
        fmap = F.adaptive_avg_pool2d(fmap, grid)
    slices = second_slices(audio_spectrogram(audio, segments), segments).to(device)
    amap = encoder.audio_net(slices)
    return (amap.mean((2, 3)).float().cpu().numpy(),
            fmap.permute(0, 2, 3, 1).float().cpu().numpy())
