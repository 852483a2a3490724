"""Sound localisation (paper eq. 7) and its SoundNet-Flickr style evaluation."""

from avcurr.localize.annotations import read_boxes
from avcurr.localize.evaluate import LocalizationConfig, LocalizationReport, evaluate_localization
from avcurr.localize.heatmap import aligned_maps, localize_batch
from avcurr.localize.metrics import auc, binarise, ciou, ground_truth, pointing_hit, summarise

__all__ = ["LocalizationConfig", "LocalizationReport", "aligned_maps", "auc", "binarise", "ciou",
           "evaluate_localization", "ground_truth", "localize_batch", "pointing_hit", "read_boxes",
           "summarise"]
