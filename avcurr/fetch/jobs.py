"""What to fetch: one job per clip, and the settings of a fetch run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.keys import clip_key, safe_name

YOUTUBE_WATCH = "https://www.youtube.com/watch?v={ytid}"
# Formats whose URL ffmpeg can seek in directly (plain HTTP(S) or HLS; DASH fragments are not a
# single URL), at most 480p: AudioSet-style work needs the sound and small frames, not 4K.
_SEEKABLE = "[protocol~='^(https?|m3u8|m3u8_native)$']"
ENGINES = ("local", "ray")
SLICES_DIR = "slices"
DEFAULT_FORMAT = f"bv*[height<=?480]{_SEEKABLE}+ba{_SEEKABLE}/b[height<=?480]{_SEEKABLE}/b{_SEEKABLE}"


@dataclass(frozen=True)
class FetchJob:
    """One clip: video id, segment `[start, end)` in seconds (`end=None`: to the end of the video)."""

    ytid: str
    start: float = 0.0
    end: float | None = None
    dataset: str = ""

    @property
    def key(self) -> str:
        return clip_key(self.ytid, self.start)

    def url(self, template: str) -> str:
        return template.format(ytid=safe_name(self.ytid, "video id"))


@dataclass(frozen=True)
class FetchConfig:
    """Settings of one `avcurr fetch` run; every field but `exact_strategy` maps onto one
    command-line option."""

    out: Path
    workers: int = 4
    url_template: str = YOUTUBE_WATCH
    cookies: Path | None = None
    proxy: str | None = None
    rate: float | None = None          # clip starts per second over all workers (None: unlimited)
    retry_failed: bool = False
    include_permanent: bool = False
    max_attempts: int = 4              # per clip and per run
    backoff_base: float = 5.0          # seconds; doubled per attempt, with jitter
    backoff_cap: float = 300.0
    timeout: float = 30.0              # socket / stalled-read timeout in seconds
    attempt_timeout: float = 600.0     # wall limit of one ffmpeg run
    cut: str = "exact"                 # "exact": re-encode at the cut points; "copy": keyframe cut
    duration_tolerance: float = 1.0    # seconds between the segment and the probed duration
    video_format: str = DEFAULT_FORMAT
    progress: bool = True
    seed: int | None = None            # jitter seed (tests and benchmarks)
    engine: str = "local"              # "local": threads in this process; "ray": Ray tasks
    ray_address: str | None = None     # None: start a local Ray instance; "auto": join the running cluster
    slice: tuple[int, int] | None = None  # (i, n): only clips i, i+n, i+2n, ... of the list
    # "local": stream-copy the segment, close the connection, then cut and encode the local copy;
    # "stream": encode while reading from the host (costs ~4x the bytes; kept for bench_fetch).
    exact_strategy: str = "local"

    def __post_init__(self) -> None:
        # Absolute, as Ray tasks on other machines (or other working folders) need them.
        object.__setattr__(self, "out", Path(self.out).absolute())
        if self.cookies is not None:
            object.__setattr__(self, "cookies", Path(self.cookies).absolute())
        if self.workers < 1:
            raise AvcurrError(f"--workers must be at least 1, got {self.workers}")
        if "{ytid}" not in self.url_template:
            raise AvcurrError(f"--url-template must contain {{ytid}}: {self.url_template!r}")
        try:
            self.url_template.format(ytid="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise AvcurrError(f"--url-template may hold only {{ytid}} as a field ({exc!r}): "
                              f"{self.url_template!r}") from None
        if self.cut not in ("exact", "copy"):
            raise AvcurrError(f"--cut must be 'exact' or 'copy', got {self.cut!r}")
        if self.max_attempts < 1:
            raise AvcurrError(f"--max-attempts must be at least 1, got {self.max_attempts}")
        if self.rate is not None and self.rate <= 0:
            raise AvcurrError(f"--rate must be positive, got {self.rate}")
        if self.cookies is not None and not Path(self.cookies).is_file():
            raise AvcurrError(f"cookies file not found: {self.cookies}")
        if self.engine not in ENGINES:
            raise AvcurrError(f"--engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.ray_address is not None and self.engine != "ray":
            raise AvcurrError("--ray-address needs --engine ray")
        if self.slice is not None and not (self.slice[1] >= 1 and 0 <= self.slice[0] < self.slice[1]):
            raise AvcurrError(f"--slice must be I/N with 0 <= I < N, got {self.slice[0]}/{self.slice[1]}")
        if self.exact_strategy not in ("local", "stream"):
            raise AvcurrError(f"exact_strategy must be 'local' or 'stream', got {self.exact_strategy!r}")

    @property
    def ext(self) -> str:
        return "mp4" if self.cut == "exact" else "mkv"

    @property
    def state_dir(self) -> Path:
        """Where this run keeps its lock, status manifest and partial files: `out` itself, or
        `out/slices/<i>-of-<n>` for a slice, so that slices run side by side into one clip folder."""
        if self.slice is None:
            return Path(self.out)
        index, count = self.slice
        return Path(self.out) / SLICES_DIR / f"{index:04d}-of-{count:04d}"


def parse_rate(text: str | None) -> float | None:
    """`--rate` as clip starts per second: `2`, `2/s`, `30/m`, `600/h`."""
    if text is None or text == "":
        return None
    number, _, unit = text.strip().partition("/")
    per = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}.get(unit.strip().lower())
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if per is None or value <= 0:
        raise AvcurrError(f"--rate {text!r} is not a rate such as 2, 2/s, 30/m or 600/h (clips per time)")
    return value / per


def parse_slice(text: str | None) -> tuple[int, int] | None:
    """`--slice I/N` (0-based I, as Slurm's `--array=0-<N-1>` numbers its tasks) as (I, N)."""
    if text is None or text == "":
        return None
    index, sep, count = text.strip().partition("/")
    try:
        parsed = (int(index), int(count))
    except ValueError:
        parsed = (-1, 0)
    if not sep or not (parsed[1] >= 1 and 0 <= parsed[0] < parsed[1]):
        raise AvcurrError(f"--slice {text!r} is not I/N with 0 <= I < N (e.g. 0/8 ... 7/8)")
    return parsed
