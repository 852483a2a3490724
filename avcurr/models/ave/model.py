"""Our AVE model (paper §3, Fig. 2): AVFB -> two LSTMs -> SWABs -> aggregation -> shared classifier.

    visual B x T x S x d_v --AVFB(audio)--> IF_t --LSTM--> h^v_t --SWAB--> s^v_t --+
    audio  B x T x d_a ------------------------LSTM--> h^a_t --SWAB--> s^a_t --+--> [sim_t, h^v_t, h^a_t, s^v_t, s^a_t]
                                                                                    --FC--> C logits per segment
Every block can be switched or swapped for the paper's ablations (see AveModelConfig).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from avcurr.models.ave.config import AveModelConfig
from avcurr.models.ave.fusion import VisualFusion
from avcurr.models.ave.swab import SWAB


@dataclass
class AveOutput:
    """logits: B x T x C (softmax over C gives each segment's class probabilities); attention:
    B x T x S spatial attention over the feature grid (None when the model has none); alpha:
    SWAB's segment weights per stream ("visual"/"audio": B x T); h_*/s_*: the streams' LSTM outputs
    and SWAB outputs (B x T x H; None for an absent stream or SWAB)."""

    logits: torch.Tensor
    attention: torch.Tensor | None = None
    alpha: dict[str, torch.Tensor] = field(default_factory=dict)
    h_v: torch.Tensor | None = None
    h_a: torch.Tensor | None = None
    s_v: torch.Tensor | None = None
    s_a: torch.Tensor | None = None


class InputNorm(nn.Module):
    """Per-channel standardisation of the features with the training split's statistics.

    Pre-extracted features come in any scale (VGG activations in the hundreds, VGGish bytes); the
    statistics are buffers, so a checkpoint carries them and evaluation needs no training data."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        for name, width in (("audio", cfg.audio_dim), ("visual", cfg.visual_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(width))
            self.register_buffer(f"{name}_std", torch.ones(width))

    def set_stats(self, audio_mean, audio_std, visual_mean, visual_std) -> None:
        for name, value in (("audio_mean", audio_mean), ("audio_std", audio_std),
                            ("visual_mean", visual_mean), ("visual_std", visual_std)):
            getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32))

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (audio - self.audio_mean) / self.audio_std, (visual - self.visual_mean) / self.visual_std


def classifier(width: int, hidden: int, classes: int) -> nn.Module:
    """The shared per-segment classifier: FC (+ ReLU + FC when `hidden`) to C logits."""
    if hidden == 0:
        return nn.Linear(width, classes)
    return nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, classes))


def flat_visual(visual: torch.Tensor) -> torch.Tensor:
    """B x T x H x W x d_v (the HDF5 layout) -> B x T x S x d_v; a flat input passes unchanged."""
    return visual.flatten(2, 3) if visual.dim() == 5 else visual


class AveNet(nn.Module):
    """forward(audio: B x T x d_a, visual: B x T x H x W x d_v) -> AveOutput."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = InputNorm(cfg)
        hidden, bi = cfg.lstm_hidden, cfg.bidirectional
        self.has_visual = cfg.streams in ("both", "visual")
        self.has_audio = cfg.streams in ("both", "audio")
        if self.has_visual:
            self.fusion = VisualFusion(cfg)
            self.visual_lstm = nn.LSTM(self.fusion.out_dim, hidden, batch_first=True, bidirectional=bi)
        if self.has_audio:
            self.audio_lstm = nn.LSTM(cfg.audio_dim, hidden, batch_first=True, bidirectional=bi)
        if cfg.swab != "none":
            streams = [name for name, on in (("visual", self.has_visual), ("audio", self.has_audio)) if on]
            self.swab = nn.ModuleDict({name: SWAB(cfg.lstm_out, cfg.swab_dim, cfg.swab, cfg.swab_rescale)
                                       for name in streams})
        n_streams = int(self.has_visual) + int(self.has_audio)
        width = cfg.lstm_out * (5 if cfg.aggregation else n_streams)
        self.classifier = classifier(width, cfg.classifier_hidden, cfg.classes)

    def _stream(self, name: str, h: torch.Tensor, out: AveOutput) -> torch.Tensor:
        """SWAB over one stream's LSTM outputs (or h itself when SWAB is off)."""
        if self.cfg.swab == "none":
            return h
        s, out.alpha[name] = self.swab[name](h)
        return s

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> AveOutput:
        audio, visual = self.norm(audio, flat_visual(visual))
        out = AveOutput(logits=torch.empty(0))
        parts = []
        if self.has_visual:
            x, out.attention = self.fusion(audio, visual)
            out.h_v = self.visual_lstm(x)[0]
            out.s_v = self._stream("visual", out.h_v, out)
            parts.append(out.s_v)
        if self.has_audio:
            out.h_a = self.audio_lstm(audio)[0]
            out.s_a = self._stream("audio", out.h_a, out)
            parts.append(out.s_a)
        if self.cfg.aggregation:  # eq. 12
            sim = (out.h_a - out.h_v) * (out.s_a - out.s_v)
            parts = [sim, out.h_v, out.h_a, out.s_v, out.s_a]
        out.logits = self.classifier(torch.cat(parts, -1))
        return out
