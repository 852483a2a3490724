"""Benchmark: synthetic clips per second vs. ffmpeg alone encoding the same frames and audio.

The floor is measured in the same run: the clips' frames and soundtracks are rendered beforehand
and written as raw files, then ffmpeg encodes them with exactly the settings `avcurr synth` uses
(one process per clip, as many at once as synth has workers). The ratio says how much the
generator (planning, rendering, sound, stems, truth files, process pool) adds on top of encoding.

    .venv/bin/python benchmarks/bench_synth.py [--clips 24] [--size 256] [--fps 8] [--duration 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from avcurr.synth import SynthConfig, synthesize
from avcurr.synth.encode import encode_args
from avcurr.synth.render import render
from avcurr.synth.scene import plan_scene
from avcurr.synth.sound import mixdown, stems


def raw_inputs(cfg: SynthConfig, folder: Path) -> list[tuple[Path, Path]]:
    """Each clip's frames (rgb24) and soundtrack (f32le) as raw files, made before any timing."""
    pairs = []
    for index in range(cfg.clips):
        scene = plan_scene(cfg, index)
        video, audio = folder / f"{index}.rgb", folder / f"{index}.f32"
        video.write_bytes(render(cfg, scene).tobytes())
        source_stems, background = stems(scene, cfg.n_samples, cfg.seed)
        audio.write_bytes(mixdown(source_stems + [background]).tobytes())
        pairs.append((video, audio))
    return pairs


def cpu_seconds() -> float:
    """User + system CPU time of this process and of every finished descendant (workers, ffmpeg)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn(*args)
    return time.perf_counter() - wall, cpu_seconds() - cpu


def ffmpeg_floor(cfg: SynthConfig, pairs: list[tuple[Path, Path]], folder: Path, parallel: int) -> None:
    """ffmpeg alone encoding every clip, `parallel` processes at a time."""
    def encode(item):
        i, (video, audio) = item
        args = encode_args(cfg.size, cfg.fps, folder / f"floor{i}.mp4", cfg.audio_bitrate,
                           video_in=str(video), audio_in=str(audio))
        subprocess.run(args, check=True, stdin=subprocess.DEVNULL)

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(encode, enumerate(pairs)))


def synth_run(cfg: SynthConfig) -> None:
    summary = synthesize(cfg)
    assert summary.n_ok == cfg.clips and summary.n_reused == 0, summary.failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--fps", type=int, default=8)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per row")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    table = Table(title=f"avcurr synth: {args.clips} clips of {args.size}x{args.size}, {args.fps} fps, "
                        f"{args.duration} s (1-4 sources), {os.cpu_count()} cores")
    for column in ("run", "workers", "wall s", "clips/s", "clips/s per worker", "CPU s per clip",
                   "clips per CPU-second", "synth / floor (wall)", "synth / floor (CPU)", "target >= 1 clip/s/core"):
        table.add_column(column, justify="left" if column == "run" else "right")
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        tmp = Path(tmp)
        base = SynthConfig(out=tmp / "raw", clips=args.clips, size=args.size, fps=args.fps, duration=args.duration)
        pairs = raw_inputs(base, tmp)
        for workers in (1, 2):
            # Best of a few interleaved runs: the machine may be shared, the minimum is the honest cost.
            floors, synths = [], []
            for r in range(args.repeats):
                floors.append(timed(ffmpeg_floor, base, pairs, tmp, workers))
                cfg = SynthConfig(out=tmp / f"synth{workers}_{r}", clips=args.clips, size=args.size,
                                  fps=args.fps, duration=args.duration, workers=workers)
                synths.append(timed(synth_run, cfg))
            (f_wall, f_cpu), (s_wall, s_cpu) = (min(x[0] for x in floors), min(x[1] for x in floors)), \
                (min(x[0] for x in synths), min(x[1] for x in synths))
            n = args.clips
            table.add_row("ffmpeg floor", str(workers), f"{f_wall:.2f}", f"{n / f_wall:.2f}",
                          f"{n / f_wall / workers:.2f}", f"{f_cpu / n:.3f}", f"{n / f_cpu:.2f}", "1.00", "1.00", "")
            # The work is CPU-bound, so clips per CPU-second is the per-core rate a free core would give.
            table.add_row("avcurr synth", str(workers), f"{s_wall:.2f}", f"{n / s_wall:.2f}",
                          f"{n / s_wall / workers:.2f}", f"{s_cpu / n:.3f}", f"{n / s_cpu:.2f}",
                          f"{s_wall / f_wall:.2f}", f"{s_cpu / f_cpu:.2f}",
                          "[green]yes[/]" if n / s_cpu >= 1 else "[red]no[/]")
    console = Console(width=200)
    console.print(table)
    console.print(f"load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
                  "(wall figures suffer on a busy machine; CPU figures much less)")

if __name__ == "__main__":
    main()
