"""Localization that is not told how many objects are in view (issue 16), over several training seeds.

    python pipelines/localization_no_hint.py --work avcurr-work/nohint --seeds 0 1 2 --threads 1

- train world: 600 clips with 1 or 2 sounding objects (the curriculum recipe's), c1 and c2 shards;
- five test worlds of --test-clips clips each: one sounding object alone (the SoundNet-Flickr
  setting), with one silent object, with two silent objects; two sounding objects, and two with a
  silent one;
- per seed: stage c1 (--c1-steps), stage c2 from c1 (--c2-steps), and stage c2 from scratch for
  the same steps (the curriculum's payoff, scored per sounding object on the two-source worlds;
  with --long-scratch also from scratch for c1's and c2's steps together);
- every checkpoint is evaluated with the rule its training recorded (the default rule), beside the
  paper's rule (eq. 7, k_v = k_a + 1), the unrelated visual centre and the baselines; with
  --visual-centres also eq. 7 told one visual centre per visible object.

Seeds can run as separate invocations (the same --work, in parallel once the data is built); a last
one with all seeds finds everything done and writes the tables.

Writes results.json (per seed and over seeds; the time of every invocation), results.md (the
tables; results-heldout<N>.* with --test-seed-offset N), per-evaluation folders
(per_image.csv, summary.json, success_curves.png, overlays) and the runs under seeds/ and payoff/.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avcurr.cli.common import say  # noqa: E402
from recipe_steps import World, console, make_shards, make_world  # noqa: E402
from localization_steps import (Training, curriculum_payoff, evaluated, objects_seeds_table,  # noqa: E402
                                over_seeds, save_json, seeds_table, test_worlds, train)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def build_data(work: Path, args) -> tuple[Path, dict[str, World]]:
    train_world = World("train", args.train_clips, seed=1, min_sources=1, max_sources=2)
    tests = test_worlds(args.test_clips, args.test_seed_offset)
    shards = None
    for world in (train_world, *tests.values()):
        shards = make_shards(work, world, make_world(work, world, args.workers), args.workers)
    return shards, tests


def run_seed(work: Path, shards: Path, tests: dict[str, World], seed: int, args) -> dict:
    """c1, then c2 from c1 and c2 from scratch (`curriculum_payoff`), each evaluated;
    {evaluation: report dict}."""
    single = [tests[k] for k in ("alone", "1 silent", "2 silent")]
    double = [tests[k] for k in ("2 sources", "2 src+silent")]
    label = {world.name: name for name, world in tests.items()}
    run = work / "seeds" / f"seed{seed}" / "run"
    train(run, shards, 1, seed, Training(args.c1_steps, args.minutes, threads=args.threads))
    payoff = curriculum_payoff(work, shards, run / "c1" / "checkpoint.pt", double, seed=seed,
                               how=Training(args.c2_steps, args.minutes, threads=args.threads),
                               overlays=args.overlays, told=args.visual_centres,
                               long_scratch_steps=args.c1_steps + args.c2_steps if args.long_scratch else None)
    checkpoints = {"c1": run / "c1" / "checkpoint.pt",
                   "c2": work / "payoff" / f"seed{seed}" / "from_c1" / "c2" / "checkpoint.pt"}
    out: dict[str, dict] = {}
    for name, checkpoint in checkpoints.items():
        for test in single:
            out[f"{name} {label[test.name]}"] = evaluated(work, shards, test, checkpoint,
                                                      work / "seeds" / f"seed{seed}" / "eval" / f"{name}-{test.name}",
                                                      overlays=args.overlays, told=args.visual_centres)
    names = {"from_c1": "c2", "scratch": "c2 scratch", "scratch_long": "c2 scratch long"}
    for arm, reports in payoff.items():
        for test_name, report in reports.items():
            out[f"{names[arm]} {label[test_name]}"] = report
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("avcurr-work/nohint"), help="output folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    parser.add_argument("--train-clips", type=int, default=600)
    parser.add_argument("--test-clips", type=int, default=100, help="clips per test world")
    parser.add_argument("--test-seed-offset", type=int, default=0,
                        help="draw the test worlds with seeds shifted by this much (a held-out set of the same kinds)")
    parser.add_argument("--c1-steps", type=int, default=600, help="stage c1 steps (batch 16)")
    parser.add_argument("--c2-steps", type=int, default=400, help="stage c2 steps, from c1 and from scratch")
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock cap of each training run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is faster on a busy machine)")
    parser.add_argument("--workers", type=int, default=2, help="processes for synth and build-shards")
    parser.add_argument("--overlays", type=int, default=4, help="heatmap PNGs per evaluation")
    parser.add_argument("--long-scratch", action="store_true",
                        help="also train c2 from scratch for c1's and c2's steps together (is it more steps, not the curriculum?)")
    parser.add_argument("--visual-centres", action="store_true",
                        help="also score eq. 7 told one visual centre per visible object plus the background")
    args = parser.parse_args(argv)

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    stem = "results" + (f"-heldout{args.test_seed_offset}" if args.test_seed_offset else "")
    results, markdown = work / f"{stem}.json", work / f"{stem}.md"
    earlier = json.loads(results.read_text()).get("invocations", []) if results.is_file() else []
    started, cpu_started = time.perf_counter(), cpu_seconds()
    shards, tests = build_data(work, args)
    data = {"seconds": round(time.perf_counter() - started, 1), "cpu_seconds": round(cpu_seconds() - cpu_started, 1)}
    per_seed = {}
    for seed in args.seeds:
        per_seed[seed] = run_seed(work, shards, tests, seed, args)
        save_json(results, {"per_seed": per_seed, "args": vars(args), "data": data, "invocations": earlier})
    merged = over_seeds(list(per_seed.values()), "methods")
    objects = over_seeds(list(per_seed.values()), "objects")
    seeds = ", ".join(map(str, args.seeds))
    def tables(full: bool) -> list:
        return [seeds_table(f"Pointing game, seeds {seeds}", merged, "pointing", full),
                seeds_table(f"cIoU@0.5, seeds {seeds}", merged, "ciou_at_0.5", full),
                seeds_table(f"AUC, seeds {seeds}", merged, "auc", full),
                objects_seeds_table(f"Per sounding object (k_a = 2), seeds {seeds}", objects, full)]

    rules = {r["rule_source"] + ": " + str(r["rule"]) for s in per_seed.values() for r in s.values()}
    for rule in sorted(rules):
        say("rule ", rule)
    for table in tables(full=False):
        console.print(table)
    timing = {"seeds": args.seeds, "wall_seconds": round(time.perf_counter() - started, 1),
              "cpu_seconds": round(cpu_seconds() - cpu_started, 1), "data": data}
    # Seeds may be run by separate invocations (in parallel, then once more for the tables): each
    # one's time is kept, the steps it found done cost it nothing.
    save_json(results, {"per_seed": per_seed, "over_seeds": merged, "objects_over_seeds": objects,
                        "args": vars(args), "invocations": earlier + [timing]})
    write_markdown(markdown, tables(full=True))
    say(f"wall {timing['wall_seconds']:.0f} s, CPU {timing['cpu_seconds']:.0f} s "
        f"(quiet 2-core estimate {timing['cpu_seconds'] / 2 / 60:.1f} min); results: {results}", target=console)


def write_markdown(path: Path, tables) -> None:
    """The tables as Markdown (the cells as printed)."""
    from avcurr.atomic import atomic_write

    lines = []
    for table in tables:
        headers = [str(c.header) for c in table.columns]
        lines += [f"### {table.title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        rows = zip(*(list(c.cells) for c in table.columns))
        lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
        lines += ["", str(table.caption or ""), ""]
    atomic_write(path, "\n".join(lines) + "\n")


if __name__ == "__main__":
    from avcurr.cli.common import error_line
    from avcurr.errors import AvcurrError

    try:
        main()
    except AvcurrError as exc:
        error_line(str(exc))
        sys.exit(2)
