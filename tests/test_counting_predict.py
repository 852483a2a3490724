"""The counter's loss and its prediction rules, against independent computations."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from avcurr.counting.predict import most_probable_count, nearest_count, poisson_probabilities
from avcurr.models.counter import poisson_nll


def test_poisson_loss_equals_torchs_poisson_nll_on_known_values():
    lam = torch.tensor([0.5, 1.0, 2.5, 4.0, 7.25], dtype=torch.float64)
    y = torch.tensor([1.0, 2.0, 3.0, 5.0, 4.0], dtype=torch.float64)
    ours = poisson_nll(lam, y)
    theirs = torch.nn.PoissonNLLLoss(log_input=False, full=False)(lam, y)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-12)
    # eq. 6 by hand, ln y! dropped: mean of lambda - y ln lambda
    by_hand = sum(a - b * math.log(a) for a, b in zip(lam.tolist(), y.tolist())) / 5
    assert ours.item() == pytest.approx(by_hand, abs=1e-7)
    # its minimum over lambda is at lambda = y (the reason the paper's rule is split there)
    grid = torch.linspace(0.5, 6, 1101, dtype=torch.float64)
    best = grid[torch.stack([poisson_nll(g.view(1), torch.tensor([3.0], dtype=torch.float64)) for g in grid]).argmin()]
    assert best.item() == pytest.approx(3.0, abs=0.01)


def _exact_mode(lam: float, max_count: int = 5) -> int:
    """argmax over 1..K of lambda^y / y! in exact rational arithmetic; ties go to the lower y."""
    x = Fraction(lam)
    probs = [x ** y / math.factorial(y) for y in range(1, max_count + 1)]
    return 1 + probs.index(max(probs))


LAMBDAS = [0.01, 0.3, 0.999, 1.0, 1.5, 1.999999, 2.0, 2.0000000001, 2.49, 2.5, 2.51, 2.999, 3.0, 3.0000001,
           3.7, 4.0, 4.0000001, 4.5, 5.0, 5.0000001, 6.3, 11.0, 250.0]


def test_most_probable_count_is_computed_exactly():
    lam = torch.tensor(LAMBDAS, dtype=torch.float64)
    got = most_probable_count(lam).tolist()
    assert got == [_exact_mode(v) for v in LAMBDAS]
    # the trap the issue describes: at lambda = y the rule ties and takes y - 1; just above it takes y
    assert most_probable_count(torch.tensor([2.0, 3.0, 2.0001, 3.9999], dtype=torch.float64)).tolist() == [1, 2, 2, 3]
    # and the ordinary argmax of the log-probabilities agrees wherever there is no tie
    untied = [v for v in LAMBDAS if v != int(v)]
    logp = torch.tensor([[y * math.log(v) - math.lgamma(y + 1) for y in range(1, 6)] for v in untied],
                        dtype=torch.float64)
    assert (logp.argmax(1) + 1).tolist() == most_probable_count(torch.tensor(untied, dtype=torch.float64)).tolist()


def test_most_probable_count_on_many_random_lambdas_matches_rational_arithmetic():
    g = torch.Generator().manual_seed(0)
    lam = torch.rand(400, generator=g, dtype=torch.float64) * 7
    lam[::7] = torch.round(lam[::7])            # whole values: the ties
    lam = lam.clamp_min(1e-3)
    assert most_probable_count(lam).tolist() == [_exact_mode(v) for v in lam.tolist()]
    assert most_probable_count(lam, max_count=3).tolist() == [_exact_mode(v, 3) for v in lam.tolist()]


def test_nearest_count_rounds_and_clips():
    lam = torch.tensor([0.1, 1.49, 1.5, 2.2, 2.5, 3.51, 4.49, 9.0])
    assert nearest_count(lam).tolist() == [1, 1, 2, 2, 3, 4, 4, 5]


def test_poisson_probabilities_sum_like_the_pmf():
    probs = poisson_probabilities(2.0)
    assert probs[0] == pytest.approx(probs[1])            # P(1) = P(2) at lambda = 2
    assert sum(probs) + math.exp(-2) == pytest.approx(sum(math.exp(-2) * 2 ** k / math.factorial(k) for k in range(6)))
