"""Checkpoints: atomic saves, loads that never unpickle code (`weights_only=True`)."""

from __future__ import annotations

from pathlib import Path

import torch

from avcurr.atomic import atomic_output
from avcurr.errors import AvcurrError
from avcurr.models import CAVL, ModelConfig

FORMAT = "avcurr-cavl-1"
NAME = "checkpoint.pt"


def save_checkpoint(path: Path, state: dict) -> Path:
    """Write `state` to `path` via a temporary file and a rename: a kill never leaves half a file."""
    with atomic_output(Path(path)) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return Path(path)


def load_checkpoint(path: Path, device: str | torch.device = "cpu") -> dict:
    """A checkpoint's dict (tensors, numbers, strings only); an error naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise AvcurrError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one clear line
        raise AvcurrError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise AvcurrError(f"{path} is not an avcurr model checkpoint")
    return state


def model_from_checkpoint(path: Path, device: str | torch.device = "cpu") -> tuple[CAVL, dict]:
    """The model stored in `path` (in eval mode) and the checkpoint's dict."""
    state = load_checkpoint(path, device)
    model = CAVL(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state


def check_same_model(state: dict, cfg: ModelConfig, path: Path) -> None:
    """Refuse to load weights of another architecture into this one."""
    theirs = ModelConfig.from_dict(state["model_config"])
    if theirs != cfg:
        raise AvcurrError(f"{path} holds a '{theirs.name}' model that differs from the requested "
                          f"'{cfg.name}' configuration; pass --config {theirs.name}")
