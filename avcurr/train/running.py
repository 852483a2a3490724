"""Running averages of training statistics between two metrics rows.

Values stay tensors on the training device until a row is written: `add` never calls `.item()`,
so a GPU is not made to wait at every step; `mean` synchronises once per row.
"""

from __future__ import annotations

import time

import torch


class RunningMean:
    """Sums of named 0-d tensors and of samples since the last `mean`."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}
        self.steps = 0
        self.samples = 0
        self.since = time.perf_counter()

    def add(self, values: dict[str, torch.Tensor], samples: int) -> None:
        for name, value in values.items():
            value = value.detach().float()
            self._sums[name] = self._sums[name] + value if name in self._sums else value
        self.steps += 1
        self.samples += samples

    def mean(self, reduce=None) -> dict[str, float]:
        """Per-step means (one device sync for all of them) and samples per second; then reset.
        `reduce` (a tensor -> tensor function) combines the sums first, e.g. averages them over
        data-parallel ranks."""
        names = list(self._sums)
        totals = torch.stack([self._sums[n] for n in names]) if names else None
        if totals is not None and reduce is not None:
            totals = reduce(totals)
        totals = totals.tolist() if totals is not None else []
        elapsed = max(time.perf_counter() - self.since, 1e-9)
        row = {n: t / max(self.steps, 1) for n, t in zip(names, totals)}
        row["samples_per_s"] = self.samples / elapsed
        self.reset()
        return row
