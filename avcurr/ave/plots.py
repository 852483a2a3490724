"""The AVE pictures: per-category accuracy (the paper's Fig. 5) and the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avcurr.plots import _pyplot, save_figure


def save_per_category(accuracy: dict[str, float | None], path: Path, title: str) -> Path:
    """Horizontal bars: accuracy on each category's segments (categories without any are skipped)."""
    plt = _pyplot()
    items = [(name, a) for name, a in accuracy.items() if a is not None]
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(items) + 1.2), dpi=100)
    bars = ax.barh([name[:32] for name, _ in items], [a for _, a in items], color="#3b7dd8")
    ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("segment accuracy")
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def save_confusion(matrix: np.ndarray, names: list[str], path: Path) -> Path:
    """Rows normalised to the share of each labelled class's segments (counts in the CSV)."""
    plt = _pyplot()
    totals = matrix.sum(1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape, float), where=totals > 0)
    n = len(names)
    fig, ax = plt.subplots(figsize=(0.32 * n + 2.5, 0.32 * n + 2), dpi=100)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    short = [name[:20] for name in names]
    ax.set_xticks(range(n), short, rotation=90, fontsize=6)
    ax.set_yticks(range(n), short, fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("labelled")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return save_figure(fig, path)
