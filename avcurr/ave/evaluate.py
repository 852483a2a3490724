"""`avcurr eval ave`: segment accuracy over a split (the paper's metric), per-category accuracy
(Fig. 5) and the confusion matrix, beside the majority-class floors.

Writes into `out`: summary.json, per_segment.csv, per_category.png and confusion.csv/.png.
Floors: every segment called background; every segment called the train split's most frequent
event category.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from avcurr.atomic import atomic_write
from avcurr.ave.data import split_batches
from avcurr.ave.layout import AveFeatures, read_features
from avcurr.errors import AvcurrError
from avcurr.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class AveEvalConfig:
    checkpoint: Path
    features: Path
    out: Path
    split: str = "test"
    batch_size: int = 64
    device: str = "auto"


@dataclass
class AveEvalReport:
    summary: dict
    confusion: np.ndarray
    files: dict[str, Path] = field(default_factory=dict)


def segment_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Share of segments whose predicted class is the labelled one (class indices, any shape)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.shape != labels.shape or labels.size == 0:
        raise ValueError(f"predictions {predicted.shape} and labels {labels.shape} must match and be non-empty")
    return float((predicted == labels).mean())


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """C x C counts: row = labelled class, column = predicted class."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(labels).ravel(), np.asarray(predicted).ravel()), 1)
    return matrix


def per_category_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Accuracy on the segments of each labelled class (NaN for a class with none)."""
    totals = matrix.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / totals, np.nan)


def majority_floors(train_labels: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy of calling every segment background, and of calling every segment the train
    split's most frequent event category."""
    classes = train_labels.shape[-1]
    counts = train_labels.reshape(-1, classes).sum(0)[:-1]
    frequent = int(counts.argmax())
    return {"all_background": segment_accuracy(np.full(labels.shape, classes - 1), labels),
            "most_frequent_event": segment_accuracy(np.full(labels.shape, frequent), labels)}


@torch.no_grad()
def predict(model, features: AveFeatures, split: str, batch_size: int, device, console=None) -> tuple[np.ndarray, np.ndarray]:
    """(predicted classes, labels), each N_split x T."""
    predicted, labels = [], []
    with progress_bar(console, f"eval ave {split}", len(features.split(split))) as bar:
        for batch in split_batches(features, split, batch_size):
            out = model(batch["audio"].to(device), batch["visual"].to(device))
            predicted.append(out.logits.argmax(-1).cpu().numpy())
            labels.append(batch["labels"].numpy())
            bar.update(advance=len(batch["key"]))
    return np.concatenate(predicted), np.concatenate(labels)


def check_sizes(state: dict, features: AveFeatures, path: Path) -> None:
    cfg = state["model_config"]
    mine = {k: cfg[k] for k in ("segments", "visual_dim", "audio_dim", "classes")}
    mine["grid"] = tuple(cfg["grid"])
    theirs = features.sizes()
    if mine != theirs:
        raise AvcurrError(f"{path} was trained on features of other sizes ({mine}) than {features.folder} ({theirs})")
    trained = state.get("categories")
    if trained is not None and list(trained) != list(features.categories):
        raise AvcurrError(f"{path} was trained with the categories in another order (or others) than "
                          f"{features.folder}: its class numbers would mean other categories there")


def evaluate_ave(cfg: AveEvalConfig, console: "Console | None" = None) -> AveEvalReport:
    """Score a supervised or weakly supervised checkpoint on one split; write the files."""
    from avcurr.ave.train import load_ave_model
    from avcurr.train.device import pick_device

    device = pick_device(cfg.device)
    model, state = load_ave_model(cfg.checkpoint, device)
    if state.get("mode") == "unsupervised":
        raise AvcurrError(f"{cfg.checkpoint} was trained without labels (unsupervised): it has no trained "
                          "classifier to score; draw and measure its maps with `avcurr ave-maps`")
    features = read_features(cfg.features)
    try:
        check_sizes(state, features, Path(cfg.checkpoint))
        if len(features.split(cfg.split)) == 0:
            raise AvcurrError(f"{features.folder}: the {cfg.split} split holds no videos; choose another --split")
        predicted, labels = predict(model, features, cfg.split, cfg.batch_size, device, console)
        train = features.labels[features.orders["train"]] if "train" in features.orders else features.labels
        report = _report(cfg, state, features, predicted, labels, majority_floors(train, labels))
    finally:
        features.close()
    report.files = _write(Path(cfg.out), report, features, predicted, labels)
    return report


def _report(cfg, state, features, predicted, labels, floors) -> AveEvalReport:
    matrix = confusion_matrix(predicted, labels, features.classes)
    per_cat = per_category_accuracy(matrix)
    summary = {"checkpoint": str(cfg.checkpoint), "features": str(cfg.features), "split": cfg.split,
               "mode": state.get("mode"), "model": state["model_config"].get("model"),
               "segment_accuracy": segment_accuracy(predicted, labels), "n_videos": int(labels.shape[0]),
               "n_segments": int(labels.size), "floors": floors,
               "per_category": {name: (None if np.isnan(a) else float(a))
                                for name, a in zip(features.categories, per_cat)}}
    return AveEvalReport(summary=summary, confusion=matrix)


def _write(out: Path, report: AveEvalReport, features: AveFeatures, predicted, labels) -> dict[str, Path]:
    from avcurr.ave.plots import save_confusion, save_per_category

    out.mkdir(parents=True, exist_ok=True)
    files = {"summary": out / "summary.json", "per_segment": out / "per_segment.csv",
             "confusion_csv": out / "confusion.csv", "confusion_png": out / "confusion.png",
             "per_category": out / "per_category.png"}
    names = features.categories
    rows = features.split(report.summary["split"])
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["row", "segment", "label", "predicted"])
    for i, row in enumerate(rows.tolist()):
        for t in range(labels.shape[1]):
            writer.writerow([row, t, names[labels[i, t]], names[predicted[i, t]]])
    atomic_write(files["per_segment"], text.getvalue())
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["label \\ predicted", *names])
    for name, counts in zip(names, report.confusion.tolist()):
        writer.writerow([name, *counts])
    atomic_write(files["confusion_csv"], text.getvalue())
    save_confusion(report.confusion, names, files["confusion_png"])
    save_per_category(report.summary["per_category"], files["per_category"],
                      f"segment accuracy {report.summary['segment_accuracy']:.3f} ({report.summary['split']})")
    atomic_write(files["summary"], json.dumps(report.summary, indent=2) + "\n")
    return files
