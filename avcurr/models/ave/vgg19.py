"""VGG19's conv stack (AVE's visual features: pool5 of a 224 x 224 frame, 512 x 7 x 7), built by
our layer-list code and loading a torchvision-format state dict that the user supplies.

Our `conv_stack` without batch norm numbers its modules exactly as torchvision's `vgg19().features`
(conv, ReLU, ..., max-pool), so the keys `features.<i>.weight/bias` load as they are.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from avcurr.errors import AvcurrError
from avcurr.models.config import M
from avcurr.models.layers import conv_stack, init_weights

VGG19_LAYERS = (64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M)
VGG19_SIZE = 224
_MEAN = (0.485, 0.456, 0.406)   # ImageNet statistics, as torchvision's weights expect
_STD = (0.229, 0.224, 0.225)


class Vgg19Features(nn.Module):
    """B x 3 x H x W image in [0, 1] -> B x 512 x 7 x 7 (resized to 224 x 224 without cropping)."""

    def __init__(self):
        super().__init__()
        self.features = conv_stack(3, VGG19_LAYERS, batch_norm=False)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        init_weights(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[-2:] != (VGG19_SIZE, VGG19_SIZE):
            image = nn.functional.interpolate(image, size=(VGG19_SIZE, VGG19_SIZE), mode="bilinear",
                                              align_corners=False, antialias=True)
        return self.features((image - self.mean) / self.std)


def load_vgg19(path: Path) -> Vgg19Features:
    """Vgg19Features with the `features.*` weights of a torchvision-format VGG19 state dict
    (a whole `vgg19().state_dict()` or only its features); one clear line when it does not fit."""
    path = Path(path)
    if not path.is_file():
        raise AvcurrError(f"VGG19 weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one line
        raise AvcurrError(f"cannot read VGG19 weights {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise AvcurrError(f"{path} is not a state dict (a mapping of names to tensors)")
    model = Vgg19Features()
    wanted = model.state_dict()
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    missing = sorted(set(wanted) - set(features))
    if missing:
        raise AvcurrError(f"{path} is not a torchvision VGG19 state dict: it lacks {', '.join(missing[:3])}"
                          f"{' ...' if len(missing) > 3 else ''}")
    extra = sorted(set(features) - set(wanted))
    if extra:
        raise AvcurrError(f"{path} holds conv layers VGG19 does not have ({', '.join(extra[:3])}); is it VGG19?")
    for key, value in wanted.items():
        if features[key].shape != value.shape:
            raise AvcurrError(f"{path}: {key} has shape {tuple(features[key].shape)}, VGG19 needs {tuple(value.shape)}")
    model.load_state_dict(features)
    return model.eval()
