"""Benchmark the streaming loader against a bare tar-reading loop, measured in the same run.

Shards come from bench_shards.py's work folder (built there if missing) and are repeated to
`--samples` samples. The floor is a bare loop over the same tars with `tarfile` that decodes the
same members: `np.load` of `spec.npy` and PIL decoding of the chosen JPEG (f1 in eval mode, a
random frame in training), nothing else. Ours: `make_loader` into batched float32 tensors
(B x 1 x 512 x 432 and B x 3 x 256 x 256) with JSON metadata. Target: >= 0.8x the floor per core.

"Per core" is samples per CPU second (this process plus finished DataLoader workers), which a
shared machine's load does not distort; samples per wall second are shown beside it.

Run: .venv/bin/python benchmarks/bench_loader.py [--samples 960] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from rich.console import Console
from rich.table import Table

from avcurr.data import LoaderConfig, make_loader
from avcurr.shards.layout import shard_path, stats_path


def prepare(work: Path, samples: int) -> tuple[Path, list[Path]]:
    """A shard root holding `samples` samples, made by repeating bench_shards' shards."""
    source = work / "out1" / "bench" / "train" / "c1"
    if not source.is_dir():
        import subprocess
        import sys
        subprocess.run([sys.executable, str(Path(__file__).with_name("bench_shards.py")), "--repeats", "1",
                        "--work", str(work)], check=True)
    root = work / "loader"
    shutil.rmtree(root, ignore_errors=True)
    tars, count, number = [], 0, 0
    originals = sorted(source.glob("*.tar"))
    while count < samples:
        for original in originals:
            target = shard_path(root, "bench", "train", "c1", number)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(original, target)
            shutil.copy(stats_path(original), stats_path(target))
            count += json.loads(stats_path(original).read_text())["n_samples"]
            tars.append(target)
            number += 1
    return root, tars


def floor(tars: list[Path], training: bool) -> int:
    """Bare loop: read the tars, decode the spec npy and the one JPEG used."""
    rng, n = random.Random(0), 0
    for tar in tars:
        with tarfile.open(tar, mode="r|") as handle:
            frame = "f1.jpg"
            for info in handle:
                data = handle.extractfile(info).read()
                if info.name.endswith(".spec.npy"):
                    np.load(io.BytesIO(data), allow_pickle=False)
                    n += 1
                    frame = f"f{rng.randrange(3)}.jpg" if training else "f1.jpg"
                elif info.name.endswith(frame):
                    np.asarray(Image.open(io.BytesIO(data)))  # RGB JPEG -> H x W x 3 uint8
    return n


def ours(root: Path, training: bool, workers: int) -> int:
    config = LoaderConfig(root, "bench", "train", curricula=("c1",), batch_size=16, training=training,
                          shuffle_buffer=256 if training else 0, num_workers=workers)
    n = 0
    for batch in make_loader(config):
        assert batch["spec"].dtype == torch.float32 and batch["image"].shape[1:] == (3, 256, 256)
        n += len(batch["key"])
    return n


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(run) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, samples) of `run()`."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    n = run()
    return time.perf_counter() - wall, cpu_seconds() - cpu, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=960)
    parser.add_argument("--repeats", type=int, default=3, help="best of N, interleaved")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "avcurr-bench-shards")
    args = parser.parse_args()
    torch.set_num_threads(1)
    root, tars = prepare(args.work, args.samples)
    runs = {
        ("floor", "eval"): lambda: floor(tars, False),
        ("ours", "eval"): lambda: ours(root, False, 0),
        ("floor", "train"): lambda: floor(tars, True),
        ("ours", "train"): lambda: ours(root, True, 0),
        ("ours 2 workers", "train"): lambda: ours(root, True, 2),
    }
    best: dict = {}
    for _ in range(args.repeats):  # interleaved, so load from elsewhere hits every row alike
        for name, run in runs.items():
            wall, cpu, n = timed(run)
            old = best.get(name, (float("inf"), float("inf"), n))
            best[name] = (min(old[0], wall), min(old[1], cpu), n)
    table = Table(title=f"loader vs bare tar loop: {best[('floor', 'eval')][2]} samples, batch 16, "
                        f"best of {args.repeats}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for col in ("reader", "mode", "processes", "samples / wall s", "samples / CPU s", "per core vs floor", "target"):
        table.add_column(col, justify="left" if col in ("reader", "mode", "target") else "right")
    for (name, mode), (wall, cpu, n) in best.items():
        floor_wall, floor_cpu, floor_n = best[("floor", mode)]
        ratio = "" if name == "floor" else f"{(n / cpu) / (floor_n / floor_cpu):.2f}x"
        table.add_row(name, mode, "3" if "2 workers" in name else "1", f"{n / wall:.0f}", f"{n / cpu:.0f}",
                      ratio, "" if name == "floor" else ">= 0.8x")
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
