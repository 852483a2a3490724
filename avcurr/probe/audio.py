"""ESC-50 clips as the audio net sees them: read the metadata, decode each clip in-process with
PyAV to mono 11025 Hz (avcurr.media.decode.decode_audio, as build-shards reads audio), pad it to the SPEC §2 length as the shards do, and take its spectrogram.

Padding (as `build-shards` pads a short clip): the 5 s clip (55,125 samples at 11025 Hz) is
zero-padded at the end to L = 110,336 samples; the padded wave is quantised to 16 bit as the
shards' FLAC stores it, and the log spectrogram is computed from those values and kept as float16,
exactly the shards' `spec.npy`. A clip longer than L is cut at L.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

import numpy as np

from avcurr.audio.spectrogram import N_SAMPLES, log_spectrogram_np, to_stored
from avcurr.errors import AvcurrError
from avcurr.media.decode import decode_audio
from avcurr.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console

META = Path("meta") / "esc50.csv"
AUDIO = Path("audio")
NEEDED = ("filename", "fold", "target", "category")


@dataclass(frozen=True)
class Esc50Clip:
    filename: str
    fold: int
    target: int
    category: str


@dataclass(frozen=True)
class Esc50Set:
    """The clips of an ESC-50 folder and their stored-form spectrograms (N x 512 x 432 float16)."""

    root: Path
    clips: tuple[Esc50Clip, ...]
    specs: np.ndarray
    n_valid: np.ndarray        # decoded samples of each clip before padding

    @property
    def labels(self) -> np.ndarray:
        return np.array([c.target for c in self.clips])

    @property
    def folds(self) -> np.ndarray:
        return np.array([c.fold for c in self.clips])

    def categories(self) -> dict[int, str]:
        return {c.target: c.category for c in self.clips}


def read_metadata(root: Path) -> tuple[Esc50Clip, ...]:
    """Rows of `<root>/meta/esc50.csv` (filename, fold, target, category; other columns ignored)."""
    root = Path(root)
    if not root.is_dir():
        raise AvcurrError(f"ESC-50 folder not found: {root}")
    path = root / META
    if not path.is_file():
        raise AvcurrError(f"{root} has no {META} (the ESC-50 layout: audio/*.wav and meta/esc50.csv)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AvcurrError(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in NEEDED if c not in (reader.fieldnames or [])]
    if missing:
        raise AvcurrError(f"{path}: missing column(s) {', '.join(missing)}; ESC-50's header has {', '.join(NEEDED)}")
    clips = []
    for number, row in enumerate(reader, 2):
        name = row["filename"] or ""
        if not name or PurePath(name).name != name or name in (".", ".."):
            raise AvcurrError(f"{path}:{number}: {name!r} is not a plain file name")
        try:
            clips.append(Esc50Clip(name, int(row["fold"]), int(row["target"]), row["category"] or ""))
        except (TypeError, ValueError):
            raise AvcurrError(f"{path}:{number}: fold and target must be integers") from None
    if not clips:
        raise AvcurrError(f"{path} lists no clips")
    return tuple(clips)


def clip_spectrogram(wave: np.ndarray) -> np.ndarray:
    """The stored-form spectrogram (512 x 432 float16) of a wave padded to the SPEC §2 length."""
    from avcurr.shards.sample import quantise

    wave = wave[:N_SAMPLES]
    pcm = quantise(np.pad(wave, (0, N_SAMPLES - wave.size)))
    return to_stored(log_spectrogram_np(pcm / 32768.0))


def load_esc50(root: Path, console: "Console | None" = None) -> Esc50Set:
    """Read, decode and turn into spectrograms every clip of an ESC-50 folder; one clear line for
    a missing metadata file, a missing clip or a clip that does not decode."""
    root = Path(root)
    clips = read_metadata(root)
    specs = np.empty((len(clips), 512, 432), np.float16)
    n_valid = np.empty(len(clips), np.int64)
    with progress_bar(console, "decode ESC-50", len(clips)) as bar:
        for i, clip in enumerate(clips):
            path = root / AUDIO / clip.filename
            if not path.is_file():
                raise AvcurrError(f"{path}: listed in {META} but not found")
            wave = decode_audio(path)
            n_valid[i] = min(wave.size, N_SAMPLES)
            specs[i] = clip_spectrogram(wave)
            bar.update(i + 1)
    return Esc50Set(root=root, clips=clips, specs=specs, n_valid=n_valid)
