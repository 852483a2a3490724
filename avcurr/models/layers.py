"""The VGG-style conv stack both streams are built from."""

from __future__ import annotations

from torch import nn

from avcurr.models.config import M


def conv_stack(in_channels: int, layers: tuple, batch_norm: bool) -> nn.Sequential:
    """3x3 conv (padding 1) + [BatchNorm] + ReLU for each int in `layers`, 2x2 max-pool for each "M"."""
    modules: list[nn.Module] = []
    channels = in_channels
    for spec in layers:
        if spec == M:
            modules.append(nn.MaxPool2d(2, 2))
            continue
        # A conv followed by BN needs no bias of its own.
        modules.append(nn.Conv2d(channels, spec, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            modules.append(nn.BatchNorm2d(spec))
        modules.append(nn.ReLU(inplace=True))
        channels = spec
    return nn.Sequential(*modules)


def fc_stack(in_features: int, widths: tuple[int, ...]) -> nn.Sequential:
    """Linear layers of the given output widths, a ReLU between two (none after the last):
    `fc_stack(512, (512, 1))` is the counter's FC 512-512-1."""
    modules: list[nn.Module] = []
    features = in_features
    for i, width in enumerate(widths):
        modules.append(nn.Linear(features, width))
        if i < len(widths) - 1:
            modules.append(nn.ReLU(inplace=True))
        features = width
    return nn.Sequential(*modules)


def out_channels(layers: tuple) -> int:
    """Channels of the stack's output (its last int)."""
    return [v for v in layers if v != M][-1]


def init_weights(module: nn.Module) -> None:
    """VGG's initialisation: Kaiming-normal convs (fan-out, ReLU), small normal FCs, BN at identity."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
