"""Confusion-matrix PNGs of the counter, one panel per prediction rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avcurr.plots import _pyplot, save_figure


def save_confusions(matrices: dict[str, list[list[int]]], path: Path, title: str) -> Path:
    """Rows: true count 1..K; columns: predicted count; each cell labelled with its clips and
    shaded by the share of its row."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 4.0), dpi=100, squeeze=False)
    for ax, (name, matrix) in zip(axes[0], matrices.items()):
        m = np.asarray(matrix)
        shares = m / np.maximum(m.sum(1, keepdims=True), 1)
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        k = m.shape[0]
        ticks = list(range(k))
        ax.set_xticks(ticks, [str(t + 1) for t in ticks])
        ax.set_yticks(ticks, [str(t + 1) for t in ticks])
        for (r, c), value in np.ndenumerate(m):
            if value:
                ax.text(c, r, str(value), ha="center", va="center", fontsize=8,
                        color="white" if shares[r, c] > 0.6 else "black")
        accuracy = np.trace(m) / max(m.sum(), 1)
        ax.set_title(f"{name}\naccuracy {accuracy:.3f}", fontsize=9)
        ax.set_xlabel("predicted count")
        ax.set_ylabel("true count")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
