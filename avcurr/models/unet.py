"""The separation U-Net of the curriculum paper's supplement 6.4, conditioned on a visual vector.

    mixture log-frequency magnitude, 1 x 512 x 432
      -> floor the log, BatchNorm, [average-pool by `input_pool`], pad right/bottom to a multiple of 64
      -> 6 x (4x4 conv stride 2 + BN + LeakyReLU 0.2): 16-32-64-128-256-512 channels
      -> bottleneck (512 x 8 x 7 for the paper) ++ the visual vector (FC 512-512 + BN + LeakyReLU 0.2,
         tiled over the bottleneck)
      -> 6 x (4x4 up-convolution stride 2 with the mirrored encoder skip): 256-128-64-32-16, then 1
         channel; BN + ReLU after each but the last, a sigmoid after the last
      -> crop the padding off, [upsample bilinearly by `input_pool`] -> mask 1 x 512 x 432 in [0, 1]

Padding (pinned): six stride-2 stages need sides divisible by 2^6 = 64. 512 is; 432 is not, so the
normalised input is zero-padded at the end of the time axis to 448 (7 x 64) and the mask's last 16
frames are cropped off. Zero is the batch mean after the input BatchNorm: the padding looks like
an average frame, not like silence (log 1e-10 would be a cliff the first convolutions learn).

The encoder runs once per mixture; the decoder runs once per visual vector (one per source to
separate), so a two-source mixture costs one encoder and two decoder passes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from avcurr.errors import AvcurrError

PAPER_CHANNELS = (16, 32, 64, 128, 256, 512)
# log(projected magnitude + 1e-10) is floored here before normalising: digital silence (zero-padded
# clip ends) would otherwise sit at -23, far from everything else, and dominate the input statistics.
LOG_FLOOR = math.log(1e-5)


@dataclass(frozen=True)
class UNetConfig:
    """Sizes of the separation U-Net (one frozen dataclass; two presets of the same code).

    channels: encoder widths (the decoder mirrors them); the paper's six: 16-32-64-128-256-512.
    visual_dim: width of the conditioning vector that enters the FC (set from the localizer).
    fc_dim: output width of the visual FC (paper 512-512), tiled over the bottleneck.
    input_pool: average-pool factor on both axes of the input; the mask is upsampled back (1 = none).
    slope: LeakyReLU slope of the encoder and of the visual FC (0.2).
    """

    name: str = "paper"
    channels: tuple = PAPER_CHANNELS
    visual_dim: int = 512
    fc_dim: int = 512
    input_pool: int = 1
    slope: float = 0.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if not self.channels or not all(isinstance(c, int) and c > 0 for c in self.channels):
            raise AvcurrError(f"U-Net channels must be positive integers, got {self.channels}")
        if self.visual_dim < 1 or self.fc_dim < 1 or self.input_pool < 1:
            raise AvcurrError("visual_dim, fc_dim and input_pool must be at least 1")

    @property
    def multiple(self) -> int:
        """Sides of the (pooled) input must be divisible by this: one halving per encoder layer."""
        return 2 ** len(self.channels)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(d["channels"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known})


# `tiny`: the paper's six layers at a quarter of the width on a 2x pooled input (256 x 216, padded to
# 256 x 256): about 18x fewer FLOPs (0.20 against 3.6 GFLOP per source), so a 2-core CPU trains it in
# minutes. Its mask is made at half resolution and upsampled, which costs the estimates some detail.
UNET_PRESETS = {
    "paper": UNetConfig(),
    "tiny": UNetConfig(name="tiny", channels=(8, 16, 32, 64, 64, 64), fc_dim=64, input_pool=2),
}


def unet_preset(name: str, visual_dim: int) -> UNetConfig:
    """The named U-Net configuration for conditioning vectors of width `visual_dim`."""
    try:
        base = UNET_PRESETS[name]
    except KeyError:
        raise AvcurrError(f"unknown separator config {name!r}; choose one of {', '.join(UNET_PRESETS)}") from None
    return UNetConfig(**{**asdict(base), "visual_dim": visual_dim})


def _down(cin: int, cout: int, slope: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.LeakyReLU(slope, inplace=True))


def _up(cin: int, cout: int, last: bool) -> nn.Sequential:
    if last:
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1))
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Log-frequency magnitude of mixtures + visual vectors -> one mask per (mixture, vector)."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        widths = cfg.channels
        self.input_norm = nn.BatchNorm2d(1)
        self.down = nn.ModuleList(_down(cin, cout, cfg.slope) for cin, cout in zip((1, *widths[:-1]), widths))
        self.visual_fc = nn.Sequential(nn.Linear(cfg.visual_dim, cfg.fc_dim), nn.BatchNorm1d(cfg.fc_dim),
                                       nn.LeakyReLU(cfg.slope, inplace=True))
        # Up-convolution i takes the previous output (+ the mirrored encoder skip) and gives the next
        # encoder width down; the first takes the bottleneck ++ the tiled visual vector.
        outs = (*reversed(widths[:-1]), 1)
        ins = [widths[-1] + cfg.fc_dim] + [2 * w for w in reversed(widths[:-1])]
        self.up = nn.ModuleList(_up(cin, cout, last=i == len(outs) - 1) for i, (cin, cout) in enumerate(zip(ins, outs)))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, a=cfg.slope, nonlinearity="leaky_relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def encode(self, log_mag: torch.Tensor) -> tuple[list[torch.Tensor], tuple[int, int]]:
        """B x 1 x F x T log magnitude -> the encoder's outputs (skips, bottleneck last) and (F, T)."""
        size = tuple(log_mag.shape[-2:])
        x = self.input_norm(log_mag.clamp_min(LOG_FLOOR))
        if self.cfg.input_pool > 1:
            x = F.avg_pool2d(x, self.cfg.input_pool, ceil_mode=True)
        m = self.cfg.multiple
        x = F.pad(x, (0, -x.shape[-1] % m, 0, -x.shape[-2] % m))
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        return skips, size

    def decode(self, skips: list[torch.Tensor], size: tuple[int, int], visual: torch.Tensor,
               pooled_size: tuple[int, int]) -> torch.Tensor:
        """Masks B x 1 x F x T from the encoder's outputs (batch B) and B visual vectors."""
        bottleneck = skips[-1]
        v = self.visual_fc(visual)[..., None, None].expand(-1, -1, *bottleneck.shape[-2:])
        x = torch.cat([bottleneck, v], 1)
        for i, layer in enumerate(self.up):
            if i > 0:
                x = torch.cat([x, skips[-1 - i]], 1)
            x = layer(x)
        x = torch.sigmoid(x[..., : pooled_size[0], : pooled_size[1]])
        if self.cfg.input_pool > 1:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x

    def forward(self, log_mag: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        """log_mag: B x 1 x F x T (the mixtures); visual: B x S x visual_dim (S sources to separate
        from each mixture) or B x visual_dim -> masks B x S x F x T (or B x 1 x F x T) in [0, 1]."""
        single = visual.dim() == 2
        if single:
            visual = visual[:, None]
        b, s = visual.shape[:2]
        skips, size = self.encode(log_mag)
        pool = self.cfg.input_pool
        pooled = (math.ceil(size[0] / pool), math.ceil(size[1] / pool))
        if s > 1:  # each source decodes from the same encoding
            skips = [x.repeat_interleave(s, 0) for x in skips]
        masks = self.decode(skips, size, visual.reshape(b * s, -1), pooled)
        return masks.view(b, s, *size)
