"""The curriculum paper's experiments on the synthetic world, where the answers are known (issue 15):

    python pipelines/curriculum_science.py --work avcurr-work/science

- Fig. 4a: training loss and pair accuracy of the curriculum model trained on c1, on c3 and on every
  curriculum mixed, for the same steps;
- Fig. 4b: c3 from random init vs c3 from the c2 checkpoint (same seed, steps, rate and data order);
- Table 1: the ESC-style linear probe (synthetic ESC-50 layout, 10 classes, 5 folds) of the audio
  nets of C1, C2 source-level and C2 scene-level, beside a random-init floor;
- Table 2: counting accuracy and MAE of the counter without pre-training and from CAVL-C0, C1, C2,
  under the paper's rule, the nearest integer and a softmax head, beside random and majority floors;
- Table 3: C1's localization with the aligned visual centre vs an unrelated one (single-source clips);
- the curriculum's payoff per sounding object: c2 from c1 vs c2 from scratch on two-source clips
  (with and without a silent object): does each audio centre point at its own sounding object?

Worlds: a train world of clips with 1-4 sounding objects (its c1..c4 shards train everything) and a
test world of 1-4 (counting is scored on it). Every experiment is repeated for each seed (the
seed sets initial weights and data order; the worlds stay the same); results are means with their
standard deviation and per-seed values. The models and runs are listed in science_jobs.py.

Writes results.json, results.md (the tables), fig4a.png, fig4b.png and tables.png under --work.
Jobs run in --jobs processes (one torch thread each); every step skips what is already complete.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipe_steps import World, make_shards, make_world  # noqa: E402
from science_jobs import CHAINS, Plan, arm_checkpoint, run_chain  # noqa: E402
from science_report import (TABLE1_ROWS, curve_summary, esc_dir, markdown, plot_curves,  # noqa: E402
                            plot_tables, spread, table1, table2)

from avcurr.atomic import atomic_write  # noqa: E402
from avcurr.cli.common import console, plain, say  # noqa: E402

FIG4A = {"c1": "c1", "c3": "c3", "all curricula mixed": "mixed"}
FIG4B = {"c3 from random init": "c3", "c3 from the c2 checkpoint": "c3_from_c2"}


def cpu_seconds() -> float:
    """CPU time of this process and of every finished child (workers, ffmpeg)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def make_data(work: Path, args) -> None:
    """The train and test worlds as shards, and the synthetic ESC-50 set."""
    from avcurr.synth.esc50 import Esc50SynthConfig, synthesize_esc50

    for world in (World("train", args.train_clips, seed=1, min_sources=1, max_sources=4, size=args.size, fps=args.fps),
                  World("test", args.test_clips, seed=2, min_sources=1, max_sources=4, size=args.size, fps=args.fps)):
        make_shards(work, world, make_world(work, world, args.jobs), args.jobs)
    esc = synthesize_esc50(Esc50SynthConfig(out=work / "esc50", per_fold=args.esc_per_fold, seed=3))
    console.print(f"[bold]synth esc50[/]: {esc.clips} clips in {esc.seconds:.0f} s")


def train_everything(plan: Plan, jobs: int) -> list[dict]:
    """Every seed's chains of training and counting jobs, `jobs` at a time."""
    todo = [(seed, chain) for seed in plan.seeds for chain in CHAINS]
    timings = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(run_chain, plan, seed, chain): (seed, chain) for seed, chain in todo}
        for future in as_completed(futures):
            seed, chain = futures[future]
            timing = future.result()
            timings.append(timing)
            console.print(f"[bold]chain {chain}, seed {seed}[/] done in {timing['seconds']:.0f} s "
                          f"({timing['cpu_seconds']:.0f} CPU s); {len(timings)}/{len(todo)}")
    return timings


def run_probes(work: Path, plan: Plan) -> None:
    """Table 1's probes: the synthetic ESC-50 set decoded once, each checkpoint probed on it."""
    from avcurr.probe import Esc50ProbeConfig, evaluate_esc50, load_esc50

    data = None
    for seed in plan.seeds:
        for arm in TABLE1_ROWS.values():
            out = esc_dir(work, seed, arm)
            if (out / "summary.json").is_file():
                continue
            data = data if data is not None else load_esc50(work / "esc50", console)
            evaluate_esc50(Esc50ProbeConfig(checkpoint=arm_checkpoint(work, seed, arm), data=work / "esc50", out=out,
                                            device="cpu", seed=seed), data=data)


def localization_results(work: Path, plan: Plan, clips: int, jobs: int) -> dict:
    """The curriculum paper's localization pieces, with its training rule like every run here:
    Table 3 (C1's aligned visual centre vs an unrelated one, on single-source clips) and the
    curriculum's payoff per sounding object (k_a = 2: c2 from c1 vs c2 from scratch, the same seed
    and steps, on two-source clips with and without a silent object), per seed and over seeds.
    The steps are the localization recipe's (localization_steps.py)."""
    from localization_steps import Training, curriculum_payoff, evaluated, test_worlds

    worlds = test_worlds(clips, seed_offset=100)  # clips of their own, named apart from this recipe's "test"
    tests = [worlds["alone"], worlds["2 sources"], worlds["2 src+silent"]]
    shards = None
    for world in tests:
        shards = make_shards(work, world, make_world(work, world, jobs), jobs)
    how = Training(steps=plan.steps, threads=plan.threads, train_extra_visual=1)
    per_seed = []
    for seed in plan.seeds:
        c1 = arm_checkpoint(work, seed, "c1")
        table3 = evaluated(work, shards, worlds["alone"], c1, work / "table3" / f"seed{seed}", overlays=2)
        # The "c2" arm above is c2 from c1 with this seed, these steps and the stage-2 rate: the payoff's
        # first arm. Handing its run over saves training it twice; the arm from scratch trains here.
        from_c1 = work / "payoff" / f"seed{seed}" / "from_c1" / "c2"
        if not from_c1.exists():
            shutil.copytree(arm_checkpoint(work, seed, "c2").parent, from_c1)
        arms = curriculum_payoff(work, shards, c1, tests[1:], seed=seed, how=how)
        per_seed.append({"seed": seed,
                         "table3": {row: table3["methods"][m] for row, m in (("aligned", "model"), ("unrelated", "unrelated"))},
                         "payoff": {arm: {test: report["objects"]["model"] for test, report in by_test.items()}
                                    for arm, by_test in arms.items()}})
    metrics = ("ciou_at_0.5", "auc", "pointing")
    return {"clips": clips, "per_seed": per_seed,
            "table3": {row: {m: spread([s["table3"][row][m] for s in per_seed]) for m in metrics}
                       for row in ("aligned", "unrelated")},
            "payoff": {arm: {test: {k: spread([s["payoff"][arm][test][k] for s in per_seed])
                                    for k in ("each_different", "on_silent")}
                             for test in per_seed[0]["payoff"][arm]}
                       for arm in per_seed[0]["payoff"]}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("avcurr-work/science"), help="output folder")
    parser.add_argument("--train-clips", type=int, default=1200, help="train world: clips with 1-4 sources")
    parser.add_argument("--test-clips", type=int, default=200, help="test world (counting): clips with 1-4 sources")
    parser.add_argument("--size", type=int, default=128, help="frame side of the worlds' media (stored at 256)")
    parser.add_argument("--fps", type=int, default=4, help="frames per second of the worlds' media")
    parser.add_argument("--esc-per-fold", type=int, default=6, help="synthetic ESC-50: clips per class and fold")
    parser.add_argument("--seeds", type=str, default="0,1,2", help="comma-separated seeds (at least 3 for a spread)")
    parser.add_argument("--steps", type=int, default=250, help="steps of every curriculum-model run (batch 16)")
    parser.add_argument("--counter-steps", type=int, default=800, help="steps of every counter (batch 16)")
    parser.add_argument("--localization-clips", type=int, default=60,
                        help="clips of each localization test world (Table 3 and the curriculum's payoff)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started, load_start = time.perf_counter(), os.getloadavg()
    plan = Plan(work=work, seeds=tuple(int(s) for s in args.seeds.split(",")), steps=args.steps,
                counter_steps=args.counter_steps, threads=args.threads)
    make_data(work, args)
    data_seconds, data_cpu = time.perf_counter() - started, cpu_seconds()
    chains = train_everything(plan, args.jobs)
    run_probes(work, plan)
    results = {
        "plan": {**asdict(plan), "work": str(work), "train_clips": args.train_clips, "test_clips": args.test_clips,
                 "esc_per_fold": args.esc_per_fold, "size": args.size, "fps": args.fps},
        "fig4a": curve_summary(work, plan.seeds, FIG4A), "fig4b": curve_summary(work, plan.seeds, FIG4B),
        "table1": table1(work, plan.seeds), "table2": table2(work, plan.seeds),
        "localization": localization_results(work, plan, args.localization_clips, args.jobs),
        "timing": {"wall_seconds": time.perf_counter() - started, "cpu_seconds": cpu_seconds(),
                   "data_wall_seconds": data_seconds, "data_cpu_seconds": data_cpu, "chains": chains,
                   "load_at_start": [round(x, 1) for x in load_start],
                   "load_at_end": [round(x, 1) for x in os.getloadavg()]}}
    plot_curves(work, plan.seeds, FIG4A, work / "fig4a.png", "Fig. 4a: c1 vs c3 vs every curriculum mixed")
    plot_curves(work, plan.seeds, FIG4B, work / "fig4b.png", "Fig. 4b: c3 from random init vs from c2")
    plot_tables(results["table1"], results["table2"], work / "tables.png")
    # A rerun skips finished steps, so its timing is its own: every invocation's is kept in timing.jsonl.
    history = work / "timing.jsonl"
    earlier = history.read_text() if history.is_file() else ""
    atomic_write(history, earlier + json.dumps({k: v for k, v in results["timing"].items() if k != "chains"}) + "\n")
    atomic_write(work / "results.json", json.dumps(results, indent=2, default=str) + "\n")
    atomic_write(work / "results.md", markdown(results))
    console.print(markdown(results), markup=False, highlight=False)
    say("results: ", plain(work / "results.md", "bold"), ", results.json, fig4a.png, fig4b.png, tables.png")
    return results


if __name__ == "__main__":
    main()
