"""`avcurr ave-features`: AVE videos + annotations -> features in the official HDF5 layout.

Every annotated event is one row (the annotation file's order), every video is decoded in-process
(avcurr.ave.decode) and encoded (avcurr.ave.encoders). Finished rows are kept in small parts under
`OUT/.parts/` (each written atomically), so a killed run resumes where it stopped; at the end the
parts are assembled into the HDF5 files, `index.csv`, `categories.txt` and `features.json`
(written last). A video that cannot be found or decoded is recorded and left out; its rows are
retried by a rerun, and the parts are removed only once every row is in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avcurr.atomic import atomic_output, atomic_write
from avcurr.ave import layout
from avcurr.ave.annotations import (background_labels, default_categories, read_category_list, read_rows,
                                    read_video_ids, segment_labels)
from avcurr.errors import AvcurrError
from avcurr.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console

PARTS = ".parts"
PART_ROWS = 32
DONE = "features.json"
NOISY_LIST = "noisySet.txt"
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv")


@dataclass(frozen=True)
class FeatureConfig:
    """videos: folder of `<video id>.<ext>` (or `<video id>_<ms>.<ext>`, as avcurr fetch names them);
    annotations: AVE rows, with trainSet/valSet/testSet.txt beside it; out: the feature folder;
    encoder: "random" or "cavl:CKPT"; visual_weights: a torchvision VGG19 state dict for the visual
    side; config: the preset of the random encoder; grid: the visual grid side (None: the conv
    stack's own); categories: class order (default: categories.txt beside the annotations, else
    the bundled AVE list); noisy: ids of background-only videos (AVE-ECCV18's weak setting; default:
    noisySet.txt beside the annotations when there is one)."""

    videos: Path
    annotations: Path
    out: Path
    encoder: str = "random"
    visual_weights: Path | None = None
    config: str = "tiny"
    grid: int | None = 7
    categories: Path | None = None
    noisy: Path | None = None
    segments: int = 10
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("videos", "annotations", "out", "visual_weights", "categories", "noisy"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))


@dataclass(frozen=True)
class _Job:
    id: int
    video_id: str
    kind: str                   # "event" or "noisy"
    split: str
    category: str = ""
    start: int = 0
    end: int = 0


@dataclass
class FeatureSummary:
    out: Path
    rows: int = 0
    noisy: int = 0
    extracted: int = 0
    reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    shapes: dict = field(default_factory=dict)
    seconds: float = 0.0


def find_video(folder: Path, video_id: str) -> Path | None:
    """`<id>.<ext>` or `<id>_<digits>.<ext>` in `folder` (ids are safe names: no glob characters)."""
    pattern = re.compile(re.escape(video_id) + r"(_\d+)?")
    for path in sorted(Path(folder).glob(f"{video_id}*")):
        if path.suffix.lower() in VIDEO_SUFFIXES and pattern.fullmatch(path.stem):
            return path
    return None


def noisy_beside(annotations: Path) -> Path | None:
    path = Path(annotations).parent / NOISY_LIST
    return path if path.is_file() else None


def _settings(cfg: FeatureConfig, categories: list[str], jobs: list[_Job]) -> dict:
    """What the features depend on; the job list (from the annotations and the background list)
    enters as a digest, so features of another list are never reused as these."""
    listing = json.dumps([dataclasses.astuple(j) for j in jobs]).encode()
    return {"encoder": cfg.encoder, "visual_weights": str(cfg.visual_weights) if cfg.visual_weights else None,
            "config": cfg.config, "seed": cfg.seed, "grid": cfg.grid, "segments": cfg.segments,
            "categories": categories, "jobs": hashlib.sha256(listing).hexdigest()}


def _differs(recorded: dict, settings: dict) -> str:
    """Why features made with `recorded` settings cannot serve `settings` ("" when they can)."""
    if recorded == settings:
        return ""
    if {k: v for k, v in recorded.items() if k != "jobs"} == {k: v for k, v in settings.items() if k != "jobs"}:
        return "made from another annotation (or background) list"
    return "made with other settings"


def _jobs(cfg: FeatureConfig, categories: list[str]) -> list[_Job]:
    jobs = [_Job(i, r.event.ytid, "event", r.split, r.event.category, r.event.start, r.event.end)
            for i, r in enumerate(read_rows(cfg.annotations, categories))]
    noisy = cfg.noisy if cfg.noisy is not None else noisy_beside(cfg.annotations)
    if noisy is not None:
        if not Path(noisy).is_file():
            raise AvcurrError(f"background video list not found: {noisy}")
        jobs += [_Job(len(jobs) + i, v, "noisy", "train") for i, v in enumerate(read_video_ids(noisy))]
    return jobs


def _open_parts(out: Path, settings: dict, jobs: list[_Job]) -> dict[int, Path]:
    """{job id: part file} of rows finished by earlier runs with the same settings."""
    parts = out / PARTS
    marker = parts / "settings.json"
    if not parts.is_dir():
        parts.mkdir(parents=True)
        atomic_write(marker, json.dumps(settings, indent=2) + "\n")
        return {}
    try:
        why = _differs(json.loads(marker.read_text(encoding="utf-8")), settings)
    except (OSError, ValueError):
        why = "made with unreadable settings"
    if why:
        raise AvcurrError(f"{parts} holds partial features {why}; remove it or choose another --out")
    done: dict[int, Path] = {}
    for part in sorted(parts.glob("part-*.npz")):
        with np.load(part, allow_pickle=False) as data:
            ids, videos = data["jobs"], data["videos"]
        for job_id, video in zip(ids.tolist(), videos.tolist()):
            if job_id >= len(jobs) or jobs[job_id].video_id != video:
                raise AvcurrError(f"{part} was made from another annotation list; remove {parts} to start over")
            done[job_id] = part
    return done


def _write_part(out: Path, batch: list[tuple[_Job, np.ndarray, np.ndarray]]) -> Path:
    path = out / PARTS / f"part-{batch[0][0].id:06d}.npz"
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, jobs=np.array([j.id for j, _, _ in batch], np.int64),
                     videos=np.array([j.video_id for j, _, _ in batch]),
                     audio=np.stack([a for _, a, _ in batch]), visual=np.stack([v for _, _, v in batch]))
    return path


def _encoder(cfg: FeatureConfig):
    """(encoder, device); built before anything is written, so a wrong --encoder, --config or
    --visual-weights leaves no partial folder behind."""
    import torch

    from avcurr.ave.encoders import build_encoder
    from avcurr.train.device import pick_device

    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    return build_encoder(cfg.encoder, cfg.visual_weights, cfg.config, cfg.seed, device), device


def _extract(cfg: FeatureConfig, todo: list[_Job], summary: FeatureSummary, console, encoder, device) -> None:
    from avcurr.ave.decode import decode_segments
    from avcurr.ave.encoders import encode_video

    batch, cache = [], {}
    with progress_bar(console, "ave-features", len(todo)) as bar:
        for job in todo:
            try:
                if job.video_id not in cache:
                    path = find_video(cfg.videos, job.video_id)
                    if path is None:
                        raise AvcurrError(f"no video file for {job.video_id} in {cfg.videos}")
                    video = decode_segments(path, cfg.segments)
                    cache = {job.video_id: encode_video(encoder, video.frames, video.audio, cfg.grid, device)}
                batch.append((job, *cache[job.video_id]))
                summary.extracted += 1
            except AvcurrError as exc:
                summary.failures.append((job.video_id, str(exc)))
                bar.log(f"failed {job.video_id}: {exc}")
            if len(batch) == PART_ROWS:
                _write_part(cfg.out, batch)
                batch = []
            bar.update(advance=1, info=job.video_id)
    if batch:
        _write_part(cfg.out, batch)


def _assemble(cfg: FeatureConfig, jobs: list[_Job], categories: list[str], summary: FeatureSummary) -> None:
    """The parts -> the official layout (HDF5 written atomically, the visual one row by row)."""
    import h5py

    out, T, classes = cfg.out, cfg.segments, len(categories) + 1
    parts = sorted((out / PARTS).glob("part-*.npz"))
    done = {}
    for part in parts:
        with np.load(part, allow_pickle=False) as data:
            for position, job_id in enumerate(data["jobs"].tolist()):
                done[job_id] = (part, position)
    events = [j for j in jobs if j.kind == "event" and j.id in done]
    noisy = [j for j in jobs if j.kind == "noisy" and j.id in done]
    final = {j.id: i for i, j in enumerate(events)}
    with np.load(parts[0], allow_pickle=False) as first:
        a_dim, v_shape = first["audio"].shape[-1], first["visual"].shape[2:]
    audio = np.zeros((len(events), T, a_dim), np.float32)
    noisy_audio = np.zeros((len(noisy), T, a_dim), np.float32)
    noisy_visual = np.zeros((len(noisy), T, *v_shape), np.float32)
    noisy_row = {j.id: i for i, j in enumerate(noisy)}
    with atomic_output(out / layout.VISUAL) as tmp, h5py.File(tmp, "w") as handle:
        visual = handle.create_dataset(layout.KEY, shape=(len(events), T, *v_shape), dtype="float32")
        for part in parts:
            with np.load(part, allow_pickle=False) as data:
                for position, job_id in enumerate(data["jobs"].tolist()):
                    if job_id in final:
                        audio[final[job_id]] = data["audio"][position]
                        visual[final[job_id]] = data["visual"][position]
                    elif job_id in noisy_row:
                        noisy_audio[noisy_row[job_id]] = data["audio"][position]
                        noisy_visual[noisy_row[job_id]] = data["visual"][position]
    labels = np.stack([segment_labels_of(j, categories, T) for j in events]) if events else \
        np.zeros((0, T, classes), np.float32)
    layout.write_array(out / layout.AUDIO, audio)
    layout.write_array(out / layout.LABELS, labels)
    layout.write_orders(out, {s: np.array([final[j.id] for j in events if j.split == s], np.int64)
                              for s in layout.SPLITS})
    if noisy:
        layout.write_array(out / layout.NOISY["audio"], noisy_audio)
        layout.write_array(out / layout.NOISY["visual"], noisy_visual)
        layout.write_array(out / layout.NOISY["labels"], np.stack([background_labels(classes)] * len(noisy)))
    layout.write_categories(out, categories)
    layout.write_index(out, [{"row": final[j.id], "video_id": j.video_id, "category": j.category,
                              "start": j.start, "end": j.end, "split": j.split} for j in events])
    summary.rows, summary.noisy = len(events), len(noisy)
    summary.shapes = {"visual": [len(events), T, *map(int, v_shape)], "audio": [len(events), T, int(a_dim)],
                      "labels": [len(events), T, classes]}


def segment_labels_of(job: _Job, categories: list[str], segments: int) -> np.ndarray:
    from avcurr.sources.ave import AveEvent

    return segment_labels(AveEvent(job.category, job.video_id, "good", job.start, job.end), categories, segments)


def extract_features(cfg: FeatureConfig, console: "Console | None" = None) -> FeatureSummary:
    """Extract (or resume extracting) AVE features for every annotated event; see the module."""
    started = time.perf_counter()
    if not Path(cfg.videos).is_dir():
        raise AvcurrError(f"video folder not found: {cfg.videos}")
    if cfg.grid is not None and cfg.grid < 1:
        raise AvcurrError(f"--grid must be at least 1, got {cfg.grid}")
    categories = read_category_list(cfg.categories or default_categories(cfg.annotations))
    jobs = _jobs(cfg, categories)
    out = Path(cfg.out)
    settings = _settings(cfg, categories, jobs)
    summary = FeatureSummary(out=out)
    marker = out / DONE
    if marker.is_file() and not (out / PARTS).is_dir():
        try:
            recorded = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AvcurrError(f"cannot read {marker}: {exc}; remove it to extract again") from None
        why = _differs(recorded.get("settings") or {}, settings)
        if why:
            raise AvcurrError(f"{out} holds AVE features {why}; choose another --out")
        summary.reused, summary.rows, summary.noisy = len(jobs), recorded["rows"], recorded["noisy"]
        summary.shapes = recorded["shapes"]
        return summary
    encoder, device = _encoder(cfg)
    out.mkdir(parents=True, exist_ok=True)
    done = _open_parts(out, settings, jobs)
    summary.reused = len(done)
    _extract(cfg, [j for j in jobs if j.id not in done], summary, console, encoder, device)
    if not any((out / PARTS).glob("part-*.npz")):
        raise AvcurrError(f"no video could be encoded ({len(summary.failures)} failures; first: "
                          f"{summary.failures[0][1] if summary.failures else 'none'})")
    _assemble(cfg, jobs, categories, summary)
    summary.seconds = time.perf_counter() - started
    atomic_write(marker, json.dumps({"settings": settings, "rows": summary.rows, "noisy": summary.noisy,
                                     "shapes": summary.shapes, "failures": summary.failures}, indent=2) + "\n")
    if not summary.failures:
        shutil.rmtree(out / PARTS)
    return summary
