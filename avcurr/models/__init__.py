"""The curriculum audiovisual model: `from avcurr.models import CAVL, ModelConfig, preset`."""

from avcurr.models.alignment import alignment_scores, centre_distances, contrastive_loss
from avcurr.models.cavl import (CAVL, CAVLOutput, SceneOutput, clusters_for_stage, feature_shapes,
                                flops_per_sample, train_flops_per_sample)
from avcurr.models.clustering import Clusters, soft_kmeans
from avcurr.models.config import PRESETS, ModelConfig, preset

__all__ = ["CAVL", "CAVLOutput", "Clusters", "ModelConfig", "PRESETS", "SceneOutput", "alignment_scores",
           "centre_distances", "clusters_for_stage", "contrastive_loss", "feature_shapes",
           "flops_per_sample", "preset", "soft_kmeans", "train_flops_per_sample"]
