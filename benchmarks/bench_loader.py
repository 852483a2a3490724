"""Benchmark the webdataset loader against a bare tar loop, locally and over loopback HTTP, in one run.

Shards: `avcurr synth` clips built into shards once (in --work, reused), repeated to --samples
samples, with each curriculum's `_shards.json` (the wids index) beside them. The same folder is
served by a real HTTP server (`python -m http.server`, a separate process on 127.0.0.1) for the
remote rows.

Floor: a bare loop over the same tars with `tarfile` (from the file, or from the HTTP response)
that decodes only what a batch needs: `np.load` of `spec.npy` and PIL decoding of the chosen
JPEG (f1 in eval mode, a random frame in training). Ours: `make_loader` into batched float32
tensors (B x 1 x 512 x 432, B x 3 x 256 x 256 in [0, 1]) with key and JSON metadata.

"Per core" is samples per CPU second (this process plus its children: DataLoader workers, curl),
which the load of a shared machine distorts less than the clock; samples per wall second are
shown beside it. The HTTP server's own CPU is not counted (it is the remote side). Our rows are
measured as a training run uses the loader: an endless loader, one warm-up pass (workers
started, shuffle buffer filled, batch buffers made), then --passes passes; one row shows a
one-pass loader from a cold start instead (worker start included). Rows that earn a decision:
webdataset's tar reader against our ustar reader (tar_reader), and workers filling fresh
shared-memory batches (torch's way) against reused buffers (avcurr/data/pool.py).

Targets: ours >= 0.9x the floor in-process, >= 0.8x per core with 2 DataLoader workers.

Run: .venv/bin/python benchmarks/bench_loader.py [--samples 640] [--passes 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from PIL import Image
from rich.console import Console
from rich.table import Table

import avcurr.data.loader as loader_module
from avcurr.data import LoaderConfig, make_loader
from avcurr.shards.layout import finished_shards, read_stats, shard_path, stats_path
from avcurr.shards.publish import write_shard_indexes

BATCH = 16


def build_source(work: Path, clips: int) -> Path:
    """Shards of `clips` synth clips (built once): the folder of c1's tars."""
    from avcurr.shards.build import BuildConfig, build_shards
    from avcurr.shards.writer import ShardLimits
    from avcurr.synth import SynthConfig, synthesize

    out = work / "source"
    if finished_shards(out, "bench", "train", ["c1"]):
        return out / "bench" / "train" / "c1"
    media = work / "synth" / "media"
    if not media.is_dir() or len(list(media.glob("*.mp4"))) < clips:
        synthesize(SynthConfig(out=work / "synth", clips=clips, seed=7, max_sources=2, workers=os.cpu_count() or 1))
    paths = sorted(media.glob("*.mp4"))[:clips]
    rows = [{"ytid": p.stem.rsplit("_", 1)[0], "start": 0.0, "end": 10.0, "labels": ["/m/x"], "sources": ["/m/x"],
             "n_sources": 1, "curriculum": "c1", "path": str(p)} for p in paths]
    pq.write_table(pa.Table.from_pylist(rows), work / "manifest.parquet")
    build_shards(BuildConfig(manifest=work / "manifest.parquet", out=out, dataset="bench", split="train",
                             workers=os.cpu_count(), limits=ShardLimits(max_samples=16)))
    return out / "bench" / "train" / "c1"


def prepare(work: Path, samples: int) -> tuple[Path, list[Path]]:
    """A shard root holding at least `samples` samples, made by repeating the source shards."""
    source = build_source(work, clips=48)
    root = work / "loader"
    shutil.rmtree(root, ignore_errors=True)
    tars, count, number = [], 0, 0
    originals = sorted(source.glob("*.tar"))
    while count < samples:
        for original in originals:
            target = shard_path(root, "bench", "train", "c1", number)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(original, target)
            stats_path(target).parent.mkdir(exist_ok=True)
            shutil.copy(stats_path(original), stats_path(target))
            count += read_stats(original)["n_samples"]
            tars.append(target)
            number += 1
    write_shard_indexes(root, "bench", "train")
    return root, tars


class Server:
    """`python -m http.server` on 127.0.0.1 serving `root` (a separate process)."""

    def __init__(self, root: Path):
        self.proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                                      "--directory", str(root)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        line = self.proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        self.url = f"http://127.0.0.1:{line.split(' port ')[1].split()[0]}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def cpu_seconds(exclude: frozenset[int] = frozenset()) -> float:
    """CPU seconds of this process, its finished children (curl, workers that exited) and its live
    children (DataLoader workers) except `exclude` (the HTTP server)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            if int(pid) in exclude:
                continue
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # exited in between: counted by RUSAGE_CHILDREN once waited for
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def floor(sources: list, training: bool, passes: int, exclude: frozenset[int]) -> tuple[float, float, int]:
    """Bare loop: read the tars (paths or HTTP URLs, both through a 1 MB buffer as ours are),
    decode the spec npy and the one JPEG used. (wall s, CPU s, samples)."""
    rng, n = random.Random(0), 0
    wall, cpu = time.perf_counter(), cpu_seconds(exclude)
    for source in sources * passes:
        raw = urllib.request.urlopen(source) if isinstance(source, str) else open(source, "rb", buffering=0)
        with io.BufferedReader(raw, 1 << 20) as stream, tarfile.open(fileobj=stream, mode="r|") as handle:
            frame = "f1.jpg"
            for info in handle:
                data = handle.extractfile(info).read()
                if info.name.endswith(".spec.npy"):
                    np.load(io.BytesIO(data), allow_pickle=False)
                    n += 1
                    frame = f"f{rng.randrange(3)}.jpg" if training else "f1.jpg"
                elif info.name.endswith(frame):
                    np.asarray(Image.open(io.BytesIO(data)))  # RGB JPEG -> H x W x 3 uint8
    return time.perf_counter() - wall, cpu_seconds(exclude) - cpu, n


def ours(root, training: bool, passes: int, per_pass: int, exclude: frozenset[int], workers: int = 0,
         reader: str = "ustar", reuse: bool = True, cold: bool = False) -> tuple[float, float, int]:
    """make_loader in steady state, as a training run uses it: an endless loader, one pass to warm
    up (workers started, shuffle buffer full, batch buffers made), then `passes` passes measured.
    With `cold`, `passes` one-pass loaders measured from their start (workers started each time)."""
    config = LoaderConfig(root, "bench", "train", curricula=("c1",), batch_size=BATCH, training=training,
                          shuffle_buffer=256 if training else 0, num_workers=workers, tar_reader=reader,
                          epochs=1 if cold else None, drop_last=not cold)
    keep, loader_module.KEEP_BUFFERS = loader_module.KEEP_BUFFERS, loader_module.KEEP_BUFFERS if reuse else 0
    try:
        if cold:
            wall, cpu = time.perf_counter(), cpu_seconds(exclude)
            n = sum(len(batch["key"]) for _ in range(passes) for batch in make_loader(config))
            return time.perf_counter() - wall, cpu_seconds(exclude) - cpu, n
        batches = iter(make_loader(config))
        for _ in range(per_pass // BATCH):
            next(batches)
        wall, cpu, n = time.perf_counter(), cpu_seconds(exclude), 0
        for _ in range(passes * per_pass // BATCH):
            batch = next(batches)
            assert batch["spec"].dtype == torch.float32 and batch["image"].shape[1:] == (3, 256, 256)
            n += len(batch["key"])
        result = time.perf_counter() - wall, cpu_seconds(exclude) - cpu, n
        del batch, batches  # stops the workers
        return result
    finally:
        loader_module.KEEP_BUFFERS = keep


FLOOR = "floor: tarfile loop"
ROWS = [  # (name, mode, processes, target, local only)
    (FLOOR, "eval", "1", "", False),
    ("ours", "eval", "1", ">= 0.9x", False),
    (FLOOR, "train", "1", "", False),
    ("ours", "train", "1", ">= 0.9x", False),
    ("ours, tar_reader=webdataset", "train", "1", "", True),
    ("ours, 2 workers", "train", "3", ">= 0.8x", False),
    ("ours, 2 workers, fresh buffers (torch's way)", "train", "3", "", True),
    ("ours, 2 workers, one pass from a cold start", "train", "3", "", True),
    ("ours, root pipe:curl -s URL", "train", "1 + curl", "", False),
]


def runs_for(root, sources: list, passes: int, per_pass: int, where: str, server_url: str,
             exclude: frozenset[int]) -> dict:
    def mine(**kw):
        return lambda: ours(root, passes=passes, per_pass=per_pass, exclude=exclude, **kw)

    runs = {
        (FLOOR, "eval"): lambda: floor(sources, False, passes, exclude),
        ("ours", "eval"): mine(training=False),
        (FLOOR, "train"): lambda: floor(sources, True, passes, exclude),
        ("ours", "train"): mine(training=True),
        ("ours, tar_reader=webdataset", "train"): mine(training=True, reader="webdataset"),
        ("ours, 2 workers", "train"): mine(training=True, workers=2),
        ("ours, 2 workers, fresh buffers (torch's way)", "train"): mine(training=True, workers=2, reuse=False),
        ("ours, 2 workers, one pass from a cold start", "train"): mine(training=True, workers=2, cold=True),
        ("ours, root pipe:curl -s URL", "train"): lambda: ours(f"pipe:curl -s -f {server_url}", True, passes,
                                                               per_pass, exclude),
    }
    local_only = {(name, mode) for name, mode, _, _, only in ROWS if only}
    if where == "http":
        return {k: v for k, v in runs.items() if k not in local_only}
    runs.pop(("ours, root pipe:curl -s URL", "train"))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=640)
    parser.add_argument("--passes", type=int, default=3, help="epochs per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="best of N, interleaved")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "avcurr-bench-loader")
    args = parser.parse_args()
    torch.set_num_threads(1)
    root, tars = prepare(args.work, args.samples)
    server = Server(root)
    best: dict = {}
    loads = [os.getloadavg()[0]]
    try:
        urls = [f"{server.url}/{t.relative_to(root).as_posix()}" for t in tars]
        per_pass = sum(read_stats(t)["n_samples"] for t in tars)
        exclude = frozenset({server.proc.pid})
        sources = {"local": runs_for(root, tars, args.passes, per_pass, "local", server.url, exclude),
                   "http": runs_for(server.url, urls, args.passes, per_pass, "http", server.url, exclude)}
        for _ in range(args.repeats):  # interleaved, so load from elsewhere hits every row alike
            for where, runs in sources.items():
                for name, run in runs.items():
                    wall, cpu, n = run()
                    old = best.get((where, *name), (float("inf"), float("inf"), n))
                    best[(where, *name)] = (min(old[0], wall), min(old[1], cpu), n)
                    loads.append(os.getloadavg()[0])
    finally:
        server.close()
    n = best[("local", FLOOR, "eval")][2]
    table = Table(title=f"loader vs bare tar loop: {n // args.passes} samples x {args.passes} passes, batch {BATCH}, "
                        f"best of {args.repeats}; {os.cpu_count()} cores, load average {min(loads):.1f} to "
                        f"{max(loads):.1f}")
    for col in ("reader", "mode", "procs", "local /wall s", "local /CPU s", "local per core vs floor",
                "http /wall s", "http /CPU s", "http per core vs floor", "target"):
        table.add_column(col, justify="left" if col in ("reader", "mode", "target") else "right")
    for name, mode, procs, target, _ in ROWS:
        cells = []
        for where in ("local", "http"):
            if (where, name, mode) not in best:
                cells += ["", "", ""]
                continue
            wall, cpu, count = best[(where, name, mode)]
            _, floor_cpu, floor_n = best[(where, FLOOR, mode)]
            ratio = "" if name == FLOOR else f"{(count / cpu) / (floor_n / floor_cpu):.2f}x"
            cells += [f"{count / wall:.0f}", f"{count / cpu:.0f}", ratio]
        table.add_row(name, mode, procs, *cells, target)
    Console(width=200).print(table)
    print("Samples per second: /wall s on the clock, /CPU s per CPU second of this process and its children "
          "(DataLoader workers, curl); the HTTP server's CPU is not counted. Ours are measured in steady state "
          "after one warm-up pass (as a training run uses the loader), except the cold-start row.")


if __name__ == "__main__":
    main()
