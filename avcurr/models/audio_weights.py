"""The audio net of any checkpoint that has one (the curriculum model's, the counter's), and a
randomly initialised one of the same configuration: for `train-counter --init` and the probe."""

from __future__ import annotations

from pathlib import Path

import torch

from avcurr.errors import AvcurrError
from avcurr.models.audio_net import AudioNet
from avcurr.models.config import ModelConfig
from avcurr.models.layers import init_weights

PREFIX = "audio_net."
KINDS_WITH_AUDIO_NET = ("cavl", "counter")


def _model_config(state: dict) -> ModelConfig:
    """The ModelConfig of a cavl checkpoint (stored as it is) or a counter's (inside its own)."""
    config = state["model_config"]
    return ModelConfig.from_dict(config["model"] if state["kind"] == "counter" else config)


def audio_state(state: dict) -> dict[str, torch.Tensor]:
    """The audio net's tensors of a model state dict, without their `audio_net.` prefix."""
    return {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}


def load_audio_weights(path: Path, device: str | torch.device = "cpu") -> tuple[ModelConfig, dict, dict]:
    """(config, audio net state dict, the whole checkpoint dict) of `path`; one clear line when
    the file is not a checkpoint, or its model has no audio net."""
    from avcurr.train.checkpoint import load_checkpoint

    state = load_checkpoint(path, device, kind=None)
    if state["kind"] not in KINDS_WITH_AUDIO_NET:
        raise AvcurrError(f"{path} is a {state['kind']} checkpoint, which has no audio net; pass a "
                          f"{' or '.join(KINDS_WITH_AUDIO_NET)} checkpoint")
    weights = audio_state(state["model"])
    if not weights:
        raise AvcurrError(f"{path} holds no audio net weights")
    return _model_config(state), weights, state


def audio_net_from_checkpoint(path: Path, device: str | torch.device = "cpu") -> tuple[AudioNet, dict]:
    """The audio net stored in `path` (in eval mode) and the checkpoint's dict."""
    cfg, weights, state = load_audio_weights(path, device)
    net = AudioNet(cfg)
    net.load_state_dict(weights)
    return net.to(device).eval(), state


def random_audio_net(cfg: ModelConfig, seed: int = 0) -> AudioNet:
    """A freshly initialised audio net (the models' own initialisation), in eval mode."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        net = AudioNet(cfg)
        init_weights(net)
    finally:
        torch.random.set_rng_state(generator_state)
    return net.eval()
