"""Sound localisation (paper eq. 7 and the rules of `avcurr.localize.rules`) and its SoundNet-Flickr
style evaluation, with per-object scoring of several sources."""

from avcurr.localize.annotations import read_boxes
from avcurr.localize.evaluate import LocalizationConfig, LocalizationReport, evaluate_localization
from avcurr.localize.heatmap import aligned_maps, localize_batch, rule_source_maps, unrelated_maps
from avcurr.localize.metrics import auc, binarise, ciou, ground_truth, pointing_hit, summarise
from avcurr.localize.objects import score_clip, summarise_objects, truth_objects
from avcurr.localize.rules import DEFAULT_RULE, PAPER_RULE, LocalizationRule, rule_of_checkpoint

__all__ = ["DEFAULT_RULE", "LocalizationConfig", "LocalizationReport", "LocalizationRule", "PAPER_RULE",
           "aligned_maps", "auc", "binarise", "ciou", "evaluate_localization", "ground_truth", "localize_batch",
           "pointing_hit", "read_boxes", "rule_of_checkpoint", "rule_source_maps", "score_clip", "summarise",
           "summarise_objects", "truth_objects", "unrelated_maps"]
