"""Mix-and-separate: which clips are mixed, and the two-source mixtures themselves.

Training pairs the clips of each shuffled batch (first half with second half), never two clips of
one video. Evaluation draws a fixed, seeded set of pairs from the test clips: never two clips of
one video and, where both clips name their sources (the shards' `sources`), never two clips of the
same sources (a mixture of two violins has no visual cue to tell them apart).
"""

from __future__ import annotations

import itertools

import numpy as np

from avcurr.errors import AvcurrError


def _video(meta: dict, fallback: str) -> str:
    return str(meta.get("ytid") or fallback)


def batch_pairs(metas: list[dict]) -> tuple[list[int], list[int]]:
    """(first, second) indices pairing a batch of 2P clips into P mixtures of two videos.

    Clip i of the first half goes with clip P + i; where both come from one video the partner is
    swapped with another of the second half when that mends both pairs (else kept: rare)."""
    n = len(metas) // 2
    if n < 1:
        raise AvcurrError(f"a batch of {len(metas)} clips makes no two-source mixture")
    videos = [_video(m, str(i)) for i, m in enumerate(metas)]
    first, second = list(range(n)), list(range(n, 2 * n))
    for i in range(n):
        if videos[first[i]] != videos[second[i]]:
            continue
        for j in range(n):
            if j != i and videos[first[i]] != videos[second[j]] and videos[first[j]] != videos[second[i]]:
                second[i], second[j] = second[j], second[i]
                break
    return first, second


def _sources(meta: dict) -> tuple[str, ...] | None:
    found = meta.get("sources")
    return tuple(sorted(found)) if found else None


def can_mix(a: dict, b: dict, key_a: str, key_b: str) -> bool:
    """Two clips may form an evaluation mixture: other videos, other sources (when both are known)."""
    if _video(a, key_a) == _video(b, key_b):
        return False
    sa, sb = _sources(a), _sources(b)
    return sa is None or sb is None or sa != sb


def evaluation_pairs(keys: list[str], metas: list[dict], count: int, seed: int) -> list[tuple[int, int]]:
    """`count` distinct pairs (i, j), i < j, drawn with `seed` from every allowed pair; all of them
    when fewer are allowed. Error when none is."""
    allowed = [(i, j) for i, j in itertools.combinations(range(len(keys)), 2)
               if can_mix(metas[i], metas[j], keys[i], keys[j])]
    if not allowed:
        raise AvcurrError(f"no two of the {len(keys)} usable test clips can be mixed (they come from one "
                          "video or share their sources)")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(allowed), size=min(count, len(allowed)), replace=False)
    pairs = [allowed[p] for p in picked]
    # Which clip is source 0 is random too, so that source 0 is not always the earlier key.
    flips = rng.random(len(pairs)) < 0.5
    return [(j, i) if flip else (i, j) for (i, j), flip in zip(pairs, flips)]
