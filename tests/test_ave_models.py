"""The AVE networks block by block: shapes, attention that sums to 1, MFB's normalisation, the
losses on known numbers, and the AVE-ECCV18 baseline."""

from __future__ import annotations

import math

import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.models.ave import (SWAB, AveModelConfig, MFBAttention, VisualFusion, avtgml, build_ave_model, mil_pool,
                               modality_settings, power_l2_normalise, segment_loss, weak_loss)
from avcurr.models.ave.fusion import LstmFusion

B, T, H, W, DV, DA, C = 3, 10, 7, 7, 24, 16, 11


def sized(**kw) -> AveModelConfig:
    return AveModelConfig(**kw).with_data(T, (H, W), DV, DA, C)


def inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, DA, generator=g), torch.rand(B, T, H, W, DV, generator=g)


def test_power_and_l2_normalisation_on_known_numbers():
    z = torch.tensor([[4.0, -9.0, 0.0, 1.0]])
    # sign(z) |z|^0.5 = [2, -3, 0, 1]; its L2 norm is sqrt(14)
    expected = torch.tensor([[2.0, -3.0, 0.0, 1.0]]) / math.sqrt(14)
    assert torch.allclose(power_l2_normalise(z), expected, atol=1e-5)
    assert torch.allclose(power_l2_normalise(torch.randn(5, 7)).norm(dim=-1), torch.ones(5), atol=1e-5)


def test_mfb_attention_sums_to_one_over_the_regions_and_weights_them():
    mfb = MFBAttention(sized())
    audio, visual = inputs()
    flat = visual.flatten(2, 3)
    mf, attention = mfb(audio, flat)
    assert mf.shape == (B, T, DV) and attention.shape == (B, T, H * W)
    assert torch.allclose(attention.sum(-1), torch.ones(B, T), atol=1e-5)
    assert torch.allclose(mf, (attention.unsqueeze(-1) * flat).sum(2), atol=1e-5)   # eq. 6


def test_mfb_regrouped_equals_eq3_as_written():
    mfb = MFBAttention(sized()).double()
    audio, visual = inputs(1)
    flat = visual.flatten(2, 3).double()
    assert torch.allclose(mfb.pooled(audio.double(), flat), mfb.pooled_direct(audio.double(), flat), atol=1e-9)


def test_avfb_adds_lstm_fusion_and_mfb():
    cfg = sized()
    avfb = VisualFusion(cfg)
    audio, visual = inputs()
    flat = visual.flatten(2, 3)
    fused, attention = avfb(audio, flat)
    mf, same = avfb.mfb(audio, flat)
    assert torch.allclose(fused, avfb.lstm_fusion(audio, flat) + mf, atol=1e-6)   # eq. 7
    assert torch.equal(attention, same) and fused.shape == (B, T, DV)


def test_lstm_fusion_reads_visual_plus_audio_and_audio():
    fusion = LstmFusion(sized())
    audio, visual = inputs()
    flat = visual.flatten(2, 3)
    lv, la = fusion.embed(audio, flat)
    direct = fusion.lstm(torch.cat([lv + la, la], -1))[0]                       # eq. 1
    assert torch.allclose(fusion(audio, flat), direct) and direct.shape == (B, T, DV)


@pytest.mark.parametrize("pool", ["mean+max", "mean", "max"])
@pytest.mark.parametrize("rescale", [False, True])
def test_swab_weights_sum_to_one_over_segments(pool, rescale):
    swab = SWAB(32, 20, pool, rescale)
    h = torch.randn(B, T, 32)
    s, alpha = swab(h)
    assert s.shape == h.shape and alpha.shape == (B, T)
    assert torch.allclose(alpha.sum(1), torch.ones(B), atol=1e-6)
    scale = T if rescale else 1
    assert torch.allclose(s, scale * alpha.unsqueeze(-1) * h, atol=1e-6)       # eq. 11 (times T)


def test_swab_pooling_choice_changes_the_weights():
    torch.manual_seed(0)
    h = torch.randn(B, T, 32)
    swabs = {p: SWAB(32, 20, p) for p in ("mean+max", "mean", "max")}
    for p in ("mean", "max"):
        swabs[p].load_state_dict(swabs["mean+max"].state_dict())
    alphas = {p: s(h)[1] for p, s in swabs.items()}
    assert not torch.allclose(alphas["mean"], alphas["max"])
    assert not torch.allclose(alphas["mean+max"], alphas["mean"])


@pytest.mark.parametrize("kw, attention", [
    ({}, True), ({"fusion": "mfb"}, True), ({"fusion": "lstm"}, False), ({"fusion": "mul"}, False),
    ({"fusion": "add"}, False), ({"fusion": "concat"}, False), ({"fusion": "none"}, False),
    ({"swab": "none", "aggregation": False}, True), ({"streams": "audio"}, False), ({"streams": "visual"}, True),
    ({"model": "ave-baseline"}, True), ({"model": "ave-dmrn"}, True),
])
def test_every_model_gives_per_segment_logits(kw, attention):
    cfg = sized(**kw)
    out = build_ave_model(cfg)(*inputs())
    assert out.logits.shape == (B, T, C)
    assert (out.attention is not None) == attention == cfg.has_spatial_attention
    if attention:
        assert torch.allclose(out.attention.sum(-1), torch.ones(B, T), atol=1e-5)


def test_aggregation_concatenates_sim_and_both_streams():
    model = build_ave_model(sized())
    seen = {}
    model.classifier.register_forward_hook(lambda m, i, o: seen.setdefault("x", i[0]))
    out = model(*inputs())
    sim = (out.h_a - out.h_v) * (out.s_a - out.s_v)                               # eq. 12
    assert torch.allclose(seen["x"], torch.cat([sim, out.h_v, out.h_a, out.s_v, out.s_a], -1))
    assert set(out.alpha) == {"visual", "audio"}


def test_modalities_name_table_1():
    assert modality_settings("audio+assisted", "avfb") == ("both", "avfb")
    assert modality_settings("audio+visual", "avfb") == ("both", "none")
    assert modality_settings("assisted-visual", "mfb") == ("visual", "mfb")
    with pytest.raises(AvcurrError, match="fuses audio"):
        modality_settings("assisted-visual", "none")
    with pytest.raises(AvcurrError, match="unknown fusion"):
        AveModelConfig(fusion="bilinear")


def test_segment_loss_and_mil_pooling_on_known_numbers():
    # two segments, three classes: softmax of [0, log 3, 0] = [.2, .6, .2], of [log 2, 0, log 2] = [.4, .2, .4]
    logits = torch.tensor([[[0.0, math.log(3), 0.0], [math.log(2), 0.0, math.log(2)]]])
    assert torch.allclose(mil_pool(logits), torch.tensor([[0.3, 0.4, 0.3]]), atol=1e-6)
    top = torch.tensor([0.4, 0.6, 0.4])
    assert torch.allclose(mil_pool(logits, "max"), (top / top.sum())[None], atol=1e-6)
    assert math.isclose(float(weak_loss(logits, torch.tensor([[0.0, 1.0, 0.0]]))), -math.log(0.4), rel_tol=1e-5)
    assert math.isclose(float(segment_loss(logits, torch.tensor([[1, 0]]))),
                        -(math.log(0.6) + math.log(0.4)) / 2, rel_tol=1e-5)


def test_weak_loss_sees_only_the_video_prediction():
    torch.manual_seed(0)
    logits = torch.randn(4, T, C)
    targets = torch.softmax(torch.randn(4, C), -1)
    shuffled = logits[:, torch.randperm(T)]
    assert torch.allclose(weak_loss(logits, targets), weak_loss(shuffled, targets))


def test_unsupervised_mode_uses_swab_outputs_of_both_streams():
    out = build_ave_model(sized())(*inputs())
    loss, d_pos, d_neg = avtgml(out.s_v, out.s_a, out.s_a.roll(1, 0))
    loss.backward()
    assert d_pos.shape == (B,) and loss.item() >= 0
