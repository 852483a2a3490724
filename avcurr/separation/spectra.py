"""Spectra of separation (SPEC §2, §7): the mixture's complex STFT, projected magnitudes, ratio masks.

Masks live on the log-frequency projection (512 rows x 432 frames) of the magnitude, as the
network's input does; `apply_mask` brings a mask back onto the linear bins (SPEC §2 inverse
projection), multiplies the mixture's complex STFT by it and inverts with `torch.istft`.
"""

from __future__ import annotations

import torch

from avcurr.audio.spectrogram import HOP, LOG_EPS, N_FFT, project_torch, unproject_torch

# Below this projected mixture magnitude a ratio mask is 0 (nothing to share out): keeps 0 / 0 finite.
RATIO_EPS = 1e-10


def _window(device, dtype) -> torch.Tensor:
    return torch.hann_window(N_FFT, periodic=True, device=device, dtype=dtype)


def stft(waves: torch.Tensor) -> torch.Tensor:
    """Complex STFT of (…, N) waveforms with the SPEC §2 settings -> (…, 512, 1 + N // 256)."""
    shape = waves.shape
    flat = waves.reshape(-1, shape[-1]).float()
    spec = torch.stft(flat, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT, window=_window(flat.device, flat.dtype),
                      center=True, pad_mode="reflect", return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of `stft`: (…, 512, T) complex -> (…, length) waveforms."""
    shape = spec.shape
    flat = spec.reshape(-1, *shape[-2:])
    waves = torch.istft(flat, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT,
                        window=_window(flat.device, flat.real.dtype), center=True, length=length)
    return waves.reshape(*shape[:-2], length)


def projected_magnitude(waves: torch.Tensor) -> torch.Tensor:
    """|STFT| projected onto the log-frequency rows: (…, N) -> (…, 512, T), float32."""
    return project_torch(stft(waves).abs())


def log_input(projected: torch.Tensor) -> torch.Tensor:
    """The network's input: log(projected magnitude + 1e-10), the SPEC §2 spectrogram."""
    return torch.log(projected + LOG_EPS)


def ratio_masks(sources: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
    """Target masks |S_k| / |S_mix| on the projected magnitude, clipped to [0, 1] (SPEC §7).

    sources: (…, S, 512, T) projected magnitudes of each source; mixture: (…, 512, T)."""
    mix = mixture.unsqueeze(-3)
    ratio = sources / mix.clamp_min(RATIO_EPS)
    return torch.where(mix > RATIO_EPS, ratio, torch.zeros_like(ratio)).clamp(0.0, 1.0)


def apply_mask(mask: torch.Tensor, mixture_stft: torch.Tensor, length: int) -> torch.Tensor:
    """Waveforms from masks on the projection: mask (…, 512, T) -> linear bins -> times the mixture's
    complex STFT (broadcast over leading dims) -> ISTFT of `length` samples."""
    linear = unproject_torch(mask.float())
    return istft(mixture_stft * linear, length)
