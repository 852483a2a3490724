"""`avcurr train-separator`, `avcurr eval separation` and `avcurr separate`: thin wrappers around
avcurr.separation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import console, plain, reported_errors, say
from avcurr.cli.training import (CkptEvery, Device, Epochs, LogEvery, MaxMinutes, MaxSteps, Seed, Threads,
                                 Workers, loop_kwargs, training_table)
from avcurr.errors import AvcurrError


def train_separator_command(
    shards: Annotated[str, typer.Option(help="Shard root holding <dataset>/<split>/c1/*.tar of solo clips.")],
    run: Annotated[Path, typer.Option("--run", "--run-dir", help="Run folder: writes <run>/separator-<condition>/ "
                                      "(rerun to resume; --run-dir under torchrun).")],
    localizer: Annotated[Path, typer.Option(help="Trained curriculum checkpoint (avcurr train); frozen, copied "
                                                 "into the separator.")],
    condition: Annotated[str, typer.Option(help="Visual cue: 'mask' (features max-pooled under the aligned "
                                                "centre's map) or 'centre' (the aligned visual centre).")] = "mask",
    config: Annotated[str, typer.Option(help="U-Net configuration: 'paper' (supplement 6.4) or 'tiny' (CPU demos).")] = "paper",
    dataset: Annotated[str, typer.Option(help="Dataset name inside the shard root.")] = "synth",
    split: Annotated[str, typer.Option(help="Split inside the dataset.")] = "train",
    mixtures: Annotated[int, typer.Option(help="Two-source mixtures per step (twice as many clips).")] = 8,
    visual_centres: Annotated[int, typer.Option(help="Visual centres k_v of the localizer (object + background).")] = 2,
    loss_weight: Annotated[str, typer.Option(help="'none': plain L1 (eq. 8); 'magnitude': each bin weighted by "
                                                  "log(1 + |mixture|) (Sound-of-Pixels).")] = "none",
    lr: Annotated[Optional[float], typer.Option(help="Learning rate of Adam (default: 1e-3).")] = None,
    max_steps: MaxSteps = None, epochs: Epochs = None, max_minutes: MaxMinutes = None, device: Device = "auto",
    workers: Workers = 0, threads: Threads = None, seed: Seed = 0, ckpt_every: CkptEvery = 200,
    log_every: LogEvery = 10,
) -> None:
    """Train a visually conditioned separator by mix-and-separate on solo clips; rerun to resume."""
    from avcurr.separation import SeparatorConfig, train_separator

    with reported_errors():
        cfg = SeparatorConfig(run=run, shards=shards, localizer=localizer, condition=condition, model=config,
                              dataset=dataset, split=split, mixtures=mixtures, visual_centres=visual_centres,
                              loss_weight=loss_weight, lr=lr,
                              **loop_kwargs(max_steps, epochs, max_minutes, device, workers, threads, seed,
                                            ckpt_every, log_every))
        summary = train_separator(cfg, console=console)
    console.print(training_table(summary, f"Separator ({condition} cue, {config})",
                                 (("localizer", plain(localizer)),)))


def separation_eval_command(
    checkpoint: Annotated[list[Path], typer.Option(help="Separator checkpoint; repeat the option to compare "
                                                        "several (e.g. a centre and a mask one) on the same mixtures.")],
    shards: Annotated[str, typer.Option(help="Shard root holding <dataset>/<split>/c1/*.tar of the test clips: a folder or a URL.")],
    out: Annotated[Path, typer.Option(help="Output folder: summary.json, per_mixture.csv, separated/*.wav, "
                                           "spectrograms.png.")],
    dataset: Annotated[str, typer.Option(help="Dataset name inside the shard root.")] = "synth",
    split: Annotated[str, typer.Option(help="Split inside the dataset.")] = "test",
    mixtures: Annotated[int, typer.Option(help="Two-source mixtures to score (all allowed pairs when fewer).")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the choice of mixtures.")] = 0,
    wavs: Annotated[int, typer.Option(help="Mixtures whose WAVs are written under separated/.")] = 3,
    batch_size: Annotated[int, typer.Option(help="Mixtures per forward pass.")] = 4,
    workers: Annotated[int, typer.Option(help="Processes running bss_eval (its slowest part).")] = 1,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
) -> None:
    """SDR, SIR and SAR of separators beside the mixture (floor) and the ideal ratio mask (ceiling).

    Scored with mir_eval's bss_eval_sources on the same fixed two-source mixtures of test clips."""
    from avcurr.separation import SeparationEvalConfig, evaluate_separation

    with reported_errors():
        report = evaluate_separation(SeparationEvalConfig(
            checkpoints=tuple(checkpoint), shards=shards, out=out, dataset=dataset, split=split,
            mixtures=mixtures, seed=seed, wavs=wavs, batch_size=batch_size, workers=workers, device=device), console)
    console.print(separation_table(report.summaries, f"Separation of {len(report.pairs)} two-source mixtures"))
    say(plain("wrote ", "bold"), out, " (summary.json, per_mixture.csv, separated/, spectrograms.png)")


def separation_table(summaries: dict[str, dict], title: str) -> Table:
    table = Table(title=title, caption="means over every (mixture, source), dB; medians in summary.json")
    for col in ("method", "SDR", "SIR", "SAR", "n"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method, s in summaries.items():
        table.add_row(plain(method), f"{s['sdr']:.2f}", f"{s['sir']:.2f}", f"{s['sar']:.2f}", str(s["n"]))
    return table


def parse_point(text: str) -> tuple[float, float]:
    """"X,Y" -> (x, y) pixels."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*,\s*(\d+(?:\.\d*)?)\s*", text)
    if not match:
        raise AvcurrError(f"--object must be a pixel X,Y such as 120,80, got {text!r}")
    return float(match.group(1)), float(match.group(2))


def separate_command(
    checkpoint: Annotated[Path, typer.Option(help="Separator checkpoint (avcurr train-separator).")],
    video: Annotated[Path, typer.Option(help="The video (any file ffmpeg reads, with sound and pictures).")],
    out: Annotated[Path, typer.Option(help="Output WAV: the separated sound, mono 11025 Hz.")],
    object_: Annotated[Optional[str], typer.Option("--object", help="Pixel X,Y of the object to hear, in the "
                                                                    "video's own frame size.")] = None,
    auto: Annotated[bool, typer.Option("--auto", help="Let the localizer find the sounding object (the default).")] = False,
    max_seconds: Annotated[Optional[float], typer.Option(help="Separate at most this much of the soundtrack.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
) -> None:
    """Separate from a video's soundtrack the sound of the object the localizer finds (or at X,Y)."""
    from avcurr.separation import separate_video

    with reported_errors():
        if auto and object_ is not None:
            raise AvcurrError("give --object X,Y or --auto, not both")
        point = parse_point(object_) if object_ is not None else None
        result = separate_video(checkpoint, video, out, point, device, max_seconds, console)
    say(plain("wrote ", "bold"), result.out, f": {result.seconds:.1f} s in {result.windows} window(s), "
        f"object chosen by {result.chosen_by}, {result.condition} cue; "
        f"{100 * result.energy_ratio:.0f} % of the soundtrack's energy")


def music_splits_command(
    music: Annotated[Path, typer.Option(help="Folder of `avcurr fetch music --list solo` (holds music_solo.parquet).")],
    seconds: Annotated[float, typer.Option(help="Window length in seconds (the clip length).")] = 10.0,
) -> None:
    """Cut fetched MUSIC solo videos into windows: train / val / test manifests for build-shards.

    Per instrument, the first listed video is validation and the second test (the paper's split)."""
    from avcurr.separation.music import music_solo_manifests

    with reported_errors():
        made = music_solo_manifests(music, seconds)
    table = Table(title="MUSIC solo windows")
    for col in ("split", "videos", "windows", "manifest"):
        table.add_column(col, justify="left" if col in ("split", "manifest") else "right")
    for split, (path, videos, windows) in made.items():
        table.add_row(split, str(videos), str(windows), plain(path))
    console.print(table)
