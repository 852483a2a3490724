"""Training metrics: one JSON line per logged step, a CSV copy and PNG curves."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from avcurr.atomic import atomic_write
from avcurr.plots import _pyplot, save_figure

FIELDS = ("step", "samples", "epoch_fraction", "loss", "pos_dist", "neg_dist", "accuracy", "lr",
          "samples_per_s", "seconds")


class MetricsLog:
    """Appends rows to `metrics.jsonl`; `truncate(step)` drops rows a killed run logged after its
    last checkpoint, so a resumed run's log has each step once."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.folder / "metrics.jsonl"

    def rows(self) -> list[dict]:
        if not self.jsonl.is_file():
            return []
        rows = []
        for line in self.jsonl.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill
                break
        return rows

    def truncate(self, step: int) -> None:
        kept = [r for r in self.rows() if r["step"] <= step]
        atomic_write(self.jsonl, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, row: dict) -> None:
        with self.jsonl.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    def export(self) -> tuple[Path, Path]:
        """Write `metrics.csv` and `curves.png` from the JSON lines; return their paths."""
        rows = self.rows()
        csv_path = self.folder / "metrics.csv"
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(csv_path, text.getvalue())
        return csv_path, save_curves(rows, self.folder / "curves.png")


def save_curves(rows: list[dict], path: Path) -> Path:
    """Loss, positive / negative distances (with margin/2, the collapse level) and pair accuracy."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), dpi=100)
    steps = [r["step"] for r in rows]
    axes[0].plot(steps, [r["loss"] for r in rows], color="#3b7dd8")
    axes[0].set_title("contrastive loss")
    axes[1].plot(steps, [r["pos_dist"] for r in rows], label="positive pairs", color="#2a9d46")
    axes[1].plot(steps, [r["neg_dist"] for r in rows], label="negative pairs", color="#d8453b")
    if rows and "margin" in rows[0]:
        axes[1].axhline(rows[0]["margin"] / 2, ls="--", color="grey", lw=1, label="margin / 2 (collapse)")
    axes[1].set_title("S_av distance")
    axes[1].legend(fontsize=8)
    axes[2].plot(steps, [r["accuracy"] for r in rows], color="#7b3bd8")
    axes[2].set_ylim(0, 1)
    axes[2].set_title("pair accuracy at margin / 2")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)
