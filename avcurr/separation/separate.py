"""`avcurr separate`: the sound of one object in a real video, as a WAV.

The soundtrack is cut into consecutive windows of the clip length (10.008 s, SPEC §2); each window
is decoded with its middle frame (the shard builder's decoder), the localizer finds the object
that makes the window's sound (eq. 7, or the object under a chosen pixel), the U-Net masks the
window's spectrogram with that object's cue, and the estimates are joined back to the soundtrack's
length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from avcurr.audio.spectrogram import N_SAMPLES, SAMPLE_RATE, log_spectrogram_torch
from avcurr.errors import AvcurrError
from avcurr.progress import progress_bar
from avcurr.separation.conditioning import FRAME
from avcurr.separation.figures import write_wav
from avcurr.separation.spectra import apply_mask, log_input, projected_magnitude, stft

if TYPE_CHECKING:
    from rich.console import Console

WINDOW_SECONDS = N_SAMPLES / SAMPLE_RATE


@dataclass(frozen=True)
class SeparateResult:
    out: Path
    seconds: float          # length of the written sound
    windows: int
    condition: str
    chosen_by: str          # "localizer (eq. 7)" or "pixel x, y"
    energy_ratio: float     # estimate energy / soundtrack energy


def _point_in_frame(point: tuple[float, float], width: int | None, height: int | None) -> tuple[float, float]:
    """A pixel of the video -> the same place in the 256 x 256 frame the models see."""
    x, y = point
    if not width or not height:
        raise AvcurrError("cannot tell the video's frame size to place --object")
    if not (0 <= x < width and 0 <= y < height):
        raise AvcurrError(f"--object {x:g},{y:g} lies outside the {width} x {height} frame")
    return x * FRAME / width, y * FRAME / height


@torch.no_grad()
def separate_video(checkpoint: Path, video: Path, out: Path, point: tuple[float, float] | None = None,
                   device: str = "auto", max_seconds: float | None = None,
                   console: "Console | None" = None) -> SeparateResult:
    """Write to `out` (WAV, mono 11025 Hz) the sound of the object the localizer finds in `video`
    (or of the object at pixel `point` = (x, y) of the video's frames)."""
    from avcurr.media.decode import ClipError, decode_clip
    from avcurr.media.ffmpeg import MediaError, probe
    from avcurr.separation.model import separator_from_checkpoint
    from avcurr.train.device import pick_device

    video = Path(video)
    if not video.is_file():
        raise AvcurrError(f"video not found: {video}")
    dev = pick_device(device)
    model, state = separator_from_checkpoint(checkpoint, dev)
    info = probe(video)
    if not info.has_audio:
        raise AvcurrError(f"{video} has no audio stream: there is no sound to separate")
    if not info.has_video:
        raise AvcurrError(f"{video} has no video stream: the separator needs frames to find the object")
    duration = info.duration or WINDOW_SECONDS
    if max_seconds is not None:
        duration = min(duration, max_seconds)
    pixel = None if point is None else torch.tensor([_point_in_frame(point, info.width, info.height)], device=dev)
    n_windows = max(1, math.ceil(duration / WINDOW_SECONDS - 1e-6))
    pieces: list[np.ndarray] = []
    soundtrack_energy = 0.0
    with progress_bar(console, "separate", n_windows) as bar:
        for w in range(n_windows):
            start = w * WINDOW_SECONDS
            try:
                clip = decode_clip(video, start, min(start + WINDOW_SECONDS, duration))
            except (ClipError, MediaError) as exc:
                raise AvcurrError(f"cannot decode {video} from {start:.1f} s: {exc}") from None
            n = min(clip.audio.size, N_SAMPLES, int(round((duration - start) * SAMPLE_RATE)))
            if n <= 0:
                break
            wave = torch.zeros(N_SAMPLES, device=dev)
            wave[:n] = torch.from_numpy(clip.audio[:n]).to(dev)
            pieces.append(_separate_window(model, wave, clip.frames[1], pixel, dev)[:n])
            soundtrack_energy += _energy(clip.audio[:n])
            bar.update(w + 1, info=f"{start + n / SAMPLE_RATE:.1f} s")
    if not pieces:
        raise AvcurrError(f"{video}: no audio samples to separate")
    estimate = np.concatenate(pieces)
    write_wav(Path(out), estimate)
    return SeparateResult(out=Path(out), seconds=estimate.size / SAMPLE_RATE, windows=len(pieces),
                          condition=state["condition"],
                          chosen_by="localizer (eq. 7)" if point is None else f"pixel {point[0]:g}, {point[1]:g}",
                          energy_ratio=_energy(estimate) / max(soundtrack_energy, 1e-12))


def _separate_window(model, wave: torch.Tensor, frame: np.ndarray, pixel, device) -> np.ndarray:
    """One window: the soundtrack's spectrogram tells the localizer what to look for."""
    image = torch.from_numpy(frame).permute(2, 0, 1).float().div(255).to(device)[None, None]
    spec = log_spectrogram_torch(wave[None]).float()[:, None]          # 1 x 1 x 512 x 432
    mix_proj = projected_magnitude(wave[None])
    mask = model(log_input(mix_proj)[:, None], image, spec[:, None], pixel)   # 1 x 1 x 512 x 432
    return apply_mask(mask[0, 0], stft(wave), N_SAMPLES).cpu().numpy()


def _energy(wave: np.ndarray) -> float:
    return float(np.sum(np.square(wave, dtype=np.float64)))
