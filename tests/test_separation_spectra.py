"""Separation spectra: reconstruction through the inverse projection, ratio masks, the ideal ratio mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avcurr.audio.spectrogram import N_SAMPLES, SAMPLE_RATE, project_np, stft_magnitude_np
from avcurr.separation.metrics import bss_scores
from avcurr.separation.spectra import apply_mask, projected_magnitude, ratio_masks, stft


def _tones(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two sources in different bands with on/off gating and a little noise (float32, one clip long)."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / SAMPLE_RATE
    low = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 0.7 * t) > -0.3)
    high = 0.2 * np.sin(2 * np.pi * 2500 * t + 2 * np.sin(2 * np.pi * 3 * t)) * (np.sin(2 * np.pi * 0.4 * t) > 0)
    noise = 0.003 * rng.standard_normal((2, N_SAMPLES))
    return (low + noise[0]).astype(np.float32), (high + noise[1]).astype(np.float32)


def _sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return 10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2))


def test_unmasked_mixture_survives_inverse_projection_and_istft():
    a, b = _tones()
    mix = torch.from_numpy(a + b)
    ones = torch.ones(512, 432)
    rebuilt = apply_mask(ones, stft(mix), N_SAMPLES).numpy()
    assert rebuilt.shape == (N_SAMPLES,)
    assert _sdr(mix.numpy(), rebuilt) > 30
    # A mask of zeros is silence: the mask really multiplies the mixture's STFT.
    assert np.abs(apply_mask(torch.zeros(512, 432), stft(mix), N_SAMPLES).numpy()).max() < 1e-6


def test_projected_magnitude_is_spec_2():
    a, _ = _tones()
    ours = projected_magnitude(torch.from_numpy(a).double()).numpy()
    assert ours.shape == (512, 432)
    np.testing.assert_allclose(ours, project_np(stft_magnitude_np(a)), rtol=1e-4, atol=1e-3)


def test_ratio_masks_clip_to_unit_range_and_handle_silence():
    sources = torch.tensor([[[2.0, 0.0, 1.0]], [[1.0, 0.0, 3.0]]])[None]      # 1 x S=2 x 1 x 3
    mixture = torch.tensor([[[2.5, 0.0, 2.0]]])
    masks = ratio_masks(sources, mixture)
    torch.testing.assert_close(masks[0, :, 0], torch.tensor([[0.8, 0.0, 0.5], [0.4, 0.0, 1.0]]))


def test_ideal_ratio_mask_scores_far_above_the_mixture():
    a, b = _tones(1)
    refs = torch.from_numpy(np.stack([a, b]))
    mix = refs.sum(0)
    irm = ratio_masks(projected_magnitude(refs), projected_magnitude(mix))
    estimates = apply_mask(irm, stft(mix)[None], N_SAMPLES).numpy()
    ideal = bss_scores(refs.numpy(), estimates, length=3 * SAMPLE_RATE)
    floor = bss_scores(refs.numpy(), np.stack([mix.numpy(), mix.numpy()]), length=3 * SAMPLE_RATE)
    assert ideal["sdr"].min() > floor["sdr"].max() + 15
    assert ideal["sir"].min() > 20
