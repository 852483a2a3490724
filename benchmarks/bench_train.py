"""Training throughput of the curriculum model: the loader alone, the step alone, and both together
(the one training loop), in samples/s, achieved TFLOP/s and MFU (model FLOPs utilisation).

    python benchmarks/bench_train.py --config paper --batch-size 32          # a GPU: bf16, channels-last
    python benchmarks/bench_train.py --config paper --batch-size 32 --compile --workers 8
    python benchmarks/bench_train.py --config tiny --steps 6                 # a CPU, in seconds

FLOPs are counted, not estimated: forward and backward of one training sample on the `meta` device
with torch's FLOP counter (`avcurr.models.train_flops_per_sample`, stage c1's centres). MFU is the
achieved FLOP/s over the GPU's dense peak at the precision trained in (bf16 autocast on GPUs that
have it), from a small table of known GPUs; elsewhere it is "n/a (no peak known)".

The floor is the slower of "loader only" and "step only" measured in the same run: end-to-end
training cannot beat it, and its ratio to the floor says how much the two overlap or interfere.
The loader keeps up when its rate is at least the step's. Without --shards, the shards are made
on the spot (random frames and spectrograms in the shard format, enough to stream from).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from avcurr.data import LoaderConfig, make_loader
from avcurr.models import flops_per_sample, preset, train_flops_per_sample
from avcurr.train import TrainConfig, run_training
from avcurr.train.curriculum import CurriculumTask
from avcurr.train.device import autocast, pick_device

# Dense (no sparsity) peak TFLOP/s per GPU at the training precision; the first name found in the
# device's name wins (H200 before H100, A100 before A10). From NVIDIA's data sheets.
PEAK_TFLOPS = (
    ("H200", {"bf16": 989.0, "fp16": 989.0, "fp32": 67.0}),
    ("H100 PCIe", {"bf16": 756.0, "fp16": 756.0, "fp32": 51.0}),
    ("H100", {"bf16": 989.0, "fp16": 989.0, "fp32": 67.0}),          # SXM
    ("A100", {"bf16": 312.0, "fp16": 312.0, "fp32": 19.5}),
    ("L40S", {"bf16": 362.0, "fp16": 362.0, "fp32": 91.6}),
    ("A10", {"bf16": 125.0, "fp16": 125.0, "fp32": 31.2}),
)


def peak_tflops(device: torch.device, precision: str) -> float | None:
    """The dense peak of this GPU at `precision`, or None (a CPU, or a GPU not in the table)."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for known, peaks in PEAK_TFLOPS:
        if known in name:
            return peaks.get(precision)
    return None


def precision_of(device: torch.device) -> str:
    """What the training loop computes in on `device` (avcurr.train.device.autocast)."""
    if device.type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def make_shards(root: Path, samples: int, per_shard: int = 16) -> Path:
    """`samples` random samples in the shard format under root/bench/train/c1 (random frames as
    JPEG at build-shards' quality, float16 spectrograms)."""
    import io

    from PIL import Image

    from avcurr.shards.sample import JPEG_QUALITY
    from avcurr.shards.writer import ShardLimits, ShardWriter

    rng = np.random.default_rng(0)
    writer = ShardWriter(root, "bench", "train", "c1", 0, ShardLimits(max_samples=per_shard), with_spec=True)
    for i in range(samples):
        key = f"bench{i:06d}_0"
        members = {"json": json.dumps({"key": key, "n_sources": 1, "curriculum": "c1"}).encode()}
        spec = io.BytesIO()
        np.save(spec, (rng.standard_normal((512, 432)) - 2).astype(np.float16), allow_pickle=False)
        members["spec.npy"] = spec.getvalue()
        for f in range(3):  # smooth shapes plus grain: about the JPEG size of a real 256 x 256 frame (~35 KB)
            small = Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8)).resize((256, 256), Image.BILINEAR)
            grain = rng.normal(0, 16, (256, 256, 3))
            pixels = np.clip(np.asarray(small, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
            frame = io.BytesIO()
            Image.fromarray(pixels).save(frame, format="JPEG", quality=JPEG_QUALITY)
            members[f"f{f}.jpg"] = frame.getvalue()
        writer.add(key, members, 1)
    writer.close()
    return root


def loader_rate(shards: Path, dataset: str, batch: int, steps: int, workers: int, on_gpu: bool) -> float:
    """Samples/s of the training loader alone (uint8 frames, pinned, as the curriculum task reads
    on a GPU), after its first batch (worker start-up excluded)."""
    stream = make_loader(LoaderConfig(root=shards, dataset=dataset, split="train", curricula=("c1",),
                                      batch_size=batch, epochs=None, drop_last=True, num_workers=workers,
                                      pin_memory=on_gpu, image_dtype="uint8" if on_gpu else "float32"))
    it = iter(stream)
    next(it)
    started = time.perf_counter()
    n = 0
    for _ in range(steps):
        n += len(next(it)["key"])
    return n / (time.perf_counter() - started)


def _task(args, run: Path, device: torch.device, batches=None, **kw) -> tuple[CurriculumTask, TrainConfig]:
    cfg = TrainConfig(run=run, stage=1, model=args.config, batch_size=args.batch_size, device=str(device),
                      threads=args.threads, compile=args.compile, ckpt_every=10 ** 9, **kw)
    return CurriculumTask(cfg.validate(), batches), cfg


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_rate(args, device: torch.device, warmup: int, steps: int) -> float:
    """Samples/s of the training step alone (the loop's: autocast, channels-last, optional
    torch.compile, Adam), on one batch held in (pinned) host memory, after `warmup` steps."""
    with tempfile.TemporaryDirectory() as run:
        task, cfg = _task(args, Path(run), device, max_steps=1)
        torch.manual_seed(0)
        model = task.build_model().to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        trained = torch.compile(model) if args.compile else model
        optimiser = task.make_optimizer(model, task.default_lr())
        g = torch.Generator().manual_seed(0)
        b = args.batch_size
        batch = {"spec": torch.randn(b, 1, 512, 432, generator=g) - 2,
                 "image": torch.randint(0, 256, (b, 3, 256, 256), generator=g, dtype=torch.uint8),
                 "key": [str(i) for i in range(b)], "meta": [{}] * b}
        if device.type == "cuda":
            batch["spec"], batch["image"] = batch["spec"].pin_memory(), batch["image"].pin_memory()

        def step() -> None:
            with autocast(device):
                loss, _ = task.compute(trained, batch, device)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()

        for _ in range(warmup):
            step()
        _sync(device)
        started = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        return b * steps / (time.perf_counter() - started)


def train_rate(args, shards: Path, dataset: str, device: torch.device, warmup: int, steps: int) -> float:
    """Samples/s of the one training loop with the shard loader, between its metrics rows after
    `warmup` steps and at the end (the rows synchronise the device)."""
    with tempfile.TemporaryDirectory() as run:
        task, cfg = _task(args, Path(run), device, shards=shards, dataset=dataset, num_workers=args.workers,
                          max_steps=warmup + steps, log_every=warmup)
        run_training(task, cfg)
        rows = [json.loads(line) for line in (task.folder / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    return (last["samples"] - first["samples"]) / (last["seconds"] - first["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="tiny", help="model preset: paper or tiny (default: tiny)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="measured steps (rounded up to whole --warmup windows)")
    parser.add_argument("--warmup", type=int, default=3, help="steps before measuring (compilation, cuDNN's choice)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (inductor)")
    parser.add_argument("--workers", type=int, default=None,
                        help="loader processes (default: 0 on a CPU, min(8, CPUs / 2) with a GPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--shards", type=Path, default=None,
                        help="a shard root with <dataset>/train/c1 (default: random shards made here)")
    parser.add_argument("--dataset", default="synth")
    args = parser.parse_args()
    device = pick_device(args.device)
    if args.workers is None:
        args.workers = min(8, (os.cpu_count() or 2) // 2) if device.type == "cuda" else 0
    if args.threads:
        torch.set_num_threads(args.threads)
    warmup = max(args.warmup, 1)
    steps = math.ceil(max(args.steps, 1) / warmup) * warmup
    console = Console()
    with tempfile.TemporaryDirectory() as made:
        shards, dataset = args.shards, args.dataset
        if shards is None:
            shards, dataset = make_shards(Path(made), max(64, 4 * args.batch_size)), "bench"
        elif not (shards / dataset / "train" / "c1").is_dir():
            parser.error(f"no c1 shards under {shards}/{dataset}/train")
        on_gpu = device.type == "cuda"
        rates = {"loader only (decode JPEG + .npy, batch)":
                 loader_rate(shards, dataset, args.batch_size, steps, args.workers, on_gpu),
                 "step only (one batch from host memory)": step_rate(args, device, warmup, steps)}
        floor = min(rates.values())
        rates["one training loop (loader + step)"] = train_rate(args, shards, dataset, device, warmup, steps)

    task, _ = _task(args, Path(tempfile.gettempdir()), device, max_steps=1)
    flops = train_flops_per_sample(preset(args.config), task.k_a, task.k_v)
    precision = precision_of(device)
    peak = peak_tflops(device, precision)
    where = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} thread(s)"
    table = Table(title=f"Training throughput: '{args.config}' config, batch {args.batch_size}, {precision}"
                        f"{', channels-last' if on_gpu else ''}{', compiled' if args.compile else ''}, {where}")
    for col, justify in (("measurement", "left"), ("samples/s", "right"), ("vs floor", "right"),
                         ("TFLOP/s", "right"), ("MFU", "right")):
        table.add_column(col, justify=justify)
    for name, rate in rates.items():
        tflops = rate * flops / 1e12
        mfu = f"{100 * tflops / peak:.1f} %" if peak else "n/a (no peak known)"
        loader = name.startswith("loader")
        table.add_row(name, f"{rate:.1f}", f"{rate / floor:.2f}x", "" if loader else f"{tflops:.3f}",
                      "" if loader else mfu)
    loader, step = rates["loader only (decode JPEG + .npy, batch)"], rates["step only (one batch from host memory)"]
    table.caption = (f"floor = slower of loader-only and step-only = {floor:.1f} samples/s; the loader "
                     f"{'keeps up' if loader >= step else 'does not keep up'} ({loader / step:.2f}x the step's rate, "
                     f"{args.workers} worker(s)); training FLOPs per sample {flops / 1e9:.2f} G (forward "
                     f"{flops_per_sample(preset(args.config), task.k_a, task.k_v)['total'] / 1e9:.2f} G), "
                     f"peak {peak if peak else 'n/a'} TFLOP/s; {steps} steps after {warmup} warm-up")
    console.print(table)


if __name__ == "__main__":
    main()
