"""`avcurr eval counting`: a counter on a test split, rule by rule, beside trivial baselines.

Baselines (SPEC §6): a random guess, uniform over 1..5 (the paper's "Random" row; its accuracy
and MAE are exact expectations, not one draw), and the majority class of the counter's training
data (recorded in its checkpoint; the test split's own majority when the checkpoint has none).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter as Tally
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from avcurr.atomic import atomic_write
from avcurr.counting.plots import save_confusions
from avcurr.counting.predict import RULE_TEXT, RULES, predictions
from avcurr.counting.task import KIND, batch_counts
from avcurr.errors import AvcurrError
from avcurr.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class CountingEvalConfig:
    """checkpoint: a counter checkpoint; shards/dataset/split: the test clips (every curriculum
    present, or `curricula`); out: where summary.json, per_clip.csv and confusion.png go."""

    checkpoint: Path
    shards: Path
    out: Path
    dataset: str = "audioset"
    split: str = "test"
    curricula: tuple[str, ...] | None = None
    batch_size: int = 32
    device: str = "auto"
    limit: int | None = None


@dataclass
class CountingReport:
    head: str
    n: int
    rules: dict[str, dict]          # rule -> accuracy, mae, per-count accuracy, confusion
    baselines: dict[str, dict]      # random_guess, majority_class -> accuracy, mae
    counts: dict[int, int]          # test clips per true count
    files: dict[str, Path] = field(default_factory=dict)


def load_counter(path: Path, device):
    """The counter stored in `path` (eval mode) and its checkpoint dict."""
    from avcurr.models.counter import Counter, CounterConfig
    from avcurr.train.checkpoint import load_checkpoint

    state = load_checkpoint(path, device, kind=KIND)
    model = Counter(CounterConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state


def rule_scores(truth: np.ndarray, pred: np.ndarray, max_count: int) -> dict:
    """Accuracy, MAE, per-count accuracy and the confusion matrix (rows: true 1..K, columns:
    predicted 1..K) of one rule."""
    confusion = np.zeros((max_count, max_count), dtype=int)
    np.add.at(confusion, (truth - 1, pred - 1), 1)
    per_count = {int(k): float(np.mean(pred[truth == k] == k)) for k in np.unique(truth)}
    return {"accuracy": float(np.mean(pred == truth)), "mae": float(np.mean(np.abs(pred - truth))),
            "per_count_accuracy": per_count, "confusion": confusion.tolist()}


def baselines(truth: np.ndarray, train_counts: dict[str, int] | None, max_count: int) -> dict[str, dict]:
    """The random guess (uniform over 1..K, exact expectations) and the majority class."""
    guesses = np.arange(1, max_count + 1)
    random_mae = float(np.mean(np.abs(truth[:, None] - guesses[None, :])))
    if train_counts:
        majority, source = int(max(train_counts, key=lambda k: (train_counts[k], -int(k)))), "training data"
    else:
        majority, source = int(Tally(truth.tolist()).most_common(1)[0][0]), "test split (no training counts recorded)"
    return {"random_guess": {"accuracy": 1 / max_count, "mae": random_mae, "guess": f"uniform over 1..{max_count}"},
            "majority_class": {"accuracy": float(np.mean(truth == majority)),
                               "mae": float(np.mean(np.abs(truth - majority))), "class": majority,
                               "from": source}}


def _loader(cfg: CountingEvalConfig):
    from avcurr.counting.mixing import curricula_sizes
    from avcurr.data import LoaderConfig, make_loader
    from avcurr.data.config import WHOLE_SPLIT

    curricula = tuple(curricula_sizes(cfg.shards, cfg.dataset, cfg.split, cfg.curricula))
    return make_loader(LoaderConfig(root=cfg.shards, dataset=cfg.dataset, split=cfg.split, curricula=curricula,
                                    batch_size=cfg.batch_size, shuffle_buffer=0, epochs=1, training=False,
                                    **WHOLE_SPLIT))


def evaluate_counting(cfg: CountingEvalConfig, console: "Console | None" = None) -> CountingReport:
    """Count every test clip with the checkpoint and score each prediction rule; write
    summary.json, per_clip.csv and confusion.png under cfg.out. Progress goes to `console`."""
    from avcurr.train.device import pick_device

    device = pick_device(cfg.device)
    model, state = load_counter(cfg.checkpoint, device)
    head, max_count = model.cfg.head, model.cfg.max_count
    rows: list[dict] = []
    truth_all, outs, preds = [], [], {rule: [] for rule in RULES[head]}
    with progress_bar(console, "eval counting") as bar, torch.no_grad():
        for batch in _loader(cfg):
            truth = batch_counts(batch, max_count)
            out = model(batch["spec"].to(device)).float().cpu()
            for rule, pred in predictions(head, out, max_count).items():
                preds[rule].append(pred.numpy())
            truth_all.append(truth.numpy())
            outs.append(out.numpy())
            for i, key in enumerate(batch["key"]):
                rows.append(_row(key, batch["meta"][i], int(truth[i]), out[i], head, max_count))
            bar.update(len(rows), info="clips")
            if cfg.limit is not None and len(rows) >= cfg.limit:
                break
    if not rows:
        raise AvcurrError(f"no test clips under {cfg.shards}/{cfg.dataset}/{cfg.split}")
    truth = np.concatenate(truth_all)
    predicted = {rule: np.concatenate(p).astype(int) for rule, p in preds.items()}
    for rule, pred in predicted.items():
        for row, p in zip(rows, pred):
            row[f"pred_{rule}"] = int(p)
    counts = {int(k): int(v) for k, v in sorted(Tally(truth.tolist()).items())}
    report = CountingReport(head=head, n=len(truth), counts=counts,
                            rules={rule: {"rule": RULE_TEXT[rule], **rule_scores(truth, pred, max_count)}
                                   for rule, pred in predicted.items()},
                            baselines=baselines(truth, state.get("train_counts"), max_count))
    extra = _lambda_medians(truth, np.concatenate(outs)) if head == "poisson" else {}
    report.files = _write(cfg, report, rows, state, extra)
    return report


def _row(key: str, meta: dict, truth: int, out: torch.Tensor, head: str, max_count: int) -> dict:
    row = {"key": key, "curriculum": meta.get("curriculum"), "n_sources": meta.get("n_sources"), "target": truth}
    if head == "poisson":
        row["lambda"] = round(float(out), 4)
    else:
        probs = torch.softmax(out, -1).tolist()
        row.update({f"p{k + 1}": round(p, 4) for k, p in enumerate(probs)})
    return row


def _lambda_medians(truth: np.ndarray, lam: np.ndarray) -> dict:
    """Median and quartiles of lambda per true count: where the Poisson head really puts them."""
    return {"lambda_per_count": {int(k): {"median": float(np.median(lam[truth == k])),
                                          "q25": float(np.quantile(lam[truth == k], 0.25)),
                                          "q75": float(np.quantile(lam[truth == k], 0.75))}
                                 for k in np.unique(truth)}}


def _write(cfg: CountingEvalConfig, report: CountingReport, rows: list[dict], state: dict,
           extra: dict) -> dict[str, Path]:
    out = Path(cfg.out)
    files = {"summary": out / "summary.json", "per_clip": out / "per_clip.csv", "confusion": out / "confusion.png"}
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(files["per_clip"], text.getvalue())
    summary = {"checkpoint": str(cfg.checkpoint), "head": report.head, "init": state.get("init"),
               "steps": state.get("step"), "dataset": cfg.dataset, "split": cfg.split, "n": report.n,
               "counts": report.counts, "rules": report.rules, "baselines": report.baselines, **extra}
    atomic_write(files["summary"], json.dumps(summary, indent=2) + "\n")
    save_confusions({RULE_TEXT[r]: s["confusion"] for r, s in report.rules.items()}, files["confusion"],
                    f"{report.n} clips of {cfg.dataset}/{cfg.split}")
    return files
