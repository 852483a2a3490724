"""One synthetic clip end to end: plan, render, sound, encode, and write its ground truth.

Runs in a worker process. The truth JSON is written last, so its presence marks a finished clip
(a rerun skips it); a failure comes back as a value with ffmpeg's or Python's own words.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from avcurr.atomic import atomic_output, atomic_write
from avcurr.keys import clip_key
from avcurr.synth.catalogue import labels_for
from avcurr.synth.config import SAMPLE_RATE, SynthConfig
from avcurr.synth.encode import encode_clip
from avcurr.synth.formats import FLICKR_SIZE, flickr_xml
from avcurr.synth.render import render
from avcurr.synth.scene import Scene, plan_scene, synthetic_ytid
from avcurr.synth.sound import mixdown, stems

N_ANNOTATORS = 3
BOX_FORMAT = "xmin, ymin, xmax, ymax in pixels; xmin/ymin inclusive, xmax/ymax exclusive"


def paths_of(key: str) -> dict[str, str]:
    """Relative paths of one clip's files inside the output folder (the pinned layout)."""
    return {"media": f"media/{key}.mp4", "truth": f"truth/{key}.json", "stems": f"stems/{key}",
            "flickr_xml": f"flickr/annotations/{key}.xml", "flickr_frame": f"flickr/frames/{key}.png"}


def middle_frame(cfg: SynthConfig) -> int:
    """The frame shown at 50 % of the clip (SPEC §3's middle frame), where Flickr boxes are drawn."""
    return min(cfg.n_frames - 1, int(cfg.duration * 0.5 * cfg.fps))


def _event(scene: Scene) -> dict:
    main = scene.sources[0]
    on = np.flatnonzero(main.on)
    return {"category": main.category.display, "start": int(on[0]), "end": int(on[-1]) + 1}


def _annotator_boxes(cfg: SynthConfig, scene: Scene, frame: int) -> list[dict]:
    """Three jittered copies of each sounding object's box, in 256-pixel coordinates."""
    rng = np.random.default_rng([cfg.seed, scene.index, 4])
    scale = FLICKR_SIZE / cfg.size
    boxes = []
    for annotator in range(1, N_ANNOTATORS + 1):
        for obj in scene.sources:
            x0, y0, x1, y1 = obj.boxes[frame] * scale
            jitter = rng.normal(0, 0.04, 4) * np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0])
            box = np.clip(np.round(np.array([x0, y0, x1, y1]) + jitter), 0, FLICKR_SIZE).astype(int)
            box[2:] = np.maximum(box[2:], box[:2] + 1)
            boxes.append({"annotator": annotator, "category": obj.category.name,
                          "box": [int(v) for v in box]})
    return boxes


def truth_of(cfg: SynthConfig, scene: Scene) -> dict:
    """The clip's ground truth as plain JSON-ready data."""
    key = clip_key(scene.ytid, 0.0)
    paths = paths_of(key)
    labels: list[str] = []
    for obj in scene.sources:
        labels += [l for l in labels_for(obj.category) if l not in labels]
    objects, i = [], 0
    for obj in scene.objects:
        stem = f"{paths['stems']}/{i}_{obj.category.name}.wav" if obj.sounding else None
        i += obj.sounding
        objects.append({"category": obj.category.name, "display": obj.category.display,
                        "class_id": obj.category.class_id, "sounding": obj.sounding, "on": list(obj.on),
                        "stem": stem, "boxes": obj.boxes.tolist()})
    frame = middle_frame(cfg)
    return {
        "key": key, "ytid": scene.ytid, "index": scene.index, "seed": cfg.seed, "status": "ok",
        "start": 0.0, "end": float(cfg.duration), "width": cfg.size, "height": cfg.size, "fps": cfg.fps,
        "n_frames": cfg.n_frames, "sample_rate": SAMPLE_RATE, "n_samples": cfg.n_samples,
        "n_sources": len(scene.sources), "labels": labels,
        "sources": [o.category.class_id for o in scene.sources],
        "box_format": BOX_FORMAT, "objects": objects,
        "background_stem": f"{paths['stems']}/background.wav",
        "media": paths["media"], "truth": paths["truth"], "event": _event(scene),
        "flickr": {"frame": frame, "time": frame / cfg.fps, "size": FLICKR_SIZE,
                   "boxes": _annotator_boxes(cfg, scene, frame)},
    }


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with atomic_output(path) as tmp:
        sf.write(tmp, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")


def _write_sound_and_media(cfg: SynthConfig, scene: Scene, truth: dict, frames: np.ndarray) -> None:
    """Stems (16-bit WAV) first, then the mp4 whose soundtrack is exactly their sum."""
    source_stems, background = stems(scene, cfg.n_samples, cfg.seed)
    (cfg.out / paths_of(truth["key"])["stems"]).mkdir(parents=True, exist_ok=True)
    stem_paths = [o["stem"] for o in truth["objects"] if o["sounding"]]
    for rel, samples in zip(stem_paths, source_stems):
        _write_wav(cfg.out / rel, samples)
    _write_wav(cfg.out / truth["background_stem"], background)
    (cfg.out / "media").mkdir(parents=True, exist_ok=True)
    encode_clip(frames, mixdown(source_stems + [background]), cfg.fps, cfg.out / truth["media"],
                cfg.audio_bitrate)


def _write_flickr(out: Path, truth: dict, frames: np.ndarray) -> None:
    """The middle frame as PNG (the real set ships images) and its box annotation XML."""
    paths = paths_of(truth["key"])
    with atomic_output(out / paths["flickr_frame"]) as tmp:
        Image.fromarray(frames[truth["flickr"]["frame"]]).save(tmp, format="PNG")
    atomic_write(out / paths["flickr_xml"], flickr_xml(truth))


def write_clip(cfg: SynthConfig, index: int) -> dict:
    """Generate and write clip `index`; return its truth (status ok) or a failure record."""
    try:
        scene = plan_scene(cfg, index)
        truth = truth_of(cfg, scene)
        frames = render(cfg, scene)
        _write_sound_and_media(cfg, scene, truth, frames)
        _write_flickr(cfg.out, truth, frames)
        atomic_write(cfg.out / truth["truth"], json.dumps(truth) + "\n")  # last: marks the clip done
        return truth
    except Exception as exc:  # noqa: BLE001 - a failed clip is a value, the run goes on
        return failure(cfg, index, exc)


def failure(cfg: SynthConfig, index: int, exc: BaseException) -> dict:
    """The record of a clip that could not be made, with the error's own words."""
    ytid = synthetic_ytid(cfg.seed, index)
    return {"key": clip_key(ytid, 0.0), "ytid": ytid, "index": index, "status": "failed",
            "error": f"{type(exc).__name__}: {exc}"}
