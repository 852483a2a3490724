"""An AVE-style synthetic world (`avcurr synth --layout ave`): one audio-visual event per clip.

Each clip holds one object of a catalogue category whose event (the object visible AND sounding)
starts and stops on whole seconds inside the clip. Its background seconds hold no sounding object:
either the object is absent ("absent" clips) or it stays in view, silent ("silent" clips). Some
clips add a silent visible distractor of another category for the whole clip. Extra clips with no
event at all (`background_clips`) stand for AVE-ECCV18's background-only training videos.

    DIR/media/<key>.mp4            H.264 + AAC (mono 11025 Hz), key = <video id>_0
    DIR/truth/<key>.json           event, background mode, split, every object's per-second `on`
                                   (sounding) and `visible`, per-frame boxes in pixels
    DIR/ave/Annotations.txt        Category&VideoID&Quality&StartTime&EndTime (header, every event)
    DIR/ave/{train,val,test}Set.txt  the same rows per split (no header, as the official lists)
    DIR/ave/categories.txt         the world's event categories in class order
    DIR/ave/noisySet.txt           video ids of the background-only clips (training only)
    DIR/ave_world.json             the settings (a rerun with the same ones keeps finished clips)

Scenes (category, boxes) come from `plan_scene`, sprites from `render`, sounds from `sound`, the
mp4 from `encode`: the same look and sound of each category as the standard world.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from avcurr.atomic import atomic_write
from avcurr.errors import AvcurrError
from avcurr.keys import clip_key
from avcurr.synth.catalogue import CATALOGUE
from avcurr.synth.config import SAMPLE_RATE, SynthConfig
from avcurr.synth.encode import encode_clip
from avcurr.synth.folder import claim_folder
from avcurr.synth.formats import AVE_HEADER
from avcurr.synth.render import GRAIN_FRAMES, TINT, background, sprite
from avcurr.synth.scene import Scene, SceneObject, plan_scene, synthetic_ytid
from avcurr.synth.sound import mixdown, stems
from avcurr.workers import worker_pool

MARKER = "ave_world.json"
SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
BOX_FORMAT = "xmin, ymin, xmax, ymax in pixels; xmin/ymin inclusive, xmax/ymax exclusive"


@dataclass(frozen=True)
class AveWorldConfig:
    """clips: event clips (split 8:1:1 by index into train, val, test, as AVE's 3339/402/402);
    background_clips: extra training clips without any event (None: one per ten event clips); events last min_event..max_event
    whole seconds of the `segments`-second clip; distractor_fraction / silent_fraction: the share
    of clips with a silent visible distractor / whose background seconds show the object silent;
    small_objects: the standard world's small sizes (a lone object 3-8 % of the frame instead of
    25-50 %, which always covers the frame's centre)."""

    out: Path
    clips: int = 400
    seed: int = 0
    size: int = 128
    fps: int = 8
    segments: int = 10
    min_event: int = 2
    max_event: int = 9
    distractor_fraction: float = 0.5
    silent_fraction: float = 0.5
    background_clips: int | None = None
    small_objects: bool = False
    workers: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if self.background_clips is None:
            object.__setattr__(self, "background_clips", self.clips // 10)

    def validate(self) -> "AveWorldConfig":
        if self.clips < 1 or self.background_clips < 0:
            raise AvcurrError(f"--clips must be at least 1 (got {self.clips}), background clips 0 or more")
        if not 2 <= self.segments <= 60:
            raise AvcurrError(f"segments must be 2..60 seconds, got {self.segments}")
        if not 1 <= self.min_event <= self.max_event <= self.segments:
            raise AvcurrError(f"event lengths {self.min_event}..{self.max_event} s do not fit "
                              f"{self.segments}-second clips")
        for name in ("distractor_fraction", "silent_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise AvcurrError(f"{name} must be in 0..1, got {getattr(self, name)}")
        if self.workers < 1:
            raise AvcurrError(f"--workers must be at least 1, got {self.workers}")
        self.scene_config(False).validate()
        return self

    def scene_config(self, distractor: bool) -> SynthConfig:
        return SynthConfig(out=self.out, clips=self.clips + self.background_clips, seed=self.seed,
                           min_sources=1, max_sources=1, distractors=int(distractor), size=self.size,
                           fps=self.fps, duration=self.segments, small_objects=self.small_objects)

    def world(self) -> dict:
        d = asdict(self)
        for key in ("out", "workers"):
            d.pop(key)
        return d


@dataclass
class AveWorldSummary:
    out: Path
    n_clips: int
    n_ok: int = 0
    n_reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    per_category: Counter = field(default_factory=Counter)
    per_split: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    files: dict[str, Path] = field(default_factory=dict)


def split_of(index: int, clips: int) -> str:
    """train for 8 of every 10 event clips, then val, then test; background clips train only."""
    if index >= clips:
        return "train"
    return {8: "val", 9: "test"}.get(index % 10, "train")


def _key(cfg: AveWorldConfig, index: int) -> str:
    return clip_key(synthetic_ytid(cfg.seed, index), 0.0)


def plan_clip(cfg: AveWorldConfig, index: int) -> dict:
    """The clip's truth without its files: fully decided by (cfg.world(), index)."""
    rng = np.random.default_rng([cfg.seed, index, 7])
    distractor = bool(rng.random() < cfg.distractor_fraction)
    mode = "silent" if rng.random() < cfg.silent_fraction else "absent"
    scene = plan_scene(cfg.scene_config(distractor), index)
    T = cfg.segments
    has_event = index < cfg.clips
    on = np.zeros(T, np.int64)
    if has_event:
        length = int(rng.integers(cfg.min_event, cfg.max_event + 1))
        start = int(rng.integers(0, T - length + 1))
        on[start:start + length] = 1
    visible = np.ones(T, np.int64) if mode == "silent" else on.copy()
    main, others = scene.objects[0], scene.objects[1:]
    objects = [{"role": "event", "category": main.category.name, "display": main.category.display,
                "sounding": bool(on.any()), "on": on.tolist(), "visible": visible.tolist(),
                "boxes": main.boxes.tolist()}]
    objects += [{"role": "distractor", "category": o.category.name, "display": o.category.display,
                 "sounding": False, "on": [0] * T, "visible": [1] * T, "boxes": o.boxes.tolist()} for o in others]
    key = _key(cfg, index)
    n_frames = T * cfg.fps
    event = {"category": main.category.display, "start": int(start), "end": int(start + length)} if has_event else None
    return {"key": key, "video_id": scene.ytid, "index": index, "seed": cfg.seed, "status": "ok",
            "split": split_of(index, cfg.clips), "event": event, "background_mode": mode,
            "width": cfg.size, "height": cfg.size, "fps": cfg.fps, "n_frames": n_frames, "segments": T,
            "sample_rate": SAMPLE_RATE, "middle_frames": [min(n_frames - 1, int((s + 0.5) * cfg.fps)) for s in range(T)],
            "box_format": BOX_FORMAT, "objects": objects,
            "media": f"media/{key}.mp4", "truth": f"truth/{key}.json"}


def render_clip(cfg: AveWorldConfig, truth: dict) -> np.ndarray:
    """Frames (n_frames, S, S, 3) uint8: the grained background with each object drawn during the
    seconds it is visible."""
    static, grain = background(cfg.scene_config(False), truth["index"])
    bank = np.clip(static[None] + grain, 0, 255).astype(np.uint8)
    frames = bank[np.arange(truth["n_frames"]) % GRAIN_FRAMES]
    tints = np.random.default_rng([cfg.seed, truth["index"], 2]).uniform(-TINT, TINT, (len(truth["objects"]), 3))
    by_name = {c.name: c for c in CATALOGUE}
    for obj, tint in zip(truth["objects"], tints):
        boxes = np.asarray(obj["boxes"])
        w, h = int(boxes[0, 2] - boxes[0, 0]), int(boxes[0, 3] - boxes[0, 1])
        image, mask = sprite(by_name[obj["category"]], w, h, tint)
        pixels = image[mask]
        for f, (x0, y0, x1, y1) in enumerate(boxes):
            if obj["visible"][f // cfg.fps]:
                frames[f, y0:y1, x0:x1][mask] = pixels
    return frames


def soundtrack(cfg: AveWorldConfig, truth: dict) -> np.ndarray:
    """The event object's sound gated by its per-second `on`, over the room noise (float32)."""
    main = truth["objects"][0]
    by_name = {c.name: c for c in CATALOGUE}
    sounding = SceneObject(by_name[main["category"]], True, np.asarray(main["boxes"]), tuple(main["on"]))
    scene = Scene(truth["index"], truth["video_id"], (sounding,))
    sources, noise = stems(scene, cfg.segments * SAMPLE_RATE, cfg.seed)
    return mixdown(sources + [noise])


def write_ave_clip(cfg: AveWorldConfig, index: int) -> dict:
    """Generate and write clip `index` (truth JSON last); a failure comes back as a record."""
    try:
        truth = plan_clip(cfg, index)
        encode_clip(render_clip(cfg, truth), soundtrack(cfg, truth), cfg.fps, cfg.out / truth["media"])
        atomic_write(cfg.out / truth["truth"], json.dumps(truth) + "\n")
        return truth
    except Exception as exc:  # noqa: BLE001 - a failed clip is a value, the run goes on
        return {"key": _key(cfg, index), "index": index, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def ave_row(truth: dict) -> str:
    ev = truth["event"]
    return f"{ev['category']}&{truth['video_id']}&good&{ev['start']}&{ev['end']}"


def write_lists(out: Path, truths: list[dict]) -> dict[str, Path]:
    """Annotations.txt, the three split lists, categories.txt and (if any) noisySet.txt."""
    ave = Path(out) / "ave"
    events = [t for t in truths if t["event"] is not None]
    paths = {"annotations": ave / "Annotations.txt", "categories": ave / "categories.txt"}
    atomic_write(paths["annotations"], "\n".join([AVE_HEADER] + [ave_row(t) for t in events]) + "\n")
    for split, name in SPLIT_FILES.items():
        paths[split] = ave / name
        atomic_write(paths[split], "".join(f"{ave_row(t)}\n" for t in events if t["split"] == split))
    atomic_write(paths["categories"], "".join(f"{c.display}\n" for c in CATALOGUE))
    noisy = [t["video_id"] for t in truths if t["event"] is None]
    if noisy:
        paths["noisy"] = ave / "noisySet.txt"
        atomic_write(paths["noisy"], "".join(f"{v}\n" for v in noisy))
    return paths


def _owned_files(out: Path, settings: dict) -> set[Path]:
    """Every file an AVE world with `settings` writes (present or not)."""
    cfg = AveWorldConfig(out=out, **settings)
    keys = [_key(cfg, i) for i in range(cfg.clips + cfg.background_clips)]
    lists = ["Annotations.txt", "categories.txt", "noisySet.txt", *SPLIT_FILES.values()]
    return ({out / f"media/{k}.mp4" for k in keys} | {out / f"truth/{k}.json" for k in keys}
            | {out / "ave" / name for name in lists} | {out / MARKER})


def _prepare(cfg: AveWorldConfig, overwrite: bool) -> None:
    claim_folder(cfg.out, MARKER, cfg.world(), lambda old: _owned_files(cfg.out, old), "AVE world", overwrite)


def _finished(cfg: AveWorldConfig, index: int) -> dict | None:
    key = _key(cfg, index)
    truth, media = cfg.out / f"truth/{key}.json", cfg.out / f"media/{key}.mp4"
    if not (truth.is_file() and media.is_file()):
        return None
    try:
        return json.loads(truth.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _generate(cfg: AveWorldConfig, todo: list[int]):
    if cfg.workers == 1 or len(todo) <= 1:
        yield from (write_ave_clip(cfg, i) for i in todo)
        return
    with worker_pool(min(cfg.workers, len(todo))) as pool:  # workers die with us, leave Ctrl-C to us
        futures = {pool.submit(write_ave_clip, cfg, i): i for i in todo}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker (BrokenProcessPool) fails its clips only
                yield {"key": _key(cfg, futures[future]), "index": futures[future], "status": "failed",
                       "error": f"{type(exc).__name__}: {exc}"}


def synthesize_ave(cfg: AveWorldConfig, on_clip: Callable[[dict], None] | None = None,
                   overwrite: bool = False) -> AveWorldSummary:
    """Write the AVE world `cfg` describes under `cfg.out` (layout: the module's docstring); a
    rerun keeps finished clips. `on_clip(record)` is called as each clip finishes."""
    cfg.validate()
    started = time.perf_counter()
    _prepare(cfg, overwrite)
    total = cfg.clips + cfg.background_clips
    summary = AveWorldSummary(out=cfg.out, n_clips=total)
    records, todo = {}, []
    for index in range(total):
        done = _finished(cfg, index)
        if done is None:
            todo.append(index)
            continue
        records[index] = done
        summary.n_reused += 1
        if on_clip:
            on_clip(done)
    for record in _generate(cfg, todo):
        records[record["index"]] = record
        if on_clip:
            on_clip(record)
    truths = [records[i] for i in sorted(records) if records[i]["status"] == "ok"]
    summary.failures = [(r["key"], r["error"]) for _, r in sorted(records.items()) if r["status"] != "ok"]
    summary.n_ok = len(truths)
    for t in truths:
        summary.per_category[t["event"]["category"] if t["event"] else "(background only)"] += 1
        summary.per_split[t["split"]] += 1
    if truths:
        summary.files = write_lists(cfg.out, truths)
    summary.seconds = time.perf_counter() - started
    return summary
