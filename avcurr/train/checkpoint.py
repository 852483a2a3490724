"""Checkpoints: atomic saves, verified loads that never unpickle code.

A checkpoint is torch's zip file holding one dict: `format`, `kind` (which model: "cavl",
"counter", ...), `model_config`, `model` (the state dict) and what its task records. Loading
checks every member's CRC-32 first (torch itself would load a flipped byte silently), then reads
with `weights_only=True`, then checks the kind.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import torch

from avcurr.atomic import atomic_write
from avcurr.errors import AvcurrError

FORMAT = "avcurr-checkpoint-2"
_LEGACY_KINDS = {"avcurr-cavl-1": "cavl"}  # first-wave checkpoints: curriculum model only
NAME = "checkpoint.pt"


def save_checkpoint(path: Path, state: dict, kind: str = "cavl") -> Path:
    """Write `state` as a checkpoint of `kind` atomically (a kill never leaves half a file).

    Serialised in memory first: torch's own file writer reports a full disk as an opaque
    RuntimeError, our writer as the system's words ("No space left on device"), and a failed
    write leaves the previous checkpoint as it was."""
    buffer = io.BytesIO()
    torch.save({**state, "format": FORMAT, "kind": kind}, buffer)
    try:
        return atomic_write(Path(path), buffer.getbuffer())
    except AvcurrError as exc:
        raise AvcurrError(f"{exc}; the previous checkpoint is kept") from None


def _verify_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise AvcurrError(f"cannot read checkpoint {path}: {exc}") from None
    if bad is not None:
        raise AvcurrError(f"checkpoint {path} is damaged: its member {bad} fails its CRC check")


def checkpoint_kind(state: dict) -> str | None:
    """The kind of a loaded checkpoint dict (None if it is not an avcurr checkpoint)."""
    if not isinstance(state, dict):
        return None
    if state.get("format") == FORMAT:
        return state.get("kind")
    return _LEGACY_KINDS.get(state.get("format"))


def load_checkpoint(path: Path, device: str | torch.device = "cpu", kind: str | None = "cavl") -> dict:
    """A verified checkpoint's dict (tensors, numbers, strings only) of the given `kind` (None:
    any kind); one error line naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise AvcurrError(f"checkpoint not found: {path}")
    _verify_zip(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one clear line
        raise AvcurrError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
    found = checkpoint_kind(state)
    if found is None:
        raise AvcurrError(f"{path} is not an avcurr model checkpoint")
    if kind is not None and found != kind:
        raise AvcurrError(f"{path} is a {found} checkpoint; a {kind} checkpoint is needed here")
    return state


def model_from_checkpoint(path: Path, device: str | torch.device = "cpu"):
    """The curriculum model stored in `path` (in eval mode) and the checkpoint's dict."""
    from avcurr.models import CAVL, ModelConfig

    state = load_checkpoint(path, device, kind="cavl")
    model = CAVL(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state
