"""SPEC §2 numerics: the log-frequency projection, its inverse, numpy vs torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avcurr.audio import spectrogram as sp


def test_positions_follow_the_formula():
    b = sp.log_positions()
    assert b[0] == 0 and b[-1] == pytest.approx(511)
    assert b[255] == pytest.approx(511 * (21 ** (255 / 511) - 1) / 20)
    assert np.all(np.diff(b) > 0)
    assert np.allclose(np.interp(sp.linear_positions(), np.arange(512), b), np.arange(512), atol=0.2)


def test_projection_interpolates_linearly():
    ramp = np.arange(512, dtype=np.float64) * 2.0 + 1.0  # linear in the bin: interpolation is exact
    assert np.allclose(sp.project_np(ramp), sp.log_positions() * 2.0 + 1.0)
    spiky = np.zeros(512)
    spiky[100] = 1.0
    out = sp.project_np(spiky)
    r = np.flatnonzero(out)
    assert np.all((sp.log_positions()[r] > 99) & (sp.log_positions()[r] < 101))


def test_inverse_of_projection_is_close_to_identity_on_smooth_spectra():
    j = np.arange(512)
    rng = np.random.default_rng(0)
    for _ in range(5):
        centre, width = rng.uniform(50, 450), rng.uniform(40, 150)
        smooth = np.exp(-((j - centre) / width) ** 2) + 0.1 + 0.001 * j
        back = sp.unproject_np(sp.project_np(smooth))
        assert np.max(np.abs(back - smooth)) < 2e-3 * smooth.max()


def test_numpy_and_torch_agree_on_a_batch():
    rng = np.random.default_rng(1)
    waves = rng.standard_normal((2, sp.N_SAMPLES)) * 0.1
    reference = np.stack([sp.log_spectrogram_np(w) for w in waves])
    assert reference.shape == (2, 512, 432)
    ours64 = sp.log_spectrogram_torch(torch.from_numpy(waves)).numpy()
    assert np.max(np.abs(ours64 - reference)) < 1e-9
    ours32 = sp.log_spectrogram_torch(torch.from_numpy(waves).float()).numpy()
    assert np.max(np.abs(ours32 - reference)) < 5e-3
    x = torch.rand(3, 512, 7, dtype=torch.float64)
    assert np.allclose(sp.project_torch(x).numpy(), sp.project_np(x.numpy()))
    assert np.allclose(sp.unproject_torch(x).numpy(), sp.unproject_np(x.numpy()))


def test_stft_is_centred_with_reflect_padding_and_periodic_hann():
    wave = np.sin(2 * np.pi * 1000 / sp.SAMPLE_RATE * np.arange(sp.N_SAMPLES))
    magnitude = sp.stft_magnitude_np(wave)
    assert magnitude.shape == (512, 432)
    peak_bin = 1000 * sp.N_FFT / sp.SAMPLE_RATE
    assert abs(np.argmax(magnitude[:, 200]) - peak_bin) <= 1
    # periodic Hann sums to N/2; a unit sine's peak bin is then about N/4
    assert magnitude[:, 200].max() == pytest.approx(sp.N_FFT / 4, rel=0.1)
    assert sp.hann_np()[0] == 0 and sp.hann_np()[sp.N_FFT // 2] == pytest.approx(1.0)
