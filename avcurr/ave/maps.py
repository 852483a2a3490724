"""Attention maps of the AVE models (AVFB's lambda_t, or the baseline's audio-guided attention),
measured where the truth is known.

A map is a segment's spatial attention over the S = H x W regions, reshaped to the feature grid
(it sums to 1 there, as the attention does) and upsampled bilinearly to the frame, renormalised to
sum to 1 again. On the synthetic AVE world every event segment (the object visible and sounding)
is scored with the protocol of avcurr.localize.metrics, the map at 224 x 224 against the event
object's box in the segment's middle frame: the cIoU of the median-binarised map and the pointing
game, beside random, centre (a Gaussian bump) and uniform (the whole frame) maps. Segments with a
silent visible distractor also say where each map's maximum falls: on the sounding object or on
the distractor (the paper's Fig. 8 claim: attention follows the audio, not saliency); background
segments where the event's object stays in view but silent say how often the maximum still falls on
it (low when the map follows the sound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from avcurr.errors import AvcurrError
from avcurr.localize.annotations import GRID
from avcurr.localize.baselines import centre_gaussian, score_baselines
from avcurr.localize.metrics import binarise, ciou, ground_truth, pointing_hit, summarise

BASELINES = {"random": "random", "centre_gaussian": "centre", "whole_image": "uniform"}


@torch.no_grad()
def segment_maps(model, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
    """B x T x H x W maps on the feature grid (each sums to 1 over the grid, as lambda_t)."""
    out = model(audio, visual)
    if out.attention is None:
        raise AvcurrError("this model has no spatial attention (its visual stream uses neither AVFB nor MFB); "
                          "maps need fusion avfb or mfb, or the AVE-ECCV18 baseline")
    b, t = out.attention.shape[:2]
    return out.attention.reshape(b, t, *visual.shape[2:4])


def upsample_map(grid_map: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(... x H x W) maps resized bilinearly to (... x size), each renormalised to sum to 1."""
    lead = grid_map.shape[:-2]
    flat = grid_map.reshape(-1, 1, *grid_map.shape[-2:]).float()
    big = F.interpolate(flat, size=tuple(size), mode="bilinear", align_corners=False).clamp_min(0)
    big = big / big.flatten(1).sum(1).clamp_min(1e-12)[:, None, None, None]
    return big.reshape(*lead, *size)


def find_truth(folder: Path, video_id: str) -> Path | None:
    """`<id>.json` or `<id>_<ms>.json` in a synthetic world's truth folder."""
    pattern = re.compile(re.escape(video_id) + r"(_\d+)?")
    for path in sorted(Path(folder).glob(f"{video_id}*.json")):
        if pattern.fullmatch(path.stem):
            return path
    return None


def box_on_grid(box, width: int, height: int) -> list[int]:
    """A pixel box of the frame on the 224 grid of the metrics (the frame is resized, not cropped)."""
    x0, y0, x1, y1 = box
    return [int(GRID * x0 / width), int(GRID * y0 / height), int(np.ceil(GRID * x1 / width)),
            int(np.ceil(GRID * y1 / height))]


def consensus(box: list[int]) -> np.ndarray:
    """g of the protocol for one exact box, counted as two agreeing annotators (g = 1 inside;
    one annotator alone would give 0.5 and cap every cIoU at 0.5)."""
    return ground_truth([box, box])


@dataclass(frozen=True)
class EventSegment:
    """One segment of one row with the event's object in view, its box and a visible distractor's
    on the 224 grid; `sounding` False for a background second where the object is silent."""

    row: int
    segment: int
    box: tuple[int, ...]
    distractor: tuple[int, ...] | None
    sounding: bool = True


def event_segments(truth: dict, row: int, silent: bool = False) -> list[EventSegment]:
    """The segments of a synthetic AVE clip where the event is present (the object visible and
    sounding), or with `silent` those where its object is visible but silent."""
    objects, found = truth["objects"], []
    w, h = truth["width"], truth["height"]
    for t, (on, visible) in enumerate(zip(objects[0]["on"], objects[0]["visible"])):
        if visible and bool(on) != silent:
            frame = truth["middle_frames"][t]
            others = [o for o in objects[1:] if o["visible"][t]]
            found.append(EventSegment(row, t, tuple(box_on_grid(objects[0]["boxes"][frame], w, h)),
                                      tuple(box_on_grid(others[0]["boxes"][frame], w, h)) if others else None,
                                      not silent))
    return found


@dataclass
class MapScores:
    """Per method: cIoU and pointing hits on event segments (and on those without a distractor
    alone); on distractor segments, whether the maximum falls on the sounding object and whether
    on the distractor; on silent segments (the object in view, silent), whether it falls on the
    silent object."""

    cious: dict[str, list[float]] = field(default_factory=dict)
    hits: dict[str, list[bool]] = field(default_factory=dict)
    at_sounding: dict[str, list[bool]] = field(default_factory=dict)
    at_distractor: dict[str, list[bool]] = field(default_factory=dict)
    at_silent: dict[str, list[bool]] = field(default_factory=dict)
    lone: dict[str, list[bool]] = field(default_factory=dict)

    def add(self, method: str, seg: EventSegment, c: float, hit: bool, heat: np.ndarray | None) -> None:
        if not seg.sounding:
            self.at_silent.setdefault(method, []).append(hit)
            return
        self.cious.setdefault(method, []).append(c)
        self.hits.setdefault(method, []).append(hit)
        if seg.distractor is None:
            self.lone.setdefault(method, []).append(hit)
        elif heat is not None:
            self.at_sounding.setdefault(method, []).append(hit)
            self.at_distractor.setdefault(method, []).append(pointing_hit(heat, consensus(list(seg.distractor))))

    def summary(self) -> dict[str, dict]:
        out = {}
        for method in self.cious:
            s = summarise(self.cious[method], self.hits[method])
            near, far = self.at_sounding.get(method, []), self.at_distractor.get(method, [])
            silent, lone = self.at_silent.get(method, []), self.lone.get(method, [])
            s.update(lone_segments=len(lone), pointing_lone=float(np.mean(lone)) if lone else None,distractor_segments=len(near), points_at_sounding=float(np.mean(near)) if near else None,
                     points_at_distractor=float(np.mean(far)) if far else None, silent_segments=len(silent),
                     points_at_silent_object=float(np.mean(silent)) if silent else None)
            out[method] = s
        return out


def score_map(scores: MapScores, method: str, heat: np.ndarray, seg: EventSegment) -> tuple[float, bool]:
    """Score one 224 x 224 map on one segment."""
    g = consensus(list(seg.box))
    c, hit = ciou(binarise(heat), g), pointing_hit(heat, g)
    scores.add(method, seg, c, hit, heat)
    return c, hit


def score_baseline_maps(scores: MapScores, seg: EventSegment, rng: np.random.Generator) -> dict[str, tuple[float, bool]]:
    """The random, centre and uniform maps on one event segment (the distractor test for the two
    fixed ones: a random map's maximum is anywhere)."""
    results = score_baselines(consensus(list(seg.box)), rng)
    heats = {"centre_gaussian": centre_gaussian(GRID), "whole_image": np.ones((GRID, GRID))}
    named = {}
    for method, (c, hit) in results.items():
        scores.add(BASELINES[method], seg, c, hit, heats.get(method))
        named[BASELINES[method]] = (c, hit)
    return named
