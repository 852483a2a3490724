"""A synthetic sound-classification set in ESC-50's layout, so the ESC-50 probe runs offline.

`synthesize_esc50(Esc50SynthConfig(out=DIR))` writes

- `DIR/audio/<fold>-<source id>-A-<target>.wav`: 5 s, 44.1 kHz, mono, 16 bit (ESC-50's format);
- `DIR/meta/esc50.csv` with ESC-50's header (filename, fold, target, category, esc10, src_file, take);
- `DIR/synth-esc50.json`: the settings.

The classes are the synthetic world's 10 categories (avcurr/synth/catalogue.py; target = the
catalogue's order), `per_fold` clips of each in each of `folds` folds. Each clip is its
category's generator (avcurr/synth/sound.py: rhythm, timbre, pitch jittered by up to +-0.1
octave) sounding for a random contiguous 2-5 s, at a random loudness (0 to -20 dB), over pink
background noise at a random 0-20 dB below the sound. The generators run at 11025 Hz (the rate
the probe decodes to); the wave is resampled to 44.1 kHz for the file. The same seed gives
byte-identical files.
"""

from __future__ import annotations

import io
import csv
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from avcurr.atomic import atomic_write
from avcurr.errors import AvcurrError
from avcurr.progress import progress_bar
from avcurr.sources.esc50 import HEADER
from avcurr.synth.catalogue import CATALOGUE
from avcurr.synth.folder import claim_folder
from avcurr.synth.sound import PEAK, SOURCE_RMS, SOUNDS, SR, gate, room_noise

if TYPE_CHECKING:
    from rich.console import Console

FILE_RATE = 44100
SECONDS = 5
MARKER = "synth-esc50.json"
LOUDNESS_DB = (-20.0, 0.0)
SNR_DB = (0.0, 20.0)
ACTIVE_SECONDS = (2, SECONDS)


@dataclass(frozen=True)
class Esc50SynthConfig:
    """out: the folder; per_fold: clips of each category in each fold; folds: 5 as ESC-50."""

    out: Path
    per_fold: int = 2
    folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))

    def validate(self) -> "Esc50SynthConfig":
        if self.per_fold < 1:
            raise AvcurrError(f"need at least 1 clip per category and fold, got {self.per_fold}")
        if not 2 <= self.folds <= 9:
            raise AvcurrError(f"folds must be 2..9 (one digit in ESC-50 file names), got {self.folds}")
        if self.seed < 0:
            raise AvcurrError(f"--seed must be non-negative, got {self.seed}")
        return self

    def settings(self) -> dict:
        d = asdict(self)
        d.pop("out")
        return {"layout": "esc50", **d}

    @property
    def clips(self) -> int:
        return self.per_fold * self.folds * len(CATALOGUE)


@dataclass
class Esc50SynthSummary:
    out: Path
    clips: int
    per_category: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    files: dict[str, Path] = field(default_factory=dict)


def per_fold_for(total_clips: int, folds: int = 5) -> int:
    """Clips per category and fold so that about `total_clips` are made (at least one each)."""
    cells = folds * len(CATALOGUE)
    return max(1, -(-total_clips // cells))


def clip_wave(seed: int, fold: int, target: int, index: int) -> np.ndarray:
    """One clip at 11025 Hz (float64, peak below PEAK): see the module docstring."""
    rng = np.random.default_rng([seed, fold, target, index, 50])
    category = CATALOGUE[target]
    n = SECONDS * SR
    signal = SOUNDS[category.sound](n, category.pitch * 2 ** rng.uniform(-0.1, 0.1), rng)
    length = int(rng.integers(ACTIVE_SECONDS[0], ACTIVE_SECONDS[1] + 1))
    start = int(rng.integers(0, SECONDS - length + 1))
    on = tuple(int(start <= s < start + length) for s in range(SECONDS))
    env = gate(on, n)
    active = signal[env > 0.5]
    level = SOURCE_RMS * 10 ** (rng.uniform(*LOUDNESS_DB) / 20)
    sound = signal * env * level / max(float(np.sqrt(np.mean(active ** 2))), 1e-9)
    noise = room_noise(n, rng)
    noise *= level * 10 ** (-rng.uniform(*SNR_DB) / 20) / max(float(np.sqrt(np.mean(noise ** 2))), 1e-12)
    wave = sound + noise
    return wave * min(1.0, PEAK / max(float(np.abs(wave).max()), 1e-12))


def wav_bytes(wave: np.ndarray) -> bytes:
    """The 11025 Hz wave resampled to 44.1 kHz, as 16-bit PCM WAV bytes."""
    from scipy.signal import resample_poly

    up = resample_poly(wave, FILE_RATE // SR, 1)
    pcm = np.clip(np.round(up * 32767), -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, FILE_RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def file_name(seed: int, fold: int, target: int, index: int) -> tuple[str, str]:
    """(ESC-50 style file name `<fold>-<source id>-A-<target>.wav`, source id)."""
    source = f"{seed % 100:02d}{target:02d}{fold}{index:03d}"
    return f"{fold}-{source}-A-{target}.wav", source


def _owned_files(out: Path, settings: dict) -> set[Path]:
    """Every file a synthetic ESC-50 set with `settings` writes (present or not)."""
    if settings.get("layout") != "esc50":
        raise ValueError("not a synthetic ESC-50 marker")
    cfg = Esc50SynthConfig(out=out, **{k: v for k, v in settings.items() if k != "layout"})
    names = {file_name(cfg.seed, fold, target, index)[0] for fold in range(1, cfg.folds + 1)
             for target in range(len(CATALOGUE)) for index in range(cfg.per_fold)}
    return {out / "audio" / n for n in names} | {out / "meta" / "esc50.csv", out / MARKER}


def _prepare(cfg: Esc50SynthConfig, overwrite: bool) -> None:
    """Refuse a folder holding anything else; on `overwrite` remove only what the old set wrote."""
    claim_folder(cfg.out, MARKER, cfg.settings(), lambda old: _owned_files(cfg.out, old),
                 "synthetic ESC-50 set", overwrite)


def synthesize_esc50(cfg: Esc50SynthConfig, console: "Console | None" = None,
                     overwrite: bool = False) -> Esc50SynthSummary:
    """Write the set described by `cfg` (see the module docstring); a rerun with the same
    settings keeps the files already there. Progress goes to `console`."""
    cfg.validate()
    started = time.perf_counter()
    _prepare(cfg, overwrite)
    summary = Esc50SynthSummary(out=cfg.out, clips=cfg.clips)
    rows = []
    with progress_bar(console, "synth esc50", cfg.clips) as bar:
        for fold in range(1, cfg.folds + 1):
            for target, category in enumerate(CATALOGUE):
                for index in range(cfg.per_fold):
                    name, source = file_name(cfg.seed, fold, target, index)
                    path = cfg.out / "audio" / name
                    if not path.is_file():
                        atomic_write(path, wav_bytes(clip_wave(cfg.seed, fold, target, index)))
                    rows.append([name, fold, target, category.name, "False", source, "A"])
                    summary.per_category[category.name] += 1
                    bar.update(len(rows))
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(sorted(rows))
    summary.files = {"meta": atomic_write(cfg.out / "meta" / "esc50.csv", text.getvalue()),
                     "audio": cfg.out / "audio"}
    summary.seconds = time.perf_counter() - started
    return summary
