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


def save_strip(frames: np.ndarray, maps: dict[str, np.ndarray], event: np.ndarray, path: Path, title: str,
               truth: dict | None = None) -> Path:
    """Fig. 6 style: one row per model, one column per segment (its middle frame with the map over
    it); a bar above each column marks the event's seconds (green) and background (grey); with the
    truth, the event object's box (lime) and a distractor's (red) in each frame."""
    plt = _pyplot()
    T = frames.shape[0]
    names = list(maps)
    fig, axes = plt.subplots(len(names), T, figsize=(1.25 * T, 1.35 * len(names) + 0.5), dpi=100, squeeze=False)
    h, w = frames.shape[1:3]
    for r, name in enumerate(names):
        for t in range(T):
            ax = axes[r, t]
            ax.imshow(frames[t])
            ax.imshow(maps[name][t], cmap="jet", alpha=0.45, extent=(0, w, h, 0))
            for obj, colour in _boxes(truth, t):
                x0, y0, x1, y1 = obj
                ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=colour, lw=0.8))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{t}", fontsize=7, color="white",
                             backgroundcolor="tab:green" if event[t] else "0.6")
            if t == 0:
                ax.set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def _boxes(truth: dict | None, t: int):
    if truth is None:
        return []
    frame = truth["middle_frames"][t]
    colours = {"event": "lime", "distractor": "red"}
    return [(o["boxes"][frame], colours.get(o["role"], "white")) for o in truth["objects"] if o["visible"][t]]
