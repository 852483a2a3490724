"""The separator: a frozen localizer that gives each source's visual cue, and the U-Net it conditions.

Both live in one module (and so in one checkpoint): `avcurr separate` needs nothing but the
separator's checkpoint. The localizer's weights never train (requires_grad off, excluded from the
optimiser) and it always runs in eval mode, whatever mode the separator is put in.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from avcurr.errors import AvcurrError
from avcurr.models import CAVL, ModelConfig
from avcurr.models.unet import UNet, UNetConfig
from avcurr.separation.conditioning import check_condition, visual_cues

KIND = "separator"


class Separator(nn.Module):
    """Mixture log-magnitude + (frame, solo spectrogram) of each source -> one mask per source."""

    def __init__(self, localizer_cfg: ModelConfig, unet_cfg: UNetConfig, condition: str, visual_centres: int = 2):
        super().__init__()
        self.condition = check_condition(condition)
        self.visual_centres = visual_centres
        self.localizer = CAVL(localizer_cfg)
        self.localizer.requires_grad_(False)
        self.localizer.eval()
        self.unet = UNet(unet_cfg)

    def train(self, mode: bool = True) -> "Separator":
        super().train(mode)
        self.localizer.eval()  # frozen: its BatchNorm statistics stay the trained ones
        return self

    def cues(self, spec: torch.Tensor, image: torch.Tensor, point: torch.Tensor | None = None) -> torch.Tensor:
        """B x D visual cues of B clips (see `visual_cues`)."""
        return visual_cues(self.localizer, spec, image, self.condition, self.visual_centres, point)[0]

    def forward(self, mixture: torch.Tensor, image: torch.Tensor, spec: torch.Tensor,
                point: torch.Tensor | None = None) -> torch.Tensor:
        """mixture: B x 1 x 512 x T log magnitude; image: B x S x 3 x 256 x 256 and spec:
        B x S x 1 x 512 x 432 of the S sources to separate (their frames, and the sound the localizer
        looks for in each); point: optional (B*S) x 2 pixels choosing the objects.
        Returns masks B x S x 512 x T in [0, 1]."""
        b, s = image.shape[:2]
        cues = self.cues(spec.flatten(0, 1), image.flatten(0, 1), point)
        return self.unet(mixture, cues.view(b, s, -1))


def model_config(localizer_cfg: ModelConfig, unet_cfg: UNetConfig, condition: str, visual_centres: int,
                 localizer_weights: str) -> dict:
    """What a separator checkpoint records of its architecture (and of the localizer it froze)."""
    return {"unet": unet_cfg.to_dict(), "localizer": localizer_cfg.to_dict(), "condition": condition,
            "visual_centres": visual_centres, "localizer_weights_sha256": localizer_weights}


def separator_from_checkpoint(path: Path, device: str | torch.device = "cpu") -> tuple[Separator, dict]:
    """The separator stored in `path` (eval mode) and the checkpoint's dict; one clear line for a
    checkpoint of another kind."""
    from avcurr.train.checkpoint import load_checkpoint

    state = load_checkpoint(Path(path), device, kind=KIND)
    cfg = state["model_config"]
    try:
        model = Separator(ModelConfig.from_dict(cfg["localizer"]), UNetConfig.from_dict(cfg["unet"]),
                          cfg["condition"], int(cfg["visual_centres"]))
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise AvcurrError(f"{path}: not a loadable separator checkpoint ({type(exc).__name__}: {exc})") from None
    return model.to(device).eval(), state
