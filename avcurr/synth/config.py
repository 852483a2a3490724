"""Settings of one synthetic world, checked before anything is written."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.synth.catalogue import CATALOGUE

SAMPLE_RATE = 11025       # stems and soundtrack (SPEC §2 decodes to this rate)
MAX_SOURCES = 4
MAX_DISTRACTORS = 2
MAX_OBJECTS = 6           # the 3 x 2 grid of the densest layout


@dataclass(frozen=True)
class SynthConfig:
    """One synthetic audiovisual world.

    Each clip has between `min_sources` and `max_sources` sounding objects (each of a distinct
    category) and exactly `distractors` silent visible objects of other categories.
    """

    out: Path
    clips: int = 100
    seed: int = 0
    min_sources: int = 1
    max_sources: int = 4
    distractors: int = 0
    size: int = 256
    fps: int = 8
    duration: float = 10.0
    small_objects: bool = False
    workers: int = 1
    audio_bitrate: str = "128k"

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "duration", float(self.duration))  # 10 and 10.0 are one world

    def validate(self) -> "SynthConfig":
        """Raise AvcurrError naming the first bad setting; return self."""
        def bad(msg: str) -> None:
            raise AvcurrError(msg)

        if self.clips < 1:
            bad(f"--clips must be at least 1, got {self.clips}")
        if self.seed < 0:
            bad(f"--seed must be non-negative, got {self.seed}")
        if not 1 <= self.min_sources <= self.max_sources <= MAX_SOURCES:
            bad(f"sources range {self.min_sources}..{self.max_sources} is invalid: need "
                f"1 <= --min-sources <= --max-sources <= {MAX_SOURCES}")
        if not 0 <= self.distractors <= MAX_DISTRACTORS:
            bad(f"--distractors must be 0..{MAX_DISTRACTORS}, got {self.distractors}")
        if self.max_sources + self.distractors > min(MAX_OBJECTS, len(CATALOGUE)):
            bad(f"{self.max_sources} sources + {self.distractors} distractors exceed "
                f"{min(MAX_OBJECTS, len(CATALOGUE))} objects per clip")
        if not 64 <= self.size <= 1024 or self.size % 2:
            bad(f"--size must be an even number of pixels in 64..1024, got {self.size}")
        if not 1 <= self.fps <= 60:
            bad(f"--fps must be 1..60, got {self.fps}")
        if not 1 <= self.duration <= 60 or self.duration != int(self.duration):
            bad(f"--duration must be a whole number of seconds in 1..60, got {self.duration}")
        if self.workers < 1:
            bad(f"--workers must be at least 1, got {self.workers}")
        return self

    @property
    def seconds(self) -> int:
        return int(self.duration)

    @property
    def n_frames(self) -> int:
        return self.seconds * self.fps

    @property
    def n_samples(self) -> int:
        return self.seconds * SAMPLE_RATE

    def world(self) -> dict:
        """The settings that decide the content (not where or how fast it is written)."""
        d = asdict(self)
        for key in ("out", "workers"):
            d.pop(key)
        return d
