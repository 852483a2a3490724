"""`avcurr train` and `avcurr localize`: thin wrappers around avcurr.train and avcurr.localize."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from avcurr.cli.common import console, interruptible, plain, reported_errors, say
from avcurr.cli.training import (CkptEvery, Compile, Device, Epochs, LogEvery, MaxMinutes, MaxSteps, Seed, Threads,
                                 Workers, loop_kwargs, rank_line, training_table)
from avcurr.errors import AvcurrError


def parse_stage(stage: str) -> int:
    """"c2" or "2" -> 2."""
    match = re.fullmatch(r"c?([1-9])", stage.strip().lower())
    if not match:
        raise AvcurrError(f"--stage must look like c1, c2, c3 or c4, got {stage!r}")
    return int(match.group(1))


def train_command(
    stage: Annotated[str, typer.Option(help="Curriculum stage c1..c4: streams the c<k> shards, k_a = k audio centres.")],
    shards: Annotated[str, typer.Option(help="Shard root holding <dataset>/<split>/c<k>/*.tar: a folder or a URL "
                                             "(http://..., pipe:...).")],
    run: Annotated[Path, typer.Option("--run", "--run-dir", help="Run folder: writes <run>/c<k>/ and starts from "
                                      "<run>/c<k-1>/checkpoint.pt when present. Under torchrun write --run-dir: "
                                      "torchrun's own parser takes --run for its --run-path.")],
    config: Annotated[str, typer.Option(help="Model configuration: 'paper' (SPEC §5 sizes) or 'tiny' (CPU demos).")] = "paper",
    dataset: Annotated[str, typer.Option(help="Dataset name inside the shard root.")] = "audioset",
    split: Annotated[str, typer.Option(help="Split inside the dataset.")] = "train",
    batch_size: Annotated[int, typer.Option(help="Pairs per batch, per process under torchrun (global batch = this x "
                                                 "the number of processes); the other pairs of the batch are the "
                                                 "negatives.")] = 16,
    alignment: Annotated[str, typer.Option(help="source: cluster centres aligned (the paper's model); scene: globally "
                                                "pooled embeddings compared (its Table 1 baseline).")] = "source",
    lr: Annotated[Optional[float], typer.Option(help="Learning rate (default: base 1e-4, tiny 1e-3, times 0.1 ** (k - 1)).")] = None,
    init: Annotated[Optional[Path], typer.Option(help="Start from this checkpoint's weights instead of stage k-1's.")] = None,
    train_extra_visual: Annotated[Optional[int], typer.Option(help="Visual centres beyond the sources while training: "
                                                                   "k_v = k + M (default: the default rule's; the paper: 1).")] = None,
    readout: Annotated[Optional[str], typer.Option(help="Localization readout recorded for evaluation: assignment (eq. 7), "
                                                        "distance or cross (default: the default rule's).")] = None,
    extra_visual: Annotated[Optional[int], typer.Option(help="Visual centres beyond the sources when localizing, "
                                                             "recorded for evaluation (default: the default rule's).")] = None,
    smooth: Annotated[Optional[int], typer.Option(help="Localization neighbourhood (odd number of feature cells) recorded "
                                                       "for evaluation (default: the default rule's).")] = None,
    max_steps: MaxSteps = None, epochs: Epochs = None, max_minutes: MaxMinutes = None, device: Device = "auto",
    workers: Workers = 0, threads: Threads = None, seed: Seed = 0, ckpt_every: CkptEvery = 200,
    log_every: LogEvery = 10,
    global_negatives: Annotated[bool, typer.Option("--global-negatives", help="Under torchrun: every process scores "
                                                   "its pairs against the whole global batch (embeddings gathered "
                                                   "from every process), not only its own batch.")] = False,
    compile: Compile = False,
) -> None:
    """Train one curriculum stage of the audiovisual model; rerun the same command to resume.

    Several processes: torchrun --nproc_per_node N -m avcurr train ... (add --nnodes and a
    rendezvous for several machines; pipelines/slurm/train_multinode.sbatch). Each process takes
    one GPU (gloo on CPUs) and its own part of the shards; rank 0 writes the run folder. The global
    batch is --batch-size x N; --lr is not scaled with it (pass a larger one yourself if you want
    that), and a step of N processes is one step of the global batch.
    """
    from avcurr.train import TrainConfig, train_stage

    with reported_errors(), interruptible("rerun the same command to resume from the last checkpoint"):
        k = parse_stage(stage)
        cfg = TrainConfig(run=run, stage=k, shards=shards, dataset=dataset, split=split, model=config,
                          batch_size=batch_size, alignment=alignment, lr=lr, init=init,
                          train_extra_visual=train_extra_visual, readout=readout, extra_visual=extra_visual,
                          smooth=smooth, global_negatives=global_negatives,
                          **loop_kwargs(max_steps, epochs, max_minutes, device, workers, threads, seed,
                                        ckpt_every, log_every, compile))
        summary = train_stage(cfg, console=console)
    line = rank_line(summary)
    if line is not None:  # one table, from rank 0; the other ranks say they agree
        say(line)
        return
    from avcurr.models import flops_per_sample, preset

    rule = cfg.localization_rule()
    gflops = flops_per_sample(preset(config), k, rule.training_visual_centres(k))["total"] / 1e9
    console.print(training_table(summary, f"Stage c{k} ({alignment}-level alignment)",
                                 (("localization rule", rule.description), ("forward GFLOPs / sample", f"{gflops:.2f}"))))


def localize_command(
    checkpoint: Annotated[Path, typer.Option(help="Trained model checkpoint (checkpoint.pt).")],
    image: Annotated[Path, typer.Option(help="The frame (any image file; resized to 256 x 256).")],
    audio: Annotated[Path, typer.Option(help="The soundtrack (any file ffmpeg reads; first 10 s).")],
    out: Annotated[Path, typer.Option(help="Output PNG: the frame and the heatmap over it.")],
    sources: Annotated[int, typer.Option(help="Sounding objects to look for (k_a).")] = 1,
    readout: Annotated[Optional[str], typer.Option(help="assignment (eq. 7), distance or cross (default: the checkpoint's "
                                                        "rule; eq. 7 when it records none).")] = None,
    extra_visual: Annotated[Optional[int], typer.Option(help="Visual centres beyond the sources, k_v = k_a + M "
                                                             "(default: the checkpoint's; 1 when it records none).")] = None,
    smooth: Annotated[Optional[int], typer.Option(help="Neighbourhood (odd number of feature cells) each location's "
                                                       "score is averaged over (default: the checkpoint's).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
) -> None:
    """Localize the sound's maker in a frame (the checkpoint's rule) and draw the heatmap over it."""
    from avcurr.localize.single import localize_files

    with reported_errors():
        result = localize_files(checkpoint, image, audio, out, sources, device, readout=readout,
                                extra_visual=extra_visual, smooth=smooth)
    heat = result.heatmap
    y, x = divmod(int(heat.argmax()), heat.shape[1])
    say(plain("rule: ", "bold"), f"{result.rule.description} ({result.rule_source})")
    say(plain("wrote ", "bold"), result.path, f"; heatmap maximum at x={x}, y={y} of {heat.shape[1]}x{heat.shape[0]}")
