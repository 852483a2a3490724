"""Our SDR / SIR / SAR are mir_eval's bss_eval_sources on the same signals: source order, length, padding."""

from __future__ import annotations

import warnings

import mir_eval
import numpy as np
import pytest

from avcurr.errors import AvcurrError
from avcurr.separation.metrics import bss_scores, is_silent
from avcurr.separation.mixing import batch_pairs, evaluation_pairs

N = 4000


def _signals():
    rng = np.random.default_rng(7)
    refs = rng.standard_normal((2, N))
    ests = np.stack([refs[0] + 0.3 * refs[1] + 0.1 * rng.standard_normal(N),
                     refs[1] + 0.05 * refs[0] + 0.2 * rng.standard_normal(N)])
    return refs, ests


def _mir_eval(refs, ests):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return mir_eval.separation.bss_eval_sources(refs, ests, compute_permutation=False)[:3]


def test_scores_equal_mir_evals_in_source_order():
    refs, ests = _signals()
    ours = bss_scores(refs, ests)
    for mine, theirs in zip((ours["sdr"], ours["sir"], ours["sar"]), _mir_eval(refs, ests)):
        np.testing.assert_array_equal(mine, theirs)
    # Swapped estimates are scored as given (no best permutation): both sources become bad.
    swapped = bss_scores(refs, ests[::-1])
    assert swapped["sdr"].max() < 0 < ours["sdr"].min()


def test_scores_cut_the_padding_off():
    refs, ests = _signals()
    padded_refs = np.pad(refs, ((0, 0), (0, 500)))
    padded_ests = np.pad(ests, ((0, 0), (0, 500)), constant_values=0.7)   # garbage past the end
    ours = bss_scores(padded_refs.astype(np.float32), padded_ests.astype(np.float32), length=N)
    theirs = _mir_eval(refs.astype(np.float32).astype(np.float64), ests.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(ours["sdr"], theirs[0], rtol=1e-9)
    assert not np.allclose(bss_scores(padded_refs, padded_ests)["sdr"], ours["sdr"], atol=0.1)


def test_bad_shapes_and_lengths_are_one_line():
    refs, ests = _signals()
    with pytest.raises(AvcurrError, match="must both be S x N"):
        bss_scores(refs, ests[:1])
    with pytest.raises(AvcurrError, match="cannot score"):
        bss_scores(refs, ests, length=N + 1)
    assert is_silent(np.zeros(100)) and not is_silent(refs[0])


def test_training_pairs_never_mix_one_video():
    metas = [{"ytid": v} for v in ("a", "b", "c", "a", "b", "d")]
    first, second = batch_pairs(metas)
    assert sorted(first + second) == list(range(6))
    assert all(metas[i]["ytid"] != metas[j]["ytid"] for i, j in zip(first, second))


def test_evaluation_pairs_are_fixed_by_the_seed_and_respect_sources():
    keys = [f"k{i}" for i in range(6)]
    metas = [{"ytid": f"v{i}", "sources": ["/m/dog" if i < 3 else "/m/cat"]} for i in range(6)]
    pairs = evaluation_pairs(keys, metas, count=5, seed=3)
    assert pairs == evaluation_pairs(keys, metas, count=5, seed=3)
    assert len(pairs) == 5 and len({frozenset(p) for p in pairs}) == 5
    assert all((a < 3) != (b < 3) for a, b in pairs)               # never dog with dog
    assert len(evaluation_pairs(keys, metas, count=100, seed=0)) == 9  # every allowed pair, once
    with pytest.raises(AvcurrError, match="can be mixed"):
        evaluation_pairs(keys[:2], metas[:2], count=3, seed=0)
