"""The Audio Visual Fusion Block (paper §3.2, Fig. 3) and the simpler fusions it is compared with.

Inputs: audio features F^a as B x T x d_a, visual feature maps F^v as B x T x S x d_v (S regions).

- LSTM fusion (eq. 1): l^v = dense(global average pool of F^v), l^a = dense(F^a), both d_e wide;
  an LSTM over [l^v + l^a, l^a] gives LF_t.
- MFB (eqs. 3-6): U^T F^v_i * V^T F^a per region i (Hadamard, q*p wide), summed over groups of q,
  signed square root and L2 normalisation -> z_t,i; lambda_t = softmax over the S regions of
  W_z z_t,i + b_z; MF_t = sum_i lambda_t,i F^v_i.
- AVFB: IF_t = LF_t + MF_t (eq. 7).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avcurr.models.ave.config import AveModelConfig

POWER_EPS = 1e-8  # inside the square root: keeps its gradient finite at 0


def power_l2_normalise(z: torch.Tensor) -> torch.Tensor:
    """Eq. 4 over the last axis: z' = sign(z) |z|^0.5, then z' / ||z'||_2."""
    z = torch.sign(z) * torch.sqrt(z.abs() + POWER_EPS)
    return F.normalize(z, p=2, dim=-1)


class Embed(nn.Module):
    """l^v and l^a: the globally average-pooled visual map and the audio vector in R^{d_e} (dense + ReLU)."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        self.visual = nn.Linear(cfg.visual_dim, cfg.embed_dim)
        self.audio = nn.Linear(cfg.audio_dim, cfg.embed_dim)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.relu(self.visual(visual.mean(2))), F.relu(self.audio(audio))


class LstmFusion(nn.Module):
    """Eq. 1: LF_t = LSTM([l^v_t + l^a_t, l^a_t]), d_v hidden units (so that eq. 7 can add MF_t)."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        self.embed = Embed(cfg)
        self.lstm = nn.LSTM(2 * cfg.embed_dim, cfg.visual_dim, batch_first=True)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        lv, la = self.embed(audio, visual)
        return self.lstm(torch.cat([lv + la, la], -1))[0]


class MFBAttention(nn.Module):
    """Eqs. 3-6: audio-guided spatial attention lambda_t over the S regions, and MF_t."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        self.q, self.p = cfg.mfb_factor, cfg.mfb_out
        self.u = nn.Linear(cfg.visual_dim, self.q * self.p)
        self.v = nn.Linear(cfg.audio_dim, self.q * self.p)
        self.score = nn.Linear(self.p, 1)  # W_z, b_z

    def pooled(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        """z_t,i of eqs. 3-4: B x T x S x p.

        Eq. 3 summed over q regroups exactly: sum_k (U_jk . F_i + b_jk) v_jk = F_i . (sum_k v_jk U_jk)
        + sum_k b_jk v_jk, so each segment's audio first mixes U into one d_v x p matrix and the S
        regions are projected once through it, instead of building the S x qp product (5x fewer
        operations, q times less memory; `pooled_direct` is the literal form, for the tests)."""
        v = self.v(audio).unflatten(-1, (self.p, self.q))                        # B x T x p x q
        u = self.u.weight.unflatten(0, (self.p, self.q))                         # p x q x d_v
        mixed = torch.einsum("pqd,btpq->btdp", u, v)                             # B x T x d_v x p
        bias = (self.u.bias.view(self.p, self.q) * v).sum(-1)                    # B x T x p
        return power_l2_normalise(torch.einsum("btsd,btdp->btsp", visual, mixed) + bias.unsqueeze(2))

    def pooled_direct(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        """Eqs. 3-4 as written: (U^T F^v_i) o (V^T F^a), sum pooling over q, normalisation."""
        joint = self.u(visual) * self.v(audio).unsqueeze(2)           # B x T x S x qp
        return power_l2_normalise(joint.unflatten(-1, (self.p, self.q)).sum(-1))

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(MF_t: B x T x d_v, lambda_t: B x T x S; each lambda_t sums to 1 over S)."""
        attention = torch.softmax(self.score(self.pooled(audio, visual)).squeeze(-1), dim=-1)
        return torch.einsum("bts,btsd->btd", attention, visual), attention


class VisualFusion(nn.Module):
    """The visual stream's input per segment, for every fusion of Table 2 (and "none").

    forward(audio, visual) -> (X_t: B x T x out_dim, lambda_t: B x T x S or None)."""

    def __init__(self, cfg: AveModelConfig):
        super().__init__()
        self.kind = cfg.fusion
        if self.kind in ("avfb", "lstm"):
            self.lstm_fusion = LstmFusion(cfg)
        if self.kind in ("avfb", "mfb"):
            self.mfb = MFBAttention(cfg)
        if self.kind in ("mul", "add", "concat"):
            self.embed = Embed(cfg)
        if self.kind == "concat":
            self.fc = nn.Linear(2 * cfg.embed_dim, cfg.embed_dim)
        self.out_dim = cfg.embed_dim if self.kind in ("mul", "add", "concat") else cfg.visual_dim

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        kind = self.kind
        if kind == "none":
            return visual.mean(2), None
        if kind in ("mul", "add", "concat"):
            lv, la = self.embed(audio, visual)
            if kind == "mul":
                return lv * la, None
            if kind == "add":
                return lv + la, None
            return F.relu(self.fc(torch.cat([lv, la], -1))), None
        if kind == "lstm":
            return self.lstm_fusion(audio, visual), None
        mf, attention = self.mfb(audio, visual)
        if kind == "mfb":
            return mf, attention
        return self.lstm_fusion(audio, visual) + mf, attention   # AVFB, eq. 7
