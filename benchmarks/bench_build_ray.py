"""Clips per second of `build-shards --engine ray` on a local Ray instance beside the local process
pool, on the same manifest, the same number of CPUs, in one run.

The floor is the local engine with as many worker processes as Ray gets CPUs (`--cpus`, default
2): Ray runs one task per shard group on one CPU each, so on one machine it can at best match the
pool; what it buys is the same build spread over many machines. The Ray instance is started
before the clock runs (its start-up is shown on its own row). The two builds must give the same
tars, byte for byte (checked and shown). Wall time only: Ray's workers are not children of this
process, so their CPU time is not counted here; the load average is printed with the table.

Run: .venv/bin/python benchmarks/bench_build_ray.py [--clips 40] [--cpus 2] [--max-samples 5] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.writer import ShardLimits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_shards import synth_clips, write_manifest  # noqa: E402 - the same clip set as bench_shards


def build(manifest: Path, out: Path, engine: str, workers: int, max_samples: int) -> float:
    """Wall seconds of one build from scratch."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    summary = build_shards(BuildConfig(manifest=manifest, out=out, dataset="bench", split="train", workers=workers,
                                       engine=engine, limits=ShardLimits(max_samples=max_samples)))
    seconds = time.perf_counter() - started
    if summary.failures:
        raise SystemExit(f"benchmark clips failed: {summary.failures[:3]}")
    return seconds


def same_tars(a: Path, b: Path) -> bool:
    names = sorted(p.relative_to(a) for p in a.rglob("*.tar"))
    return names == sorted(p.relative_to(b) for p in b.rglob("*.tar")) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40, help="synth clips (256x256, 8 fps, 10 s)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs for Ray, worker processes for the pool")
    parser.add_argument("--max-samples", type=int, default=5, help="clips per shard (Ray: one task per shard)")
    parser.add_argument("--repeats", type=int, default=2, help="best of N for every measurement")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "avcurr-bench-shards")
    args = parser.parse_args()
    import ray

    console = Console(width=130)
    load_before = os.getloadavg()[0]
    clips = synth_clips(args.work / f"synth-{args.clips}", args.clips)
    manifest = write_manifest(clips, args.work / "ray-synth.parquet")
    started = time.perf_counter()
    ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, logging_level="WARNING")
    ray_start = time.perf_counter() - started
    outs = {"local": args.work / "out-local", "ray": args.work / "out-ray"}
    best = {"local": float("inf"), "ray": float("inf")}
    try:
        for _ in range(args.repeats):  # interleaved, so load from elsewhere hits both alike
            for engine in best:
                best[engine] = min(best[engine], build(manifest, outs[engine], engine, args.cpus, args.max_samples))
    finally:
        ray.shutdown()
    n = len(clips)
    groups = -(-n // 2 // args.max_samples) * 2  # the manifest alternates c1 and c2
    table = Table(title=f"build-shards: Ray engine beside the local pool, {n} synth clips, {groups} shard groups "
                        f"of <= {args.max_samples}, {args.cpus} CPUs, best of {args.repeats}")
    for col in ("engine", "wall s", "clips/s", "vs local pool"):
        table.add_column(col, justify="left" if col == "engine" else "right")
    floor = n / best["local"]
    table.add_row(f"local pool, {args.cpus} worker processes (floor)", f"{best['local']:.2f}", f"{floor:.2f}", "1.00x")
    rate = n / best["ray"]
    table.add_row(f"ray, local instance of {args.cpus} CPUs", f"{best['ray']:.2f}", f"{rate:.2f}", f"{rate / floor:.2f}x")
    table.add_row("ray start-up (once, not in the rows above)", f"{ray_start:.2f}", "", "")
    table.caption = f"same tars byte for byte: {'yes' if same_tars(outs['local'], outs['ray']) else 'NO'}"
    console.print(table)
    console.print(f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
                  f"{os.cpu_count()} cores on this machine")


if __name__ == "__main__":
    main()
