"""Decode one sample, then fill a batch: spec B x 1 x 512 x 432, image B x 3 x 256 x 256 in [0, 1].

Decoding is per sample (a pipeline stage, so the error policy can skip one bad sample); the
batch stage writes float32 straight into a reused buffer (see pool.py). float16 -> float32 is
done by torch: numpy's conversion is about 20x slower here.
"""

from __future__ import annotations

import io
import json
import math
import warnings

import numpy as np
import soundfile as sf
import torch
from PIL import Image

from avcurr.audio.spectrogram import N_BINS, N_FRAMES, N_SAMPLES, log_spectrogram_torch
from avcurr.data.policy import SampleError, describe
from avcurr.data.pool import BufferPool, buffer_elements, views

IMAGE_SIZE = 256
SPEC_SHAPE = (N_BINS, N_FRAMES)
_NPY_HEAD = 4096  # an .npy header is padded to 64 bytes; ours are 128
_SCALE = np.float32(1 / 255)


def load_npy(raw: bytes | bytearray) -> np.ndarray:
    """An `.npy` member as an array over the member's own bytes (no copy: np.load's copy of a
    442 KB spectrogram costs about a third of a sample's decoding), never unpickled."""
    head = io.BytesIO(bytes(memoryview(raw)[:_NPY_HEAD]))
    version = np.lib.format.read_magic(head)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.hasobject:
        raise ValueError("an .npy of Python objects is never unpickled")
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=head.tell())
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def load_jpeg(raw: bytes) -> np.ndarray:
    """A JPEG member as H x W x 3 uint8 (decoded in full here, so a corrupt one fails here)."""
    with Image.open(io.BytesIO(raw)) as image:
        image.load()
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image)


def load_flac(raw: bytes) -> np.ndarray:
    """A FLAC member as float32 in [-1, 1) (int16 / 32768, exactly as stored), padded to L."""
    wave, _ = sf.read(io.BytesIO(raw), dtype="float32", always_2d=False)
    if wave.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {wave.shape}")
    if wave.size < N_SAMPLES:
        wave = np.pad(wave, (0, N_SAMPLES - wave.size))
    return wave[:N_SAMPLES]


def decode_sample(sample: dict, with_audio: bool) -> dict:
    """Raw members of one sample -> {"key", "meta", "spec" (float16 512 x 432 or None),
    "image" (256 x 256 x 3 uint8), "wave" (float32 or None)}; SampleError naming key and shard."""
    key, shard = sample.get("__key__"), sample.get("__url__", "?")
    try:
        frame = sample["__frame__"]
        meta = json.loads(sample["json"])
        spec = load_npy(sample["spec.npy"]) if "spec.npy" in sample else None
        if spec is not None and spec.shape != SPEC_SHAPE:
            raise ValueError(f"spec.npy has shape {spec.shape}, expected {SPEC_SHAPE}")
        if spec is not None and spec.dtype.kind != "f":
            raise ValueError(f"spec.npy has dtype {spec.dtype}, expected floats")
        wave = load_flac(sample["flac"]) if (with_audio or spec is None) else None
        image = load_jpeg(sample[f"f{frame}.jpg"])
        if image.shape != (IMAGE_SIZE, IMAGE_SIZE, 3):
            raise ValueError(f"f{frame}.jpg is {image.shape[1]}x{image.shape[0]}, expected {IMAGE_SIZE}x{IMAGE_SIZE}")
    except KeyError as exc:
        raise SampleError(shard, key, f"member {exc.args[0]} missing") from None
    except Exception as exc:  # PIL, numpy, soundfile and json each raise their own kinds
        raise SampleError(shard, key, describe(exc)) from None
    return {"key": key, "meta": meta, "spec": spec, "image": image, "wave": wave}


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor over `array`, read-only or not (it is only read: the source of a copy)."""
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "not writable": we never write to it
        return torch.from_numpy(array)


IMAGE_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}


def batch_shapes(n: int, with_audio: bool) -> dict[str, tuple[int, ...]]:
    """Shapes of the tensors of a batch of n (float32, the image possibly uint8)."""
    shapes = {"spec": (n, 1, *SPEC_SHAPE), "image": (n, 3, IMAGE_SIZE, IMAGE_SIZE)}
    if with_audio:
        shapes["audio"] = (n, N_SAMPLES)
    return shapes


def batch_dtypes(image_dtype: str) -> dict[str, torch.dtype]:
    return {"image": IMAGE_DTYPES[image_dtype]}


def buffer_size(batch_size: int, with_audio: bool, image_dtype: str = "float32") -> int:
    """float32 elements of a full batch's buffer (a uint8 image takes a quarter of its elements)."""
    return buffer_elements(batch_shapes(batch_size, with_audio), batch_dtypes(image_dtype))


def collate(samples: list[dict], pool: BufferPool, with_audio: bool, image_dtype: str = "float32") -> dict:
    """Decoded samples -> the batch (tensors in one buffer of `pool`, key, meta, audio)."""
    n = len(samples)
    out = views(pool.take(), batch_shapes(n, with_audio), batch_dtypes(image_dtype))
    spec, image = out["spec"], out["image"].numpy()
    as_bytes = image.dtype == np.uint8
    need_spec: list[int] = []
    for i, sample in enumerate(samples):
        if sample["spec"] is None:
            need_spec.append(i)
        else:
            spec[i, 0].copy_(_tensor(sample["spec"]))
        if as_bytes:
            image[i] = sample["image"].transpose(2, 0, 1)
        else:
            np.multiply(sample["image"].transpose(2, 0, 1), _SCALE, out=image[i])  # PIL's array is read-only: numpy
        if with_audio:
            out["audio"][i].copy_(torch.from_numpy(sample["wave"]))
    if need_spec:  # shards built with --no-spec: all such samples of the batch in one torch call
        waves = torch.from_numpy(np.stack([samples[i]["wave"] for i in need_spec]))
        spec[need_spec, 0] = log_spectrogram_torch(waves)
    out["key"] = [s["key"] for s in samples]
    out["meta"] = [s["meta"] for s in samples]
    return out
