"""Category sounds and per-object stems (mono, 11025 Hz).

Each category has one generator: a pitch, a timbre and a rhythm of its own, jittered a little per
clip, so a sound correlates with its category without being a fixed sample. Stems are gated per
second by the object's on/off pattern, levelled, then quantised to 16 bit so that the sum of the
stems read back from their WAV files is exactly the soundtrack that is encoded.
"""

from __future__ import annotations

import numpy as np

from avcurr.synth.config import SAMPLE_RATE
from avcurr.synth.scene import Scene

SR = SAMPLE_RATE
SOURCE_RMS = 0.1          # level of a sounding object while on (before the common peak scaling)
BACKGROUND_RMS = 0.012    # room noise, ~18 dB below a source
PEAK = 0.89               # the mix never clips
RAMP_S = 0.02             # on/off fades, so that switching does not click


def _t(n: int) -> np.ndarray:
    return np.arange(n) / SR


def _place(out: np.ndarray, start: int, piece: np.ndarray) -> None:
    end = min(len(out), start + len(piece))
    if start < end:
        out[start:end] += piece[: end - start]


def _onsets(n: int, rng, gap: tuple[float, float]) -> list[int]:
    """Event start samples separated by random gaps in `gap` seconds."""
    starts, t = [], rng.uniform(0, gap[0])
    while t * SR < n:
        starts.append(int(t * SR))
        t += rng.uniform(*gap)
    return starts


def _harmonic(f0: np.ndarray | float, dur: float, amps, decay: float | None = None) -> np.ndarray:
    t = _t(int(dur * SR))
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(f0, t.shape)) / SR
    wave = sum(a * np.sin(k * phase) for k, a in enumerate(amps, start=1))
    return wave * (np.exp(-t / decay) if decay else 1.0)


def _attack(x: np.ndarray, seconds: float = 0.005) -> np.ndarray:
    k = max(1, min(len(x), int(seconds * SR)))
    x[:k] *= np.linspace(0, 1, k)
    return x


def bark(n, pitch, rng):
    out = np.zeros(n)
    for s in _onsets(n, rng, (0.35, 0.9)):
        dur = rng.uniform(0.1, 0.18)
        t = _t(int(dur * SR))
        tone = _harmonic(pitch * (1.15 - 0.35 * t / dur), dur, [1, 0.7, 0.5, 0.35, 0.2])
        burst = tone * (1 + 0.6 * rng.standard_normal(len(t))) * np.sin(np.pi * t / dur) ** 0.5
        _place(out, s, burst)
    return out


def meow(n, pitch, rng):
    out = np.zeros(n)
    for s in _onsets(n, rng, (0.9, 1.6)):
        dur = rng.uniform(0.45, 0.75)
        t = _t(int(dur * SR))
        f0 = pitch * (1 + 0.3 * np.sin(np.pi * t / dur))
        _place(out, s, _harmonic(f0, dur, [0.6, 1, 0.5, 0.3]) * np.sin(np.pi * t / dur) ** 0.7)
    return out


def chirp(n, pitch, rng):
    out = np.zeros(n)
    for s in _onsets(n, rng, (0.5, 1.1)):
        for k in range(int(rng.integers(3, 7))):
            dur = 0.05
            t = _t(int(dur * SR))
            f = pitch * (0.8 + 0.5 * t / dur)
            _place(out, s + int(k * 0.08 * SR), _harmonic(f, dur, [1]) * np.hanning(len(t)))
    return out


def bell(n, pitch, rng):
    out = np.zeros(n)
    partials = ((1.0, 1.0, 0.9), (2.76, 0.6, 0.5), (5.40, 0.4, 0.3), (8.93, 0.25, 0.2))
    strike = _attack(sum(_harmonic(pitch * r, 1.2, [a], decay=tau) for r, a, tau in partials), 0.002)
    for s in _onsets(n, rng, (0.8, 1.3)):
        _place(out, s, strike * rng.uniform(0.7, 1.0))
    return out


def siren(n, pitch, rng):
    rate = rng.uniform(0.35, 0.6)
    f0 = pitch * (1 + 0.35 * np.sin(2 * np.pi * rate * _t(n) + rng.uniform(0, 2 * np.pi)))
    return _harmonic(f0, n / SR, [1, 0, 0.3])


def tick(n, pitch, rng):
    out = np.zeros(n)
    period = rng.uniform(0.22, 0.3)
    t = _t(int(0.08 * SR))
    for i, s in enumerate(range(int(rng.uniform(0, period) * SR), n, int(period * SR))):
        f = pitch * (1.0 if i % 2 == 0 else 1.3)  # tick, tock
        knock = 0.3 * rng.standard_normal(len(t)) * np.exp(-t / 0.004)
        _place(out, s, _harmonic(f, 0.08, [1, 0.4], decay=0.02) + knock)
    return out


_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11, 12])


def _notes(n, pitch, rng, gap, render_note):
    """Notes of a major scale at random onsets; each distinct note is synthesised once."""
    out, cache = np.zeros(n), {}
    for s in _onsets(n, rng, gap):
        step = int(rng.choice(_MAJOR))
        if step not in cache:
            cache[step] = render_note(pitch * 2 ** (step / 12))
        _place(out, s, cache[step])
    return out


def keys(n, pitch, rng):
    return _notes(n, pitch, rng, (0.2, 0.35),
                  lambda f: _attack(_harmonic(f, 0.8, [1, 0.45, 0.3, 0.15, 0.1, 0.05], decay=0.35)))


def _plucked(f: float) -> np.ndarray:
    t = _t(int(0.9 * SR))
    note = sum((1 / k) * np.sin(2 * np.pi * k * f * t) * np.exp(-t * (2 + 1.5 * k)) for k in range(1, 9))
    return _attack(note, 0.002)


def pluck(n, pitch, rng):
    return _notes(n, pitch, rng, (0.25, 0.45), _plucked)


def drum(n, pitch, rng):
    out = np.zeros(n)
    beat = rng.uniform(0.4, 0.55)
    for i, s in enumerate(range(0, n, int(beat * SR))):
        t = _t(int(0.3 * SR))
        if i % 2 == 0:  # kick: a falling low tone
            hit = np.sin(2 * np.pi * np.cumsum(pitch * (1 + 1.5 * np.exp(-t / 0.03))) / SR) * np.exp(-t / 0.12)
        else:  # snare: bright noise over a short tone
            noise = rng.standard_normal(len(t))
            hit = 0.5 * (noise - np.roll(noise, 1)) * np.exp(-t / 0.05) \
                + 0.5 * np.sin(2 * np.pi * 2.5 * pitch * t) * np.exp(-t / 0.08)
        _place(out, s, hit)
    return out


def flute(n, pitch, rng):
    out = np.zeros(n)
    for s in _onsets(n, rng, (0.6, 1.2)):
        dur = 1.2
        t = _t(int(dur * SR))
        f = pitch * 2 ** (rng.choice(_MAJOR) / 12) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
        env = np.minimum(1, t / 0.06) * np.minimum(1, (dur - t) / 0.15)
        breath = 0.08 * np.convolve(rng.standard_normal(len(t)), np.ones(4) / 4, "same")
        _place(out, s, (_harmonic(f, dur, [1, 0.2, 0.05]) + breath) * env)
    return out


# name -> generator(n_samples, pitch_hz, rng) -> float64 signal, sounding throughout (gated later).
SOUNDS = {f.__name__: f for f in (bark, meow, chirp, bell, siren, tick, keys, pluck, drum, flute)}


def gate(on: tuple[int, ...], n: int) -> np.ndarray:
    """Per-sample 0..1 envelope from per-second on/off, with short linear fades (a moving average)."""
    per_sample = np.repeat(np.asarray(on, np.float64), SR)[:n]
    ramp = int(RAMP_S * SR)
    padded = np.concatenate([np.zeros(ramp // 2 + 1), per_sample, np.zeros(ramp)])
    sums = np.cumsum(padded)
    smooth = (sums[ramp:] - sums[:-ramp])[:n] / ramp
    return np.clip(smooth, 0, 1)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2))) if len(x) else 0.0


def room_noise(n: int, rng) -> np.ndarray:
    """Pink-ish background noise (power falling as 1/f), shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))
    noise = np.fft.irfft(spectrum, n)
    return noise * BACKGROUND_RMS / max(_rms(noise), 1e-12)


def stems(scene: Scene, n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """int16 stems of the sounding objects (scene order) and the background; their sum never clips."""
    rng = np.random.default_rng([seed, scene.index, 3])
    raw = []
    for obj in scene.sources:
        pitch = obj.category.pitch * 2 ** rng.uniform(-0.1, 0.1)
        signal = SOUNDS[obj.category.sound](n, pitch, rng)
        env = gate(obj.on, n)
        level = SOURCE_RMS * 10 ** (rng.uniform(-3, 3) / 20) / max(_rms(signal[env > 0.5]), 1e-9)
        raw.append(signal * env * level)
    raw.append(room_noise(n, rng))
    peak = np.max(np.abs(np.sum(raw, axis=0)))
    scale = min(1.0, PEAK / peak) * 32767
    # Each stem is rounded separately; their sum stays under full scale because of PEAK's headroom.
    quantised = [np.clip(np.round(s * scale), -32768, 32767).astype(np.int16) for s in raw]
    return quantised[:-1], quantised[-1]


def mixdown(parts: list[np.ndarray]) -> np.ndarray:
    """Float32 soundtrack in [-1, 1]: the exact sum of int16 stems read back as x / 32768."""
    total = np.sum([p.astype(np.int32) for p in parts], axis=0)
    return (total / 32768.0).astype(np.float32)
