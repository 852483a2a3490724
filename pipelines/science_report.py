"""Tables and figures of `curriculum_science.py`, read back from what its jobs wrote.

Every number is a mean over seeds with its standard deviation and the per-seed values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from avcurr.plots import _pyplot, save_figure
from science_jobs import ARMS, COUNTER_INITS, HEADS, counting_eval_dir

# The paper's numbers (curriculum paper, Tables 1 and 2), quoted beside ours.
PAPER_TABLE1 = {"C1": 51.25, "C2 source-level": 56.75, "C2 scene-level": 47.25}
# Table 3 on SoundNet-Flickr: cIoU@0.5 and AUC in %, CAVL-C1 with its aligned visual centre and an unrelated one.
PAPER_TABLE3 = {"aligned": (50.0, 49.2), "unrelated": (19.2, 36.8)}
PAPER_TABLE2 = {"random guess": (20.2, 1.624), "w/o pre-train": (45.2, 0.742), "CAVL-C0": (47.0, 0.701),
                "CAVL-C1": (49.6, 0.616), "CAVL-C2": (50.9, 0.614)}
TABLE1_ROWS = {"C1": "c1", "C2 source-level": "c2", "C2 scene-level": "c2_scene"}
TABLE2_ROWS = {"w/o pre-train": "none", "CAVL-C0": "C0", "CAVL-C1": "C1", "CAVL-C2": "C2"}
RULE_COLUMNS = (("poisson", "most_probable"), ("poisson", "nearest"), ("softmax", "softmax"))


def spread(values) -> dict:
    """Mean, standard deviation (over seeds) and the values themselves."""
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "per_seed": values}


def fmt(s: dict, digits: int = 3) -> str:
    per = ", ".join(f"{v:.{digits}f}" for v in s["per_seed"])
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f} ({per})"


# ---- Fig. 4 ---------------------------------------------------------------------------------

def _rows(work: Path, seed: int, arm: str) -> list[dict]:
    path = Path(work) / "runs" / f"s{seed}" / arm / f"c{ARMS[arm].stage}" / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def curves(work: Path, seeds, arm: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Logged steps and seeds x steps arrays of loss and pair accuracy of one arm."""
    runs = [_rows(work, s, arm) for s in seeds]
    n = min(len(r) for r in runs)
    steps = np.array([r["step"] for r in runs[0][:n]])
    return steps, {m: np.array([[r[m] for r in run[:n]] for run in runs]) for m in ("loss", "accuracy")}


def curve_summary(work: Path, seeds, arms: dict[str, str]) -> dict:
    """Per arm: loss and pair accuracy averaged over the first and the last quarter of the logged
    steps, and the first logged step with pair accuracy >= 0.75 (None: never), each over seeds."""
    out = {}
    for label, arm in arms.items():
        steps, c = curves(work, seeds, arm)
        q = max(len(steps) // 4, 1)
        reach = [next((int(s) for s, a in zip(steps, acc) if a >= 0.75), None) for acc in c["accuracy"]]
        out[label] = {"arm": arm, "steps": int(steps[-1]),
                      "early_loss": spread(c["loss"][:, :q].mean(1)), "final_loss": spread(c["loss"][:, -q:].mean(1)),
                      "early_accuracy": spread(c["accuracy"][:, :q].mean(1)),
                      "final_accuracy": spread(c["accuracy"][:, -q:].mean(1)), "steps_to_0.75": reach}
    return out


def plot_curves(work: Path, seeds, arms: dict[str, str], path: Path, title: str) -> Path:
    """Loss and pair accuracy against the step: the mean over seeds and a band of one std."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    for (label, arm), colour in zip(arms.items(), ("#3b7dd8", "#d8453b", "#2a9d46", "#7b3bd8")):
        steps, c = curves(work, seeds, arm)
        for ax, metric in zip(axes, ("loss", "accuracy")):
            mean, std = c[metric].mean(0), c[metric].std(0)
            ax.plot(steps, mean, color=colour, label=label)
            ax.fill_between(steps, mean - std, mean + std, color=colour, alpha=0.2, lw=0)
    for ax, name in zip(axes, ("training loss (eq. 5)", "pair accuracy (threshold margin / 2)")):
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title} (mean and one std over {len(seeds)} seeds)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


# ---- Table 1 --------------------------------------------------------------------------------

def esc_dir(work: Path, seed: int, arm: str) -> Path:
    return Path(work) / "eval" / "esc50" / f"s{seed}" / arm


def table1(work: Path, seeds) -> dict:
    """ESC-probe mean accuracy (over the 5 folds) per training strategy, and the random floor."""
    rows = {}
    for label, arm in TABLE1_ROWS.items():
        summaries = [json.loads((esc_dir(work, s, arm) / "summary.json").read_text()) for s in seeds]
        rows[label] = spread([x["checkpoint"]["mean"] for x in summaries])
    rows["random init (floor)"] = spread([json.loads((esc_dir(work, s, "c1") / "summary.json").read_text())
                                          ["random_init"]["mean"] for s in seeds])
    rows["chance"] = spread([json.loads((esc_dir(work, s, "c1") / "summary.json").read_text())["chance"]
                             for s in seeds])
    return rows


# ---- Table 2 --------------------------------------------------------------------------------

def _counting(work: Path, seed: int, init: str, head: str) -> dict:
    return json.loads((counting_eval_dir(work, seed, init, head) / "summary.json").read_text())


def table2(work: Path, seeds) -> dict:
    """Counting accuracy and MAE of each pre-training under each rule, and the baselines."""
    rows = {}
    first = {s: _counting(work, s, "none", "poisson") for s in seeds}
    for name in ("random_guess", "majority_class"):
        rows[name.replace("_", " ")] = {"accuracy": spread([first[s]["baselines"][name]["accuracy"] for s in seeds]),
                                        "mae": spread([first[s]["baselines"][name]["mae"] for s in seeds])}
    for label, init in TABLE2_ROWS.items():
        row = {}
        for head, rule in RULE_COLUMNS:
            scores = [_counting(work, s, init, head)["rules"][rule] for s in seeds]
            row[rule] = {"accuracy": spread([x["accuracy"] for x in scores]), "mae": spread([x["mae"] for x in scores])}
        lam = [_counting(work, s, init, "poisson").get("lambda_per_count", {}) for s in seeds]
        row["median_lambda_per_count"] = {k: spread([x[k]["median"] for x in lam]) for k in lam[0]}
        rows[label] = row
    return rows


def plot_tables(t1: dict, t2: dict, path: Path) -> Path:
    """Bar charts of both tables: means with one-std error bars."""
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4), dpi=100, gridspec_kw={"width_ratios": [1, 1.6]})
    names = [n for n in t1 if n != "chance"]
    a1.bar(names, [t1[n]["mean"] for n in names], yerr=[t1[n]["std"] for n in names], color="#3b7dd8", capsize=3)
    a1.axhline(t1["chance"]["mean"], ls="--", color="grey", lw=1, label="chance")
    a1.set_title("Table 1: ESC-style probe accuracy", fontsize=10)
    a1.tick_params(axis="x", labelsize=8, rotation=15)
    a1.legend(fontsize=8)
    labels = list(TABLE2_ROWS)
    x = np.arange(len(labels))
    for i, ((_, rule), colour) in enumerate(zip(RULE_COLUMNS, ("#3b7dd8", "#2a9d46", "#d8a03b"))):
        a2.bar(x + (i - 1) * 0.27, [t2[l][rule]["accuracy"]["mean"] for l in labels], 0.27,
               yerr=[t2[l][rule]["accuracy"]["std"] for l in labels], color=colour, capsize=2, label=rule)
    for name, style in (("random guess", ":"), ("majority class", "--")):
        a2.axhline(t2[name]["accuracy"]["mean"], ls=style, color="grey", lw=1, label=name)
    a2.set_xticks(x, labels, fontsize=8)
    a2.set_ylim(0, 1)
    a2.set_title("Table 2: counting accuracy by prediction rule", fontsize=10)
    a2.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return save_figure(fig, path)


# ---- Markdown -------------------------------------------------------------------------------

def markdown(results: dict) -> str:
    """The tables of results.md: ours (mean ± std (per seed)) beside the paper's."""
    seeds = results["plan"]["seeds"]
    lines = [f"# Curriculum science on the synthetic world ({len(seeds)} seeds: {seeds})", ""]
    for fig, title in (("fig4a", "Fig. 4a: training on c1, on c3 and on every curriculum mixed"),
                       ("fig4b", "Fig. 4b: training on c3 from random init vs from the c2 checkpoint")):
        lines += [f"## {title}", "", "| arm | loss, first quarter | loss, last quarter | pair acc., first quarter "
                  "| pair acc., last quarter | first step with pair acc. >= 0.75 |", "|---|---|---|---|---|---|"]
        for label, s in results[fig].items():
            lines.append(f"| {label} | {fmt(s['early_loss'])} | {fmt(s['final_loss'])} | {fmt(s['early_accuracy'])} "
                         f"| {fmt(s['final_accuracy'])} | {s['steps_to_0.75']} |")
        lines.append("")
    lines += ["## Table 1: ESC-style linear probe (accuracy over 5 folds)", "", "| training strategy | ours | paper |",
              "|---|---|---|"]
    for label, s in results["table1"].items():
        paper = PAPER_TABLE1.get(label)
        lines.append(f"| {label} | {fmt(s)} | {'' if paper is None else f'{paper / 100:.4f}'} |")
    t2 = results["table2"]
    for metric, title, digits in (("accuracy", "accuracy", 3), ("mae", "mean absolute error", 3)):
        lines += ["", f"## Table 2: counting sound sources, {title} on the test world", "",
                  "| approach | most probable (paper's rule) | nearest integer | softmax head | paper |",
                  "|---|---|---|---|---|"]
        for label in ("random guess", "majority class"):
            cell = fmt(t2[label][metric], digits)
            paper = PAPER_TABLE2.get(label)
            lines.append(f"| {label} | {cell} | same | same | {_paper2(paper, metric)} |")
        for label in TABLE2_ROWS:
            cells = [fmt(t2[label][rule][metric], digits) for _, rule in RULE_COLUMNS]
            lines.append(f"| {label} | {' | '.join(cells)} | {_paper2(PAPER_TABLE2[label], metric)} |")
    lines += ["", "Median lambda of the Poisson head per true count (mean over seeds):", ""]
    for label in TABLE2_ROWS:
        med = t2[label]["median_lambda_per_count"]
        lines.append(f"- {label}: " + ", ".join(f"{k}: {v['mean']:.2f}" for k, v in med.items()))
    lines += localization_markdown(results.get("localization"))
    lines += ["", f"This invocation (a rerun skips finished steps; every invocation is in timing.jsonl): "
              f"wall time {results['timing']['wall_seconds']:.0f} s; CPU time "
              f"{results['timing']['cpu_seconds']:.0f} s (quiet 2-core estimate: CPU / 2 = "
              f"{results['timing']['cpu_seconds'] / 2 / 60:.1f} min); load average at the start "
              f"{results['timing']['load_at_start']}, at the end {results['timing']['load_at_end']}.", ""]
    return "\n".join(lines)


def localization_markdown(loc: dict | None) -> list[str]:
    """Table 3 (aligned vs unrelated visual centre) and the curriculum's payoff per sounding object."""
    if not loc or "table3" not in loc:
        return []
    lines = ["", f"## Table 3: C1's localization, aligned vs an unrelated visual centre ({loc['clips']} "
             "single-source clips)", "", "| visual centre | cIoU@0.5 | AUC | pointing | paper cIoU@0.5 / AUC |",
             "|---|---|---|---|---|"]
    for row, s in loc["table3"].items():
        paper = PAPER_TABLE3[row]
        lines.append(f"| {row} | {fmt(s['ciou_at_0.5'])} | {fmt(s['auc'])} | {fmt(s['pointing'])} "
                     f"| {paper[0] / 100:.3f} / {paper[1] / 100:.3f} |")
    lines += ["", "## The curriculum's payoff per sounding object (k_a = 2): clips where each audio centre "
              "peaks on its own sounding object (share of centres on the silent object)", ""]
    tests = list(next(iter(loc["payoff"].values())))
    lines += ["| c2 trained | " + " | ".join(tests) + " |", "|---" * (len(tests) + 1) + "|"]
    for arm, by_test in loc["payoff"].items():
        cells = [f"{fmt(by_test[t]['each_different'])} ({fmt(by_test[t]['on_silent'])})" for t in tests]
        lines.append(f"| {arm.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return lines


def _paper2(paper: tuple[float, float] | None, metric: str) -> str:
    if paper is None:
        return ""
    return f"{paper[0] / 100:.3f}" if metric == "accuracy" else f"{paper[1]:.3f}"


def counters_present(work: Path, seeds) -> bool:
    return all((counting_eval_dir(work, s, i, h) / "summary.json").is_file()
               for s in seeds for i in COUNTER_INITS for h in HEADS)
