"""Heatmap pictures: the frame, the model's map over it and, when known, the annotators' boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avcurr.localize.annotations import GRID
from avcurr.localize.metrics import THRESHOLDS, success_curve
from avcurr.plots import _pyplot, save_figure


def save_overlay(frame: np.ndarray, heatmap: np.ndarray, path: Path, boxes: list[list[int]] | None = None,
                 title: str = "") -> Path:
    """PNG of `frame` (H x W x 3 in [0, 1]) with `heatmap` (any size, resized) blended on top.

    `boxes` are on the 224 grid (as the evaluator reads them) and are drawn scaled to the frame.
    """
    plt = _pyplot()
    h, w = frame.shape[:2]
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4), dpi=100)
    axes[0].imshow(frame)
    axes[1].imshow(frame)
    axes[1].imshow(heatmap, cmap="jet", alpha=0.5, extent=(0, w, h, 0), interpolation="bilinear")
    for xmin, ymin, xmax, ymax in boxes or []:
        sx, sy = w / GRID, h / GRID
        for ax in axes:
            ax.add_patch(plt.Rectangle((xmin * sx, ymin * sy), (xmax - xmin) * sx, (ymax - ymin) * sy,
                                       fill=False, color="lime", lw=1))
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def save_success_curves(cious: dict[str, list[float]], path: Path) -> Path:
    """Success rate (fraction of images with cIoU >= t) against t, one line per method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=100)
    for name, values in cious.items():
        ax.plot(THRESHOLDS, success_curve(np.asarray(values)), marker=".", label=name)
    ax.set_xlabel("cIoU threshold")
    ax.set_ylabel("fraction of images")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
