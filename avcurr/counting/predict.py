"""From the counter's outputs to a count: the paper's rule, the nearest integer, the softmax.

The paper predicts the count with the highest Poisson probability (§3.2.2). Over 1..K that is
exact without logarithms: P(y + 1) / P(y) = lambda / (y + 1), so P rises from y to y + 1 exactly
when lambda > y + 1, and the most probable count is 1 + #{j in 2..K : lambda > j}, which is
clip(floor(lambda), 1, K) except at a whole lambda = j, where P(j - 1) = P(j) tie and the lower
count is taken. This is the trap of the issue: the loss drives lambda towards the true count y,
where the rule is split between y - 1 and y.
"""

from __future__ import annotations

import math

import torch

from avcurr.models.counter import MAX_COUNT

MOST_PROBABLE, NEAREST, SOFTMAX = "most_probable", "nearest", "softmax"
RULES = {"poisson": (MOST_PROBABLE, NEAREST), "softmax": (SOFTMAX,)}
RULE_TEXT = {MOST_PROBABLE: "most probable count (paper)", NEAREST: "integer nearest lambda",
             SOFTMAX: "softmax classifier"}


def most_probable_count(lam: torch.Tensor, max_count: int = MAX_COUNT) -> torch.Tensor:
    """argmax over y in 1..max_count of P(Y = y | lambda), computed exactly (ties: the lower y)."""
    thresholds = torch.arange(2, max_count + 1, dtype=lam.dtype, device=lam.device)
    return 1 + (lam.unsqueeze(-1) > thresholds).sum(-1)


def nearest_count(lam: torch.Tensor, max_count: int = MAX_COUNT) -> torch.Tensor:
    """The integer nearest lambda (halves round up), clipped to 1..max_count."""
    return torch.floor(lam + 0.5).clamp(1, max_count).long()


def softmax_count(logits: torch.Tensor) -> torch.Tensor:
    """The most likely class of the softmax head (class i is count i + 1)."""
    return logits.argmax(-1) + 1


def predictions(head: str, out: torch.Tensor, max_count: int = MAX_COUNT) -> dict[str, torch.Tensor]:
    """{rule: predicted counts} for a batch of the counter's outputs."""
    if head == "poisson":
        return {MOST_PROBABLE: most_probable_count(out, max_count), NEAREST: nearest_count(out, max_count)}
    return {SOFTMAX: softmax_count(out)}


def poisson_probabilities(lam: float, max_count: int = MAX_COUNT) -> list[float]:
    """P(Y = y | lambda) for y = 1..max_count (not renormalised), for per-clip reports."""
    return [math.exp(y * math.log(lam) - lam - math.lgamma(y + 1)) if lam > 0 else 0.0
            for y in range(1, max_count + 1)]
