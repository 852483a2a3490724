"""`avcurr ave-features`, `avcurr train-ave`, `avcurr eval ave`, `avcurr ave-maps` and the AVE layout
of `avcurr synth`: thin wrappers around avcurr.ave and avcurr.synth.ave_world."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import EXIT_FAILED, console, error_line, interruptible, plain, reported_errors, say
from avcurr.cli.training import (CkptEvery, Device, Epochs, LogEvery, MaxMinutes, MaxSteps, Seed, Threads,
                                 Workers, loop_kwargs, training_table)
from avcurr.errors import AvcurrError


def synth_ave(out: Path, clips: int, seed: int, size: int, fps: int, workers: int, overwrite: bool,
              small_objects: bool = False, background_clips: int | None = None) -> None:
    """`avcurr synth --layout ave`: write the AVE world and print its table."""
    from avcurr.progress import progress_bar
    from avcurr.synth.ave_world import AveWorldConfig, synthesize_ave

    with reported_errors(), interruptible("rerun the same command to finish (finished clips are kept)"):
        cfg = AveWorldConfig(out=out, clips=clips, seed=seed, size=size, fps=fps, workers=workers,
                             small_objects=small_objects, background_clips=background_clips).validate()
        with progress_bar(console, "synth ave", cfg.clips + cfg.background_clips) as bar:
            summary = synthesize_ave(cfg, on_clip=lambda record: bar.update(advance=1, info=record["key"]),
                                     overwrite=overwrite)
    table = Table(title="Synthetic AVE world")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("clips written", f"{summary.n_ok - summary.n_reused:,}")
    table.add_row("clips kept from an earlier run", f"{summary.n_reused:,}")
    table.add_row("clips failed", f"{len(summary.failures):,}")
    table.add_row("per split", ", ".join(f"{k} {v}" for k, v in sorted(summary.per_split.items())))
    table.add_row("events per category", ", ".join(f"{k} {v}" for k, v in sorted(summary.per_category.items())))
    table.add_row("time", f"{summary.seconds:.1f} s")
    for key, error in summary.failures[:5]:
        table.add_row(plain(f"failed {key}"), plain(error[:100]))
    console.print(table)
    if summary.failures:  # the lists name the clips that were made; say what is missing
        error_line(f"{len(summary.failures)} of {summary.n_clips} clips failed; rerun the same command to "
                   f"make them (finished clips are kept)")
        raise typer.Exit(EXIT_FAILED)
    say(plain("wrote ", "bold"), summary.out / "media", " and ", summary.out / "ave")


def ave_features_command(
    videos: Annotated[Path, typer.Option(help="Folder of the videos: <video id>.mp4 (or <video id>_<ms>.<ext>).")],
    annotations: Annotated[Path, typer.Option(help="AVE annotation rows (Category&VideoID&Quality&StartTime&EndTime); "
                                                   "trainSet.txt, valSet.txt, testSet.txt must sit beside it.")],
    out: Annotated[Path, typer.Option(help="Feature folder: visual_feature.h5, audio_feature.h5, labels.h5, "
                                           "{train,val,test}_order.h5 (the official layout).")],
    encoder: Annotated[str, typer.Option(help="random (a seeded random curriculum model) or cavl:CHECKPOINT "
                                              "(a trained curriculum model's audio and visual nets).")] = "random",
    visual_weights: Annotated[Optional[Path], typer.Option(
        help="A torchvision-format VGG19 state dict: the visual side becomes VGG19's conv stack (224 x 224 "
             "frames, 512 x 7 x 7), as the official features.")] = None,
    config: Annotated[str, typer.Option(help="Model preset of the random encoder: tiny or paper.")] = "tiny",
    grid: Annotated[int, typer.Option(help="Visual grid side after average pooling; 0 keeps the conv stack's own.")] = 7,
    categories: Annotated[Optional[Path], typer.Option(
        help="Event names in class order, one a line (default: categories.txt beside the annotations, "
             "else the bundled AVE list).")] = None,
    noisy: Annotated[Optional[Path], typer.Option(
        help="Ids of background-only videos (one a line): written to the *_noisy.h5 files that "
             "AVE-ECCV18's weak setting adds to training (default: noisySet.txt beside the annotations, "
             "when there is one).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random encoder.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "cpu",
    threads: Threads = None,
) -> None:
    """Extract AVE features from videos, one row per annotated event, in the official HDF5 layout;
    rerun the same command to resume."""
    from avcurr.ave.extract import FeatureConfig, extract_features

    with reported_errors():
        summary = extract_features(FeatureConfig(
            videos=videos, annotations=annotations, out=out, encoder=encoder, visual_weights=visual_weights,
            config=config, grid=grid or None, categories=categories, noisy=noisy, seed=seed, device=device,
            threads=threads), console)
    table = Table(title="AVE features")
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in (("rows (events)", f"{summary.rows:,}"), ("background-only videos", f"{summary.noisy:,}"),
                        ("encoded now", f"{summary.extracted:,}"), ("kept from an earlier run", f"{summary.reused:,}"),
                        ("failed", f"{len(summary.failures):,}"),
                        *((f"{k} shape", " x ".join(map(str, v))) for k, v in summary.shapes.items()),
                        ("time", f"{summary.seconds:.1f} s")):
        table.add_row(name, value)
    for video, error in summary.failures[:5]:
        table.add_row(plain(f"failed {video}"), plain(error[:100]))
    console.print(table)
    say(plain("wrote ", "bold"), out)


def train_ave_command(
    features: Annotated[Path, typer.Option(help="Feature folder in the official layout (avcurr ave-features, or AVE's own).")],
    run: Annotated[Path, typer.Option("--run", "--run-dir", help="Run folder: checkpoint.pt, metrics.jsonl/csv, "
                                      "curves.png, summary.json (--run-dir under torchrun).")],
    mode: Annotated[str, typer.Option(help="supervised (segment labels), weak (video labels, MIL mean pooling) "
                                           "or unsupervised (AVTGML, no labels).")] = "supervised",
    model: Annotated[str, typer.Option(help="ours, ave-baseline (AVE-ECCV18's A+V-att) or ave-dmrn (its DMRN).")] = "ours",
    modality: Annotated[str, typer.Option(help="Table 1: audio, visual, assisted-visual, audio+visual or "
                                               "audio+assisted (ours).")] = "audio+assisted",
    fusion: Annotated[str, typer.Option(help="Table 2: avfb, lstm, mfb, mul, add or concat.")] = "avfb",
    swab: Annotated[str, typer.Option(help="Table 3: SWAB pooling mean+max, mean, max, or none (no SWAB).")] = "mean+max",
    aggregation: Annotated[bool, typer.Option("--aggregation/--no-aggregation",
                                              help="Table 3: eq. 12's aggregation of both streams.")] = True,
    swab_rescale: Annotated[bool, typer.Option(
        "--swab-rescale/--no-swab-rescale",
        help="SWAB output T * alpha_t * h_t (the same weights, on h_t's scale); --no-swab-rescale: eq. 11 as "
             "written, alpha_t * h_t.")] = True,
    mil_pool: Annotated[str, typer.Option(help="Weak mode: pooling of the segment predictions, mean or max.")] = "mean",
    video_label: Annotated[str, typer.Option(
        help="Weak mode: event (AVE-ECCV18's video label: the event category) or present (every class "
             "present in the video, background included).")] = "event",
    gamma: Annotated[float, typer.Option(help="Unsupervised mode: AVTGML's margin.")] = 0.7,
    background_videos: Annotated[bool, typer.Option(
        "--background-videos/--no-background-videos",
        help="Weak mode: train on the folder's background-only videos too, as AVE-ECCV18.")] = True,
    batch_size: Annotated[int, typer.Option(help="Videos per step.")] = 64,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate (default: 1e-3, Adam).")] = None,
    max_steps: MaxSteps = None, epochs: Epochs = None, max_minutes: MaxMinutes = None, device: Device = "auto",
    workers: Workers = 0, threads: Threads = None, seed: Seed = 0, ckpt_every: CkptEvery = 200,
    log_every: LogEvery = 10,
) -> None:
    """Train an AVE event-localization model (ours or the AVE-ECCV18 baseline); rerun to resume."""
    from avcurr.ave.train import AveTrainConfig, train_ave

    with reported_errors():
        cfg = AveTrainConfig(run=run, features=features, mode=mode, model=model, modality=modality, fusion=fusion,
                             swab=swab, aggregation=aggregation, swab_rescale=swab_rescale, mil_pool=mil_pool,
                             video_label=video_label, gamma=gamma,
                             background_videos=background_videos, batch_size=batch_size, lr=lr,
                             **loop_kwargs(max_steps, epochs, max_minutes, device, workers, threads, seed,
                                           ckpt_every, log_every))
        summary = train_ave(cfg, console=console)
    console.print(training_table(summary, f"AVE, {mode}", (("model", plain(cfg.model_config().describe())),)))


def eval_ave_command(
    checkpoint: Annotated[Path, typer.Option(help="An AVE checkpoint (supervised or weak) from avcurr train-ave.")],
    features: Annotated[Path, typer.Option(help="Feature folder in the official layout.")],
    out: Annotated[Path, typer.Option(help="Output folder: summary.json, per_segment.csv, per_category.png, confusion.csv/.png.")],
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
    batch_size: Annotated[int, typer.Option(help="Videos per forward pass.")] = 64,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
) -> None:
    """Segment accuracy of an AVE model (the paper's metric) beside the majority-class floors."""
    from avcurr.ave.evaluate import AveEvalConfig, evaluate_ave

    with reported_errors():
        report = evaluate_ave(AveEvalConfig(checkpoint=checkpoint, features=features, out=out, split=split,
                                            batch_size=batch_size, device=device), console)
    s = report.summary
    table = Table(title=plain(f"AVE segment accuracy, {split} ({s['n_videos']} videos, {s['n_segments']} segments)"))
    table.add_column("method")
    table.add_column("accuracy", justify="right")
    table.add_row(plain(f"model ({s['model']}, {s['mode']})"), f"{s['segment_accuracy']:.3f}")
    table.add_row("floor: all background", f"{s['floors']['all_background']:.3f}")
    table.add_row("floor: most frequent event", f"{s['floors']['most_frequent_event']:.3f}")
    console.print(table)
    say(plain("wrote ", "bold"), out, " (summary.json, per_segment.csv, per_category.png, confusion.csv/.png)")


def ave_maps_command(
    checkpoint: Annotated[list[Path], typer.Option(help="An AVE checkpoint with spatial attention; repeat it to "
                                                        "compare modes (one strip row each).")],
    features: Annotated[Path, typer.Option(help="Their feature folder (with index.csv, as ave-features writes it).")],
    out: Annotated[Path, typer.Option(help="Output folder: strips/*.png; with --truth maps_summary.json and "
                                           "per_segment_maps.csv.")],
    videos: Annotated[Optional[Path], typer.Option(help="Folder of the videos, for the strips' frames.")] = None,
    truth: Annotated[Optional[Path], typer.Option(
        help="A synthetic AVE world's truth/ folder: measure the maps (pointing game, cIoU, distractor and "
             "silent-object tests) beside random, centre and uniform maps.")] = None,
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
    count: Annotated[int, typer.Option(help="Strips to draw (the split's first videos).")] = 4,
    row: Annotated[Optional[list[int]], typer.Option(help="Draw this feature row instead (repeatable).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "cpu",
    seed: Annotated[int, typer.Option(help="Seed of the random-map baseline.")] = 0,
) -> None:
    """Attention maps of AVE models as Fig. 6-style strips, and measured on a synthetic AVE world."""
    from avcurr.ave.maps_run import MapsConfig, ave_maps

    with reported_errors():
        if videos is None and truth is None:
            raise AvcurrError("give --videos (to draw strips), --truth (to measure the maps) or both")
        report = ave_maps(MapsConfig(checkpoints=tuple(checkpoint), features=features, out=out, videos=videos,
                                     truth=truth, split=split, count=count, rows=tuple(row or ()), device=device,
                                     seed=seed), console)
    if report.summary:
        console.print(maps_table(report.summary, f"Attention maps on {report.segments} event segments ({split})"))
    say(plain("wrote ", "bold"), out)


def _share(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def maps_table(summary: dict, title: str) -> Table:
    """Pointing game and cIoU on event segments; the distractor and silent-object tests."""
    table = Table(title=title, caption="point: pointing game (lone: segments without a distractor); with a silent "
                                       "distractor in view, the share of maxima on the sounding object (src) / on the "
                                       "distractor (dis); silent: on the event's object while it is silent (lower = "
                                       "follows the sound)")
    for col in ("method", "point", "lone", "cIoU", "src", "dis", "silent"):
        table.add_column(col, justify="left" if col == "method" else "right", no_wrap=True)
    for method, s in summary.items():
        table.add_row(plain(method), _share(s["pointing"]), _share(s["pointing_lone"]), _share(s["mean_ciou"]),
                      _share(s["points_at_sounding"]), _share(s["points_at_distractor"]),
                      _share(s["points_at_silent_object"]))
    return table
