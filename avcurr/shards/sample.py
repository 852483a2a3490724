"""One clip -> one sample's members (runs in a worker). Failures come back as values."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from PIL import Image

from avcurr.audio.spectrogram import N_SAMPLES, SAMPLE_RATE, log_spectrogram_np, to_stored
from avcurr.media.decode import ClipError, decode_clip
from avcurr.shards.manifest import ClipTask
from avcurr.shards.pairs import decode_pair

JPEG_QUALITY = 90
SILENCE_PEAK = 1e-4  # -80 dBFS: nothing audible in the whole clip
OK, SHORT = "ok", "short"


@dataclass(frozen=True)
class ClipResult:
    """Outcome of one clip: status (ok, short = padded but kept, or a failure), error text,
    and the members `{ext: bytes}` of the sample when it is kept."""

    key: str
    curriculum: str | None
    status: str
    message: str = ""
    members: dict | None = None
    n_sources: int | None = None

    @property
    def kept(self) -> bool:
        return self.members is not None


def quantise(audio: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] -> int16 the way the FLAC stores it; the spectrogram is computed from
    exactly these values (int16 / 32768), so it matches what a reader decodes from the FLAC."""
    return np.clip(np.round(audio.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def flac_bytes(pcm: np.ndarray) -> bytes:
    """Mono 11025 Hz 16-bit FLAC."""
    buf = io.BytesIO()
    sf.write(buf, pcm, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def jpeg_bytes(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame, "RGB").save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def sample_json(task: ClipTask, dataset: str, split: str, n_valid: int, frame_times) -> bytes:
    """The `<key>.json` member: SPEC §4 fields, then the manifest's extra columns."""
    meta = {**{k: v for k, v in task.extras.items()},
            "key": task.key, "dataset": dataset, "split": split, "ytid": task.ytid,
            "start": task.start, "end": task.end, "labels": list(task.labels),
            "sources": list(task.sources), "n_sources": task.n_sources,
            "curriculum": task.curriculum, "sample_rate": SAMPLE_RATE,
            "n_valid_samples": n_valid, "padded": n_valid < N_SAMPLES,
            "frame_times": list(frame_times)}
    return json.dumps(meta, default=str, ensure_ascii=False).encode("utf-8")


def build_sample(task: ClipTask, dataset: str, split: str, with_spec: bool = True) -> ClipResult:
    """Decode `task`'s media and encode its members; never raises for a bad clip."""
    def failed(status: str, message: str) -> ClipResult:
        return ClipResult(task.key, task.curriculum, status, message, None, task.n_sources)

    pair = task.pair
    if task.media is None:
        if pair:
            return failed("missing", f"no audio for pair {task.key} (no audio/{task.key}.wav or .mp3)")
        return failed("missing", f"no media file found for {task.key} (no {task.key}.<ext> in the media folder)")
    try:
        clip = decode_pair(task) if pair else decode_clip(task.media, task.start, task.end)
    except ClipError as exc:
        return failed(exc.status, str(exc))
    except Exception as exc:  # noqa: BLE001 - one clip must never stop the run
        return failed("error", f"{type(exc).__name__}: {exc}")
    n_valid = int(clip.audio.size)
    peak = float(np.abs(clip.audio).max()) if n_valid else 0.0
    if n_valid == 0:
        return failed("silent", f"{task.media.name}: no audio samples from {task.start:.3f} s on")
    if peak < SILENCE_PEAK:
        return failed("silent", f"{task.media.name}: audio is silent from {task.start:.3f} s "
                                f"(peak {peak:.2e} over {n_valid} samples)")
    pcm = quantise(np.pad(clip.audio, (0, N_SAMPLES - n_valid)))
    members = {"flac": flac_bytes(pcm)}
    if with_spec:
        members["spec.npy"] = npy_bytes(to_stored(log_spectrogram_np(pcm / 32768.0)))
    for i, frame in enumerate(clip.frames):
        members[f"f{i}.jpg"] = jpeg_bytes(frame)
    members["json"] = sample_json(task, dataset, split, n_valid, clip.frame_times)
    status = OK if n_valid == N_SAMPLES else SHORT
    message = "" if status == OK else f"padded: {n_valid} of {N_SAMPLES} samples"
    return ClipResult(task.key, task.curriculum, status, message, members, task.n_sources)
