"""Per-class accuracy PNG of the ESC-50 probe: the checkpoint's bars beside the random floor's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avcurr.plots import _pyplot, save_figure

_COLOURS = {"checkpoint": "#3b7dd8", "random_init": "#bbbbbb"}


def save_per_class(per_class: dict[str, dict[str, float]], path: Path, means: dict[str, float],
                   chance: float) -> Path:
    """Horizontal bars, one group per class (50 classes stay readable), chance as a dashed line."""
    plt = _pyplot()
    names = list(per_class)
    series = list(means)
    y = np.arange(len(names))
    height = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.28 * len(names) * len(series)), dpi=100)
    for i, name in enumerate(series):
        values = [per_class[c][name] for c in names]
        ax.barh(y + i * height, values, height, color=_COLOURS.get(name), label=f"{name} (mean {means[name]:.3f})")
    ax.axvline(chance, ls="--", color="grey", lw=1, label=f"chance {chance:.3f}")
    ax.set_yticks(y + height * (len(series) - 1) / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy over the held-out folds")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)
