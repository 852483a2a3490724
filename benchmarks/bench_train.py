"""Training throughput: the loader alone, the model step alone, and both together (`train_stage`).

    python benchmarks/bench_train.py --shards avcurr-work/quickstart/shards [--config tiny] [--steps 30]

The floor is the slower of "loader only" and "step only" measured in the same run: end-to-end
training cannot beat it, and its ratio to the floor says how much the two overlap or interfere.
Also prints the model's FLOPs per sample. Shards come from `python pipelines/quickstart.py`.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from avcurr.data import LoaderConfig, make_loader
from avcurr.models import CAVL, alignment_scores, contrastive_loss, flops_per_sample, preset
from avcurr.train import TrainConfig, train_stage


def loader_rate(shards: Path, dataset: str, batch: int, steps: int) -> float:
    stream = make_loader(LoaderConfig(root=shards, dataset=dataset, split="train", curricula=("c1",),
                                      batch_size=batch, epochs=None, drop_last=True))
    it = iter(stream)
    next(it)
    started = time.perf_counter()
    n = sum(len(b["key"]) for b in itertools.islice(it, steps))
    return n / (time.perf_counter() - started)


def step_rate(config: str, batch: int, steps: int) -> float:
    model = CAVL(preset(config))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    spec, image = torch.randn(batch, 1, 512, 432) - 2, torch.rand(batch, 3, 256, 256)

    def step():
        out = model(spec, image, 1, 2)
        loss, _ = contrastive_loss(alignment_scores(out.audio.centres, out.visual.centres), 1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - started)


def train_rate(shards: Path, dataset: str, config: str, batch: int, steps: int) -> float:
    with tempfile.TemporaryDirectory() as run:
        summary = train_stage(TrainConfig(run=Path(run), stage=1, shards=shards, dataset=dataset, model=config,
                                          batch_size=batch, max_steps=steps, ckpt_every=10 ** 9,
                                          log_every=10 ** 9, device="cpu"))
    return summary.samples_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=Path, default=Path("avcurr-work/quickstart/shards"),
                        help="Shard root with synth/train/c1 (made by `make quickstart`).")
    parser.add_argument("--dataset", default="synth")
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if not (args.shards / args.dataset / "train" / "c1").is_dir():
        parser.error(f"no c1 shards under {args.shards}/{args.dataset}/train: run `make quickstart` first "
                     "or pass --shards")
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console()
    rates = {"loader only (decode JPEG + .npy, batch)": loader_rate(args.shards, args.dataset, args.batch_size, args.steps),
             "model step only (random tensors)": step_rate(args.config, args.batch_size, args.steps)}
    floor = min(rates.values())
    rates["train_stage end to end (loader + step)"] = train_rate(args.shards, args.dataset, args.config,
                                                                 args.batch_size, args.steps)
    table = Table(title=f"Training throughput, '{args.config}' config, batch {args.batch_size}, "
                        f"{torch.get_num_threads()} CPU thread(s)")
    table.add_column("measurement")
    table.add_column("samples/s", justify="right")
    table.add_column("vs floor", justify="right")
    for name, rate in rates.items():
        table.add_row(name, f"{rate:.1f}", f"{rate / floor:.2f}x")
    table.caption = f"floor = slower of loader-only and step-only = {floor:.1f} samples/s"
    console.print(table)
    flops = Table(title="Forward FLOPs per sample (k_a = 1, k_v = 2)")
    for col in ("config", "audio net", "visual net", "FC + clustering", "total"):
        flops.add_column(col, justify="right")
    for name in ("tiny", "paper"):
        f = flops_per_sample(preset(name))
        flops.add_row(name, *(f"{f[k] / 1e9:.2f} G" for k in ("audio_net", "visual_net", "fc_and_clustering", "total")))
    console.print(flops)


if __name__ == "__main__":
    main()
