"""Where the sound's maker is: eq. 7 (the visual centre nearest the audio centre and its assignment
map) and the other readouts of `avcurr.localize.rules`, on the visual feature grid."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from avcurr.localize.rules import PAPER_RULE, LocalizationRule
from avcurr.models import CAVLOutput, Clusters
from avcurr.models.alignment import centre_distances
from avcurr.models.clustering import euclidean


def aligned_visual_index(out: CAVLOutput) -> torch.Tensor:
    """B x k_a: for each audio centre, the index of its nearest visual centre of the same sample."""
    d = centre_distances(out.audio.centres, out.visual.centres)   # B x B x ka x kv
    own = d.diagonal(dim1=0, dim2=1).permute(2, 0, 1)            # B x ka x kv
    return own.argmin(-1)


def aligned_source_maps(out: CAVLOutput) -> torch.Tensor:
    """B x k_a x H x W: each audio centre's aligned visual assignment map (eq. 7)."""
    maps = out.visual.maps()                                      # B x kv x H x W
    idx = aligned_visual_index(out)                               # B x ka
    return torch.gather(maps, 1, idx[..., None, None].expand(-1, -1, *maps.shape[-2:]))


def aligned_maps(out: CAVLOutput) -> torch.Tensor:
    """B x H x W localisation maps on the visual feature grid.

    One sounding source (k_a = 1): the assignment map of its aligned visual centre. Several: the
    pixel-wise maximum over the sources' aligned maps (every sounding object is highlighted).
    """
    return aligned_source_maps(out).amax(1)


def unrelated_index(out: CAVLOutput) -> torch.Tensor:
    """B: the visual centre farthest from every audio centre (the largest distance to its nearest
    audio centre): with k_v = k_a + 1 and one source, simply the centre eq. 7 did not pick."""
    own = centre_distances(out.audio.centres, out.visual.centres).diagonal(dim1=0, dim2=1)  # ka x kv x B
    return own.min(0).values.argmax(0)


def unrelated_maps(out: CAVLOutput) -> torch.Tensor:
    """B x H x W: the assignment map of the unrelated visual centre (Table 3's "unrelated" row)."""
    maps = out.visual.maps()
    idx = unrelated_index(out)
    return maps[torch.arange(maps.shape[0]), idx]


def distance_source_maps(visual: torch.Tensor, audio_centres: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """B x k_a x H x W: every visual location scored by its closeness to each audio centre, scaled
    per sample to [0, 1] (1 = the location nearest an audio centre), one common scale for the k_a
    maps so that their pixel-wise maximum is the nearest audio centre's.

    visual: B x N x C embedded visual vectors; audio_centres: B x k_a x C.
    """
    d = euclidean(visual, audio_centres).transpose(1, 2)          # B x ka x N
    lo = d.flatten(1).min(1).values[:, None, None]
    hi = d.flatten(1).max(1).values[:, None, None]
    closeness = (hi - d) / (hi - lo).clamp_min(1e-12)
    return closeness.reshape(d.shape[0], d.shape[1], *grid)


def cross_source_maps(visual: torch.Tensor, out: CAVLOutput, beta: float) -> torch.Tensor:
    """B x k_a x H x W: for each audio centre, the soft assignment (softmax(-beta d)) of every visual
    location to it when it replaces its aligned visual centre among the visual centres."""
    idx = aligned_visual_index(out)                               # B x ka
    centres = out.visual.centres                                  # B x kv x C
    b, ka = idx.shape
    maps = []
    for i in range(ka):
        swapped = centres.clone()
        swapped[torch.arange(b), idx[:, i]] = out.audio.centres[:, i]
        weights = torch.softmax(-beta * euclidean(visual, swapped), dim=-1)     # B x N x kv
        maps.append(weights[torch.arange(b), :, idx[:, i]])                     # B x N
    return torch.stack(maps, 1).reshape(b, ka, *out.visual.grid)


@dataclass
class Embedded:
    """One batch's embedded feature vectors (B x N x C) and their grids, computed once and read by
    as many rules as needed."""

    audio: torch.Tensor
    audio_grid: tuple[int, int]
    visual: torch.Tensor
    visual_grid: tuple[int, int]


@torch.no_grad()
def embed(model, spec: torch.Tensor, image: torch.Tensor) -> Embedded:
    """The model's embedded audio and visual vectors of a batch (the part of forward before clustering)."""
    a, a_grid = model.audio_vectors(spec)
    v, v_grid = model.visual_vectors(image)
    return Embedded(a.float(), a_grid, v.float(), v_grid)


@torch.no_grad()
def cluster(model, emb: Embedded, sources: int, visual_centres: int) -> CAVLOutput:
    """Soft K-means of both streams, exactly as the model's forward does it."""
    return CAVLOutput(audio=model.cluster(emb.audio, sources, emb.audio_grid),
                      visual=model.cluster(emb.visual, visual_centres, emb.visual_grid))


@torch.no_grad()
def rule_source_maps(model, emb: Embedded, sources: int, rule: LocalizationRule = PAPER_RULE,
                     visual_centres: int | None = None) -> torch.Tensor:
    """B x k_a x H x W: each audio centre's map under `rule` (k_v = visual_centres when told)."""
    kv = visual_centres or rule.visual_centres(sources)
    if rule.readout == "distance":
        audio: Clusters = model.cluster(emb.audio, sources, emb.audio_grid)
        maps = distance_source_maps(emb.visual, audio.centres, emb.visual_grid)
    else:
        out = cluster(model, emb, sources, kv)
        maps = cross_source_maps(emb.visual, out, model.cfg.beta) if rule.readout == "cross" else aligned_source_maps(out)
    return neighbourhood_mean(maps, rule.smooth)


def neighbourhood_mean(maps: torch.Tensor, side: int) -> torch.Tensor:
    """B x k x H x W maps averaged over side x side neighbourhoods, outside the frame counting as 0."""
    if side <= 1:
        return maps
    return F.avg_pool2d(maps, side, stride=1, padding=side // 2, count_include_pad=True)


def upsample(maps: torch.Tensor, size: int) -> torch.Tensor:
    """B x H x W maps resized bilinearly to B x size x size."""
    return F.interpolate(maps[:, None].float(), size=(size, size), mode="bilinear",
                         align_corners=False)[:, 0]


@torch.no_grad()
def localize_batch(model, spec: torch.Tensor, image: torch.Tensor, sources: int = 1,
                   size: int = 224, visual_centres: int | None = None,
                   rule: LocalizationRule = PAPER_RULE) -> torch.Tensor:
    """B x size x size heatmaps of the sounding objects, from a model in eval mode.

    k_a = sources; the readout and k_v come from `rule` (the paper's: eq. 7 with k_v = k_a + 1);
    `visual_centres` tells k_v instead. Several sources: the pixel-wise maximum of their maps.
    """
    maps = rule_source_maps(model, embed(model, spec, image), sources, rule, visual_centres)
    return upsample(maps.amax(1), size)
