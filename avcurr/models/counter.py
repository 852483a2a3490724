"""The sound-source counter (curriculum paper §3.2.2, supplement 6.3, SPEC §6).

spectrogram -> AudioNet (the curriculum model's audio stream) -> global max-pool over the map
-> FC 512-512-1 -> lambda = softplus(out): the Poisson mean of the number of sources. Trained
with the Poisson negative log-likelihood (eq. 6, the constant ln y! dropped).

The same network with a 5-way output (`head="softmax"`, cross-entropy over counts 1..5) measures
the Poisson choice itself on the same features. The `tiny` preset is narrower everywhere: its FC
is embed_dim wide (64-64-1), from the same layer-list code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from avcurr.errors import AvcurrError
from avcurr.models.audio_net import AudioNet
from avcurr.models.config import ModelConfig
from avcurr.models.layers import fc_stack, init_weights, out_channels

HEADS = ("poisson", "softmax")
MAX_COUNT = 5           # SPEC §6: 5 or more sources count as 5
POISSON_EPS = 1e-8      # inside the log, as torch.nn.PoissonNLLLoss(log_input=False) has it

# The ModelConfig fields an audio net's weights depend on (the visual and clustering ones do not).
AUDIO_FIELDS = ("audio_layers", "batch_norm", "audio_pool", "spec_shift", "spec_scale")


@dataclass(frozen=True)
class CounterConfig:
    """model: the audio net's sizes (a preset's ModelConfig; its embed_dim is the FC width);
    head: `poisson` (one output, lambda) or `softmax` (max_count logits); max_count: counts run
    1..max_count."""

    model: ModelConfig
    head: str = "poisson"
    max_count: int = MAX_COUNT

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise AvcurrError(f"--head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.max_count < 2:
            raise AvcurrError(f"max_count must be at least 2, got {self.max_count}")

    @property
    def widths(self) -> tuple[int, ...]:
        """Output widths of the FC layers after the pooled vector (paper: 512, 1)."""
        return (self.model.embed_dim, 1 if self.head == "poisson" else self.max_count)

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "head": self.head, "max_count": self.max_count}

    @classmethod
    def from_dict(cls, d: dict) -> "CounterConfig":
        return cls(model=ModelConfig.from_dict(d["model"]), head=d["head"], max_count=int(d["max_count"]))


def same_audio_net(a: ModelConfig, b: ModelConfig) -> bool:
    """True when weights of one audio net fit the other."""
    return all(getattr(a, f) == getattr(b, f) for f in AUDIO_FIELDS)


class Counter(nn.Module):
    """The audio net, global max-pooling to a vector, an FC head; see the module docstring."""

    def __init__(self, cfg: CounterConfig):
        super().__init__()
        self.cfg = cfg
        self.audio_net = AudioNet(cfg.model)
        self.head = fc_stack(out_channels(cfg.model.audio_layers), cfg.widths)
        init_weights(self)

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """B x C: the audio feature map max-pooled over time and frequency (supplement 6.3)."""
        return self.audio_net(spec).amax(dim=(2, 3))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """Poisson head: lambda (B,), strictly positive; softmax head: logits B x max_count."""
        out = self.head(self.features(spec))
        if self.cfg.head == "poisson":
            return F.softplus(out.squeeze(1))
        return out


def poisson_nll(lam: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 6 without ln y!, averaged over the batch: mean(lambda - y ln lambda).

    Equal to torch.nn.PoissonNLLLoss(log_input=False) (same epsilon inside the log)."""
    return (lam - target * torch.log(lam + POISSON_EPS)).mean()


def count_loss(cfg: CounterConfig, out: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """The training loss of a batch with true `counts` (1..max_count): Poisson NLL, or the
    cross-entropy of the softmax head (class i is count i + 1)."""
    if cfg.head == "poisson":
        return poisson_nll(out.float(), counts.float())
    return F.cross_entropy(out.float(), counts.long() - 1)
