"""The published baseline, AVE-ECCV18 (Tian et al., "Audio-Visual Event Localization in
Unconstrained Videos"), reimplemented from its paper and code's description for a side-by-side row.

A+V-att ("ave-baseline"): audio-guided visual attention per segment,
    v_i = relu(W_v' F^v_i), a = relu(W_a' F^a), z_i = w_h tanh(W_v v_i + W_g a),
    alpha = softmax over the S regions of z, c_t = sum_i alpha_i F^v_i;
bidirectional LSTMs over the audio and over the attended visual vectors, their outputs
concatenated, then ReLU -> FC (64) -> ReLU -> FC (C).

DMRN ("ave-dmrn"): the same attention and LSTMs, then one dual multimodal residual block,
    m = (U_a(h^a) + U_v(h^v)) / 2, h^a' = tanh(h^a + m), h^v' = tanh(h^v + m),
and one FC over (h^a' + h^v') / 2; U_a, U_v are two-layer perceptrons with a tanh between.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avcurr.models.ave.config import AveModelConfig
from avcurr.models.ave.model import AveOutput, InputNorm, classifier, flat_visual


class AudioGuidedAttention(nn.Module):
    """forward(audio B x T x d_a, visual B x T x S x d_v) -> (c_t: B x T x d_v, alpha: B x T x S)."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        self.visual_in = nn.Linear(cfg.visual_dim, cfg.embed_dim)
        self.audio_in = nn.Linear(cfg.audio_dim, cfg.embed_dim)
        self.visual_att = nn.Linear(cfg.embed_dim, cfg.baseline_att, bias=False)
        self.audio_att = nn.Linear(cfg.embed_dim, cfg.baseline_att, bias=False)
        self.score = nn.Linear(cfg.baseline_att, 1, bias=False)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = F.relu(self.visual_in(visual))
        a = F.relu(self.audio_in(audio))
        z = self.score(torch.tanh(self.visual_att(v) + self.audio_att(a).unsqueeze(2))).squeeze(-1)
        alpha = torch.softmax(z, dim=-1)
        return torch.einsum("bts,btsd->btd", alpha, visual), alpha


def _perceptron(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, width))


class AveBaseline(nn.Module):
    """AVE-ECCV18's A+V-att (cfg.model "ave-baseline") or DMRN ("ave-dmrn")."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = InputNorm(cfg)
        self.attention = AudioGuidedAttention(cfg)
        self.audio_lstm = nn.LSTM(cfg.audio_dim, cfg.lstm_hidden, batch_first=True, bidirectional=cfg.bidirectional)
        self.visual_lstm = nn.LSTM(cfg.visual_dim, cfg.lstm_hidden, batch_first=True, bidirectional=cfg.bidirectional)
        width = cfg.lstm_out
        self.dmrn = cfg.model == "ave-dmrn"
        if self.dmrn:
            self.u_audio, self.u_visual = _perceptron(width), _perceptron(width)
            self.classifier = nn.Linear(width, cfg.classes)
        else:
            self.classifier = classifier(2 * width, cfg.classifier_hidden, cfg.classes)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> AveOutput:
        audio, visual = self.norm(audio, flat_visual(visual))
        attended, alpha = self.attention(audio, visual)
        h_a = self.audio_lstm(audio)[0]
        h_v = self.visual_lstm(attended)[0]
        if self.dmrn:
            merged = (self.u_audio(h_a) + self.u_visual(h_v)) / 2
            fused = (torch.tanh(h_a + merged) + torch.tanh(h_v + merged)) / 2
            logits = self.classifier(fused)
        else:
            logits = self.classifier(F.relu(torch.cat([h_a, h_v], -1)))
        return AveOutput(logits=logits, attention=alpha, h_v=h_v, h_a=h_a)
