"""The separation recipe of issue 11: visually guided separation on the synthetic MUSIC-solo stand-in.

    python pipelines/separation.py --work avcurr-work/separation

- worlds: 300 single-source training clips and 60 single-source test clips (the synthetic world's
  solo clips stand in for MUSIC-solo; each clip's whole soundtrack is its reference);
- localizer: curriculum stage c1 of the `tiny` model on the training clips, 100 steps (frozen
  afterwards; on the held-out clips it points at the sounding object in 80 % of them);
- separators: the `tiny` U-Net by mix-and-separate (plain L1, eq. 8), 600 steps of 4 mixtures,
  once with the `centre` cue and once with the `mask` cue, for each of 3 seeds (--seeds);
- evaluation: the same fixed two-source mixtures of test clips for every separator, beside the
  mixture itself (floor) and the ideal ratio mask on the same projection (ceiling).

Writes results.json, eval/ (summary.json, per_mixture.csv, separated/*.wav, spectrograms.png) and
the training runs under run/ (localizer c1/, seed<k>/separator-<cue>/). Every step resumes or
skips what is complete, so an interrupted recipe is simply rerun.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.table import Table  # noqa: E402

from avcurr.atomic import atomic_write  # noqa: E402
from avcurr.cli.common import console, plain, say  # noqa: E402
from recipe_steps import DATASET, Recipe, World, make_shards, make_world, train_stage_for  # noqa: E402

CUES = ("centre", "mask")
# The paper's Table 4 (MUSIC-solo test set): SDR, SIR, SAR.
PAPER_TABLE_4 = {"NMF-MFCC": (0.92, 5.68, 6.84), "AV-Mix-Sep": (3.16, 6.74, 8.89),
                 "Sound-of-Pixels": (7.30, 11.90, 11.90), "Co-Separation": (7.38, 13.7, 10.80),
                 "Our-Model-Center": (5.79, 9.15, 12.29), "Our-Model-Mask": (6.59, 10.10, 12.56)}


def train_separators(work: Path, shards: Path, args) -> dict[str, Path]:
    """One `tiny` separator per (seed, cue); returns {name: checkpoint}."""
    from avcurr.separation import SeparatorConfig, train_separator

    checkpoints = {}
    for seed in range(args.seeds):
        for cue in CUES:
            cfg = SeparatorConfig(run=work / "run" / f"seed{seed}", shards=shards, dataset=DATASET, split="train",
                                  localizer=work / "run" / "c1" / "checkpoint.pt", condition=cue, model="tiny",
                                  mixtures=args.mixtures_per_step, max_steps=args.separator_steps,
                                  max_seconds=args.separator_minutes * 60, threads=args.threads, seed=seed,
                                  ckpt_every=100, log_every=10)
            summary = train_separator(cfg, console=console)
            last = summary.last or {}
            checkpoints[f"{cue}-seed{seed}"] = summary.checkpoint
            if not last:  # finished by an earlier run: nothing trained now
                console.print(f"[bold]separator {cue} seed {seed}[/]: already trained ({summary.steps} steps)")
                continue
            console.print(f"[bold]separator {cue} seed {seed}[/]: {summary.steps} steps, "
                          f"{summary.samples_per_s:.1f} clips/s, stopped by {summary.stopped_by}; last L1 "
                          f"{last.get('loss', float('nan')):.4f} (cue-blind {last.get('cue_blind_l1', float('nan')):.4f})")
    return checkpoints


def evaluate(work: Path, shards: Path, checkpoints: dict[str, Path], args) -> dict:
    """The evaluation of every separator on the same mixtures (skipped when done for these checkpoints)."""
    from avcurr.separation import SeparationEvalConfig, evaluate_separation
    from avcurr.train import load_checkpoint

    out = work / "eval"
    steps = {name: load_checkpoint(path, kind="separator")["step"] for name, path in checkpoints.items()}
    done = out / "summary.json"
    if done.is_file():
        previous = json.loads(done.read_text())
        if ({n: m.get("step") for n, m in previous["models"].items()} == steps
                and previous["settings"]["mixtures_asked"] == args.mixtures):
            console.print("[bold]eval[/]: already done for these checkpoints")
            return previous["methods"]
    report = evaluate_separation(SeparationEvalConfig(
        checkpoints=tuple(checkpoints.values()), names=tuple(checkpoints), shards=shards, out=out, dataset=DATASET,
        split="test", mixtures=args.mixtures, seed=0, workers=args.eval_workers), console)
    return report.summaries


def by_cue(methods: dict[str, dict], seeds: int) -> dict[str, dict]:
    """Mean and sample standard deviation over seeds of each cue's per-seed means."""
    out = {}
    for cue in CUES:
        per_seed = [methods[f"{cue}-seed{s}"] for s in range(seeds)]
        out[cue] = {"seeds": seeds}
        for metric in ("sdr", "sir", "sar"):
            values = [m[metric] for m in per_seed]
            out[cue][metric] = round(statistics.fmean(values), 2)
            out[cue][f"{metric}_sd"] = round(statistics.stdev(values), 2) if len(values) > 1 else None
    return out


def mask_minus_centre(work: Path, seeds: int) -> dict:
    """Paired SDR difference mask - centre on the same (mixture, source): per seed its mean and the
    share of pairs where mask wins; then their mean over seeds."""
    import csv

    with open(work / "eval" / "per_mixture.csv", newline="") as handle:
        sdr = {(r["method"], r["mixture"], r["source"]): float(r["sdr"]) for r in csv.DictReader(handle)}
    per_seed = []
    for seed in range(seeds):
        pairs = [(sdr[(f"mask-seed{seed}", m, k)], sdr[(f"centre-seed{seed}", m, k)])
                 for (method, m, k) in sdr if method == f"mask-seed{seed}"]
        per_seed.append({"mean_sdr_gain": round(statistics.fmean(a - b for a, b in pairs), 2),
                         "mask_wins": round(sum(a > b for a, b in pairs) / len(pairs), 3)})
    gains = [p["mean_sdr_gain"] for p in per_seed]
    return {"per_seed": per_seed, "mean_sdr_gain": round(statistics.fmean(gains), 2),
            "sd": round(statistics.stdev(gains), 2) if len(gains) > 1 else None}


def results_table(methods: dict[str, dict], cues: dict[str, dict], mixtures: int) -> Table:
    table = Table(title=f"Separation of {mixtures} two-source mixtures of held-out synthetic solo clips (dB)",
                  caption="synthetic: mean over (mixture, source), ± sd over seeds; paper: MUSIC-solo, Table 4")
    for col in ("method", "SDR", "SIR", "SAR"):
        table.add_column(col, justify="left" if col == "method" else "right")

    def cell(stats: dict, metric: str) -> str:
        sd = stats.get(f"{metric}_sd")
        return f"{stats[metric]:.2f}" + (f" ± {sd:.2f}" if sd is not None else "")

    for cue in CUES:
        table.add_row(f"ours, {cue} cue (tiny)", *(cell(cues[cue], m) for m in ("sdr", "sir", "sar")))
    for name, label in (("ideal_ratio_mask", "ideal ratio mask (ceiling)"), ("mixture", "mixture (floor)")):
        table.add_row(label, *(f"{methods[name][m]:.2f}" for m in ("sdr", "sir", "sar")),
                      end_section=name == "mixture")
    for name, (sdr, sir, sar) in PAPER_TABLE_4.items():
        table.add_row(f"paper: {name}", f"{sdr:.2f}", f"{sir:.2f}", f"{sar:.2f}")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("avcurr-work/separation"), help="output folder")
    parser.add_argument("--train-clips", type=int, default=300)
    parser.add_argument("--test-clips", type=int, default=60)
    parser.add_argument("--localizer-steps", type=int, default=100, help="stage c1 steps (batch 16)")
    parser.add_argument("--separator-steps", type=int, default=600, help="steps per separator")
    parser.add_argument("--separator-minutes", type=float, default=4.0, help="wall-clock cap per separator")
    parser.add_argument("--mixtures-per-step", type=int, default=4, help="two-source mixtures per step")
    parser.add_argument("--seeds", type=int, default=3, help="separators per cue (seeds 0..N-1)")
    parser.add_argument("--mixtures", type=int, default=60, help="test mixtures")
    parser.add_argument("--eval-workers", type=int, default=2, help="processes running bss_eval")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is faster on a busy machine)")
    args = parser.parse_args(argv)

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    shards = None
    for world in (World("train", args.train_clips, seed=1, min_sources=1, max_sources=1),
                  World("test", args.test_clips, seed=2, min_sources=1, max_sources=1)):
        shards = make_shards(work, world, make_world(work, world, workers=2), workers=2)
    data_seconds = time.perf_counter() - started
    recipe = Recipe(train_clips=args.train_clips, test_clips=args.test_clips, distractor_clips=0, stages=(1,),
                    steps=(args.localizer_steps,), minutes=(6.0,), threads=args.threads)
    train_stage_for(work, shards, 1, recipe, args.localizer_steps, 6.0)
    checkpoints = train_separators(work, shards, args)
    methods = evaluate(work, shards, checkpoints, args)
    cues = by_cue(methods, args.seeds)
    paired = mask_minus_centre(work, args.seeds)
    console.print(results_table(methods, cues, args.mixtures))
    wins = ", ".join(f"{100 * p['mask_wins']:.0f} %" for p in paired["per_seed"])
    console.print(f"mask - centre on the same mixtures: SDR {paired['mean_sdr_gain']:+.2f} dB on average; "
                  f"mask better on {wins} of (mixture, source) pairs per seed")
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    results = {"cues": cues, "mask_minus_centre": paired, "methods": methods, "paper_table_4": PAPER_TABLE_4, "settings": vars(args),
               "data_seconds": round(data_seconds, 1), "wall_seconds": round(time.perf_counter() - started, 1),
               "cpu_seconds": round(sum(u.ru_utime + u.ru_stime for u in usage), 1)}
    atomic_write(work / "results.json", json.dumps(results, indent=2, default=str) + "\n")
    say("results: ", plain(work / "results.json", "bold"), "; sounds: ", plain(work / "eval" / "separated", "bold"),
        f"; wall {results['wall_seconds']:.0f} s, CPU {results['cpu_seconds']:.0f} s")


if __name__ == "__main__":
    main()
