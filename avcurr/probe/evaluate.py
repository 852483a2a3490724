"""`avcurr eval esc50`: the ESC-50 linear probe of a checkpoint's audio net (paper §4.3.2, SPEC §6),
beside the same probe on a randomly initialised audio net of the same configuration (the floor).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avcurr.atomic import atomic_write
from avcurr.errors import AvcurrError
from avcurr.probe.audio import Esc50Set, load_esc50
from avcurr.probe.features import POOLING, pooled_features
from avcurr.probe.linear import ProbeResult, cross_validate
from avcurr.probe.plots import save_per_class

if TYPE_CHECKING:
    from rich.console import Console

    from avcurr.models.audio_net import AudioNet

PADDING = ("each clip decoded to mono 11025 Hz, zero-padded at the end to 110,336 samples (SPEC §2), "
           "quantised to 16 bit and turned into the float16 log spectrogram, as build-shards does")
CHECKPOINT, RANDOM = "checkpoint", "random_init"


@dataclass(frozen=True)
class Esc50ProbeConfig:
    """checkpoint: a cavl or counter checkpoint; data: an ESC-50 folder (audio/, meta/esc50.csv);
    out: where summary.json, per_clip.csv and per_class.png go; classifier: `logistic` or
    `linear_svm` with inverse regularisation `c`; seed: the random-init floor's weights."""

    checkpoint: Path
    data: Path
    out: Path
    classifier: str = "logistic"
    c: float = 1.0
    batch_size: int = 32
    device: str = "auto"
    seed: int = 0


@dataclass
class Esc50Report:
    probes: dict[str, ProbeResult]          # checkpoint / random_init -> per-fold accuracy
    n_clips: int
    n_classes: int
    summary: dict = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def probe_net(net: "AudioNet", data: Esc50Set, cfg: Esc50ProbeConfig, device) -> ProbeResult:
    """Pooled features of every clip, then the 5-fold linear probe."""
    features = pooled_features(net, data.specs, cfg.batch_size, device)
    return cross_validate(features, data.labels, data.folds, cfg.classifier, cfg.c, cfg.seed)


def evaluate_esc50(cfg: Esc50ProbeConfig, console: "Console | None" = None,
                   data: Esc50Set | None = None) -> Esc50Report:
    """Probe the checkpoint's audio net and a random one; write the results under cfg.out.
    `data` reuses clips decoded earlier (several checkpoints on one folder)."""
    from avcurr.models.audio_weights import audio_net_from_checkpoint, random_audio_net
    from avcurr.train.device import pick_device

    device = pick_device(cfg.device)
    net, state = audio_net_from_checkpoint(cfg.checkpoint, device)  # a wrong file fails before decoding
    data = data if data is not None else load_esc50(cfg.data, console)
    if len(np.unique(data.labels)) < 2:
        raise AvcurrError(f"{cfg.data} holds a single class; the probe needs at least two")
    probes = {CHECKPOINT: probe_net(net, data, cfg, device),
              RANDOM: probe_net(random_audio_net(net.cfg, cfg.seed), data, cfg, device)}
    report = Esc50Report(probes=probes, n_clips=len(data.clips), n_classes=len(np.unique(data.labels)))
    report.summary = _summary(cfg, state, net.cfg, data, report)
    report.files = _write(cfg, data, report)
    return report


def per_class_accuracy(data: Esc50Set, result: ProbeResult) -> dict[str, float]:
    names = data.categories()
    return {names[t] or str(t): float(np.mean(result.predictions[data.labels == t] == t))
            for t in sorted(names)}


def _probe_dict(result: ProbeResult) -> dict:
    return {"per_fold": result.per_fold, "mean": result.mean, "std": result.std}


def _summary(cfg: Esc50ProbeConfig, state: dict, model_cfg, data: Esc50Set, report: Esc50Report) -> dict:
    facts = {k: state[k] for k in ("stage", "alignment", "head", "init", "step") if k in state}
    return {"checkpoint": str(cfg.checkpoint), "kind": state["kind"], "model": model_cfg.name, **facts,
            "data": str(cfg.data), "n_clips": report.n_clips, "n_classes": report.n_classes,
            "folds": sorted(int(f) for f in np.unique(data.folds)), "chance": 1 / report.n_classes,
            "padding": PADDING, "pooling": POOLING,
            "classifier": f"{cfg.classifier} (C={cfg.c}) on features standardised on the training folds only; "
                          f"train on all folds but one, test on that one",
            CHECKPOINT: _probe_dict(report.probes[CHECKPOINT]),
            RANDOM: {**_probe_dict(report.probes[RANDOM]), "seed": cfg.seed},
            "per_class_accuracy": {name: {CHECKPOINT: report_value, RANDOM: floor_value}
                                   for (name, report_value), floor_value in
                                   zip(per_class_accuracy(data, report.probes[CHECKPOINT]).items(),
                                       per_class_accuracy(data, report.probes[RANDOM]).values())}}


def _write(cfg: Esc50ProbeConfig, data: Esc50Set, report: Esc50Report) -> dict[str, Path]:
    out = Path(cfg.out)
    files = {"summary": out / "summary.json", "per_clip": out / "per_clip.csv", "per_class": out / "per_class.png"}
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["filename", "fold", "target", "category", f"pred_{CHECKPOINT}", f"pred_{RANDOM}"])
    for i, clip in enumerate(data.clips):
        writer.writerow([clip.filename, clip.fold, clip.target, clip.category,
                         int(report.probes[CHECKPOINT].predictions[i]), int(report.probes[RANDOM].predictions[i])])
    atomic_write(files["per_clip"], text.getvalue())
    atomic_write(files["summary"], json.dumps(report.summary, indent=2) + "\n")
    save_per_class(report.summary["per_class_accuracy"], files["per_class"],
                   {name: report.summary[name]["mean"] for name in (CHECKPOINT, RANDOM)}, report.summary["chance"])
    return files
