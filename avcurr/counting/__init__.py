"""Counting sound sources (curriculum paper §3.2.2, supplement 6.3, SPEC §6): train a counter
(`train_counter`), evaluate it rule by rule beside trivial baselines (`evaluate_counting`)."""

from avcurr.counting.config import CounterTrainConfig
from avcurr.counting.evaluate import CountingEvalConfig, CountingReport, evaluate_counting, load_counter
from avcurr.counting.mixing import interleaved_batches
from avcurr.counting.predict import most_probable_count, nearest_count
from avcurr.counting.task import CounterTask, train_counter

__all__ = ["CounterTask", "CounterTrainConfig", "CountingEvalConfig", "CountingReport", "evaluate_counting",
           "interleaved_batches", "load_counter", "most_probable_count", "nearest_count", "train_counter"]
