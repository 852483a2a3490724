"""Soft K-means in channel space (paper eqs. 1-3), vectorised over the batch and differentiable.

The EM iterations are unrolled, so gradients reach the features through every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

EPS = 1e-6


@dataclass
class Clusters:
    """Result of clustering one batch of feature maps.

    centres: B x k x C; weights: B x N x k (soft assignments, rows sum to 1); grid: (H, W) of the
    feature map the N = H * W vectors came from.
    """

    centres: torch.Tensor
    weights: torch.Tensor
    grid: tuple[int, int]

    def maps(self) -> torch.Tensor:
        """Assignments as spatial maps, B x k x H x W."""
        b, _, k = self.weights.shape
        return self.weights.transpose(1, 2).reshape(b, k, *self.grid)


def euclidean(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Distances B x N x k between rows of x (B x N x C) and c (B x k x C).

    Expanded form (one batched matmul, no B x N x k x C tensor); EPS under the root keeps the
    gradient finite where a point sits on a centre.
    """
    sq = (x * x).sum(-1, keepdim=True) + (c * c).sum(-1).unsqueeze(1) - 2 * x @ c.transpose(1, 2)
    return (sq.clamp_min(0) + EPS).sqrt()


@torch.no_grad()
def initial_indices(x: torch.Tensor, k: int) -> torch.Tensor:
    """Deterministic farthest-point seeds, B x k indices into N.

    The first seed is the point farthest from the sample's mean; each next one is the point whose
    distance to its nearest seed so far is largest. No randomness: the same input always gives the
    same clusters, in training and at test time.
    """
    b, n, _ = x.shape
    mean = x.mean(1, keepdim=True)
    first = euclidean(x, mean)[..., 0].argmax(1)
    chosen = [first]
    nearest = euclidean(x, x[torch.arange(b), first].unsqueeze(1))[..., 0]
    for _ in range(1, k):
        nxt = nearest.argmax(1)
        chosen.append(nxt)
        nearest = torch.minimum(nearest, euclidean(x, x[torch.arange(b), nxt].unsqueeze(1))[..., 0])
    return torch.stack(chosen, 1)


def assign(x: torch.Tensor, centres: torch.Tensor, beta: float) -> torch.Tensor:
    """E-step (eq. 2): w_ij = softmax_j(-beta * d(x_i, c_j)), B x N x k."""
    return torch.softmax(-beta * euclidean(x, centres), dim=-1)


def update(x: torch.Tensor, weights: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """M-step (eq. 3): weighted means. A cluster that lost all its points keeps its old centre."""
    mass = weights.sum(1).unsqueeze(-1)                      # B x k x 1
    return (weights.transpose(1, 2) @ x + EPS * previous) / (mass + EPS)


def soft_kmeans(x: torch.Tensor, k: int, beta: float, iters: int, grid: tuple[int, int]) -> Clusters:
    """Cluster each sample's N vectors (x: B x N x C) into k centres with `iters` EM rounds.

    The returned weights are an E-step on the final centres, so maps and centres agree.
    """
    if k < 1 or k > x.shape[1]:
        raise ValueError(f"cannot make {k} clusters from {x.shape[1]} vectors")
    idx = initial_indices(x, k)
    centres = torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    for _ in range(iters):
        centres = update(x, assign(x, centres, beta), centres)
    return Clusters(centres=centres, weights=assign(x, centres, beta), grid=grid)
