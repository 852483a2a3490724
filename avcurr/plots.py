"""PNG figures: the pictures people would rather look at than read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a screen
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    from avcurr.atomic import atomic_output

    try:
        with atomic_output(Path(path)) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        _pyplot().close(fig)
    return Path(path)


def save_count_histogram(counts: Counter, path: Path, title: str) -> Path:
    """Bar chart of clips per number of sound sources, labelled with the counts."""
    plt = _pyplot()
    xs = sorted(counts)
    ys = [counts[x] for x in xs]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    bars = ax.bar([str(x) for x in xs], ys, color="#3b7dd8")
    ax.bar_label(bars, fontsize=8)
    ax.set_xlabel("number of sound sources (level-3 classes)")
    ax.set_ylabel("clips")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
