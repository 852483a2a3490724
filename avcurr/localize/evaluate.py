"""`avcurr eval localization`: a checkpoint's heatmaps on annotated clips against trivial baselines."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avcurr.atomic import atomic_write
from avcurr.data.urls import shard_root
from avcurr.errors import AvcurrError
from avcurr.localize.annotations import find_annotation, is_plain_name, read_boxes, usable_boxes
from avcurr.localize.baselines import BASELINES, score_baselines
from avcurr.localize.heatmap import localize_batch
from avcurr.localize.metrics import binarise, ciou, ground_truth, pointing_hit, summarise
from avcurr.localize.overlay import save_overlay, save_success_curves
from avcurr.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console

MODEL = "model"


@dataclass(frozen=True)
class LocalizationConfig:
    """checkpoint: trained model; shards/dataset/split/curricula: the test clips (middle frame f1);
    annotations: folder of `<key>.xml` (or `<ytid>.xml`) box files; sources: clusters k_a;
    visual_centres: k_v (None = sources + 1; add one per silent visible object);
    overlays: how many heatmap PNGs to draw; xml_mode: auto | published | tags;
    limit: score at most this many images (None: all). Paths may be given as `str`, curricula as
    "c1,c2"."""

    checkpoint: Path
    shards: Path | str
    annotations: Path
    out: Path
    dataset: str = "synth"
    split: str = "test"
    curricula: tuple[str, ...] = ("c1",)
    sources: int = 1
    visual_centres: int | None = None
    batch_size: int = 16
    overlays: int = 12
    xml_mode: str = "auto"
    device: str = "auto"
    seed: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("checkpoint", "annotations", "out"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        object.__setattr__(self, "shards", shard_root(self.shards))
        if isinstance(self.curricula, str):
            object.__setattr__(self, "curricula", tuple(c.strip() for c in self.curricula.split(",") if c.strip()))

    def validate(self) -> "LocalizationConfig":
        """Raise AvcurrError naming the first bad setting; return self."""
        if not self.annotations.is_dir():
            raise AvcurrError(f"annotation folder not found: {self.annotations}")
        if self.sources < 1 or (self.visual_centres is not None and self.visual_centres < 2):
            raise AvcurrError(f"need --sources >= 1 and --visual-centres >= 2, got {self.sources}, "
                              f"{self.visual_centres}")
        if self.limit is not None and self.limit < 1:
            raise AvcurrError(f"--limit must be at least 1 (or left out to score every image), got {self.limit}")
        return self


@dataclass
class LocalizationReport:
    summaries: dict[str, dict]          # method -> cIoU@0.5, AUC, mean cIoU, pointing, n
    rows: list[dict]
    missing: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # boxes set aside, unusable ids, unscored images


def _batches(cfg: LocalizationConfig):
    from avcurr.data import LoaderConfig, make_loader

    return make_loader(LoaderConfig(root=cfg.shards, dataset=cfg.dataset, split=cfg.split,
                                    curricula=cfg.curricula, batch_size=cfg.batch_size, shuffle_buffer=0,
                                    epochs=1, training=False))


def evaluate_localization(cfg: LocalizationConfig, console: Console | None = None) -> LocalizationReport:
    """Score the model and the baselines image by image; write per_image.csv, summary.json,
    success_curves.png and `overlays` heatmap PNGs under cfg.out. Progress goes to `console`."""
    from avcurr.train.checkpoint import model_from_checkpoint
    from avcurr.train.device import pick_device

    cfg.validate()
    device = pick_device(cfg.device)
    model, _ = model_from_checkpoint(cfg.checkpoint, device)
    out = Path(cfg.out)
    rng = np.random.default_rng(cfg.seed)
    cious: dict[str, list[float]] = {m: [] for m in (MODEL, *BASELINES)}
    hits: dict[str, list[bool]] = {m: [] for m in (MODEL, *BASELINES)}
    report = LocalizationReport(summaries={}, rows=[])

    def full() -> bool:
        return cfg.limit is not None and len(report.rows) >= cfg.limit

    with progress_bar(console, "localization", cfg.limit) as bar:
        for batch in _batches(cfg):
            heat = localize_batch(model, batch["spec"].to(device), batch["image"].to(device),
                                  cfg.sources, visual_centres=cfg.visual_centres).cpu().numpy()
            for i, key in enumerate(batch["key"]):
                if full():
                    break
                boxes = _boxes_of(cfg, key, batch["meta"][i].get("ytid"), report)
                if boxes is None:
                    continue
                g = ground_truth(boxes)
                row = {"key": key, "n_boxes": len(boxes)}
                scores = {MODEL: (ciou(binarise(heat[i]), g), pointing_hit(heat[i], g)),
                          **score_baselines(g, rng)}
                for method, (c, hit) in scores.items():
                    cious[method].append(c)
                    hits[method].append(hit)
                    row[f"{method}_ciou"], row[f"{method}_hit"] = round(c, 4), hit
                report.rows.append(row)
                if len(report.rows) <= cfg.overlays:
                    frame = batch["image"][i].permute(1, 2, 0).numpy()
                    name = key if is_plain_name(key) else f"image{len(report.rows):06d}"  # never a path from a shard
                    save_overlay(frame, heat[i], out / "overlays" / f"{name}.png", boxes,
                                 f"{key}  cIoU {scores[MODEL][0]:.2f}  pointing {'hit' if scores[MODEL][1] else 'miss'}")
            bar.update(len(report.rows), info="images")
            if full():
                break
    if not report.rows:
        raise AvcurrError(f"no test clip had a usable annotation file in {cfg.annotations} "
                          f"({len(report.missing)} clips without one, {len(report.warnings)} warnings)")
    report.summaries = {m: summarise(cious[m], hits[m]) for m in cious}
    report.files = _write(out, report, cious)
    return report


def _boxes_of(cfg: LocalizationConfig, key: str, ytid: str | None,
              report: LocalizationReport) -> list[list[int]] | None:
    """The clip's usable boxes on the 224 grid, or None (missing file, nothing usable: noted)."""
    for what, stem in (("key", key), ("ytid", ytid)):
        if stem and not is_plain_name(stem):
            report.warnings.append(f"clip {key!r}: its {what} {stem!r} is not a plain file name; "
                                   f"not used to look for an annotation")
    path = find_annotation(cfg.annotations, key, ytid)
    if path is None:
        report.missing.append(key)
        return None
    boxes, problems = usable_boxes(read_boxes(path, cfg.xml_mode))
    report.warnings += [f"{path}: {problem}" for problem in problems]
    if not boxes:
        report.warnings.append(f"{path}: no usable box; clip {key} not scored")
        return None
    return boxes


def _write(out: Path, report: LocalizationReport, cious: dict[str, list[float]]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"per_image": out / "per_image.csv", "summary": out / "summary.json",
             "curves": out / "success_curves.png"}
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, list(report.rows[0]))
    writer.writeheader()
    writer.writerows(report.rows)
    atomic_write(files["per_image"], text.getvalue())
    atomic_write(files["summary"], json.dumps({"methods": report.summaries, "missing_annotations": report.missing,
                                               "warnings": report.warnings}, indent=2) + "\n")
    save_success_curves(cious, files["curves"])
    if (out / "overlays").is_dir():
        files["overlays"] = out / "overlays"
    return files
