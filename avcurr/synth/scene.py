"""Scene planning: which objects a clip holds, where they sit and drift, when each one sounds.

Objects occupy distinct cells of a grid (1, 2, 4 or 6 cells), so boxes never overlap and every
object stays fully visible; each drifts slowly on a smooth path inside its cell.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import numpy as np

from avcurr.synth.catalogue import CATALOGUE, Category
from avcurr.synth.config import SynthConfig

# Box area as a fraction of the frame for a lone object (SoundNet-Flickr's median binarisation
# needs >= 1/4 of the frame for cIoU 0.5 to be reachable) and, for shared frames, side as a
# fraction of the cell's shorter side.
LONE_AREA = (0.25, 0.5)
SMALL_LONE_AREA = (0.03, 0.08)
SHARED_SIDE = (0.62, 0.8)
SMALL_SHARED_SIDE = (0.2, 0.3)


@dataclass(frozen=True)
class SceneObject:
    category: Category
    sounding: bool
    boxes: np.ndarray          # (n_frames, 4) int: xmin, ymin inclusive; xmax, ymax exclusive
    on: tuple[int, ...]        # per second: 1 when the object sounds (always 0 for a distractor)


@dataclass(frozen=True)
class Scene:
    index: int
    ytid: str
    objects: tuple[SceneObject, ...]  # sounding objects first, the main source at 0

    @property
    def sources(self) -> tuple[SceneObject, ...]:
        return tuple(o for o in self.objects if o.sounding)


def synthetic_ytid(seed: int, index: int) -> str:
    """An 11-character YouTube-like id, fixed by (seed, index); every fifth begins with '-'."""
    digest = hashlib.sha256(f"avcurr-synth:{seed}:{index}".encode()).digest()
    ytid = base64.urlsafe_b64encode(digest).decode()[:11]
    # Real ids may begin with '-', which breaks naive CSV and command-line handling: exercise it.
    return "-" + ytid[1:] if index % 5 == 2 else ytid


def clip_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of one clip: independent of worker count and clip order."""
    return np.random.default_rng([seed, index])


def _grid(n_objects: int, rng: np.random.Generator) -> tuple[int, int]:
    if n_objects == 1:
        return 1, 1
    if n_objects == 2:
        return (2, 1) if rng.random() < 0.5 else (1, 2)
    if n_objects <= 4:
        return 2, 2
    return (3, 2) if rng.random() < 0.5 else (2, 3)


def _box_size(cfg: SynthConfig, cell_w: int, cell_h: int, lone: bool, rng) -> tuple[int, int]:
    aspect = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    if lone:
        area = rng.uniform(*(SMALL_LONE_AREA if cfg.small_objects else LONE_AREA)) * cfg.size ** 2
        side = np.sqrt(area)
    else:
        side = rng.uniform(*(SMALL_SHARED_SIDE if cfg.small_objects else SHARED_SIDE)) * min(cell_w, cell_h)
    w = min(int(round(side * np.sqrt(aspect))), int(cell_w * 0.9))
    h = min(int(round(side / np.sqrt(aspect))), int(cell_h * 0.9))
    return max(w, 8), max(h, 8)


def _trajectory(cfg: SynthConfig, cell: tuple[int, int, int, int], w: int, h: int, rng) -> np.ndarray:
    """Per-frame boxes drifting on a slow sinusoid that never leaves the cell."""
    x0, y0, cw, ch = cell
    t = np.arange(cfg.n_frames) / cfg.fps
    coords = []
    for lo, room in ((x0, cw - w), (y0, ch - h)):
        # Anywhere in the free room, edges included: a sounding object that mostly sits in the
        # middle would let a centred guess score like a model on the localization metrics.
        centre = rng.uniform(0.0, 1.0) * room
        amp = min(centre, room - centre) * rng.uniform(0.3, 1.0)
        period = rng.uniform(8.0, 20.0)  # seconds: a slow drift, < 1 px per frame at 8 fps
        coords.append(lo + np.round(centre + amp * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))))
    xs, ys = (c.astype(np.int64) for c in coords)
    return np.stack([xs, ys, xs + w, ys + h], axis=1)


def _on_off(seconds: int, main: bool, rng) -> tuple[int, ...]:
    """Per-second activity: the main source sounds in one contiguous event, others switch freely."""
    if main:
        length = seconds if rng.random() < 0.4 else int(rng.integers(max(1, seconds * 3 // 10), seconds + 1))
        start = int(rng.integers(0, seconds - length + 1))
        on = np.zeros(seconds, np.int64)
        on[start:start + length] = 1
    else:
        on = (rng.random(seconds) < 0.75).astype(np.int64)
        need = max(1, seconds * 4 // 10)  # a source must be clearly present to count
        if on.sum() < need:
            on[rng.choice(seconds, need, replace=False)] = 1
    return tuple(int(v) for v in on)


def plan_scene(cfg: SynthConfig, index: int) -> Scene:
    """The scene of clip `index`: fully decided by (cfg.world(), index)."""
    rng = clip_rng(cfg.seed, index)
    n_sources = int(rng.integers(cfg.min_sources, cfg.max_sources + 1))
    n_objects = n_sources + cfg.distractors
    categories = [CATALOGUE[i] for i in rng.choice(len(CATALOGUE), n_objects, replace=False)]
    cols, rows = _grid(n_objects, rng)
    cell_w, cell_h = cfg.size // cols, cfg.size // rows
    cells = [(c * cell_w, r * cell_h, cell_w, cell_h) for r in range(rows) for c in range(cols)]
    order = rng.permutation(len(cells))[:n_objects]
    objects = []
    for k, (cat, cell_index) in enumerate(zip(categories, order)):
        w, h = _box_size(cfg, cell_w, cell_h, n_objects == 1, rng)
        boxes = _trajectory(cfg, cells[cell_index], w, h, rng)
        sounding = k < n_sources
        on = _on_off(cfg.seconds, k == 0, rng) if sounding else (0,) * cfg.seconds
        objects.append(SceneObject(cat, sounding, boxes, on))
    return Scene(index, synthetic_ytid(cfg.seed, index), tuple(objects))
