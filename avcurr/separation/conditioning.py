"""The visual cue of a sound's maker, read from a frozen curriculum model (the localizer).

The localizer clusters one clip's audio into k_a = 1 centre and its frame into k_v visual centres;
eq. 7 picks the visual centre nearest the audio centre (`aligned_visual_index`). The cue is then
  `centre`: that visual cluster centre (the localizer's embedding width: 512 paper, 64 tiny), or
  `mask`:   the visual conv feature map (non-negative, after ReLU) multiplied by that centre's
            assignment map and max-pooled over space (the feature width: 512 paper, 64 tiny);
            the paper's "sound-maker-awareness max-pooling over the masked feature maps".
With a `point` (a pixel of the 256 x 256 frame) the centre is instead the one whose assignment is
largest at that pixel's feature cell: a user picks the object.
"""

from __future__ import annotations

import torch

from avcurr.errors import AvcurrError
from avcurr.localize.heatmap import aligned_visual_index
from avcurr.models import CAVL, CAVLOutput, ModelConfig
from avcurr.models.layers import out_channels

CONDITIONS = ("centre", "mask")
FRAME = 256


def check_condition(condition: str) -> str:
    if condition not in CONDITIONS:
        raise AvcurrError(f"--condition must be one of {', '.join(CONDITIONS)}, got {condition!r}")
    return condition


def cue_width(cfg: ModelConfig, condition: str) -> int:
    """Width of the cue vector a localizer of `cfg` gives for `condition`."""
    return cfg.embed_dim if check_condition(condition) == "centre" else out_channels(cfg.visual_layers)


def _point_cells(point: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """B x 2 pixel (x, y) in the 256 x 256 frame -> B flat indices into the H x W feature grid."""
    h, w = grid
    x = (point[:, 0].float() * w / FRAME).long().clamp(0, w - 1)
    y = (point[:, 1].float() * h / FRAME).long().clamp(0, h - 1)
    return y * w + x


@torch.no_grad()
def visual_cues(localizer: CAVL, spec: torch.Tensor, image: torch.Tensor, condition: str,
                visual_centres: int = 2, point: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(cues B x D, assignment maps B x H x W of the chosen visual centre) of B clips.

    spec: B x 1 x 512 x 432 log spectrograms (whose sound to look for); image: B x 3 x 256 x 256;
    point: optional B x 2 pixel (x, y) choosing the object instead of eq. 7."""
    check_condition(condition)
    a, a_grid = localizer.audio_vectors(spec)
    fmap = localizer.visual_net(image)                            # B x C x H x W, after ReLU
    grid = tuple(fmap.shape[-2:])
    v = localizer.visual_fc(fmap.flatten(2).transpose(1, 2))      # B x N x D
    out = CAVLOutput(audio=localizer.cluster(a, 1, a_grid), visual=localizer.cluster(v, visual_centres, grid))
    weights = out.visual.weights                                  # B x N x k_v
    rows = torch.arange(weights.shape[0], device=weights.device)
    if point is None:
        chosen = aligned_visual_index(out)[:, 0]
    else:
        chosen = weights[rows, _point_cells(point.to(weights.device), grid)].argmax(-1)
    assignment = weights[rows, :, chosen]                         # B x N
    if condition == "centre":
        cue = out.visual.centres[rows, chosen]
    else:
        cue = (fmap.flatten(2).float() * assignment[:, None, :]).amax(-1)
    return cue.float(), assignment.view(-1, *grid)
