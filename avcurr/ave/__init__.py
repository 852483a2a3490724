"""AVE event localization ("See the Sound, Hear the Pixels"): the official HDF5 feature layout,
feature extraction from videos, training in three modes, evaluation.

    extract_features(FeatureConfig(videos=..., annotations=..., out=...))   # avcurr ave-features
    train_ave(AveTrainConfig(run=..., features=..., mode="supervised"))     # avcurr train-ave
    evaluate_ave(AveEvalConfig(checkpoint=..., features=..., out=...))      # avcurr eval ave
"""

from avcurr.ave.evaluate import AveEvalConfig, AveEvalReport, evaluate_ave, segment_accuracy
from avcurr.ave.extract import FeatureConfig, FeatureSummary, extract_features
from avcurr.ave.layout import AveFeatures, read_features, write_features
from avcurr.ave.train import AveTask, AveTrainConfig, load_ave_model, train_ave

__all__ = ["AveEvalConfig", "AveEvalReport", "AveFeatures", "AveTask", "AveTrainConfig", "FeatureConfig",
           "FeatureSummary", "evaluate_ave", "extract_features", "load_ave_model", "read_features",
           "segment_accuracy", "train_ave", "write_features"]
