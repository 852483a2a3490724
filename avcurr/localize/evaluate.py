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
from avcurr.localize.heatmap import cluster, embed, rule_source_maps, unrelated_maps, upsample
from avcurr.localize.metrics import binarise, ciou, ground_truth, pointing_hit, summarise
from avcurr.localize.objects import random_peaks, read_truth, score_clip, summarise_objects, truth_objects
from avcurr.localize.overlay import save_overlay, save_success_curves
from avcurr.localize.rules import PAPER_RULE, LocalizationRule, resolve_rule
from avcurr.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console

MODEL = "model"          # the rule in effect (the checkpoint's, the paper's when unrecorded, or given)
PAPER = "paper_rule"     # eq. 7 with k_v = k_a + 1, beside a different rule
TOLD = "told_kv"         # eq. 7 with k_v told (--visual-centres)
UNRELATED = "unrelated"  # the visual centre farthest from every audio centre, k_v = k_a + 1 (Table 3)
GRID = 224


@dataclass(frozen=True)
class LocalizationConfig:
    """checkpoint: trained model; shards/dataset/split/curricula: the test clips (middle frame f1);
    annotations: folder of `<key>.xml` (or `<ytid>.xml`) box files; sources: clusters k_a;
    readout / extra_visual / smooth: the localization rule (None = the checkpoint's part, from the
    paper's eq. 7 with k_v = k_a + 1 when it records none); visual_centres: also score eq. 7 with
    this k_v told (one per visible object plus the background), as its own row;
    truth: folder of the synthetic world's `truth/<key>.json`, to score each audio centre's map per
    object as well (does each sounding object get its own centre, and the silent ones none?);
    overlays: how many heatmap PNGs to draw; xml_mode: auto | published | tags;
    limit: score at most this many images (None: all). Paths may be given as `str` (the shard root
    also as a URL), curricula as "c1,c2"."""

    checkpoint: Path
    shards: Path | str
    annotations: Path
    out: Path
    dataset: str = "synth"
    split: str = "test"
    curricula: tuple[str, ...] = ("c1",)
    sources: int = 1
    visual_centres: int | None = None
    readout: str | None = None
    extra_visual: int | None = None
    smooth: int | None = None
    truth: Path | None = None
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
        if self.truth is not None:
            object.__setattr__(self, "truth", Path(self.truth))
        if isinstance(self.curricula, str):
            object.__setattr__(self, "curricula", tuple(c.strip() for c in self.curricula.split(",") if c.strip()))

    def validate(self) -> "LocalizationConfig":
        """Raise AvcurrError naming the first bad setting; return self."""
        if not self.annotations.is_dir():
            raise AvcurrError(f"annotation folder not found: {self.annotations}")
        if self.truth is not None and not self.truth.is_dir():
            raise AvcurrError(f"truth folder not found: {self.truth}")
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
    rule: LocalizationRule = PAPER_RULE
    rule_source: str = ""               # where the rule came from (the checkpoint, the fallback, given)
    labels: dict[str, str] = field(default_factory=dict)   # method -> what it is, for tables
    objects: dict[str, dict] = field(default_factory=dict)  # method -> per-object summary (with truth)


def model_methods(rule: LocalizationRule, sources: int, told: int | None) -> dict[str, str]:
    """The model's rows and their labels: the rule in effect, the paper's rule beside it when it
    differs, eq. 7 with k_v told when asked, and the unrelated centre."""
    methods = {MODEL: f"model ({rule.label})"}
    if not rule.same_readout(PAPER_RULE):
        methods[PAPER] = f"paper's rule ({PAPER_RULE.label} = {PAPER_RULE.visual_centres(sources)})"
    if told is not None:
        methods[TOLD] = f"told k_v = {told} (eq. 7)"
    methods[UNRELATED] = f"unrelated centre (k_v = {sources + 1})"
    return methods


def method_maps(model, spec, image, sources: int, rule: LocalizationRule, methods: dict[str, str],
                told: int | None) -> dict[str, np.ndarray]:
    """method -> B x k x 224 x 224 maps (k = k_a per audio centre; 1 for the unrelated centre)."""
    emb = embed(model, spec, image)
    maps = {MODEL: rule_source_maps(model, emb, sources, rule)}
    if PAPER in methods:
        maps[PAPER] = rule_source_maps(model, emb, sources, PAPER_RULE)
    if TOLD in methods:
        maps[TOLD] = rule_source_maps(model, emb, sources, PAPER_RULE, visual_centres=told)
    maps[UNRELATED] = unrelated_maps(cluster(model, emb, sources, sources + 1))[:, None]
    return {m: upsample(v.flatten(0, 1), GRID).view(*v.shape[:2], GRID, GRID).cpu().numpy()
            for m, v in maps.items()}


def _batches(cfg: LocalizationConfig):
    from avcurr.data import LoaderConfig, make_loader
    from avcurr.data.config import WHOLE_SPLIT

    return make_loader(LoaderConfig(root=cfg.shards, dataset=cfg.dataset, split=cfg.split,
                                    curricula=cfg.curricula, batch_size=cfg.batch_size, shuffle_buffer=0,
                                    epochs=1, training=False, **WHOLE_SPLIT))


def evaluate_localization(cfg: LocalizationConfig, console: Console | None = None) -> LocalizationReport:
    """Score the model (under its localization rule, beside the paper's rule, k_v told when asked
    and the unrelated centre) and the baselines image by image; with `cfg.truth`, also per object.
    Writes per_image.csv, summary.json, success_curves.png and `overlays` heatmap PNGs under
    cfg.out. Progress goes to `console`."""
    from avcurr.train.checkpoint import model_from_checkpoint
    from avcurr.train.device import pick_device

    cfg.validate()
    device = pick_device(cfg.device)
    model, state = model_from_checkpoint(cfg.checkpoint, device)
    rule, rule_source = resolve_rule(state, cfg.readout, cfg.extra_visual, cfg.smooth)
    methods = model_methods(rule, cfg.sources, cfg.visual_centres)
    out = Path(cfg.out)
    rng = np.random.default_rng(cfg.seed)
    object_rng = np.random.default_rng([cfg.seed, 1])   # its own stream: the Flickr baselines stay the same
    cious: dict[str, list[float]] = {m: [] for m in (*methods, *BASELINES)}
    hits: dict[str, list[bool]] = {m: [] for m in (*methods, *BASELINES)}
    per_object: dict[str, list[dict]] = {m: [] for m in (*methods, "random") if m != UNRELATED}
    n_sounding: list[int] = []
    report = LocalizationReport(summaries={}, rows=[], rule=rule, rule_source=rule_source,
                                labels={**methods, **{b: b for b in BASELINES}})

    def full() -> bool:
        return cfg.limit is not None and len(report.rows) >= cfg.limit

    with progress_bar(console, "localization", cfg.limit) as bar:
        for batch in _batches(cfg):
            maps = method_maps(model, batch["spec"].to(device), batch["image"].to(device), cfg.sources,
                               rule, methods, cfg.visual_centres)
            for i, key in enumerate(batch["key"]):
                if full():
                    break
                boxes = _boxes_of(cfg, key, batch["meta"][i].get("ytid"), report)
                if boxes is None:
                    continue
                g = ground_truth(boxes)
                row = {"key": key, "n_boxes": len(boxes)}
                heat = {m: maps[m][i].max(0) for m in methods}
                scores = {**{m: (ciou(binarise(h), g), pointing_hit(h, g)) for m, h in heat.items()},
                          **score_baselines(g, rng)}
                for method, (c, hit) in scores.items():
                    cious[method].append(c)
                    hits[method].append(hit)
                    row[f"{method}_ciou"], row[f"{method}_hit"] = round(c, 4), hit
                if cfg.truth is not None:
                    _score_objects(cfg, key, maps, i, per_object, n_sounding, row, object_rng)
                report.rows.append(row)
                if len(report.rows) <= cfg.overlays:
                    frame = batch["image"][i].permute(1, 2, 0).numpy()
                    name = key if is_plain_name(key) else f"image{len(report.rows):06d}"  # never a path from a shard
                    save_overlay(frame, heat[MODEL], out / "overlays" / f"{name}.png", boxes,
                                 f"{key}  cIoU {scores[MODEL][0]:.2f}  pointing {'hit' if scores[MODEL][1] else 'miss'}")
            bar.update(len(report.rows), info="images")
            if full():
                break
    if not report.rows:
        raise AvcurrError(f"no test clip had a usable annotation file in {cfg.annotations} "
                          f"({len(report.missing)} clips without one, {len(report.warnings)} warnings)")
    report.summaries = {m: summarise(cious[m], hits[m]) for m in cious}
    if cfg.truth is not None:
        report.objects = {m: summarise_objects(s, n_sounding) for m, s in per_object.items()}
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


def _score_objects(cfg: LocalizationConfig, key: str, maps: dict[str, np.ndarray], i: int,
                   per_object: dict[str, list[dict]], n_sounding: list[int], row: dict,
                   rng: np.random.Generator) -> None:
    """Per-object scores of clip `key` for every method that has one map per audio centre."""
    truth = read_truth(cfg.truth, key)
    if truth is None:
        raise AvcurrError(f"no truth file {key}.json in {cfg.truth}")
    objects = truth_objects(truth, GRID)
    n_sounding.append(sum(o.sounding for o in objects))
    for method in per_object:
        source_maps = random_peaks(cfg.sources, GRID, rng) if method == "random" else maps[method][i]
        clip = score_clip(source_maps, objects)
        per_object[method].append(clip)
        row[f"{method}_targets"] = " ".join(str(t) for t in clip["targets"])
        row[f"{method}_each_different"] = clip["each_different"]


def _write(out: Path, report: LocalizationReport, cious: dict[str, list[float]]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"per_image": out / "per_image.csv", "summary": out / "summary.json",
             "curves": out / "success_curves.png"}
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, list(report.rows[0]))
    writer.writeheader()
    writer.writerows(report.rows)
    atomic_write(files["per_image"], text.getvalue())
    atomic_write(files["summary"], json.dumps({"methods": report.summaries, "labels": report.labels,
                                               "rule": report.rule.to_dict(), "rule_source": report.rule_source,
                                               "objects": report.objects, "missing_annotations": report.missing,
                                               "warnings": report.warnings},
                                              indent=2) + "\n")
    save_success_curves(cious, files["curves"])
    if (out / "overlays").is_dir():
        files["overlays"] = out / "overlays"
    return files
