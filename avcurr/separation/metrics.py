"""SDR, SIR and SAR with mir_eval's `bss_eval_sources` (mir_eval < 0.9), the metric the papers report.

`compute_permutation=False`: estimate k is scored against reference k, because the visual cue (not
the best permutation) decides which source an estimate is. Both are cut to the same `length`
samples first (the clips' real audio; the zero padding after it is no signal to score).
"""

from __future__ import annotations

import warnings

import numpy as np

from avcurr.errors import AvcurrError

METRICS = ("sdr", "sir", "sar")
# A reference quieter than this (RMS) cannot be scored: bss_eval divides by its energy.
SILENT_RMS = 1e-4


def is_silent(wave: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) < SILENT_RMS


def bss_scores(references: np.ndarray, estimates: np.ndarray, length: int | None = None) -> dict[str, np.ndarray]:
    """{"sdr", "sir", "sar"}: arrays of S values (dB), estimate k against reference k.

    references, estimates: S x N (float); `length`: score the first `length` samples only."""
    import mir_eval

    references = np.asarray(references, dtype=np.float64)
    estimates = np.asarray(estimates, dtype=np.float64)
    if references.shape != estimates.shape or references.ndim != 2:
        raise AvcurrError(f"references {references.shape} and estimates {estimates.shape} must both be S x N")
    n = references.shape[1] if length is None else int(length)
    if not 0 < n <= references.shape[1]:
        raise AvcurrError(f"cannot score {n} samples of signals {references.shape[1]} long")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # bss_eval_sources is deprecated in 0.8, kept until 0.9
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(references[:, :n], estimates[:, :n],
                                                                compute_permutation=False)
    return {"sdr": sdr, "sir": sir, "sar": sar}


def score_job(job: tuple) -> tuple:
    """(tag, scores) for a process pool: job = (tag, references, estimates, length)."""
    tag, references, estimates, length = job
    return tag, bss_scores(references, estimates, length)
