"""Benchmark the build-shards stage against two floors measured in the same run.

Floors, per clip: (a) today's ffmpeg-CLI decode, the one process per clip the stage used to start
(audio as f32le to a pipe plus the three seeked frames as raw RGB; its argument builder lives here
now, for this comparison only), and (b) PyAV decoding alone (`decode_clip`: audio resampled to mono
11025 Hz and the three 256x256 frames, nothing encoded). The stage is the whole `build_shards`
(decode, quantise, FLAC, 512x432 spectrogram, three JPEGs, hashes, tar, stats, index, card).

Two clip sets: synth clips (`avcurr synth`: 256x256, 8 fps, H.264/AAC) and 640x360 25 fps H.264 clips
with a 10 s GOP generated with ffmpeg (the case where a seek per frame decodes the same GOP again).
Targets: stage <= 0.5x the CLI floor per clip on synth clips, <= 1.2x the PyAV-decode floor; 2 workers
>= 1.8x one. Wall and CPU time are both shown: on a shared machine the wall clock measures the
neighbours too, CPU seconds per clip stay comparable.

Run: .venv/bin/python benchmarks/bench_shards.py [--clips 40] [--hd-clips 12] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from avcurr.audio.spectrogram import SAMPLE_RATE
from avcurr.media.decode import CLIP_SECONDS, decode_clip, frame_times
from avcurr.shards.build import BuildConfig, build_shards

FRAME = 256


def cli_args(path: Path, start: float, times, scratch: Path) -> list[str]:
    """The ffmpeg CLI decode build-shards used before PyAV (kept for this floor only): audio as f32le
    to stdout, each frame from its own input seeked with `-ss`, scaled, written as raw RGB."""
    args = ["-threads", "1", "-ss", f"{start:.3f}", "-t", f"{CLIP_SECONDS + 0.05:.3f}", "-i", str(path)]
    for t in times:
        args += ["-threads", "1", "-ss", f"{t:.3f}", "-t", "1", "-i", str(path)]
    graph = ";".join(f"[{1 + i}:v:0]scale={FRAME}:{FRAME}:flags=bicubic,format=rgb24[f{i}]" for i in range(3))
    args += ["-filter_complex", graph]
    for i in range(3):
        args += ["-map", f"[f{i}]", "-frames:v", "1", "-f", "rawvideo", "-y", str(scratch / f"f{i}.rgb")]
    return [*args, "-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]


def cli_decode(path: Path) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-cli-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None))
    try:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error",
                        *cli_args(path, 0.0, frame_times(0.0, CLIP_SECONDS), scratch)], capture_output=True, check=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def synth_clips(folder: Path, clips: int) -> list[Path]:
    from avcurr.synth import SynthConfig, synthesize

    media = folder / "media"
    if not media.is_dir() or len(list(media.glob("*.mp4"))) < clips:
        synthesize(SynthConfig(out=folder, clips=clips, seed=7, workers=os.cpu_count() or 1))
    return sorted(media.glob("*.mp4"))[:clips]


def hd_clips(folder: Path, clips: int) -> list[Path]:
    """640x360 25 fps H.264 (10 s GOP), stereo 44.1 kHz AAC, 10.5 s; one file copied under many names."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "source.mp4"
    if not source.is_file():
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=640x360:rate=25:duration=10.5", "-f", "lavfi", "-i",
                        "sine=frequency=440:sample_rate=44100:duration=10.5", "-ac", "2", "-c:v", "libx264",
                        "-g", "250", "-preset", "medium", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                        str(source)], check=True)
    paths = []
    for i in range(clips):
        path = folder / f"hd{i:09d}_0.mp4"
        if not path.exists():
            shutil.copyfile(source, path)  # a copy, not a link: each clip is its own file to read
        paths.append(path)
    return paths


def write_manifest(paths: list[Path], out: Path) -> Path:
    rows = [{"ytid": p.stem.rsplit("_", 1)[0], "start": 0.0, "end": 10.0, "labels": ["/m/x"], "sources": ["/m/x"],
             "n_sources": 1 + i % 2, "curriculum": f"c{1 + i % 2}", "path": str(p)} for i, p in enumerate(paths)]
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out


def cpu_seconds() -> float:
    """User + system time of this process and of all its finished (waited-for) descendants."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def parallel(function, paths, n: int) -> None:
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(function, paths))


def stage(manifest: Path, out: Path, workers: int) -> None:
    shutil.rmtree(out, ignore_errors=True)
    summary = build_shards(BuildConfig(manifest=manifest, out=out, dataset="bench", split="train", workers=workers))
    if summary.failures:
        raise SystemExit(f"benchmark clips failed: {summary.failures[:3]}")


def pyav_alone(paths: list[Path], workers: int) -> None:
    if workers == 1:
        for p in paths:
            decode_clip(p, 0.0, 10.0)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.starmap(decode_clip, [(p, 0.0, 10.0) for p in paths], chunksize=1)


def measure(runs: dict, repeats: int) -> tuple[dict, dict]:
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for _ in range(repeats):  # interleaved, so load from elsewhere hits every row alike
        for name, run in runs.items():
            w, c = time.perf_counter(), cpu_seconds()
            run()
            w, c = time.perf_counter() - w, cpu_seconds() - c
            wall[name], cpu[name] = min(wall.get(name, float("inf")), w), min(cpu.get(name, float("inf")), c)
    return wall, cpu


def rows_for(label: str, paths: list[Path], manifest: Path, work: Path, repeats: int, table: Table,
             synth: bool) -> None:
    n = len(paths)
    runs = {"cli": lambda: [cli_decode(p) for p in paths], "pyav": lambda: pyav_alone(paths, 1),
            "stage1": lambda: stage(manifest, work / "out1", 1),
            "pyav2": lambda: pyav_alone(paths, 2), "stage2": lambda: stage(manifest, work / "out2", 2)}
    wall, cpu = measure(runs, repeats)
    ms = {k: 1000 * v / n for k, v in wall.items()}
    cpu_ms = {k: 1000 * v / n for k, v in cpu.items()}
    target_cli, target_av = ("<= 0.5x", "<= 1.2x") if synth else ("", "<= 1.2x")
    table.add_row(label, "(a) ffmpeg CLI decode, 1 process at a time", f"{ms['cli']:.1f}", f"{cpu_ms['cli']:.1f}", "", "", "")
    table.add_row("", "(b) PyAV decode alone, 1 process", f"{ms['pyav']:.1f}", f"{cpu_ms['pyav']:.1f}",
                  f"{ms['pyav'] / ms['cli']:.2f}x", "", "")
    targets = ", ".join(f"{target} ({floor})" for target, floor in ((target_cli, "a"), (target_av, "b")) if target)
    table.add_row("", "build-shards, 1 worker", f"{ms['stage1']:.1f}", f"{cpu_ms['stage1']:.1f}",
                  f"{ms['stage1'] / ms['cli']:.2f}x", f"{ms['stage1'] / ms['pyav']:.2f}x", targets)
    table.add_row("", "build-shards, 2 workers", f"{ms['stage2']:.1f}", f"{cpu_ms['stage2']:.1f}",
                  f"{ms['stage2'] / ms['cli']:.2f}x", f"{ms['stage2'] / (ms['pyav2'] or 1):.2f}x (b, 2 proc)", "")
    table.add_row("", "speed-up of 2 workers over 1 (build-shards)", f"{ms['stage1'] / ms['stage2']:.2f}x", "", "", "",
                  ">= 1.8x")
    table.add_row("", "same for PyAV decode alone (what the machine allows)", f"{ms['pyav'] / ms['pyav2']:.2f}x",
                  "", "", "", "", end_section=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40, help="synth clips")
    parser.add_argument("--hd-clips", type=int, default=12, help="640x360 25 fps clips")
    parser.add_argument("--repeats", type=int, default=2, help="best of N for every measurement")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "avcurr-bench-shards")
    args = parser.parse_args()
    console = Console(width=150)
    load_before = os.getloadavg()[0]
    synth = synth_clips(args.work / f"synth-{args.clips}", args.clips)
    hd = hd_clips(args.work / "hd", args.hd_clips)
    table = Table(title=f"build-shards per clip against its floors, best of {args.repeats}, "
                        f"{os.cpu_count()} cores")
    for col in ("clips", "what", "wall ms/clip", "CPU ms/clip", "vs (a) CLI", "vs (b) PyAV", "target"):
        table.add_column(col, justify="left" if col in ("clips", "what", "target") else "right")
    rows_for(f"{len(synth)} synth (256x256, 8 fps, 10 s)", synth, write_manifest(synth, args.work / "synth.parquet"),
             args.work, args.repeats, table, synth=True)
    rows_for(f"{len(hd)} 640x360 25 fps, 10 s GOP", hd, write_manifest(hd, args.work / "hd.parquet"),
             args.work, args.repeats, table, synth=False)
    console.print(table)
    console.print(f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
