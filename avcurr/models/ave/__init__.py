"""AVE event-localization networks (the second paper, and the AVE-ECCV18 baseline); no data or
training code here. `build_ave_model(AveModelConfig(...).with_data(...))` gives either model."""

from torch import nn

from avcurr.models.ave.baseline import AveBaseline, AudioGuidedAttention
from avcurr.models.ave.config import (FUSIONS, MODALITIES, MODELS, SWAB_POOLS, AveModelConfig,
                                      modality_settings)
from avcurr.models.ave.fusion import LstmFusion, MFBAttention, VisualFusion, power_l2_normalise
from avcurr.models.ave.losses import (GAMMA, avtgml, derangement, frobenius, gram, mil_pool, segment_loss,
                                      weak_loss)
from avcurr.models.ave.model import AveNet, AveOutput
from avcurr.models.ave.swab import SWAB


def build_ave_model(cfg: AveModelConfig) -> nn.Module:
    """Ours (`cfg.model == "ours"`) or the AVE-ECCV18 baseline, sized by `cfg.with_data`."""
    if cfg.classes == 0:
        raise ValueError("size the configuration with `with_data` first")
    return AveNet(cfg) if cfg.model == "ours" else AveBaseline(cfg)


__all__ = ["FUSIONS", "GAMMA", "MODALITIES", "MODELS", "SWAB", "SWAB_POOLS", "AudioGuidedAttention", "AveBaseline",
           "AveModelConfig", "AveNet", "AveOutput", "LstmFusion", "MFBAttention", "VisualFusion", "avtgml",
           "build_ave_model", "derangement", "frobenius", "gram", "mil_pool", "modality_settings",
           "power_l2_normalise", "segment_loss", "weak_loss"]
