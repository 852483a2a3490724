"""Structural alignment of audio and visual centres (eq. 4) and the contrastive loss (eq. 5)."""

from __future__ import annotations

import torch

EPS = 1e-6


def centre_distances(ca: torch.Tensor, cv: torch.Tensor) -> torch.Tensor:
    """Distances between every audio centre of every sample and every visual centre of every sample.

    ca: B x ka x C, cv: B' x kv x C -> B x B' x ka x kv (one matmul over the flattened centres).
    """
    b, ka, c = ca.shape
    b2, kv, _ = cv.shape
    a, v = ca.reshape(b * ka, c), cv.reshape(b2 * kv, c)
    sq = (a * a).sum(1, keepdim=True) + (v * v).sum(1).unsqueeze(0) - 2 * a @ v.T
    d = (sq.clamp_min(0) + EPS).sqrt()
    return d.view(b, ka, b2, kv).permute(0, 2, 1, 3)


def alignment_scores(ca: torch.Tensor, cv: torch.Tensor) -> torch.Tensor:
    """S[i, j] = S_{a_i v_j} = sum over audio centres of a_i of the distance to the nearest visual
    centre of v_j (eq. 4). B x B'; the diagonal holds the matched pairs when B' == B."""
    return centre_distances(ca, cv).min(-1).values.sum(-1)


def contrastive_loss(scores: torch.Tensor, margin: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 5 with the batch's mismatched pairs as negatives, positives and negatives weighted equally.

    loss = 1/2 (mean_i S_ii^2 + mean_{i != j} max(margin - S_ij, 0)^2). Averaging the negatives is eq. 5
    with one randomly drawn negative per positive (the paper's practice), in expectation; it keeps the
    collapsed state (every pair at margin / 2) at exactly margin^2 / 4, which is how it is spotted.
    Returns the loss and detached statistics: mean positive / negative distance and the pair
    accuracy at threshold margin / 2 (positives below, negatives above).
    """
    n = scores.shape[0]
    if n < 2 or scores.shape[1] != n:
        raise ValueError(f"need a square score matrix of at least 2 x 2, got {tuple(scores.shape)}")
    eye = torch.eye(n, dtype=torch.bool, device=scores.device)
    pos, neg = scores[eye], scores[~eye]
    loss = 0.5 * (pos.pow(2).mean() + (margin - neg).clamp_min(0).pow(2).mean())
    with torch.no_grad():
        half = margin / 2
        stats = {"pos_dist": pos.mean(), "neg_dist": neg.mean(),
                 "accuracy": 0.5 * ((pos < half).float().mean() + (neg > half).float().mean())}
    return loss, stats
