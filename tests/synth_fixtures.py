"""Small synthetic worlds shared by the synth tests (generated once per session)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from avcurr.synth import SynthConfig, synthesize

SMALL = dict(clips=6, seed=3, min_sources=1, max_sources=3, distractors=1, size=128, fps=4, duration=4)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> SynthConfig:
    """Six small clips (128 px, 4 fps, 4 s) with 1-3 sources and one distractor, two workers."""
    # A fixed folder: each test module that imports this fixture gets its own instance, and the
    # second one simply finds the finished world (synth keeps finished clips).
    cfg = SynthConfig(out=tmp_path_factory.getbasetemp() / "synth_world", workers=2, **SMALL)
    summary = synthesize(cfg)
    assert summary.n_ok == cfg.clips and not summary.failures
    return cfg


@pytest.fixture(scope="session")
def world_again(tmp_path_factory) -> SynthConfig:
    """The same world made again in another folder, in one process."""
    cfg = SynthConfig(out=tmp_path_factory.getbasetemp() / "synth_again", workers=1, **SMALL)
    synthesize(cfg)
    return cfg


def truths(cfg: SynthConfig) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((cfg.out / "truth").glob("*.json"))]


def decode_audio(path: Path) -> np.ndarray:
    """Mono float32 at 11025 Hz, the way SPEC §2 decodes every clip."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", "11025",
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32)


def decode_frames(path: Path, size: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-an", "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, size, size, 3)
