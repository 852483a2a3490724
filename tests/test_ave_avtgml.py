"""The Audio Visual Triplet Gram Matrix Loss (eqs. 13-16) and how its negatives are drawn."""

from __future__ import annotations

import math

import numpy as np
import torch

from avcurr.ave.layout import read_features
from avcurr.ave.data import make_batch
from avcurr.ave.train import AveTask, AveTrainConfig
from avcurr.models.ave import GAMMA, avtgml, derangement, frobenius, gram
from tests.ave_fixtures import random_features


def _direct(z_v, z_p, z_n, gamma):
    """Eqs. 13-16 with numpy loops, for one sample."""
    def normalised_gram(z):
        g = np.array([[float(np.dot(a, b)) for b in z] for a in z])
        return g / np.sqrt((g ** 2).sum())

    gv, gp, gn = map(normalised_gram, (z_v, z_p, z_n))
    d_pos, d_neg = float((gv * gp).sum()), float((gv * gn).sum())
    return max(d_neg - d_pos + gamma, 0.0), d_pos, d_neg


def test_frobenius_normalisation_gives_unit_self_product():
    g = gram(torch.randn(4, 10, 7))
    assert torch.allclose(frobenius(g, g), torch.ones(4), atol=1e-5)
    assert torch.allclose(g, g.transpose(1, 2))


def test_loss_on_known_numbers():
    s_v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])        # G = I / sqrt 2
    s_neg = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])      # G = ones / 2
    loss, d_pos, d_neg = avtgml(s_v, s_v, s_neg)
    assert math.isclose(float(d_pos), 1.0, rel_tol=1e-6)
    assert math.isclose(float(d_neg), 1 / math.sqrt(2), rel_tol=1e-6)
    assert math.isclose(float(loss), 1 / math.sqrt(2) - 1 + GAMMA, rel_tol=1e-6)


def test_loss_equals_the_direct_computation():
    g = torch.Generator().manual_seed(3)
    s_v, s_p, s_n = (torch.randn(5, 6, 4, generator=g, dtype=torch.float64) for _ in range(3))
    loss, d_pos, d_neg = avtgml(s_v, s_p, s_n, gamma=0.9)
    direct = [_direct(*(x[i].numpy() for x in (s_v, s_p, s_n)), 0.9) for i in range(5)]
    assert np.allclose(d_pos.numpy(), [d[1] for d in direct]) and np.allclose(d_neg.numpy(), [d[2] for d in direct])
    assert math.isclose(float(loss), np.mean([d[0] for d in direct]), rel_tol=1e-9)


def test_zero_with_no_gradient_past_the_margin_and_a_gradient_inside_it():
    s_v = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]], requires_grad=True)   # G = [[1, -1], [-1, 1]] / 2
    s_neg = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])                        # d_neg = 0
    loss, d_pos, d_neg = avtgml(s_v, s_v.detach(), s_neg)
    assert float((d_pos - d_neg).detach()) >= GAMMA and float(loss.detach()) == 0.0
    loss.backward()
    assert float(s_v.grad.abs().sum()) == 0.0
    s_v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], requires_grad=True)
    loss, d_pos, d_neg = avtgml(s_v, torch.tensor([[[1.0, 0.0], [0.0, 1.0]]]), s_neg)
    assert float((d_pos - d_neg).detach()) < GAMMA and float(loss.detach()) > 0
    loss.backward()
    assert float(s_v.grad.abs().sum()) > 0


def test_negatives_are_another_video_of_the_batch():
    g = torch.Generator().manual_seed(0)
    for n in range(2, 40):
        for _ in range(20):
            neg = derangement(n, g)
            assert sorted(neg.tolist()) == list(range(n)) and not (neg == torch.arange(n)).any()
    seen = {tuple(derangement(4, g).tolist()) for _ in range(200)}
    assert len(seen) > 3    # not one fixed shift


def test_the_task_pairs_each_video_with_another_ones_audio(tmp_path):
    random_features(tmp_path, n=8)
    features = read_features(tmp_path)
    task = AveTask(AveTrainConfig(run=tmp_path / "run", features=tmp_path, mode="unsupervised", max_steps=1), features)
    model = task.build_model().eval()
    batch = make_batch(features, np.array([0, 1]))       # two videos: the only negative is the other one
    loss, stats = task.compute(model, batch, torch.device("cpu"))
    out = model(batch["audio"], batch["visual"])
    expected = avtgml(out.s_v, out.s_a, out.s_a.flip(0))
    assert torch.allclose(loss, expected[0]) and torch.allclose(stats["d_neg"], expected[2].mean())
    assert not torch.allclose(expected[1], expected[2])
