"""The spectrogram of SPEC §2, in numpy (exact, float64, used to build shards) and torch (batched).

STFT: n_fft 1022, hop 256, periodic Hann window, centred with reflect padding -> 512 x 432 bins.
Log-frequency projection: output row r reads the magnitude at linear bin position
b(r) = 511 * (21 ** (r / 511) - 1) / 20, linearly interpolated; the inverse reads the projected
rows back at the position r(j) of each linear bin j. Stored value: log(projected + 1e-10).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

try:  # scipy's pocketfft is about twice as fast as numpy's at n = 1022 (= 2 * 7 * 73); same float64 result
    from scipy.fft import rfft as _rfft
except ImportError:  # pragma: no cover - scipy is a dependency; numpy is the fallback
    _rfft = np.fft.rfft

SAMPLE_RATE = 11025
N_SAMPLES = 110336          # 431 * 256: 10.008 s
N_FFT = 1022
HOP = 256
N_BINS = N_FFT // 2 + 1     # 512
N_FRAMES = N_SAMPLES // HOP + 1  # 432
LOG_EPS = 1e-10
_BASE = 21.0


def log_positions() -> np.ndarray:
    """b(r) for r = 0..511: the linear bin position that log row r samples (float64)."""
    r = np.arange(N_BINS, dtype=np.float64)
    return (N_BINS - 1) * (_BASE ** (r / (N_BINS - 1)) - 1.0) / (_BASE - 1.0)


def linear_positions() -> np.ndarray:
    """r(j) for j = 0..511: the (fractional) log row that linear bin j lands on; b(r(j)) = j."""
    j = np.arange(N_BINS, dtype=np.float64)
    return (N_BINS - 1) * np.log1p((_BASE - 1.0) * j / (N_BINS - 1)) / np.log(_BASE)


@lru_cache(maxsize=2)
def _taps(inverse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, weight of upper) of the linear interpolation at each position."""
    pos = linear_positions() if inverse else log_positions()
    pos = np.clip(pos, 0.0, N_BINS - 1)
    lo = np.minimum(np.floor(pos).astype(np.int64), N_BINS - 2)
    return lo, lo + 1, pos - lo


def _interp_np(x: np.ndarray, inverse: bool) -> np.ndarray:
    """Interpolate along the frequency axis: axis 0 of a spectrum, axis -2 of (…, 512, T)."""
    lo, hi, w = _taps(inverse)
    axis = 0 if x.ndim == 1 else x.ndim - 2
    w = w if x.ndim == 1 else w[:, None]
    return np.take(x, lo, axis=axis) * (1 - w) + np.take(x, hi, axis=axis) * w


def project_np(magnitude: np.ndarray) -> np.ndarray:
    """Linear-frequency (…, 512, T) -> log-frequency (…, 512, T). A 1-D input is one spectrum."""
    return _interp_np(np.asarray(magnitude), inverse=False)


def unproject_np(projected: np.ndarray) -> np.ndarray:
    """Inverse of `project_np`: log-frequency rows interpolated back onto the 512 linear bins."""
    return _interp_np(np.asarray(projected), inverse=True)


@lru_cache(maxsize=1)
def hann_np() -> np.ndarray:
    """Periodic Hann window of N_FFT (float64)."""
    n = np.arange(N_FFT, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)


def stft_magnitude_np(wave: np.ndarray) -> np.ndarray:
    """|STFT| of a 1-D waveform, centred with reflect padding: (512, 1 + len // 256), float64."""
    wave = np.asarray(wave, dtype=np.float64)
    padded = np.pad(wave, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    return np.abs(_rfft(frames * hann_np(), axis=1)).T


def log_spectrogram_np(wave: np.ndarray) -> np.ndarray:
    """SPEC §2 spectrogram of one clip (N_SAMPLES samples): log(projected |STFT| + 1e-10), float64."""
    return np.log(project_np(stft_magnitude_np(wave)) + LOG_EPS)


def to_stored(spec: np.ndarray) -> np.ndarray:
    """The stored form: float16 (512, 432)."""
    return np.asarray(spec, dtype=np.float16)


# ---- torch (batched; float32 by default) -------------------------------------------------------

def _torch():
    import torch  # lazy: building shards never needs torch
    return torch


def _taps_torch(inverse: bool, device, dtype):
    torch = _torch()
    lo, hi, w = _taps(inverse)
    return (torch.as_tensor(lo, device=device), torch.as_tensor(hi, device=device),
            torch.as_tensor(w, device=device, dtype=dtype))


def _interp_torch(x, inverse: bool):
    """Interpolate along dim -2 (the 512 frequency rows) of a (…, 512, T) tensor."""
    lo, hi, w = _taps_torch(inverse, x.device, x.dtype)
    w = w.unsqueeze(-1)
    return x.index_select(-2, lo) * (1 - w) + x.index_select(-2, hi) * w


def project_torch(magnitude):
    """Torch version of `project_np` for (…, 512, T) tensors (autograd-friendly)."""
    return _interp_torch(magnitude, inverse=False)


def unproject_torch(projected):
    """Torch version of `unproject_np`: back onto linear bins, e.g. to apply separation masks."""
    return _interp_torch(projected, inverse=True)


def stft_magnitude_torch(waves):
    """|STFT| of (B, N) or (N,) waveforms -> (B, 512, frames) with the SPEC §2 settings."""
    torch = _torch()
    window = torch.hann_window(N_FFT, periodic=True, dtype=waves.dtype, device=waves.device)
    spec = torch.stft(waves, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT, window=window,
                      center=True, pad_mode="reflect", return_complex=True)
    return spec.abs()


def log_spectrogram_torch(waves):
    """SPEC §2 log spectrogram of (B, N) waveforms -> (B, 512, 432) in the waves' dtype."""
    torch = _torch()
    return torch.log(project_torch(stft_magnitude_torch(waves)) + LOG_EPS)
