"""Frames of a scene with numpy: a textured, noisy background and one textured sprite per object.

Each object is drawn from a sprite (colour image + shape mask) computed once per clip and pasted
at its per-frame box, so rendering costs a few array copies per frame. A sprite never paints
outside its box: the ground-truth boxes hold every object pixel by construction.
"""

from __future__ import annotations

import numpy as np

from avcurr.synth.catalogue import Category
from avcurr.synth.config import SynthConfig
from avcurr.synth.scene import Scene

GRAIN_FRAMES = 4  # temporal noise cycles through a small bank: cheap, still never static
TINT = 12         # per-clip colour variation of an object, per channel (categories stay far apart)


def _unit_grid(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    u = (2 * (np.arange(w) + 0.5) / w - 1)[None, :]
    v = (2 * (np.arange(h) + 0.5) / h - 1)[:, None]
    return u, v


def _star(u, v):
    r, theta = np.hypot(u, v), np.arctan2(u, -v)
    return r <= 0.42 + 0.58 * ((1 + np.cos(5 * theta)) / 2) ** 2


SHAPES = {
    "ellipse": lambda u, v: u ** 2 + v ** 2 <= 1,
    "rect": lambda u, v: np.maximum(np.abs(u) - 0.7, 0) ** 2 + np.maximum(np.abs(v) - 0.7, 0) ** 2 <= 0.09,
    "triangle": lambda u, v: np.abs(u) <= (v + 1) / 2,
    "diamond": lambda u, v: np.abs(u) + np.abs(v) <= 1,
    "bell": lambda u, v: np.abs(u) <= 0.4 + 0.6 * ((v + 1) / 2) ** 3,  # narrow crown, flared rim
    "star": _star,
    "ring": lambda u, v: (u ** 2 + v ** 2 <= 1) & (u ** 2 + v ** 2 >= 0.3),
    "hexagon": lambda u, v: (np.abs(u) + 0.5 * np.abs(v) <= 1) & (np.abs(v) <= 1),
    "cross": lambda u, v: (np.abs(u) <= 0.34) | (np.abs(v) <= 0.34),
    "capsule": lambda u, v: (np.maximum(np.abs(u) - 0.5, 0) / 0.5) ** 2 + v ** 2 <= 1,
}

TEXTURES = {
    "solid": lambda x, y, u, v: np.zeros(np.broadcast(x, y).shape, bool),
    "spots": lambda x, y, u, v: ((x % 14) - 7) ** 2 + ((y % 14) - 7) ** 2 < 12,
    "hstripes": lambda x, y, u, v: (y // 6) % 2 == 0,
    "vstripes": lambda x, y, u, v: (x // 7) % 2 == 0,
    "dstripes": lambda x, y, u, v: ((x + y) // 6) % 2 == 0,
    "checker": lambda x, y, u, v: ((x // 8) + (y // 8)) % 2 == 0,
    "rings": lambda x, y, u, v: (np.hypot(u, v) * 5).astype(int) % 2 == 0,
    "radial": lambda x, y, u, v: (np.arctan2(v, u) * 8 / np.pi).astype(int) % 2 == 0,
    "dots": lambda x, y, u, v: ((x % 10) - 5) ** 2 + ((y % 10) - 5) ** 2 < 6,
    "gradient": lambda x, y, u, v: (u + v) > 0,
}


def _alternate(colour: np.ndarray) -> np.ndarray:
    """The texture's second tone: darker for light colours, lighter for dark ones."""
    luminance = colour @ np.array([0.299, 0.587, 0.114])
    return colour * 0.5 if luminance > 90 else colour + 0.65 * (255 - colour)


def sprite(category: Category, w: int, h: int, tint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, 3) uint8 image and (h, w) bool mask of one object of `category`, its colour shifted by
    `tint` (per channel) so that two clips' dogs are alike but not identical."""
    u, v = _unit_grid(w, h)
    mask = np.broadcast_to(SHAPES[category.shape](u, v), (h, w))
    x, y = np.arange(w)[None, :], np.arange(h)[:, None]
    second = np.broadcast_to(TEXTURES[category.texture](x, y, u, v), (h, w))
    colour = np.array(category.colour, np.float64)
    if category.texture == "gradient":
        shade = 0.6 + 0.4 * ((u - v + 2) / 4)  # smooth light-to-dark sweep
        image = colour[None, None, :] * np.broadcast_to(shade, (h, w))[..., None]
    else:
        image = np.where(second[..., None], _alternate(colour), colour)
    # Tinting after the two tones are chosen keeps a category's pattern (light dots stay light).
    image = image + (0 if tint is None else np.asarray(tint, np.float64))
    return np.clip(image, 0, 255).astype(np.uint8), mask.copy()


def _upsample(grid: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of a small (n, n, c) grid to (size, size, c), elementwise only (no BLAS
    threads to fight over in worker processes)."""
    pos = np.linspace(0, grid.shape[0] - 1, size)
    lo = np.minimum(pos.astype(int), grid.shape[0] - 2)
    frac = (pos - lo)[:, None, None]
    rows = grid[lo] * (1 - frac) + grid[lo + 1] * frac                  # (size, n, c)
    return rows[:, lo] * (1 - frac[:, 0][None]) + rows[:, lo + 1] * frac[:, 0][None]


def background(cfg: SynthConfig, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Static textured background (S, S, 3) int16 and a bank of temporal grain (G, S, S, 3) int16."""
    rng = np.random.default_rng([cfg.seed, index, 1])
    s = cfg.size
    # Muted colours, so that the saturated objects stand out yet the scene is not trivially flat.
    base = rng.uniform(70, 170, 3)
    tint = rng.uniform(-35, 35, (5, 5, 3)) + rng.uniform(-25, 25, (5, 5, 1))
    blotches = rng.uniform(-22, 22, (17, 17, 1)) * rng.uniform(0.6, 1.0, (1, 1, 3))
    static = base + _upsample(tint, s) + _upsample(blotches, s) + rng.integers(-12, 13, (s, s, 1))
    grain = rng.integers(-6, 7, (GRAIN_FRAMES, s, s, 3), dtype=np.int16)
    return np.clip(static, 0, 255).astype(np.int16), grain


def render(cfg: SynthConfig, scene: Scene, objects: bool = True) -> np.ndarray:
    """All frames (n_frames, S, S, 3) uint8; `objects=False` gives the same clip's bare background."""
    static, grain = background(cfg, scene.index)
    bank = np.clip(static[None] + grain, 0, 255).astype(np.uint8)  # grained backgrounds, reused
    frames = bank[np.arange(cfg.n_frames) % GRAIN_FRAMES]
    if objects:
        tints = np.random.default_rng([cfg.seed, scene.index, 2]).uniform(-TINT, TINT, (len(scene.objects), 3))
        for obj, tint in zip(scene.objects, tints):
            w, h = int(obj.boxes[0, 2] - obj.boxes[0, 0]), int(obj.boxes[0, 3] - obj.boxes[0, 1])
            image, mask = sprite(obj.category, w, h, tint)
            pixels = image[mask]
            for f, (x0, y0, x1, y1) in enumerate(obj.boxes):
                frames[f, y0:y1, x0:x1][mask] = pixels
    return frames
