"""The two-stream curriculum audiovisual model (paper §3.1, supplement 6.2).

spectrogram -> AudioNet -> per-vector FC -> soft K-means (k_a centres)
image       -> VisualNet -> per-vector FC -> soft K-means (k_v centres)
The number of clusters is an argument of `forward`, not a weight: stage k trains with k_a = k,
k_v = k + 1, and a checkpoint of any stage can be evaluated with any k. `forward(..., scene=True)`
skips clustering and max-pools each stream's embedded vectors into one vector (scene-level
alignment: the paper compares it with source-level alignment in Table 1).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from avcurr.models.audio_net import AudioNet
from avcurr.models.clustering import Clusters, soft_kmeans
from avcurr.models.config import ModelConfig
from avcurr.models.layers import init_weights, out_channels
from avcurr.models.visual_net import VisualNet


@dataclass
class CAVLOutput:
    audio: Clusters
    visual: Clusters


@dataclass
class SceneOutput:
    """Scene-level embeddings (the paper's Table 1 baseline, after L3-Net's max pooling): B x D each."""

    audio: torch.Tensor
    visual: torch.Tensor


def clusters_for_stage(stage: int) -> tuple[int, int]:
    """(k_a, k_v) of curriculum stage `stage`: k sources, plus one visual centre for background."""
    return stage, stage + 1


def _vectors(fmap: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """B x C x H x W -> B x (H*W) x C and (H, W) (the paper's Reshape operator)."""
    b, c, h, w = fmap.shape
    return fmap.flatten(2).transpose(1, 2), (h, w)


class CAVL(nn.Module):
    """Audio and visual streams, each with a shared FC over its feature vectors and soft K-means."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.audio_net = AudioNet(cfg)
        self.visual_net = VisualNet(cfg)
        self.audio_fc = nn.Linear(out_channels(cfg.audio_layers), cfg.embed_dim)
        self.visual_fc = nn.Linear(out_channels(cfg.visual_layers), cfg.embed_dim)
        init_weights(self)

    def audio_vectors(self, spec: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """B x N_a x D embedded audio feature vectors and their grid."""
        x, grid = _vectors(self.audio_net(spec))
        return self.audio_fc(x), grid

    def visual_vectors(self, image: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """B x N_v x D embedded visual feature vectors and their grid."""
        x, grid = _vectors(self.visual_net(image))
        return self.visual_fc(x), grid

    def cluster(self, x: torch.Tensor, k: int, grid: tuple[int, int]) -> Clusters:
        # Clustering runs in float32 even under autocast: exp(-beta * d) and the weighted means
        # lose too much in half precision.
        kind = x.device.type
        off = torch.autocast(device_type=kind, enabled=False) if kind in ("cuda", "cpu") else nullcontext()
        with off:
            return soft_kmeans(x.float(), k, self.cfg.beta, self.cfg.em_iters, grid)

    def forward(self, spec: torch.Tensor, image: torch.Tensor, k_a: int = 1, k_v: int = 2,
                scene: bool = False) -> CAVLOutput | SceneOutput:
        """Clusters of both streams (source-level alignment), or with `scene=True` one globally
        max-pooled embedding per stream (scene-level alignment, no clustering)."""
        a, a_grid = self.audio_vectors(spec)
        v, v_grid = self.visual_vectors(image)
        if scene:
            return SceneOutput(audio=a.amax(1), visual=v.amax(1))
        return CAVLOutput(audio=self.cluster(a, k_a, a_grid), visual=self.cluster(v, k_v, v_grid))


def feature_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """C x H x W of both streams' feature maps for the pinned input sizes (computed on `meta`)."""
    with torch.device("meta"):
        model = CAVL(cfg)
        audio = model.audio_net(torch.empty(1, 1, 512, 432))
        visual = model.visual_net(torch.empty(1, 3, 256, 256))
    return {"audio": tuple(audio.shape[1:]), "visual": tuple(visual.shape[1:])}


def flops_per_sample(cfg: ModelConfig, k_a: int = 1, k_v: int = 2) -> dict[str, int]:
    """Forward FLOPs of one sample (a multiply-add counts 2), by part, counted on the `meta` device
    (no memory, no compute) with torch's own FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    parts: dict[str, int] = {}
    with torch.device("meta"):
        model = CAVL(cfg)
        spec, image = torch.empty(1, 1, 512, 432), torch.empty(1, 3, 256, 256)
        for name, run in (("audio_net", lambda: model.audio_net(spec)),
                          ("visual_net", lambda: model.visual_net(image)),
                          ("total", lambda: model(spec, image, k_a, k_v))):
            counter = FlopCounterMode(display=False)
            with counter:
                run()
            parts[name] = int(counter.get_total_flops())
    parts["fc_and_clustering"] = parts["total"] - parts["audio_net"] - parts["visual_net"]
    return parts


def train_flops_per_sample(cfg: ModelConfig, k_a: int = 1, k_v: int = 2) -> int:
    """FLOPs of one training sample: forward and backward (about 3x the forward; the first layers
    need no input gradient), counted on the `meta` device with torch's FLOP counter. The loss
    stands in as a sum of the alignment scores: its own FLOPs are a few per pair of the batch."""
    from torch.utils.flop_counter import FlopCounterMode

    from avcurr.models.alignment import alignment_scores

    counter = FlopCounterMode(display=False)
    with torch.device("meta"):
        model = CAVL(cfg)
        spec, image = torch.empty(1, 1, 512, 432), torch.empty(1, 3, 256, 256)
        with counter:
            out = model(spec, image, k_a, k_v)
            alignment_scores(out.audio.centres, out.visual.centres).sum().backward()
    return int(counter.get_total_flops())
