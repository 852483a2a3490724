"""`avcurr ave-maps`: Fig. 6-style strips of the attention maps of one or more AVE checkpoints
(supervised, weak, unsupervised, the baseline), and, on the synthetic AVE world, the maps measured.

Writes into `out`: strips/<video id>.png (one row per checkpoint, the T segments' middle frames
with the map over them, the event's seconds marked above, the truth's boxes when known); with
`truth`: maps_summary.json and per_segment_maps.csv (see avcurr.ave.maps).
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
from avcurr.ave.data import make_batch
from avcurr.ave.evaluate import check_sizes
from avcurr.ave.layout import AveFeatures, read_features
from avcurr.ave.maps import (EventSegment, MapScores, event_segments, find_truth, score_baseline_maps, score_map,
                             segment_maps, upsample_map)
from avcurr.errors import AvcurrError
from avcurr.localize.annotations import GRID
from avcurr.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class MapsConfig:
    """checkpoints: AVE checkpoints with spatial attention; features: their feature folder (with
    index.csv, as ave-features writes it, to find each row's video); videos: the videos, for the
    strips' frames (None: no strips); truth: a synthetic AVE world's truth/ folder (None: no
    measurement); split: the rows looked at; count / rows: how many strips, or which rows."""

    checkpoints: tuple[Path, ...]
    features: Path
    out: Path
    videos: Path | None = None
    truth: Path | None = None
    split: str = "test"
    count: int = 4
    rows: tuple[int, ...] = ()
    batch_size: int = 32
    device: str = "cpu"
    seed: int = 0


@dataclass
class MapsReport:
    names: list[str]
    summary: dict[str, dict] = field(default_factory=dict)
    segments: int = 0
    files: dict[str, Path] = field(default_factory=dict)


def _load(cfg: MapsConfig, features: AveFeatures, device) -> dict[str, torch.nn.Module]:
    from avcurr.ave.train import load_ave_model

    if not cfg.checkpoints:
        raise AvcurrError("give at least one --checkpoint")
    models: dict[str, torch.nn.Module] = {}
    for path in cfg.checkpoints:
        model, state = load_ave_model(path, device)
        check_sizes(state, features, Path(path))
        if not model.cfg.has_spatial_attention:
            raise AvcurrError(f"{path} has no spatial attention (fusion {model.cfg.fusion}, streams "
                              f"{model.cfg.streams}); maps need AVFB, MFB or the AVE-ECCV18 baseline")
        name = f"{'ours' if model.cfg.model == 'ours' else model.cfg.model} {state.get('mode', '?')}"
        base, k = name, 2
        while name in models:
            name, k = f"{base} #{k}", k + 1
        models[name] = model
    return models


def _video_id(features: AveFeatures, row: int) -> str:
    if not features.index:
        raise AvcurrError(f"{features.folder} has no index.csv (written by avcurr ave-features): cannot tell "
                          "which video each row holds")
    return features.index[row]["video_id"]


def measure(cfg: MapsConfig, features: AveFeatures, models: dict, device, console=None) -> tuple[MapScores, list[dict]]:
    """Score every model's maps and the baselines on every event segment of the split."""
    scores, rows_out = MapScores(), []
    rng = np.random.default_rng(cfg.seed)
    rows = features.split(cfg.split)
    with progress_bar(console, "ave-maps measure", len(rows)) as bar:
        for i in range(0, len(rows), cfg.batch_size):
            chunk = rows[i:i + cfg.batch_size]
            batch = make_batch(features, chunk)
            audio, visual = batch["audio"].to(device), batch["visual"].to(device)
            heats = {n: upsample_map(segment_maps(m, audio, visual), (GRID, GRID)).cpu().numpy()
                     for n, m in models.items()}
            for b, row in enumerate(chunk.tolist()):
                path = find_truth(cfg.truth, _video_id(features, row))
                if path is None:
                    raise AvcurrError(f"no truth file for {_video_id(features, row)} in {cfg.truth}")
                try:
                    truth = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise AvcurrError(f"cannot read truth file {path}: {exc}") from None
                for seg in event_segments(truth, row) + event_segments(truth, row, silent=True):
                    rows_out.append(_score_segment(scores, heats, b, seg, rng))
            bar.update(advance=len(chunk))
    if not any(r["sounding"] for r in rows_out):
        raise AvcurrError(f"the {cfg.split} split holds no event segment to measure")
    return scores, rows_out


def _score_segment(scores: MapScores, heats: dict, b: int, seg: EventSegment, rng) -> dict:
    row = {"row": seg.row, "segment": seg.segment, "sounding": seg.sounding, "distractor": seg.distractor is not None}
    for name, heat in heats.items():
        c, hit = score_map(scores, name, heat[b, seg.segment], seg)
        row[f"{name} ciou"], row[f"{name} hit"] = round(c, 4), hit
    for name, (c, hit) in score_baseline_maps(scores, seg, rng).items():
        row[f"{name} ciou"], row[f"{name} hit"] = round(c, 4), hit
    return row


def draw_strips(cfg: MapsConfig, features: AveFeatures, models: dict, device, console=None) -> list[Path]:
    """One PNG per chosen row: every model's maps over the T middle frames."""
    from avcurr.ave.decode import decode_segments
    from avcurr.ave.extract import find_video
    from avcurr.ave.plots import save_strip

    rows = list(cfg.rows) or features.split(cfg.split)[:cfg.count].tolist()
    written = []
    with progress_bar(console, "ave-maps strips", len(rows)) as bar:
        for row in rows:
            if not 0 <= row < features.n:
                raise AvcurrError(f"row {row} is outside the {features.n} rows of {features.folder}")
            video_id = _video_id(features, row)
            path = find_video(cfg.videos, video_id)
            if path is None:
                raise AvcurrError(f"no video file for {video_id} in {cfg.videos}")
            frames = decode_segments(path, features.segments).frames
            batch = make_batch(features, np.array([row]))
            maps = {n: upsample_map(segment_maps(m, batch["audio"].to(device), batch["visual"].to(device))[0],
                                    frames.shape[1:3]).cpu().numpy() for n, m in models.items()}
            truth = find_truth(cfg.truth, video_id) if cfg.truth else None
            info = features.index[row]
            title = f"{video_id}  {info['category']}  event {info['start']}-{info['end']} s"
            written.append(save_strip(frames, maps, features.labels[row].argmax(-1) != features.classes - 1,
                                      Path(cfg.out) / "strips" / f"{video_id}.png", title,
                                      json.loads(truth.read_text(encoding="utf-8")) if truth else None))
            bar.update(advance=1, info=video_id)
    return written


def ave_maps(cfg: MapsConfig, console: "Console | None" = None) -> MapsReport:
    """Draw the strips (when `videos` is given) and measure the maps (when `truth` is given)."""
    from avcurr.train.device import pick_device

    if cfg.truth is not None and not Path(cfg.truth).is_dir():
        raise AvcurrError(f"truth folder not found: {cfg.truth}")
    if cfg.videos is not None and not Path(cfg.videos).is_dir():
        raise AvcurrError(f"video folder not found: {cfg.videos}")
    device = pick_device(cfg.device)
    features = read_features(cfg.features)
    try:
        models = _load(cfg, features, device)
        report = MapsReport(names=list(models))
        out = Path(cfg.out)
        if cfg.truth is not None:
            scores, rows = measure(cfg, features, models, device, console)
            report.summary, report.segments = scores.summary(), sum(r["sounding"] for r in rows)
            report.files.update(_write_measurement(out, report, rows))
        if cfg.videos is not None:
            report.files["strips"] = out / "strips"
            draw_strips(cfg, features, models, device, console)
    finally:
        features.close()
    return report


def _write_measurement(out: Path, report: MapsReport, rows: list[dict]) -> dict[str, Path]:
    files = {"summary": out / "maps_summary.json", "per_segment": out / "per_segment_maps.csv"}
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(files["per_segment"], text.getvalue())
    atomic_write(files["summary"], json.dumps({"methods": report.summary, "event_segments": report.segments,
                                               "models": report.names}, indent=2) + "\n")
    return files
