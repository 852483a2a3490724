"""Recipe steps for localization without being told how many objects are visible (issue 16), and the
two localization pieces of the curriculum science recipe (issue 15): the aligned vs the unrelated
visual centre (every `evaluate` report holds an "unrelated" row), and the curriculum's payoff on
two-source clips scored per sounding object (`curriculum_payoff`).

Library calls only; every step skips what is already complete.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from rich.table import Table

from avcurr.cli.common import plain, say
from recipe_steps import DATASET, World, console, evaluate

# The test worlds, each a scene type the one rule must handle without being told what is in view.
# Seeds 2 and 3 are the curriculum recipe's test worlds (the first 60 distractor clips are its 60).
TEST_WORLDS = {
    "alone": dict(name="test", seed=2, min_sources=1, max_sources=1, distractors=0),
    "1 silent": dict(name="test_distractor", seed=3, min_sources=1, max_sources=1, distractors=1),
    "2 silent": dict(name="test_silent2", seed=4, min_sources=1, max_sources=1, distractors=2),
    "2 sources": dict(name="test_two", seed=5, min_sources=2, max_sources=2, distractors=0),
    "2 src+silent": dict(name="test_two_distractor", seed=6, min_sources=2, max_sources=2, distractors=1),
}


def test_worlds(clips: int, seed_offset: int = 0) -> dict[str, World]:
    """The five test worlds with `clips` clips each; with a seed offset, other clips of the same
    kinds (a held-out set: the rule was chosen on the first ones), named `<name>-s<seed>`."""
    worlds = {}
    for label, spec in TEST_WORLDS.items():
        spec = dict(spec)
        if seed_offset:
            spec["seed"] += seed_offset
            spec["name"] = f"{spec['name']}-s{spec['seed']}"
        worlds[label] = World(clips=clips, **spec)
    return worlds


@dataclass(frozen=True)
class Training:
    """How one stage is trained: steps, a wall-clock cap, the model, the loop's threads, and the
    training rule's extra visual centres (None: avcurr's default rule; 1: the paper's k_v = k + 1)."""

    steps: int
    minutes: float = 30.0
    model: str = "tiny"
    batch_size: int = 16
    threads: int | None = None
    train_extra_visual: int | None = None


def train(run: Path, shards: Path, stage: int, seed: int, how: Training, *, split: str = "train",
          init: Path | None = None, lr: float | None = None):
    """`avcurr train --stage c<stage>` into `run` (resumes; starts from run/c<stage-1> or `init`);
    skipped when the run already holds a finished one of at least `how.steps` steps (a rerun would
    rewrite the checkpoint and so every evaluation of it)."""
    from avcurr.train import TrainConfig, train_stage

    done = run / f"c{stage}" / "summary.json"
    if done.is_file() and json.loads(done.read_text()).get("steps", 0) >= how.steps:
        console.print(f"[bold]train[/] {run.name}/c{stage} seed {seed}: already trained")
        return None

    summary = train_stage(TrainConfig(run=run, stage=stage, shards=shards, dataset=DATASET, split=split,
                                      model=how.model, batch_size=how.batch_size, max_steps=how.steps,
                                      max_seconds=how.minutes * 60, threads=how.threads, seed=seed, lr=lr,
                                      init=init, train_extra_visual=how.train_extra_visual, ckpt_every=100,
                                      log_every=10), console=console)
    say(plain("train", "bold"), f" {run.name}/c{stage} seed {seed}: {summary.steps} steps from "
        f"{summary.started_from}, {summary.seconds:.0f} s, stopped by {summary.stopped_by}", target=console)
    return summary


def evaluated(work: Path, shards: Path, test: World, checkpoint: Path, out: Path, *, overlays: int = 4,
              told: bool = False, truth: bool = False) -> dict:
    """`evaluate` of `checkpoint` on `test` into `out`, as a report dict; reused when `out` already
    holds a summary newer than the checkpoint, written with the same options."""
    summary = out / "summary.json"
    if summary.is_file() and summary.stat().st_mtime > checkpoint.stat().st_mtime:
        done = json.loads(summary.read_text())
        if ("told_kv" in done["methods"]) == told and bool(done.get("objects")) == truth:
            return {k: done[k] for k in ("methods", "objects", "rule", "rule_source", "labels")}
    report = evaluate(work, shards, test.max_sources, test, overlays=overlays, told=told, checkpoint=checkpoint,
                      out=out, truth=truth)
    return report_dict(report)


def curriculum_payoff(work: Path, shards: Path, c1_checkpoint: Path, tests: list[World], *, seed: int,
                      how: Training, split: str = "train", overlays: int = 4, told: bool = False,
                      long_scratch_steps: int | None = None) -> dict[str, dict]:
    """Stage c2 trained from a c1 checkpoint vs from scratch, the same seed, data and steps, each
    scored on two-source test worlds per sounding object (k_a = 2: does each audio centre's map
    point at a different sounding object, and not at a silent one?).

    The c2 run from c1 uses the paper's stage-2 learning rate (stage 1's * 0.1); the run from
    scratch uses stage 1's (what a first stage trains with: 1e-4 would leave it untrained, which
    would flatter the curriculum). With `long_scratch_steps`, a third arm trains c2 from scratch
    for that many steps (c1's and c2's together: as many steps as the curriculum took in all), so
    that the curriculum is not credited with what more steps alone would give. Runs go to
    work/payoff/seed<seed>/{from_c1,scratch,scratch_long}/c2; returns
    {arm: {test world: report}}; every report holds the unrelated-centre row too.
    """
    from avcurr.models import preset

    first_lr = preset(how.model).lr_for_stage(1)
    arms = {"from_c1": (how, dict(init=Path(c1_checkpoint), lr=None)),
            "scratch": (how, dict(init=None, lr=first_lr))}
    if long_scratch_steps:
        arms["scratch_long"] = (replace(how, steps=long_scratch_steps), dict(init=None, lr=first_lr))
    results: dict[str, dict] = {}
    for arm, (arm_how, options) in arms.items():
        run = work / "payoff" / f"seed{seed}" / arm
        train(run, shards, 2, seed, arm_how, split=split, **options)
        results[arm] = {test.name: evaluated(work, shards, test, run / "c2" / "checkpoint.pt",
                                             work / "payoff" / f"seed{seed}" / "eval" / f"{arm}-{test.name}",
                                             overlays=overlays, told=told, truth=True)
                        for test in tests}
    return results


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (0 for one value), minimum and maximum over seeds."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def fmt(s: dict[str, float], full: bool = True) -> str:
    """"0.97 ±0.01 (0.96-0.98)" for several seeds ("0.97±.01" when not `full`), "0.97" for one."""
    if s["n"] == 1:
        return f"{s['mean']:.2f}"
    if not full:
        return f"{s['mean']:.2f}±{s['sd']:.2f}".replace("±0.", "±.")
    return f"{s['mean']:.2f} ±{s['sd']:.2f} ({s['min']:.2f}-{s['max']:.2f})"


def over_seeds(per_seed: list[dict], key: str) -> dict:
    """{evaluation: {method: {metric: spread}}} from a list (one per seed) of
    {evaluation: {method: {metric: value}}} under `key` ("methods" or "objects")."""
    merged: dict = {}
    for seed_results in per_seed:
        for evaluation, methods in seed_results.items():
            for method, metrics in methods.get(key, {}).items():
                for metric, value in metrics.items():
                    if metric != "n":
                        merged.setdefault(evaluation, {}).setdefault(method, {}).setdefault(metric, []).append(value)
    return {e: {m: {k: spread(v) for k, v in ms.items()} for m, ms in methods.items()} for e, methods in merged.items()}


COLUMNS = {"model": "rule", "paper_rule": "paper", "told_kv": "told k_v", "unrelated": "unrelated",
           "centre_gaussian": "centre", "random": "random"}
SHORT = ("model", "paper_rule", "told_kv", "unrelated", "centre_gaussian")   # what fits a terminal


def seeds_table(title: str, merged: dict, metric: str, full: bool = True) -> Table:
    """One row per evaluation, one column per method: `metric` as mean ±sd (min-max) over seeds
    (mean±sd when not `full`: it fits a terminal)."""
    table = Table(title=title, caption="rule: the chosen localization rule; paper: eq. 7 with k_v = k_a + 1; told: "
                                       "eq. 7 told one visual centre per visible object; unrelated: the visual centre "
                                       "farthest from the audio centre; mean ±sd" + (" (min-max)" if full else "")
                                       + " over seeds")
    methods = [m for m in (COLUMNS if full else SHORT) if any(m in ms for ms in merged.values())]
    table.add_column("evaluation", no_wrap=True)
    for m in methods:
        table.add_column(COLUMNS[m], justify="right")
    for evaluation, ms in merged.items():
        table.add_row(evaluation, *(fmt(ms[m][metric], full) if m in ms else "" for m in methods))
    return table


def objects_seeds_table(title: str, merged: dict, full: bool = True) -> Table:
    """Per-object scores (each audio centre on its own sounding object; on a silent one) over seeds."""
    table = Table(title=title, caption="each different: every audio centre peaks on a different sounding object; "
                                       "on silent: audio centres peaking on a silent object; recall: sounding "
                                       "objects found")
    for col in ("evaluation", "method", "each different", "on sounding", "on silent", "recall"):
        table.add_column(col, justify="left" if col in ("evaluation", "method") else "right", no_wrap=True)
    for evaluation, ms in merged.items():
        for i, (method, metrics) in enumerate(ms.items()):
            table.add_row(evaluation if i == 0 else "", COLUMNS.get(method, method),
                          *(fmt(metrics[k], full) for k in ("each_different", "on_sounding", "on_silent", "recall")),
                          end_section=i == len(ms) - 1)
    return table


def report_dict(report) -> dict:
    """The JSON-able part of a LocalizationReport."""
    return {"methods": report.summaries, "objects": report.objects, "rule": report.rule.to_dict(),
            "rule_source": report.rule_source, "labels": report.labels}


def save_json(path: Path, data: dict) -> None:
    from avcurr.atomic import atomic_write

    atomic_write(path, json.dumps(data, indent=2, default=str) + "\n")
