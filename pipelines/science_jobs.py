"""The training and evaluation jobs of `curriculum_science.py`: which models it trains, where each
goes, and the chains of jobs a worker process runs (each job skips what is already complete).

Curriculum-model runs ("arms"), per seed, all `tiny`, batch 16, the same number of steps:

    c1          stage 1 (k_a = 1), source-level, from scratch            Fig. 4a; C1 of Tables 1-2
    c3          stage 3 (k_a = 3), from scratch                           Fig. 4a; Fig. 4b's random arm
    mixed       every curriculum mixed sample by sample, k_a = 1          Fig. 4a's "original set"
    c3_from_c2  stage 3 from the c2 checkpoint                            Fig. 4b's curriculum arm
    c2          stage 2 from c1, the curriculum's own rate (1e-4)         C2 source-level (Tables 1-2)
    c2_scene    stage 2 from c1, scene-level alignment, rate 1e-4         C2 scene-level (Table 1)
    c0          stage 1, scene-level, from scratch (rate 1e-3)            CAVL-C0 (Table 2)

The Fig. 4 arms (c1, c3, mixed, c3_from_c2) all train at one rate, tiny's stage-1 rate 1e-3, so
that what differs between two arms is only the data (4a) or the initial weights (4b); the
curriculum's 0.1-per-stage rate (1e-5 at c3) would leave a from-scratch c3 arm nearly still.
Counters: random init ("none"), and the audio nets of c0, c1 and c2, each with the Poisson and the
softmax head.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

DATASET = "synth"
FIG_LR = 1e-3


@dataclass(frozen=True)
class Arm:
    name: str
    stage: int
    alignment: str = "source"
    init: str | None = None        # another arm's name
    lr: float | None = None        # None: the curriculum's own rate for the stage
    mixed: bool = False


ARMS = {a.name: a for a in (
    Arm("c1", 1, lr=FIG_LR), Arm("c3", 3, lr=FIG_LR), Arm("mixed", 1, lr=FIG_LR, mixed=True),
    Arm("c2", 2, init="c1"), Arm("c3_from_c2", 3, init="c2", lr=FIG_LR),
    Arm("c2_scene", 2, alignment="scene", init="c1"), Arm("c0", 1, alignment="scene"),
)}
COUNTER_INITS = {"none": None, "C0": "c0", "C1": "c1", "C2": "c2"}
HEADS = ("poisson", "softmax")
# Two chains per seed, about equal in work; a chain's jobs run in order (later ones need earlier ones).
CHAINS = {
    "A": ("arm:c1", "arm:c2", "arm:c3_from_c2", "arm:c2_scene", "counter:C1", "counter:C2"),
    "B": ("arm:c3", "arm:mixed", "arm:c0", "counter:none", "counter:C0"),
}


@dataclass(frozen=True)
class Plan:
    """Sizes of one science run (see curriculum_science.py for the defaults)."""

    work: Path
    seeds: tuple[int, ...]
    steps: int
    counter_steps: int
    threads: int = 1
    batch_size: int = 16


def arm_checkpoint(work: Path, seed: int, arm: str) -> Path:
    return Path(work) / "runs" / f"s{seed}" / arm / f"c{ARMS[arm].stage}" / "checkpoint.pt"


def counter_dir(work: Path, seed: int, init: str, head: str) -> Path:
    return Path(work) / "counters" / f"s{seed}" / f"{init}-{head}"


def counting_eval_dir(work: Path, seed: int, init: str, head: str) -> Path:
    return Path(work) / "eval" / "counting" / f"s{seed}" / f"{init}-{head}"


def _done(path: Path, steps: int) -> bool:
    """A checkpoint that has reached `steps` (its run will not train again)."""
    summary = path.parent / "summary.json"
    try:
        return path.is_file() and json.loads(summary.read_text())["steps"] >= steps
    except (OSError, ValueError, KeyError):
        return False


def train_arm(plan: Plan, seed: int, name: str) -> None:
    from avcurr.counting.mixing import curricula_sizes, interleaved_batches
    from avcurr.train import TrainConfig, train_stage

    arm = ARMS[name]
    ckpt = arm_checkpoint(plan.work, seed, name)
    if _done(ckpt, plan.steps):
        return
    shards = Path(plan.work) / "shards"
    batches = None
    if arm.mixed:
        sizes = curricula_sizes(shards, DATASET, "train", ("c1", "c2", "c3", "c4"))
        batches = interleaved_batches(shards, DATASET, "train", sizes, plan.batch_size, seed=seed)
    train_stage(TrainConfig(
        run=ckpt.parent.parent, stage=arm.stage, shards=shards, dataset=DATASET, split="train", model="tiny",
        batch_size=plan.batch_size, alignment=arm.alignment, lr=arm.lr, seed=seed, max_steps=plan.steps,
        init=arm_checkpoint(plan.work, seed, arm.init) if arm.init else None, threads=plan.threads,
        # the paper's training rule, k_v = k + 1: these runs reproduce its experiments (avcurr's own
        # default over-clusters, for localization beside silent objects: pipelines/README.md)
        train_extra_visual=1, ckpt_every=100, log_every=10), batches)


def train_and_eval_counter(plan: Plan, seed: int, init: str, head: str) -> None:
    from avcurr.counting import CounterTrainConfig, CountingEvalConfig, evaluate_counting, train_counter

    run = counter_dir(plan.work, seed, init, head)
    if not _done(run / "checkpoint.pt", plan.counter_steps):
        source = COUNTER_INITS[init]
        train_counter(CounterTrainConfig(
            run=run, shards=Path(plan.work) / "shards", dataset=DATASET, split="train", model="tiny", head=head,
            init=arm_checkpoint(plan.work, seed, source) if source else None, batch_size=plan.batch_size,
            seed=seed, max_steps=plan.counter_steps, threads=plan.threads, ckpt_every=100, log_every=10))
    out = counting_eval_dir(plan.work, seed, init, head)
    if not (out / "summary.json").is_file():
        evaluate_counting(CountingEvalConfig(checkpoint=run / "checkpoint.pt", shards=Path(plan.work) / "shards",
                                             out=out, dataset=DATASET, split="test", device="cpu"))


def run_chain(plan: Plan, seed: int, chain: str) -> dict:
    """Run one chain of jobs for one seed (in a worker process); returns its timing."""
    import torch

    torch.set_num_threads(plan.threads)
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    for job in CHAINS[chain]:
        kind, name = job.split(":")
        if kind == "arm":
            train_arm(plan, seed, name)
        else:
            for head in HEADS:
                train_and_eval_counter(plan, seed, name, head)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"seed": seed, "chain": chain, "seconds": time.perf_counter() - started,
            "cpu_seconds": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime}
