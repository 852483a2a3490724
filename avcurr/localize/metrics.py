"""The SoundNet-Flickr localisation protocol (Senocak et al.), with the pointing game.

- ground truth: g = min(sum of the annotators' box indicators / 2, 1) per pixel of a 224 x 224 grid;
- prediction: resized to 224 x 224, binarised at its median (pixels strictly above the value at
  sorted position N / 2, as the published code does);
- cIoU = sum of g over predicted pixels / (sum of g + predicted pixels where g = 0);
- cIoU@0.5: fraction of images with cIoU >= 0.5; AUC: area (trapezoids) under the success rate
  over thresholds 0, 0.05, ..., 1;
- pointing game: the heatmap's maximum falls inside a box (g > 0); ties -> their centroid.
"""

from __future__ import annotations

import numpy as np

from avcurr.localize.annotations import GRID

THRESHOLDS = np.round(np.arange(21) * 0.05, 2)


def ground_truth(boxes: list[list[int]], size: int = GRID) -> np.ndarray:
    """The consensus map g of one image's boxes (xmin, ymin, xmax, ymax on the grid).

    Coordinates are clipped to the grid first: a negative one must not index from the far edge."""
    g = np.zeros((size, size), np.float64)
    for box in boxes:
        xmin, ymin, xmax, ymax = (min(max(int(c), 0), size) for c in box)
        g[ymin:ymax, xmin:xmax] += 1
    return np.minimum(g / 2, 1)


def binarise(heatmap: np.ndarray) -> np.ndarray:
    """Pixels strictly above the median (the value at sorted position N / 2)."""
    threshold = np.sort(heatmap, axis=None)[heatmap.size // 2]
    return heatmap > threshold


def ciou(predicted: np.ndarray, g: np.ndarray) -> float:
    """Consensus IoU of a binary prediction against g."""
    predicted = predicted.astype(bool)
    return float(g[predicted].sum() / (g.sum() + np.count_nonzero(predicted & (g == 0))))


def peak(heatmap: np.ndarray) -> tuple[int, int]:
    """(y, x) of the heatmap's maximum; the centroid of tied maxima."""
    ys, xs = np.nonzero(heatmap >= heatmap.max())
    return int(round(ys.mean())), int(round(xs.mean()))


def pointing_hit(heatmap: np.ndarray, g: np.ndarray) -> bool:
    """Whether the heatmap's maximum (the centroid of tied maxima) lies in a box."""
    y, x = peak(heatmap)
    return bool(g[y, x] > 0)


def success_curve(cious: np.ndarray) -> np.ndarray:
    """Fraction of images with cIoU >= t for each threshold t of THRESHOLDS."""
    cious = np.asarray(cious, np.float64)
    return np.array([(cious >= t).mean() for t in THRESHOLDS]) if cious.size else np.zeros(len(THRESHOLDS))


def auc(cious: np.ndarray) -> float:
    """Area under the success curve over [0, 1] (trapezoidal rule, as sklearn.metrics.auc)."""
    curve = success_curve(cious)
    return float(((curve[1:] + curve[:-1]) / 2 * np.diff(THRESHOLDS)).sum())


def summarise(cious: list[float], hits: list[bool]) -> dict[str, float]:
    """cIoU@0.5, AUC, mean cIoU and pointing accuracy of one method."""
    c = np.asarray(cious, np.float64)
    return {"ciou_at_0.5": float((c >= 0.5).mean()) if c.size else 0.0, "auc": auc(c),
            "mean_ciou": float(c.mean()) if c.size else 0.0,
            "pointing": float(np.mean(hits)) if hits else 0.0, "n": int(c.size)}
