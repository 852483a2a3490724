"""`avcurr localize`: one frame and one soundtrack -> a heatmap PNG of the sound's maker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from avcurr.audio.spectrogram import N_SAMPLES, SAMPLE_RATE, log_spectrogram_torch
from avcurr.errors import AvcurrError
from avcurr.localize.heatmap import localize_batch
from avcurr.localize.overlay import save_overlay
from avcurr.localize.rules import LocalizationRule, resolve_rule
from avcurr.media.ffmpeg import run_tool

FRAME = 256


def load_frame(path: Path) -> np.ndarray:
    """An image file as 256 x 256 x 3 float32 in [0, 1] (resized without cropping, SPEC §3)."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((FRAME, FRAME), Image.BILINEAR)
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise AvcurrError(f"cannot read image {path}: {exc}") from None
    return np.asarray(rgb, np.float32) / 255.0


def load_audio(path: Path) -> np.ndarray:
    """The first 10.008 s of any file ffmpeg reads, mono 11025 Hz float32, zero-padded (SPEC §2)."""
    if not Path(path).is_file():
        raise AvcurrError(f"audio file not found: {path}")
    raw = run_tool(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1",
                    "-ar", str(SAMPLE_RATE), "-t", f"{N_SAMPLES / SAMPLE_RATE + 0.05:.3f}", "-f", "f32le", "-"],
                   what=f"decode {Path(path).name}")
    wave = np.frombuffer(raw, np.float32)[:N_SAMPLES]
    if wave.size == 0:
        raise AvcurrError(f"{path} has no audio")
    return np.pad(wave, (0, N_SAMPLES - wave.size))


@dataclass
class Localized:
    """What `localize_files` drew: the PNG, the heatmap (256 x 256), the rule and where it came from."""

    path: Path
    heatmap: np.ndarray
    rule: LocalizationRule
    rule_source: str


def localize_files(checkpoint: Path, image: Path, audio: Path, out: Path, sources: int = 1,
                   device: str = "auto", readout: str | None = None, extra_visual: int | None = None,
                   smooth: int | None = None) -> Localized:
    """Draw the model's heatmap for (image, audio) over the frame into `out`, with the rule the
    checkpoint records (the paper's when it records none) unless a part of it is given."""
    from avcurr.train.checkpoint import model_from_checkpoint
    from avcurr.train.device import pick_device

    if sources < 1:
        raise AvcurrError(f"--sources must be at least 1, got {sources}")
    dev = pick_device(device)
    model, state = model_from_checkpoint(checkpoint, dev)
    rule, rule_source = resolve_rule(state, readout, extra_visual, smooth)
    frame = load_frame(image)
    spec = log_spectrogram_torch(torch.from_numpy(load_audio(audio))[None]).float()[:, None]
    pixels = torch.from_numpy(frame).permute(2, 0, 1)[None]
    heat = localize_batch(model, spec.to(dev), pixels.to(dev), sources, size=FRAME, rule=rule)[0].cpu().numpy()
    path = save_overlay(frame, heat, Path(out), title=f"{Path(image).name} + {Path(audio).name}  ({rule.label})")
    return Localized(path, heat, rule, rule_source)
