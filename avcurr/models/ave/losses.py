"""The AVE losses: per-segment cross-entropy (supervised), MIL mean pooling (weakly supervised,
paper §3.6) and the Audio Visual Triplet Gram Matrix Loss (unsupervised, §3.7, eqs. 13-16)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAMMA = 0.7      # AVTGML's margin (the paper's empirical choice)
EPS = 1e-12


def segment_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every segment: logits B x T x C, labels B x T (class indices)."""
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten())


def mil_pool(logits: torch.Tensor, pool: str = "mean") -> torch.Tensor:
    """Video-level class probabilities B x C from segment logits B x T x C: the segments' softmax
    probabilities averaged over T (MIL mean pooling, as the paper), or their maximum renormalised."""
    probs = torch.softmax(logits, dim=-1)
    if pool == "mean":
        return probs.mean(1)
    if pool == "max":
        top = probs.amax(1)
        return top / top.sum(-1, keepdim=True)
    raise ValueError(f"unknown MIL pooling {pool!r}")


def weak_loss(logits: torch.Tensor, video_targets: torch.Tensor, pool: str = "mean") -> torch.Tensor:
    """Cross-entropy of the MIL-pooled video prediction against video-level target distributions
    (B x C, rows summing to 1: one-hot for one event category)."""
    video = mil_pool(logits, pool)
    return -(video_targets * torch.log(video.clamp_min(EPS))).sum(-1).mean()


def gram(z: torch.Tensor) -> torch.Tensor:
    """Eqs. 13-14: the T x T Gram matrix of each sample's segment features (B x T x D), divided
    by its Frobenius norm, so that <G, G>_F = 1."""
    g = z @ z.transpose(1, 2)
    return g / g.flatten(1).norm(dim=1).clamp_min(EPS)[:, None, None]


def frobenius(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """<A, B>_F per sample: B x T x T, B x T x T -> B."""
    return (a * b).flatten(1).sum(1)


def avtgml(s_v: torch.Tensor, s_a_pos: torch.Tensor, s_a_neg: torch.Tensor,
           gamma: float = GAMMA) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eqs. 15-16: (loss, d_pos, d_neg); d = <G(visual), G(audio)>_F, loss = mean over the batch
    of max(d_neg - d_pos + gamma, 0)."""
    g_v = gram(s_v)
    d_pos, d_neg = frobenius(g_v, gram(s_a_pos)), frobenius(g_v, gram(s_a_neg))
    return (d_neg - d_pos + gamma).clamp_min(0).mean(), d_pos, d_neg


def derangement(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random permutation of 0..n-1 with no fixed point: negative i is another video of the
    batch, never i itself. A random shift of a shuffled order (n >= 2)."""
    if n < 2:
        raise ValueError("negatives need at least two videos in a batch")
    order = torch.randperm(n, generator=generator)
    shift = int(torch.randint(1, n, (1,), generator=generator))
    neg = torch.empty(n, dtype=torch.long)
    neg[order] = order.roll(-shift)
    return neg
