"""Device choice and the CUDA-only speed-ups (mixed precision, channels-last)."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from avcurr.errors import AvcurrError


def pick_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; an explicit CUDA device must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise AvcurrError(f"unknown --device {name!r}; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AvcurrError(f"--device {name} asked for, but this torch build sees no CUDA device")
    return device


def autocast(device: torch.device):
    """bf16 autocast on GPUs that have it, fp16 on older ones, nothing on CPU (stays exact)."""
    if device.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def needs_scaler(device: torch.device) -> bool:
    return device.type == "cuda" and not torch.cuda.is_bf16_supported()


# The loader's own factor (avcurr/data/batch.py): uint8 frames become exactly its float32 images.
_SCALE = torch.tensor(1 / 255, dtype=torch.float32)


def to_device(batch: dict, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """spec and image of a loader batch on `device` (channels-last images on CUDA); uint8 images
    (LoaderConfig(image_dtype="uint8")) are copied as bytes and made float32 in [0, 1] there."""
    spec = batch["spec"].to(device, non_blocking=True)
    image = batch["image"].to(device, non_blocking=True)
    if image.dtype == torch.uint8:
        image = image.to(torch.float32).mul_(_SCALE)  # a 0-d CPU tensor is fine beside CUDA ones
    if device.type == "cuda":
        spec = spec.contiguous(memory_format=torch.channels_last)
        image = image.contiguous(memory_format=torch.channels_last)
    return spec, image
