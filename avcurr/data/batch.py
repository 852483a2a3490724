"""Turn raw samples into batched tensors: spec B x 1 x 512 x 432, image B x 3 x 256 x 256 in [0, 1]."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import soundfile as sf
import torch
from PIL import Image

from avcurr.audio.spectrogram import N_BINS, N_FRAMES, N_SAMPLES, log_spectrogram_torch
from avcurr.errors import AvcurrError


def load_npy(raw: bytes) -> np.ndarray:
    """An `.npy` member, never unpickled."""
    return np.load(io.BytesIO(raw), allow_pickle=False)


_SCALE = np.float32(1 / 255)


def jpeg_into(raw: bytes, out: np.ndarray) -> None:
    """Decode a JPEG straight into a 3 x H x W slot: float32 in [0, 1], or uint8 as it is.
    PIL splits the planes, so no HWC -> CHW transpose is ever made."""
    with Image.open(io.BytesIO(raw)) as image:
        if image.mode != "RGB":  # ours are RGB already; convert() would copy anyway
            image = image.convert("RGB")
        for channel, band in enumerate(image.split()):
            if out.dtype == np.uint8:
                out[channel] = np.asarray(band)
            else:
                np.multiply(np.asarray(band), _SCALE, out=out[channel])


def load_flac(raw: bytes) -> np.ndarray:
    """A FLAC member as float32 in [-1, 1) (int16 / 32768, exactly as stored), padded to L."""
    wave, _ = sf.read(io.BytesIO(raw), dtype="float32", always_2d=False)
    if wave.size < N_SAMPLES:
        wave = np.pad(wave, (0, N_SAMPLES - wave.size))
    return wave[:N_SAMPLES]


def _batch_tensor(shape: tuple[int, ...], dtype: torch.dtype, shared: bool) -> torch.Tensor:
    """An empty batch tensor; in a DataLoader worker, allocated in shared memory at once (as
    torch's default_collate does) so that sending it to the main process copies nothing."""
    if not shared:
        return torch.empty(shape, dtype=dtype)
    proto = torch.empty(0, dtype=dtype)
    storage = proto._typed_storage()._new_shared(math.prod(shape), device=proto.device)
    return proto.new(storage).resize_(*shape)


def collate(samples: list[dict], frame_choices: list[int], with_audio: bool, compact: bool = False) -> dict:
    """Decode and stack one batch. `frame_choices[i]` picks f0/f1/f2 of sample i.

    A sample without `spec.npy` (shards built with --no-spec) gets its spectrogram computed here
    from the FLAC, all such samples of the batch in one torch call. `compact` (DataLoader
    workers): float16 spec and uint8 image in shared memory, 2.6x fewer bytes to hand over;
    `expand` turns them into the float32 batch in the main process.
    """
    n = len(samples)
    spec = _batch_tensor((n, 1, N_BINS, N_FRAMES), torch.float16 if compact else torch.float32, compact)
    image_tensor = _batch_tensor((n, 3, 256, 256), torch.uint8 if compact else torch.float32, compact)
    image = image_tensor.numpy()
    waves: dict[int, np.ndarray] = {}
    need_spec: list[int] = []
    for i, (sample, frame) in enumerate(zip(samples, frame_choices)):
        try:
            if "spec.npy" in sample:
                spec[i, 0].copy_(torch.from_numpy(load_npy(sample["spec.npy"])))
            else:
                need_spec.append(i)
            if with_audio or "spec.npy" not in sample:
                waves[i] = load_flac(sample["flac"])
            jpeg_into(sample[f"f{frame}.jpg"], image[i])
        except (KeyError, ValueError, OSError, RuntimeError) as exc:
            raise AvcurrError(f"bad sample {sample.get('__key__')} in {sample.get('__shard__')}: "
                              f"{type(exc).__name__}: {exc}") from None
    if need_spec:
        batch_waves = torch.from_numpy(np.stack([waves[i] for i in need_spec]))
        spec[need_spec, 0] = log_spectrogram_torch(batch_waves).to(spec.dtype)
    out = {
        "spec": spec,
        "image": image_tensor,
        "key": [s["__key__"] for s in samples],
        "meta": [json.loads(s["json"]) for s in samples],
    }
    if with_audio:
        out["audio"] = torch.from_numpy(np.stack([waves[i] for i in range(n)]))
    return out


def expand(batch: dict, pin: bool = False) -> dict:
    """A compact batch (float16 spec, uint8 image) as the float32 batch of the loader's contract,
    in pinned memory when `pin` (for fast copies to a GPU)."""
    for name in ("spec", "image"):
        tensor = batch[name]
        if tensor.dtype == torch.float32 and not pin:
            continue
        out = torch.empty(tensor.shape, dtype=torch.float32, pin_memory=pin)
        out.copy_(tensor)
        if tensor.dtype == torch.uint8:
            out.mul_(1 / 255)
        batch[name] = out
    return batch
