"""The AVE recipe ("See the Sound, Hear the Pixels"), end to end on a CPU, offline:

    synthetic AVE world -> ave-features (random tiny encoder) -> train-ave (supervised and weak,
    ours and the AVE-ECCV18 baseline, the ablations of Tables 2-3; unsupervised, AVTGML), several
    seeds -> eval ave -> Table 1-3 style tables beside the paper's numbers -> ave-maps: the
    attention maps of the three modes measured against the world's boxes (pointing game, cIoU,
    distractor and silent-object tests) beside centre, uniform and random maps.

    python pipelines/ave.py --work avcurr-work/ave

Every step keeps what is finished: rerun to resume. Writes results.json and results.md in --work,
the world in world/, the features in features/, every run in runs/<config>-<mode>/s<seed>/
(checkpoint, curves, eval/ with per_category.png and confusion.png), the maps in maps/s<seed>/
(maps_summary.json, per_segment_maps.csv; strips/*.png for seed 0).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ave_steps import (PAPER2, PAPER3, TABLE2, TABLE3, ablation_table, maps_table, markdown,  # noqa: E402
                       measure_maps, table1, table_runs, train_and_evaluate, unsupervised_runs)

from avcurr.atomic import atomic_write  # noqa: E402
from avcurr.cli.common import console, plain, say  # noqa: E402


def make_world(work: Path, clips: int, jobs: int, small_objects: bool) -> Path:
    from avcurr.synth.ave_world import AveWorldConfig, synthesize_ave

    out = work / "world"
    summary = synthesize_ave(AveWorldConfig(out=out, clips=clips, seed=1, size=128, fps=8, workers=jobs,
                                            small_objects=small_objects))
    console.print(f"[bold]world[/]: {summary.n_ok}/{summary.n_clips} clips ({summary.n_reused} kept) in "
                  f"{summary.seconds:.0f} s; per split {dict(sorted(summary.per_split.items()))}")
    if summary.failures:
        raise SystemExit(f"{len(summary.failures)} clips failed, first: {summary.failures[0]}")
    return out


def make_features(work: Path, world: Path, threads: int | None) -> Path:
    from avcurr.ave.extract import FeatureConfig, extract_features

    out = work / "features"
    summary = extract_features(FeatureConfig(videos=world / "media", annotations=world / "ave" / "Annotations.txt",
                                             out=out, encoder="random", config="tiny", threads=threads), console)
    console.print(f"[bold]features[/]: {summary.rows} rows + {summary.noisy} background-only videos, "
                  f"shapes {summary.shapes}")
    return out


def run_all(work: Path, features: Path, runs, seeds, steps: int, batch_size: int, jobs: int,
            threads: int | None) -> dict:
    """{(run name, mode): [summary per seed]}, in `jobs` worker processes."""
    from avcurr.progress import progress_bar

    todo = [(run, seed) for run in runs for seed in seeds]
    results: dict = {}
    context = get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool, \
            progress_bar(console, "ave runs", len(todo)) as bar:
        futures = {pool.submit(train_and_evaluate, work, features, run, seed, steps, batch_size, threads): (run, seed)
                   for run, seed in todo}
        for future in as_completed(futures):
            run, seed = futures[future]
            summary = future.result()
            results.setdefault((run.name, run.mode), []).append(summary)
            bar.update(advance=1, info=f"{run.name} {run.mode} s{seed}")
    return results


def floors_of(results: dict) -> dict:
    any_summary = next(s for summaries in results.values() for s in summaries if "floors" in s)
    return any_summary["floors"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("avcurr-work/ave"), help="output folder")
    parser.add_argument("--clips", type=int, default=400, help="event clips (8:1:1 train/val/test), plus one "
                                                               "background-only clip per ten")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per configuration")
    parser.add_argument("--steps", type=int, default=300, help="optimiser steps per run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (one process each)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--no-ablations", action="store_true", help="skip the runs of Tables 2-3")
    parser.add_argument("--small-objects", action="store_true",
                        help="a world of small objects (3-8 %% of the frame alone): a lone large object always "
                             "covers the frame's centre, which the centre map then always points at")
    args = parser.parse_args(argv)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    world = make_world(work, args.clips, args.jobs, args.small_objects)
    features = make_features(work, world, args.threads)
    runs = table_runs(ablations=not args.no_ablations) + unsupervised_runs()
    seeds = list(range(args.seeds))
    results = run_all(work, features, runs, seeds, args.steps, args.batch_size, args.jobs, args.threads)
    tables = [table1(results, floors_of(results))]
    if not args.no_ablations:
        tables += [ablation_table("Table 2: fusion strategies, supervised (%)", TABLE2, PAPER2, results),
                   ablation_table("Table 3: modules, supervised (%)", TABLE3, PAPER3, results)]
    maps = [measure_maps(work, features, world, seed, strips=4 if seed == 0 else 0) for seed in seeds]
    tables.append(maps_table(maps))
    for table in tables:
        console.print(table)
    wall = time.perf_counter() - started
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    console.print(f"wall {wall / 60:.1f} min, CPU {cpu / 60:.1f} min (quiet 2-core estimate {cpu / 120:.1f} min)")
    atomic_write(work / "results.md", "\n".join(markdown(t) for t in tables))
    atomic_write(work / "results.json", json.dumps(
        {"results": {f"{name}|{mode}": summaries for (name, mode), summaries in results.items()}, "maps": maps,
         "settings": vars(args) | {"work": str(work)}, "wall_seconds": wall, "cpu_seconds": cpu},
        indent=2, default=str) + "\n")
    say("results: ", plain(work / "results.md", "bold"), ", ", plain(work / "results.json", "bold"))


if __name__ == "__main__":
    main()
