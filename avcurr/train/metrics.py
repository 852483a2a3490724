"""Training metrics: one JSON line per logged step, a CSV copy and PNG curves."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from avcurr.atomic import atomic_write
from avcurr.errors import AvcurrError
from avcurr.plots import _pyplot, save_figure

# Columns every row has, whatever the model; a task's own statistics follow "loss".
BASE_FIELDS = ("step", "samples", "epoch_fraction", "loss")
TAIL_FIELDS = ("lr", "samples_per_s", "seconds")


class MetricsLog:
    """Appends rows to `metrics.jsonl`; `truncate(step)` drops rows a killed run logged after its
    last checkpoint, so a resumed run's log has each step once."""

    def __init__(self, folder: Path, metrics: tuple[str, ...] = ()):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.folder / "metrics.jsonl"
        self.fields = BASE_FIELDS + tuple(m for m in metrics if m != "loss") + TAIL_FIELDS

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
        try:
            with self.jsonl.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        except OSError as exc:  # disk full: the checkpoint so far is intact
            raise AvcurrError(f"cannot write {self.jsonl}: {exc.strerror or exc}") from None

    def export(self, panels: tuple[tuple[str, ...], ...] = (),
               lines: dict[str, tuple[float, str]] | None = None) -> tuple[Path, Path]:
        """Write `metrics.csv` and `curves.png` from the JSON lines; return their paths."""
        rows = self.rows()
        csv_path = self.folder / "metrics.csv"
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, self.fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(csv_path, text.getvalue())
        panels = panels or tuple((m,) for m in self.fields[3:-len(TAIL_FIELDS)])
        return csv_path, save_curves(rows, self.folder / "curves.png", panels, lines or {})


_COLOURS = ("#3b7dd8", "#2a9d46", "#d8453b", "#7b3bd8", "#d89a3b")


def save_curves(rows: list[dict], path: Path, panels: tuple[tuple[str, ...], ...],
                lines: dict[str, tuple[float, str]]) -> Path:
    """One panel per group of metrics against the step, with optional reference lines."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), dpi=100, squeeze=False)
    steps = [r["step"] for r in rows]
    for ax, names in zip(axes[0], panels):
        for name, colour in zip(names, _COLOURS):
            ax.plot(steps, [r.get(name) for r in rows], color=colour, label=name)
            if name in lines:
                value, label = lines[name]
                ax.axhline(value, ls="--", color="grey", lw=1, label=label)
        ax.set_title(" / ".join(names))
        if len(names) > 1 or any(n in lines for n in names):
            ax.legend(fontsize=8)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)
