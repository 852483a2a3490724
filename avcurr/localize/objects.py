"""Per-object scoring of several sounding sources: does each audio centre's map point at a different
sounding object, and not at a silent one?

Needs the synthetic world's truth (`truth/<key>.json`: every object's per-frame box in pixels and
whether it sounds). The scored frame is the clip's middle frame (SPEC §3's f1, at 50 %: the one the
test loader reads and the Flickr boxes are drawn on); its index is the truth's `flickr.frame`.

Per clip, each audio centre's map is reduced to its peak (the pointing game's point: the centroid of
tied maxima), and the peak is looked up among the objects' boxes:
- on a sounding object, on a silent one (a distractor), or on neither (background);
- the clip counts as `each_different` when every audio centre peaks on a sounding object and no two
  peak on the same one (with k_a = 2 sounding objects: both are found, one by each centre).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avcurr.errors import AvcurrError
from avcurr.keys import safe_name
from avcurr.localize.metrics import peak

BACKGROUND = -1


@dataclass(frozen=True)
class SceneObject:
    """One object of the scored frame: its box on the heatmap's grid and whether it sounds."""

    box: tuple[int, int, int, int]      # xmin, ymin inclusive; xmax, ymax exclusive
    sounding: bool
    name: str = ""


def truth_objects(truth: dict, size: int) -> list[SceneObject]:
    """The objects of a truth record at its middle frame, boxes scaled from the clip's pixels to a
    size x size grid."""
    try:
        frame = int(truth["flickr"]["frame"]) if "flickr" in truth else int(truth["n_frames"]) // 2
        sx, sy = size / float(truth["width"]), size / float(truth["height"])
        objects = []
        for obj in truth["objects"]:
            x0, y0, x1, y1 = obj["boxes"][frame]
            box = (int(np.floor(x0 * sx)), int(np.floor(y0 * sy)), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))
            objects.append(SceneObject(box, bool(obj["sounding"]), str(obj.get("category", ""))))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise AvcurrError(f"truth record {truth.get('key', '?')} lacks object boxes: {exc!r}") from None
    return objects


def read_truth(folder: Path, key: str) -> dict | None:
    """`<folder>/<key>.json`, or None when the clip has no truth file. The key comes from a shard
    (outside data): one that is not a plain name is refused, never turned into a path."""
    path = Path(folder) / f"{safe_name(key, 'sample key')}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AvcurrError(f"cannot read truth file {path}: {exc}") from None


def object_at(objects: list[SceneObject], y: int, x: int) -> int:
    """Index of the object whose box holds pixel (y, x), or BACKGROUND."""
    for i, obj in enumerate(objects):
        x0, y0, x1, y1 = obj.box
        if x0 <= x < x1 and y0 <= y < y1:
            return i
    return BACKGROUND


def score_clip(source_maps: np.ndarray, objects: list[SceneObject]) -> dict:
    """Where each audio centre's map (k_a x S x S, on the objects' grid) peaks, and the clip's verdict.

    Returns {"targets": object index per centre (-1 = background), "on_sounding", "on_silent",
    "on_background": counts of centres, "found": distinct sounding objects pointed at,
    "each_different": bool}.
    """
    targets = [object_at(objects, *peak(m)) for m in source_maps]
    sounding = [t for t in targets if t != BACKGROUND and objects[t].sounding]
    silent = [t for t in targets if t != BACKGROUND and not objects[t].sounding]
    found = len(set(sounding))
    return {"targets": targets, "on_sounding": len(sounding), "on_silent": len(silent),
            "on_background": targets.count(BACKGROUND), "found": found,
            "each_different": len(sounding) == len(targets) and found == len(targets)}


def random_peaks(k: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """k maps of i.i.d. uniform noise: the chance level of per-object scoring."""
    return rng.random((k, size, size))


def summarise_objects(scores: list[dict], n_sounding: list[int]) -> dict[str, float]:
    """Shares over clips and over audio centres.

    each_different: clips whose audio centres all peak on different sounding objects;
    on_sounding / on_silent / on_background: audio centres peaking there;
    recall: sounding objects found / sounding objects present; n: clips.
    """
    centres = sum(len(s["targets"]) for s in scores)
    if not scores or not centres:
        return {"each_different": 0.0, "on_sounding": 0.0, "on_silent": 0.0, "on_background": 0.0,
                "recall": 0.0, "n": 0}
    return {"each_different": float(np.mean([s["each_different"] for s in scores])),
            "on_sounding": sum(s["on_sounding"] for s in scores) / centres,
            "on_silent": sum(s["on_silent"] for s in scores) / centres,
            "on_background": sum(s["on_background"] for s in scores) / centres,
            "recall": sum(s["found"] for s in scores) / max(1, sum(n_sounding)),
            "n": len(scores)}
