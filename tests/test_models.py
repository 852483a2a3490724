"""The two-stream model: shapes, FLOPs, soft K-means, S_av and the contrastive loss against hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.models import (CAVL, CAVLOutput, Clusters, ModelConfig, alignment_scores, clusters_for_stage,
                           contrastive_loss, feature_shapes, flops_per_sample, preset, soft_kmeans)
from avcurr.models.clustering import euclidean, initial_indices


def test_paper_feature_maps_are_the_pinned_sizes():
    shapes = feature_shapes(preset("paper"))
    assert shapes == {"audio": (512, 64, 54), "visual": (512, 16, 16)}


def test_paper_flops_match_the_conv_arithmetic():
    flops = flops_per_sample(preset("paper"))
    # VGGish stack on 1x512x432: 2 * sum(C_in * C_out * 9 * H_out * W_out) over its six convs.
    audio = 2 * 9 * (1 * 64 * 512 * 432 + 64 * 128 * 256 * 216 + 128 * 256 * 128 * 108
                     + 256 * 256 * 128 * 108 + 256 * 512 * 64 * 54 + 512 * 512 * 64 * 54)
    assert flops["audio_net"] == audio
    assert 39e9 < flops["visual_net"] < 41e9        # VGG16 convs at 256 px: 15.5 GMAC * (256/224)^2
    assert flops["total"] > flops["audio_net"] + flops["visual_net"]  # + FC and clustering


def test_paper_config_trains_one_step_on_cpu_with_batch_two():
    torch.manual_seed(0)
    model = CAVL(preset("paper"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    spec, image = torch.randn(2, 1, 512, 432) - 2, torch.rand(2, 3, 256, 256)
    out = model(spec, image, 1, 2)
    assert out.audio.grid == (64, 54) and out.visual.grid == (16, 16)
    assert out.audio.weights.shape == (2, 3456, 1) and out.visual.weights.shape == (2, 256, 2)
    loss, _ = contrastive_loss(alignment_scores(out.audio.centres, out.visual.centres), 1.0)
    before = model.visual_fc.weight.detach().clone()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert not torch.equal(before, model.visual_fc.weight)


def test_presets_and_config_round_trip():
    tiny = preset("tiny")
    assert ModelConfig.from_dict(tiny.to_dict()) == tiny
    assert tiny.lr_for_stage(3) == pytest.approx(1e-5)
    assert preset("paper").lr_for_stage(1) == 1e-4 and preset("paper").lr_for_stage(2) == pytest.approx(1e-5)
    assert clusters_for_stage(3) == (3, 4)
    with pytest.raises(AvcurrError, match="unknown model config 'huge'"):
        preset("huge")
    with pytest.raises(AvcurrError):
        ModelConfig(audio_layers=(64, "X"))


def test_euclidean_matches_cdist():
    x, c = torch.randn(3, 10, 4), torch.randn(3, 2, 4)
    assert torch.allclose(euclidean(x, c), torch.cdist(x, c), atol=1e-3)


def test_farthest_point_seeds_are_deterministic():
    # Points on a line: mean 2.5; farthest from it is 10 (index 3), then the farthest from 10 is 0.
    x = torch.tensor([[[0.0], [1.0], [1.0], [10.0]]])
    assert initial_indices(x, 2).tolist() == [[3, 0]]
    assert initial_indices(x, 3).tolist() == [[3, 0, 1]]


def test_soft_kmeans_finds_two_separated_groups():
    a = torch.tensor([[0.0, 0.0], [0.2, 0.0], [0.0, 0.2]])
    b = torch.tensor([[5.0, 5.0], [5.2, 5.0]])
    x = torch.cat([a, b]).unsqueeze(0).repeat(2, 1, 1)
    x[1] = x[1].flip(0)  # the second sample lists the same points in another order
    out = soft_kmeans(x, k=2, beta=10.0, iters=5, grid=(5, 1))
    for s in range(2):
        centres = sorted(out.centres[s].tolist())
        assert centres[0] == pytest.approx(a.mean(0).tolist(), abs=1e-4)
        assert centres[1] == pytest.approx(b.mean(0).tolist(), abs=1e-4)
    assert torch.allclose(out.weights.sum(-1), torch.ones(2, 5))
    assert out.weights.max(-1).values.min() > 0.99      # hard assignments at this stiffness
    assert out.maps().shape == (2, 2, 5, 1)


def test_soft_kmeans_single_centre_is_the_mean_and_gradients_flow():
    x = torch.randn(2, 6, 3, requires_grad=True)
    out = soft_kmeans(x, k=1, beta=1.0, iters=3, grid=(2, 3))
    assert torch.allclose(out.centres[:, 0], x.mean(1), atol=1e-5)
    assert torch.equal(out.weights, torch.ones(2, 6, 1))
    soft_kmeans(x, k=2, beta=1.0, iters=3, grid=(2, 3)).centres.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_alignment_scores_by_hand():
    # Sample 0: one audio centre at (0, 0); visual centres of sample 0 at (3, 4) and (0, 1);
    # sample 1: audio (6, 8), visual (6, 8) and (0, 10).
    ca = torch.tensor([[[0.0, 0.0]], [[6.0, 8.0]]])
    cv = torch.tensor([[[3.0, 4.0], [0.0, 1.0]], [[6.0, 8.0], [0.0, 10.0]]])
    s = alignment_scores(ca, cv)
    expected = torch.tensor([[1.0, 10.0],             # min(5, 1); min(10, 10)
                             [math.sqrt(9 + 16), 0.0]])  # min(5, sqrt(36+49)); min(0, sqrt(36+4))
    assert torch.allclose(s, expected, atol=1e-3)
    # Two audio centres: the sum of each one's nearest visual distance (eq. 4).
    two = alignment_scores(torch.tensor([[[0.0, 0.0], [6.0, 8.0]]]), cv[:1])
    assert two.item() == pytest.approx(1.0 + 5.0, abs=1e-3)


def test_contrastive_loss_by_hand_and_the_collapsed_state():
    s = torch.tensor([[0.2, 0.9], [1.5, 0.1]])
    loss, stats = contrastive_loss(s, margin=1.0)
    # positives 0.2, 0.1 -> mean square 0.025; negatives 0.9, 1.5 -> mean hinge^2 (0.01 + 0) / 2
    assert loss.item() == pytest.approx(0.5 * (0.025 + 0.005))
    assert stats["pos_dist"].item() == pytest.approx(0.15) and stats["neg_dist"].item() == pytest.approx(1.2)
    assert stats["accuracy"].item() == pytest.approx(1.0)
    collapsed, cstats = contrastive_loss(torch.full((4, 4), 1.5), margin=3.0)
    assert collapsed.item() == pytest.approx(3.0 ** 2 / 4)
    assert cstats["accuracy"].item() == 0.0  # nothing is on the right side of margin / 2
    with pytest.raises(ValueError):
        contrastive_loss(torch.zeros(1, 1), 1.0)


def test_tiny_model_forward_shapes_for_any_stage():
    model = CAVL(preset("tiny")).eval()
    spec, image = torch.randn(3, 1, 512, 432), torch.rand(3, 3, 256, 256)
    with torch.no_grad():
        out = model(spec, image, 2, 3)
    assert isinstance(out, CAVLOutput) and isinstance(out.audio, Clusters)
    assert out.audio.centres.shape == (3, 2, 64) and out.visual.centres.shape == (3, 3, 64)
    assert out.visual.maps().shape == (3, 3, 16, 16)
    assert out.audio.maps().shape == (3, 2, 16, 13)
