"""avcurr: a data-pipeline-first toolkit for curriculum audiovisual learning.

Every stage is a library function taking a frozen config (paths as `str` or `Path`; defaults for
the bundled lists); the `avcurr` command only maps options onto them:

    import avcurr

    avcurr.build_curricula(avcurr.CurriculaConfig(segments="my_segments.csv", out="curricula.parquet"))
    avcurr.build_shards(avcurr.BuildConfig(manifest="curricula.parquet", media="clips", out="shards",
                                           dataset="audioset", split="train"))
    batch = next(iter(avcurr.make_loader(avcurr.LoaderConfig("shards", "audioset", "train"))))

Names are imported on first use (PEP 562), so `import avcurr` stays light: no numpy, torch or
pyarrow until a stage is touched.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# module -> the public names it gives `avcurr`. A new stage adds one line here.
_STAGES: dict[str, tuple[str, ...]] = {
    "avcurr.errors": ("AvcurrError",),
    "avcurr.paths": ("bundled", "work_dir"),
    "avcurr.ontology": ("Ontology", "Policy"),
    "avcurr.curricula": ("CurriculaConfig", "CurriculaSummary", "build_curricula"),
    "avcurr.synth": ("SynthConfig", "SynthSummary", "synthesize"),
    "avcurr.fetch": ("FetchConfig", "FetchSummary", "run_fetch"),
    "avcurr.sources.audioset": ("download_audioset",),
    "avcurr.sources.music": ("download_music",),
    "avcurr.sources.ave": ("download_ave",),
    "avcurr.sources.flickr": ("prepare_flickr",),
    "avcurr.sources.esc50": ("prepare_esc50",),
    "avcurr.shards.build": ("BuildConfig", "BuildSummary", "build_shards"),
    "avcurr.shards.writer": ("ShardLimits",),
    "avcurr.shards.verify": ("verify",),
    "avcurr.shards.publish": ("write_shard_indexes",),
    "avcurr.data": ("LoaderConfig", "make_loader", "count_samples"),
    "avcurr.train": ("LoopConfig", "TrainConfig", "TrainSummary", "TrainTask", "run_training", "train_stage",
                     "load_checkpoint", "model_from_checkpoint", "gather_across_ranks"),
    "avcurr.models": ("train_flops_per_sample",),
    "avcurr.localize": ("LocalizationConfig", "LocalizationReport", "LocalizationRule", "DEFAULT_RULE", "PAPER_RULE",
                        "evaluate_localization"),
    "avcurr.localize.single": ("localize_files",),
    "avcurr.counting": ("CounterTrainConfig", "train_counter", "CountingEvalConfig", "CountingReport",
                        "evaluate_counting"),
    "avcurr.probe": ("Esc50ProbeConfig", "Esc50Report", "evaluate_esc50"),
    "avcurr.synth.esc50": ("Esc50SynthConfig", "synthesize_esc50"),
    "avcurr.separation": ("SeparatorConfig", "train_separator", "SeparationEvalConfig", "SeparationReport",
                          "evaluate_separation", "separate_video"),
    "avcurr.separation.music": ("music_solo_manifests",),
    "avcurr.ave": ("FeatureConfig", "extract_features", "AveTrainConfig", "train_ave", "AveEvalConfig", "AveEvalReport",
                   "evaluate_ave", "read_features", "write_features"),
    "avcurr.ave.maps_run": ("MapsConfig", "ave_maps"),
    "avcurr.synth.ave_world": ("AveWorldConfig", "synthesize_ave"),
}

_HOME = {name: module for module, names in _STAGES.items() for name in names}
__all__ = ["__version__", *_HOME]


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` the first time it is used, and keep the name."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'avcurr' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
