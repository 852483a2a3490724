"""Folders of image+audio pairs laid out as the SoundNet-Flickr test set: `frames/<id>.jpg`,
`audio/<id>.wav` (or .mp3 ...), `Annotations/<id>.xml`. Each pair is one sample of c1 keyed by its
id; no manifest is needed. The still image serves as all three frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from avcurr.errors import AvcurrError
from avcurr.keys import safe_name
from avcurr.media.decode import FRAME_SIZE, ClipError, DecodedClip, decode_audio
from avcurr.shards.manifest import ClipTask, Manifest

PAIR_CURRICULUM = "c1"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".m4a")  # preference order when an id has several
STILL_TIMES = (0.0, 0.0, 0.0)


def _by_id(folder: Path, extensions: tuple[str, ...]) -> tuple[dict[str, Path], list[str]]:
    """`id -> file` for files in `folder` with one of `extensions` (earlier ones win), and the ids seen twice."""
    found: dict[str, Path] = {}
    twice: list[str] = []
    if not folder.is_dir():
        return found, twice
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
             and p.suffix.lower() in extensions]
    for path in sorted(files, key=lambda p: (extensions.index(p.suffix.lower()), p.name)):
        ident = safe_name(path.stem, f"pair id of {path}")
        if ident in found:
            twice.append(ident)
        else:
            found[ident] = path
    return found, twice


def read_pairs(folder: Path) -> Manifest:
    """One c1 task per id found in `frames/` or `audio/` (a pair missing either half fails as
    `missing`); ids with two audio or image files use the first by extension preference."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AvcurrError(f"pairs folder not found: {folder}")
    frames, twice_f = _by_id(folder / "frames", IMAGE_EXTENSIONS)
    audio, twice_a = _by_id(folder / "audio", AUDIO_EXTENSIONS)
    if not frames and not audio:
        raise AvcurrError(f"{folder} holds no frames/<id>.jpg nor audio/<id>.wav: not a folder of image+audio pairs")
    tasks = [ClipTask(key=ident, ytid=ident, start=0.0, end=None, curriculum=PAIR_CURRICULUM, n_sources=None,
                      labels=(), sources=(), media=audio.get(ident), pair=True,
                      image=frames.get(ident))
             for ident in sorted(set(frames) | set(audio))]
    return Manifest(tasks=tasks, no_curriculum=[], duplicates=sorted(set(twice_f) | set(twice_a)))


def still_frame(path: Path) -> np.ndarray:
    """The image scaled to 256x256 RGB (no crop, bicubic), as video frames are."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((FRAME_SIZE, FRAME_SIZE), Image.Resampling.BICUBIC)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ClipError("corrupt", f"{path.name}: {exc}") from None
    return np.asarray(rgb, dtype=np.uint8)


def decode_pair(task: ClipTask) -> DecodedClip:
    """The pair's audio (from 0 s) and its image as the three frames."""
    if task.image is None:
        raise ClipError("missing", f"no image for pair {task.key} (no frames/{task.key}.jpg)")
    frame = still_frame(task.image)
    audio = decode_audio(task.media, 0.0)
    return DecodedClip(audio=audio, frames=np.stack([frame] * 3), frame_times=STILL_TIMES)
