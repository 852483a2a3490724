"""VGG19's conv stack built by our layer-list code loads a torchvision-format state dict."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avcurr.ave.encoders import build_encoder, encode_video
from avcurr.errors import AvcurrError
from avcurr.models.ave.vgg19 import VGG19_LAYERS, load_vgg19

M = "M"


def torchvision_state(seed=0) -> dict:
    """Random weights under torchvision's `vgg19()` names: features.<i> (conv at the indices its
    Sequential gives them) and its classifier, which we must ignore."""
    g = torch.Generator().manual_seed(seed)
    state, index, channels = {}, 0, 3
    for spec in VGG19_LAYERS:
        if spec == M:
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(spec, channels, 3, 3, generator=g) * (2 / (9 * channels)) ** 0.5
        state[f"features.{index}.bias"] = torch.randn(spec, generator=g) * 0.01
        channels, index = spec, index + 2        # conv, ReLU
    state["classifier.0.weight"] = torch.zeros(4096, 25088)[:8]  # present in a real file, never loaded
    return state


def reference_features(state: dict, x: torch.Tensor) -> torch.Tensor:
    """VGG19's features computed straight from the named tensors."""
    index = 0
    for spec in VGG19_LAYERS:
        if spec == M:
            x = F.max_pool2d(x, 2, 2)
            index += 1
        else:
            x = F.relu(F.conv2d(x, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1))
            index += 2
    return x


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Random VGG19 weights saved once in torchvision's format (80 MB)."""
    state = torchvision_state()
    path = tmp_path_factory.mktemp("vgg19") / "vgg19.pth"
    torch.save(state, path)
    return state, path


def test_loads_a_torchvision_state_dict_and_computes_vgg19(weights):
    state, path = weights
    model = load_vgg19(path)
    x = torch.randn(1, 3, 32, 32)
    assert torch.allclose(model.features(x), reference_features(state, x), rtol=1e-4, atol=1e-5)


def test_visual_features_from_vgg19_are_7x7x512(weights):
    encoder = build_encoder("random", visual_weights=weights[1])
    frames = np.random.default_rng(0).integers(0, 255, (1, 48, 64, 3), dtype=np.uint8)
    audio, visual = encode_video(encoder, frames, np.zeros(2 * 11025, np.float32), grid=7)
    assert visual.shape == (1, 7, 7, 512) and audio.shape == (1, 64)
    assert encoder.description["visual"].startswith("vgg19:")


def _tiny_names() -> dict:
    """Every VGG19 name with a one-number tensor: enough to exercise the checks cheaply."""
    names = [f"features.{i}.{kind}" for i in (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
             for kind in ("weight", "bias")]     # torchvision's conv indices in vgg19().features
    return {name: torch.zeros(1) for name in names}


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("features.34.weight"), "lacks features.34.weight"),
    (lambda s: None, "features.0.weight has shape"),
    (lambda s: s.__setitem__("features.37.weight", torch.zeros(1)), "does not have"),
])
def test_a_file_that_is_not_vgg19_is_one_clear_line(tmp_path, change, message):
    state = _tiny_names()
    change(state)
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(AvcurrError, match=message):
        load_vgg19(tmp_path / "w.pth")


def test_unreadable_weights(tmp_path):
    (tmp_path / "w.pth").write_bytes(b"not a zip")
    with pytest.raises(AvcurrError, match="cannot read VGG19 weights"):
        load_vgg19(tmp_path / "w.pth")
    with pytest.raises(AvcurrError, match="not found"):
        load_vgg19(tmp_path / "none.pth")
