"""Benchmark build-shards against ffmpeg alone, measured in the same run.

Clips come from `avcurr synth` (default 60 clips of 10 s, 256x256 at 8 fps, H.264/AAC). The floor
runs the very ffmpeg command our decoder runs (audio as f32le to a pipe, the three seeked frames as
raw RGB), one process at a time and two at a time, and nothing else. Our stage is the whole
`build_shards` (decode, quantise, FLAC, 512x432 spectrogram, three JPEGs, tar, stats, index).
Targets: ours <= 1.25x the floor per clip; 2 workers >= 1.7x one worker.

Both wall time and CPU time (this process plus every finished child: pool workers and ffmpeg) are
reported: on a shared machine the wall clock measures the neighbours as much as the code, while
CPU seconds per clip stay comparable, so the cost ratio is given in both.

Run: .venv/bin/python benchmarks/bench_shards.py [--clips 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from avcurr.media.decode import CLIP_SECONDS, scratch_dir, clip_args, frame_times
from avcurr.media.ffmpeg import run_tool
from avcurr.shards.build import BuildConfig, build_shards


def make_clips(folder: Path, clips: int) -> list[Path]:
    """Synthetic clips (reused when already there)."""
    from avcurr.synth import SynthConfig, synthesize

    media = folder / "media"
    if not media.is_dir() or len(list(media.glob("*.mp4"))) < clips:
        synthesize(SynthConfig(out=folder, clips=clips, seed=7, workers=os.cpu_count() or 1))
    return sorted(media.glob("*.mp4"))[:clips]


def write_manifest(paths: list[Path], out: Path) -> Path:
    rows = [{"ytid": p.stem.rsplit("_", 1)[0], "start": 0.0, "end": 10.0, "labels": ["/m/x"], "sources": ["/m/x"],
             "n_sources": 1 + i % 2, "curriculum": f"c{1 + i % 2}", "path": str(p)} for i, p in enumerate(paths)]
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out


def floor_one(path: Path) -> None:
    """ffmpeg alone: the same decode command, output read and dropped."""
    run_tool(["ffmpeg", "-nostdin", "-v", "error",
              *clip_args(path, 0.0, frame_times(0.0, min(10.0, CLIP_SECONDS)), scratch_dir())], what="floor")


def cpu_seconds() -> float:
    """User + system time of this process and of all its finished (waited-for) descendants."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measured(run) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `run()`."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    run()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def floor_run(paths: list[Path], parallel: int) -> None:
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(floor_one, paths))


def ours_run(manifest: Path, out: Path, workers: int) -> None:
    shutil.rmtree(out, ignore_errors=True)
    summary = build_shards(BuildConfig(manifest=manifest, out=out, dataset="bench", split="train",
                                       workers=workers))
    if summary.failures:
        raise SystemExit(f"benchmark clips failed: {summary.failures[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2, help="best of N for every measurement")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "avcurr-bench-shards")
    args = parser.parse_args()
    console = Console(width=130)
    paths = make_clips(args.work / "synth", args.clips)
    manifest = write_manifest(paths, args.work / "manifest.parquet")
    n = len(paths)
    runs = {"floor1": lambda: floor_run(paths, 1), "ours1": lambda: ours_run(manifest, args.work / "out1", 1),
            "floor2": lambda: floor_run(paths, 2), "ours2": lambda: ours_run(manifest, args.work / "out2", 2)}
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for _ in range(args.repeats):  # interleaved, so load from elsewhere hits every row alike
        for name, run in runs.items():
            w, c = measured(run)
            wall[name], cpu[name] = min(wall.get(name, float("inf")), w), min(cpu.get(name, float("inf")), c)
    table = Table(title=f"build-shards vs ffmpeg alone: {n} synth clips of 10 s (256x256, 8 fps), "
                        f"best of {args.repeats}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for col in ("what", "wall s", "wall ms/clip", "clips/s", "wall ratio", "CPU ms/clip", "CPU ratio", "target"):
        table.add_column(col, justify="left" if col in ("what", "target") else "right")
    for name, label in (("floor1", "floor: ffmpeg alone, 1 process"), ("ours1", "build-shards, 1 worker"),
                        ("floor2", "floor: ffmpeg alone, 2 processes"), ("ours2", "build-shards, 2 workers")):
        floor = "floor" + name[-1]
        ours = name.startswith("ours")
        table.add_row(label, f"{wall[name]:.2f}", f"{1000 * wall[name] / n:.1f}", f"{n / wall[name]:.2f}",
                      f"{wall[name] / wall[floor]:.2f}x" if ours else "", f"{1000 * cpu[name] / n:.1f}",
                      f"{cpu[name] / cpu[floor]:.2f}x" if ours else "", "<= 1.25x floor" if ours else "")
    table.add_row("speed-up, 2 workers vs 1", "", "", f"{wall['ours1'] / wall['ours2']:.2f}x", "", "", "", ">= 1.7x")
    table.add_row("same for the floor (what the machine allows)", "", "", f"{wall['floor1'] / wall['floor2']:.2f}x",
                  "", "", "", "")
    console.print(table)


if __name__ == "__main__":
    main()
