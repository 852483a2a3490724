"""Eq. 7: the visual centre nearest the audio centre; its assignment map is the sound's location."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from avcurr.models import CAVLOutput
from avcurr.models.alignment import centre_distances


def aligned_visual_index(out: CAVLOutput) -> torch.Tensor:
    """B x k_a: for each audio centre, the index of its nearest visual centre of the same sample."""
    d = centre_distances(out.audio.centres, out.visual.centres)   # B x B x ka x kv
    own = d.diagonal(dim1=0, dim2=1).permute(2, 0, 1)            # B x ka x kv
    return own.argmin(-1)


def aligned_maps(out: CAVLOutput) -> torch.Tensor:
    """B x H x W localisation maps on the visual feature grid.

    One sounding source (k_a = 1): the assignment map of its aligned visual centre. Several: the
    pixel-wise maximum over the sources' aligned maps (every sounding object is highlighted).
    """
    maps = out.visual.maps()                                      # B x kv x H x W
    idx = aligned_visual_index(out)                               # B x ka
    picked = torch.gather(maps, 1, idx[..., None, None].expand(-1, -1, *maps.shape[-2:]))
    return picked.amax(1)


def upsample(maps: torch.Tensor, size: int) -> torch.Tensor:
    """B x H x W maps resized bilinearly to B x size x size."""
    return F.interpolate(maps[:, None].float(), size=(size, size), mode="bilinear",
                         align_corners=False)[:, 0]


@torch.no_grad()
def localize_batch(model, spec: torch.Tensor, image: torch.Tensor, sources: int = 1,
                   size: int = 224, visual_centres: int | None = None) -> torch.Tensor:
    """B x size x size heatmaps of the sounding objects, from a model in eval mode.

    k_a = sources; k_v = visual_centres, by default sources + 1 (the paper: one centre per sounding
    object plus the background). Scenes with silent visible objects need one more per object.
    """
    out = model(spec, image, sources, visual_centres or sources + 1)
    return upsample(aligned_maps(out), size)
