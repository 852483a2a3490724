"""Trivial localisation baselines, scored by exactly the same protocol as the model."""

from __future__ import annotations

import numpy as np

from avcurr.localize.annotations import GRID
from avcurr.localize.metrics import binarise, ciou, pointing_hit

BASELINES = ("random", "centre_gaussian", "whole_image")


def centre_gaussian(size: int = GRID, sigma_fraction: float = 0.25) -> np.ndarray:
    """An isotropic Gaussian bump at the image centre (its median cut is a central disc)."""
    axis = np.arange(size) - (size - 1) / 2
    sigma = sigma_fraction * size
    return np.exp(-(axis[None, :] ** 2 + axis[:, None] ** 2) / (2 * sigma ** 2))


def score_baselines(g: np.ndarray, rng: np.random.Generator) -> dict[str, tuple[float, bool]]:
    """(cIoU, pointing hit) of each baseline on one image's ground truth g.

    random: i.i.d. uniform map, median-binarised; centre_gaussian: median-binarised Gaussian;
    whole_image: every pixel predicted (a constant map has no pixel above its median, so it is
    scored as the whole frame), its maximum taken at the centre.
    """
    size = g.shape[0]
    noise = rng.random((size, size))
    bump = centre_gaussian(size)
    whole = np.ones((size, size), bool)
    return {
        "random": (ciou(binarise(noise), g), pointing_hit(noise, g)),
        "centre_gaussian": (ciou(binarise(bump), g), pointing_hit(bump, g)),
        "whole_image": (ciou(whole, g), pointing_hit(np.ones((size, size)), g)),
    }
