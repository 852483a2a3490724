"""`avcurr eval ...`: evaluations of trained checkpoints (one sub-command each)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import command_group, console, plain, reported_errors, say, warning_line

eval_app = command_group(help="Evaluate trained checkpoints.")


@eval_app.command("localization")
def localization_command(
    checkpoint: Annotated[Path, typer.Option(help="Trained model checkpoint (checkpoint.pt).")],
    shards: Annotated[str, typer.Option(help="Shard root holding <dataset>/<split>/c<k>/*.tar of the test clips: "
                                             "a folder or a URL.")],
    annotations: Annotated[Path, typer.Option(help="Folder of SoundNet-Flickr style box files <key>.xml (or <ytid>.xml).")],
    out: Annotated[Path, typer.Option(help="Output folder: per_image.csv, summary.json, success_curves.png, overlays/.")],
    dataset: Annotated[str, typer.Option(help="Dataset name inside the shard root.")] = "synth",
    split: Annotated[str, typer.Option(help="Split inside the dataset.")] = "test",
    curricula: Annotated[str, typer.Option(help="Comma-separated curricula to read, e.g. c1 or c1,c2.")] = "c1",
    sources: Annotated[int, typer.Option(help="Sounding objects per clip to cluster for (k_a).")] = 1,
    readout: Annotated[Optional[str], typer.Option(help="Localization readout: assignment (eq. 7), distance (every "
                                                        "location's distance to the audio centre) or cross (default: "
                                                        "the one the checkpoint records; eq. 7 when it records none).")] = None,
    extra_visual: Annotated[Optional[int], typer.Option(help="Visual centres beyond the sources, k_v = k_a + M (default: "
                                                             "the checkpoint's; 1 when it records none).")] = None,
    smooth: Annotated[Optional[int], typer.Option(help="Neighbourhood (odd number of feature cells) each location's "
                                                       "score is averaged over (default: the checkpoint's; 1 = none).")] = None,
    visual_centres: Annotated[Optional[int], typer.Option(help="Also score eq. 7 told k_v visual centres (one per "
                                                                "visible object plus the background), as its own row.")] = None,
    truth: Annotated[Optional[Path], typer.Option(help="Synthetic truth folder (truth/<key>.json): also score each audio "
                                                       "centre's map per object (several sources, silent objects).")] = None,
    batch_size: Annotated[int, typer.Option(help="Clips per forward pass.")] = 16,
    overlays: Annotated[int, typer.Option(help="How many heatmap PNGs to draw.")] = 12,
    xml_mode: Annotated[str, typer.Option(help="auto (by tag name when present), published (skip the first child, "
                                                "then four numbers) or tags.")] = "auto",
    limit: Annotated[Optional[int], typer.Option(min=1, help="Score at most this many clips.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the random-map baseline.")] = 0,
) -> None:
    """cIoU@0.5, AUC and pointing game (SoundNet-Flickr protocol) of the checkpoint's localization rule, beside the
    paper's rule, the unrelated visual centre and random, centre and whole-image maps."""
    from avcurr.localize import LocalizationConfig, evaluate_localization

    with reported_errors():
        report = evaluate_localization(LocalizationConfig(
            checkpoint=checkpoint, shards=shards, annotations=annotations, out=out, dataset=dataset,
            split=split, curricula=curricula, sources=sources, visual_centres=visual_centres, readout=readout,
            extra_visual=extra_visual, smooth=smooth, truth=truth, batch_size=batch_size, overlays=overlays,
            xml_mode=xml_mode, device=device, seed=seed, limit=limit), console)
    for warning in report.warnings[:20]:
        warning_line(warning)
    if len(report.warnings) > 20:
        warning_line(f"{len(report.warnings) - 20} more warnings in {out / 'summary.json'}")
    say(plain("rule: ", "bold"), f"{report.rule.description} ({report.rule_source})")
    console.print(localization_table(report.summaries, f"Localization on {report.summaries['model']['n']} images",
                                     report.labels))
    if report.objects:
        console.print(objects_table(report.objects, f"Per object, k_a = {sources}", report.labels))
    if report.missing:
        say(plain(f"{len(report.missing)} clips had no annotation file and were not scored", "yellow"))
    say("wrote ", plain(out, "bold"), " (per_image.csv, summary.json, success_curves.png, overlays/)")


def localization_table(summaries: dict[str, dict], title: str, labels: dict[str, str] | None = None) -> Table:
    """One row per method (the model's rows and the baselines): cIoU@0.5, AUC, mean cIoU, pointing."""
    table = Table(title=plain(title), caption="cIoU@0.5: share of images with cIoU >= 0.5; AUC over thresholds 0..1")
    for col in ("method", "cIoU@0.5", "AUC", "mean cIoU", "pointing game"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method, s in summaries.items():
        table.add_row(plain((labels or {}).get(method, method)), f"{s['ciou_at_0.5']:.3f}", f"{s['auc']:.3f}",
                      f"{s['mean_ciou']:.3f}", f"{s['pointing']:.3f}")
    return table


def objects_table(objects: dict[str, dict], title: str, labels: dict[str, str] | None = None) -> Table:
    """Per-object scores: clips whose audio centres each peak on a different sounding object, and
    where the audio centres' peaks land."""
    table = Table(title=plain(title), caption="each different: every audio centre peaks on its own sounding object")
    for col in ("method", "each different", "on sounding", "on silent", "on background", "recall", "n"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method, s in objects.items():
        table.add_row(plain((labels or {}).get(method, method)), f"{s['each_different']:.3f}", f"{s['on_sounding']:.3f}",
                      f"{s['on_silent']:.3f}", f"{s['on_background']:.3f}", f"{s['recall']:.3f}", str(s["n"]))
    return table
