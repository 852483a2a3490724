"""The separation U-Net (supplement 6.4): shapes, the pinned padding, conditioning, presets."""

from __future__ import annotations

import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.models.unet import UNET_PRESETS, UNet, UNetConfig, unet_preset


@pytest.mark.parametrize("name", ["paper", "tiny"])
def test_mask_has_the_input_shape_and_lies_in_unit_range(name):
    torch.manual_seed(0)
    model = UNet(unet_preset(name, visual_dim=12)).eval()
    mixture = torch.randn(2, 1, 512, 432) - 2
    with torch.no_grad():
        masks = model(mixture, torch.randn(2, 3, 12))       # three sources of each mixture
        single = model(mixture, torch.randn(2, 12))
    assert masks.shape == (2, 3, 512, 432) and single.shape == (2, 1, 512, 432)
    assert masks.min() >= 0 and masks.max() <= 1


def test_paper_layers_are_the_supplement_and_time_is_padded_to_448():
    model = UNet(unet_preset("paper", visual_dim=512))
    assert [layer[0].out_channels for layer in model.down] == [16, 32, 64, 128, 256, 512]
    assert all(layer[0].kernel_size == (4, 4) and layer[0].stride == (2, 2) for layer in model.down)
    assert [layer[0].out_channels for layer in model.up] == [256, 128, 64, 32, 16, 1]
    assert model.up[0][0].in_channels == 512 + 512           # bottleneck ++ the tiled visual vector
    skips, size = model.eval().encode(torch.randn(1, 1, 512, 432))
    assert size == (512, 432)
    assert skips[0].shape[-2:] == (256, 224) and skips[-1].shape[-2:] == (8, 7)  # 448 / 64 = 7
    assert isinstance(model.visual_fc[1], torch.nn.BatchNorm1d)
    assert model.visual_fc[2].negative_slope == 0.2


def test_the_visual_vector_changes_the_mask():
    torch.manual_seed(1)
    model = UNet(unet_preset("tiny", visual_dim=8)).eval()
    mixture = torch.randn(1, 1, 512, 432)
    with torch.no_grad():
        a = model(mixture, torch.randn(1, 8))
        b = model(mixture, torch.randn(1, 8))
    assert (a - b).abs().max() > 1e-3


def test_padding_never_leaks_into_the_output():
    """Frames past the end of the input do not exist for the mask: other lengths also come back whole."""
    model = UNet(unet_preset("tiny", visual_dim=4)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 512, 100), torch.randn(1, 4)).shape == (1, 1, 512, 100)


def test_config_round_trip_and_errors():
    cfg = unet_preset("tiny", visual_dim=64)
    assert UNetConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.multiple == 64 and set(UNET_PRESETS) == {"paper", "tiny"}
    with pytest.raises(AvcurrError, match="unknown separator config 'huge'"):
        unet_preset("huge", 4)
    with pytest.raises(AvcurrError):
        UNetConfig(channels=(16, -1))
