"""Steps of the AVE recipe (pipelines/ave.py): the runs of the paper's tables, each trained and
evaluated by the library (the functions `avcurr train-ave` and `avcurr eval ave` map onto), and the
tables beside the paper's numbers. A run whose evaluation exists is read back, not redone.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from avcurr.atomic import atomic_write


@dataclass(frozen=True)
class Run:
    """One training configuration: `options` are AveTrainConfig fields besides mode and seed."""

    name: str
    mode: str
    options: dict = field(default_factory=dict)

    def folder(self, work: Path, seed: int) -> Path:
        return Path(work) / "runs" / f"{self.name}-{self.mode}" / f"s{seed}"


# Table 1: modalities, the published baseline (and its DMRN), ours; supervised and weak.
TABLE1 = (("Audio", {"modality": "audio"}), ("Visual", {"modality": "visual"}),
          ("Audio-assisted visual", {"modality": "assisted-visual"}), ("Audio + Visual", {"modality": "audio+visual"}),
          ("AVE-ECCV18 A+V-att", {"model": "ave-baseline"}), ("AVE-ECCV18 DMRN", {"model": "ave-dmrn"}),
          ("Ours (Aud + Aud-ass. Vis)", {}))
PAPER1 = {"Audio": (60.6, 57.9), "Visual": (56.7, 54.3), "Audio-assisted visual": (59.9, 56.5),
          "Audio + Visual": (73.1, 65.8), "AVE-ECCV18 A+V-att": (72.7, 66.7), "AVE-ECCV18 DMRN": (None, None),
          "Ours (Aud + Aud-ass. Vis)": (74.8, 68.9)}
# Table 2: fusion strategies (supervised; SWAB and aggregation kept).
TABLE2 = (("Element-wise multiplication", {"fusion": "mul"}), ("Element-wise addition", {"fusion": "add"}),
          ("Concatenation + FC", {"fusion": "concat"}), ("LSTM", {"fusion": "lstm"}), ("MFB", {"fusion": "mfb"}),
          ("AVFB (LSTM + MFB)", {}))
PAPER2 = {"Element-wise multiplication": 67.7, "Element-wise addition": 69.3, "Concatenation + FC": 68.8,
          "LSTM": 71.1, "MFB": 73.2, "AVFB (LSTM + MFB)": 74.8}
# Table 3: the modules (supervised).
TABLE3 = (("AVFB", {"swab": "none", "aggregation": False}),
          ("AVFB + SWAB (only mean)", {"swab": "mean", "aggregation": False}),
          ("AVFB + SWAB (only max)", {"swab": "max", "aggregation": False}),
          ("AVFB + SWAB (mean + max)", {"aggregation": False}), ("AVFB + SWAB + Aggregation", {}))
PAPER3 = {"AVFB": 73.4, "AVFB + SWAB (only mean)": 74.0, "AVFB + SWAB (only max)": 73.7,
          "AVFB + SWAB (mean + max)": 74.4, "AVFB + SWAB + Aggregation": 74.8}
# The weak mode with a video label that also says "some of it is background" (not AVE-ECCV18's).
WEAK_PRESENT = (("Ours, video label: classes present", {"video_label": "present"}),
                ("AVE-ECCV18 A+V-att, video label: classes present", {"model": "ave-baseline", "video_label": "present"}))


def slug(options: dict) -> str:
    """A folder name from the options that differ from ours ("ours" when none)."""
    return "_".join(f"{k}-{str(v).replace('+', 'p')}" for k, v in sorted(options.items())) or "ours"


def table_runs(ablations: bool) -> list[Run]:
    """Every distinct run the tables need (a configuration shared by two tables is run once)."""
    runs: dict[tuple, Run] = {}
    specs = [(o, m) for _, o in TABLE1 for m in ("supervised", "weak")]
    specs += [(o, "weak") for _, o in WEAK_PRESENT]
    if ablations:
        specs += [(o, "supervised") for _, o in TABLE2 + TABLE3]
    for options, mode in specs:
        runs.setdefault((slug(options), mode), Run(slug(options), mode, options))
    return list(runs.values())


def train_and_evaluate(work: Path, features: Path, run: Run, seed: int, steps: int, batch_size: int,
                       threads: int | None) -> dict:
    """Train one run (resuming) and evaluate it on the test split; the evaluation's summary dict
    (read back when it exists). Runs in a worker process: it opens the features itself."""
    from avcurr.ave.evaluate import AveEvalConfig, evaluate_ave
    from avcurr.ave.train import AveTrainConfig, train_ave

    folder = run.folder(work, seed)
    done = folder / "eval" / "summary.json"
    if done.is_file():
        return json.loads(done.read_text())
    summary = train_ave(AveTrainConfig(run=folder, features=features, mode=run.mode, seed=seed, max_steps=steps,
                                       batch_size=batch_size, threads=threads, device="cpu", ckpt_every=steps,
                                       log_every=25, **run.options))
    if run.mode == "unsupervised":
        result = {"mode": run.mode, "train_seconds": summary.seconds, "last": summary.last}
        (folder / "eval").mkdir(parents=True, exist_ok=True)
        atomic_write(done, json.dumps(result, indent=2) + "\n")
        return result
    report = evaluate_ave(AveEvalConfig(checkpoint=summary.checkpoint, features=features, out=folder / "eval",
                                        device="cpu"))
    return report.summary


def spread(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    """"mean ± std" (sample std over seeds) in percent."""
    if not values:
        return "-"
    mean = statistics.fmean(values) * scale
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def _paper(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def accuracy(results: dict, options: dict, mode: str) -> list[float]:
    return [r["segment_accuracy"] for r in results.get((slug(options), mode), [])]


def table1(results: dict, floors: dict) -> Table:
    table = Table(title="Table 1: segment accuracy (%) on the synthetic AVE test split, mean ± std over seeds")
    for col in ("method", "sup.", "weak", "paper sup.", "paper weak"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for name, options in TABLE1:
        table.add_row(name, spread(accuracy(results, options, "supervised")),
                      spread(accuracy(results, options, "weak")), *map(_paper, PAPER1[name]))
    for name, options in WEAK_PRESENT:
        table.add_row(name, "", spread(accuracy(results, options, "weak")), "", "")
    for name, value in floors.items():
        table.add_row(f"floor: {name.replace('_', ' ')}", f"{value * 100:.1f}", f"{value * 100:.1f}", "", "")
    return table


def ablation_table(title: str, rows, paper: dict, results: dict) -> Table:
    table = Table(title=title)
    for col in ("model", "measured", "paper"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, options in rows:
        table.add_row(name, spread(accuracy(results, options, "supervised")), _paper(paper[name]))
    return table


def markdown(table: Table) -> str:
    """A rich table as a GitHub markdown table (for results.md)."""
    heads = [str(c.header) for c in table.columns]
    cells = [[str(c) for c in column.cells] for column in table.columns]
    lines = [f"**{table.title}**", "", "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(col[i] for col in cells) + " |" for i in range(len(cells[0]) if cells else 0)]
    return "\n".join(lines) + "\n"


def finite(value: float) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


# Issue 10: the attention maps of the three modes (and the baseline's), measured on the test split.
MAP_RUNS = (("ours supervised", Run("ours", "supervised")), ("ours weak", Run("ours", "weak")),
            ("ours unsupervised", Run("ours", "unsupervised")),
            ("AVE-ECCV18 sup.", Run("model-ave-baseline", "supervised", {"model": "ave-baseline"})))
MAP_BASELINES = ("centre", "uniform", "random")


def unsupervised_runs() -> list[Run]:
    return [Run("ours", "unsupervised")]


def measure_maps(work: Path, features: Path, world: Path, seed: int, strips: int) -> dict:
    """`avcurr ave-maps` for one seed's checkpoints: {method: summary} (read back when done)."""
    from avcurr.ave.maps_run import MapsConfig, ave_maps

    out = Path(work) / "maps" / f"s{seed}"
    done = out / "maps_summary.json"
    if not done.is_file():
        ave_maps(MapsConfig(checkpoints=tuple(run.folder(work, seed) / "checkpoint.pt" for _, run in MAP_RUNS),
                            features=features, out=out, truth=world / "truth",
                            videos=world / "media" if strips else None, count=strips, seed=seed))
    methods = json.loads(done.read_text())["methods"]
    names = dict(zip([f"{'ours' if r.options.get('model') is None else r.options['model']} {r.mode}"
                      for _, r in MAP_RUNS], [n for n, _ in MAP_RUNS]))
    return {names.get(k, k): v for k, v in methods.items()}


def maps_table(per_seed: list[dict]) -> Table:
    """Mean ± std over seeds of each method's map scores."""
    table = Table(title="Attention maps (%) on the synthetic AVE test split, mean ± std over seeds",
                  caption="point: pointing game on event segments (lone: those without a distractor); cIoU: "
                          "mean cIoU there; src / dis: maxima on the sounding object / on the silent distractor; "
                          "silent: on the event's object while it is silent")
    for col in ("method", "point", "lone", "cIoU", "src", "dis", "silent"):
        table.add_column(col, justify="left" if col == "method" else "right", no_wrap=True)
    keys = (("pointing", "point"), ("pointing_lone", "lone"), ("mean_ciou", "cIoU"), ("points_at_sounding", "src"),
            ("points_at_distractor", "dis"), ("points_at_silent_object", "silent"))
    for method in [n for n, _ in MAP_RUNS] + list(MAP_BASELINES):
        values = [[s[method][k] for s in per_seed if s.get(method, {}).get(k) is not None] for k, _ in keys]
        table.add_row(method, *(spread(v, digits=0) if v else "-" for v in values))
    return table
