"""Steps shared by the recipes in this folder: synthetic world -> curricula -> shards -> train -> eval.

Every step is a call into the avcurr library (the same functions the CLI commands map onto) and is
skipped when its output is already complete, so a recipe can be rerun after an interruption.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from avcurr.atomic import atomic_write
from avcurr.cli.common import console, plain, say

DATASET = "synth"


@dataclass(frozen=True)
class World:
    """One synthetic world and the shards built from it."""

    name: str          # the world's folder, and its shard split unless `split` names another
    clips: int
    seed: int
    min_sources: int
    max_sources: int
    distractors: int = 0
    split: str | None = None   # several worlds may fill one split (e.g. train clips with and without distractors)
    size: int = 256             # frame side in pixels and frames per second of the media
    fps: int = 8

    @property
    def shard_split(self) -> str:
        return self.split or self.name


def make_world(work: Path, world: World, workers: int) -> Path:
    """`avcurr synth`: the world's media, truth and Flickr-style annotations under work/<name>."""
    from avcurr.synth import SynthConfig, synthesize

    out = work / "worlds" / world.name
    cfg = SynthConfig(out=out, clips=world.clips, seed=world.seed, min_sources=world.min_sources,
                      max_sources=world.max_sources, distractors=world.distractors, size=world.size,
                      fps=world.fps, workers=workers)
    summary = synthesize(cfg)
    console.print(f"[bold]synth[/] {world.name}: {summary.n_ok}/{world.clips} clips "
                  f"({summary.n_reused} reused) in {summary.seconds:.0f} s; per n_sources "
                  f"{dict(sorted(summary.per_n_sources.items()))}")
    return out


def make_shards(work: Path, world: World, folder: Path, workers: int) -> Path:
    """`avcurr build-curricula` + `avcurr build-shards`: shards of the world under work/shards."""
    from avcurr.curricula import CurriculaConfig, build_curricula
    from avcurr.paths import bundled
    from avcurr.shards.build import BuildConfig, build_shards

    manifest = work / "curricula" / f"{world.name}.parquet"
    cur = build_curricula(CurriculaConfig(segments=folder / "segments.csv",
                                          ontology=bundled("audioset", "ontology.json"), out=manifest))
    console.print(f"[bold]curricula[/] {world.name}: {dict(sorted(cur.per_curriculum.items()))}")
    shards = work / "shards"
    built = build_shards(BuildConfig(manifest=manifest, out=shards, dataset=DATASET, split=world.shard_split,
                                     media=folder / "media", workers=workers), console)
    console.print(f"[bold]shards[/] {world.name}: {dict(sorted(built.samples.items()))} new samples, "
                  f"{built.already_done} already done, {len(built.failures)} failures")
    return shards


def evaluate(work: Path, shards: Path, stage: int, test: World, overlays: int = 12, told: bool = False,
             checkpoint: Path | None = None, out: Path | None = None, truth: bool = False):
    """`avcurr eval localization` of stage `stage`'s checkpoint on the test world's annotations.

    The checkpoint's own localization rule, beside the paper's (k_v = k_a + 1) and the unrelated
    centre; with `told`, also eq. 7 told one visual centre per visible object plus the background
    (k_v = sources + distractors + 1); with `truth`, also each audio centre's map per object.
    """
    from avcurr.localize import LocalizationConfig, evaluate_localization

    folder = work / "worlds" / test.name
    report = evaluate_localization(LocalizationConfig(
        checkpoint=checkpoint or work / "run" / f"c{stage}" / "checkpoint.pt", shards=shards,
        annotations=folder / "flickr" / "annotations", out=out or work / "eval" / f"c{stage}-{test.name}",
        dataset=DATASET, split=test.shard_split,
        curricula=tuple(f"c{k}" for k in range(test.min_sources, test.max_sources + 1)), sources=test.max_sources,
        visual_centres=test.max_sources + test.distractors + 1 if told else None,
        truth=folder / "truth" if truth else None, overlays=overlays), console)
    return report


SHORT_METHOD = {"centre_gaussian": "centre", "whole_image": "whole", "paper_rule": "paper k_v",
                "told_kv": "told k_v"}


def results_table(title: str, reports: dict[str, object]) -> Table:
    """One row per (checkpoint, method): cIoU@0.5, AUC, mean cIoU, pointing game (fits 80 columns)."""
    table = Table(title=title, caption="model: the checkpoint's localization rule; paper k_v: eq. 7 with k_v = k_a + 1; "
                                       "told k_v: eq. 7 told one centre per visible object; unrelated: the visual centre "
                                       "farthest from the audio centre; centre: centre Gaussian; whole: whole image; "
                                       "point: pointing game")
    for col in ("evaluation", "method", "cIoU@.5", "AUC", "mean", "point", "n"):
        table.add_column(col, justify="left" if col in ("evaluation", "method") else "right",
                         no_wrap=True)
    for name, report in reports.items():
        for i, (method, s) in enumerate(report.summaries.items()):
            table.add_row(name if i == 0 else "", SHORT_METHOD.get(method, method), f"{s['ciou_at_0.5']:.2f}",
                          f"{s['auc']:.2f}", f"{s['mean_ciou']:.2f}", f"{s['pointing']:.2f}", str(s["n"]),
                          end_section=i == len(report.summaries) - 1)
    return table


def save_results(path: Path, reports: dict[str, object], extra: dict) -> None:
    data = {name: r.summaries for name, r in reports.items()}
    atomic_write(path, json.dumps({"results": data, **extra}, indent=2, default=str) + "\n")


@dataclass(frozen=True)
class Recipe:
    """Sizes of one end-to-end run: worlds, training time per stage, model."""

    train_clips: int
    test_clips: int
    distractor_clips: int          # 0 = no test world with a silent distractor object
    stages: tuple[int, ...]        # e.g. (1,) or (1, 2)
    steps: tuple[int, ...]         # optimiser steps per stage (machine-independent)
    minutes: tuple[float, ...]     # wall-clock cap per stage
    model: str = "tiny"
    batch_size: int = 16
    workers: int = 2
    threads: int | None = None
    told: bool = False             # also score eq. 7 told k_v (one centre per visible object)


def run_recipe(work: Path, recipe: Recipe) -> dict:
    """synth -> curricula -> shards -> train each stage -> localization eval; returns the reports."""
    import time

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    worlds = [World("train", recipe.train_clips, seed=1, min_sources=1, max_sources=max(recipe.stages))]
    tests = [World("test", recipe.test_clips, seed=2, min_sources=1, max_sources=1)]
    if recipe.distractor_clips:
        tests.append(World("test_distractor", recipe.distractor_clips, seed=3, min_sources=1, max_sources=1,
                           distractors=1))
    shards = None
    for world in worlds + tests:
        shards = make_shards(work, world, make_world(work, world, recipe.workers), recipe.workers)
    data_seconds = time.perf_counter() - started
    reports, training = {}, {}
    for stage, steps, minutes in zip(recipe.stages, recipe.steps, recipe.minutes):
        summary = train_stage_for(work, shards, stage, recipe, steps, minutes)
        training[f"c{stage}"] = {"steps": summary.steps, "samples": summary.samples,
                                 "samples_per_s": round(summary.samples_per_s, 1),
                                 "seconds": round(summary.seconds, 1), "started_from": summary.started_from,
                                 "last": summary.last}
        for test in tests:
            reports[f"c{stage} on {test.name}"] = evaluate(work, shards, stage, test, told=recipe.told)
    for name, report in reports.items():
        console.print(f"[bold]{name}[/]: rule {report.rule.description} ({report.rule_source})")
    console.print(results_table("Localization (SoundNet-Flickr protocol) on held-out synthetic clips", reports))
    extra = {"training": training, "data_seconds": round(data_seconds, 1),
             "total_seconds": round(time.perf_counter() - started, 1), "recipe": recipe.__dict__}
    save_results(work / "results.json", reports, extra)
    say("results: ", plain(work / "results.json", "bold"), "; heatmaps: ", plain(f"{work / 'eval'}/*/overlays/", "bold"),
        "; training curves: ", plain(f"{work / 'run'}/c*/curves.png", "bold"))
    return {"reports": reports, **extra}


def train_stage_for(work: Path, shards: Path, stage: int, recipe: Recipe, steps: int, minutes: float):
    from avcurr.train import TrainConfig, train_stage

    summary = train_stage(TrainConfig(run=work / "run", stage=stage, shards=shards, dataset=DATASET,
                                      split="train", model=recipe.model, batch_size=recipe.batch_size,
                                      max_steps=steps, max_seconds=minutes * 60, threads=recipe.threads,
                                      ckpt_every=100, log_every=10), console=console)
    last = summary.last or {}
    say(plain(f"train c{stage}", "bold"), f": {summary.steps} steps, {summary.samples} samples, "
        f"{summary.samples_per_s:.1f} samples/s, from {summary.started_from}; stopped by "
        f"{summary.stopped_by}; last loss {last.get('loss', float('nan')):.4f} "
        f"pos {last.get('pos_dist', float('nan')):.3f} neg {last.get('neg_dist', float('nan')):.3f}", target=console)
    return summary
