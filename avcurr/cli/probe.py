"""`avcurr eval esc50`: a thin wrapper around avcurr.probe.evaluate_esc50."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from avcurr.cli.common import console, plain, reported_errors, say


def eval_esc50_command(
    checkpoint: Annotated[Path, typer.Option(help="A curriculum (or counter) checkpoint: its audio net is probed.")],
    data: Annotated[Path, typer.Option(help="ESC-50 folder: audio/*.wav and meta/esc50.csv (avcurr fetch esc50, "
                                            "or avcurr synth --layout esc50).")],
    out: Annotated[Path, typer.Option(help="Output folder: summary.json, per_clip.csv, per_class.png.")],
    classifier: Annotated[str, typer.Option(help="logistic (logistic regression) or linear_svm.")] = "logistic",
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation strength of the classifier.")] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Clips per forward pass.")] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the randomly initialised audio net (the floor).")] = 0,
) -> None:
    """Linear probe of the audio representation on ESC-50's 5 folds, beside a random-init floor."""
    from avcurr.probe import Esc50ProbeConfig, evaluate_esc50

    with reported_errors():
        report = evaluate_esc50(Esc50ProbeConfig(checkpoint=checkpoint, data=data, out=out, classifier=classifier,
                                                 c=c, batch_size=batch_size, device=device, seed=seed), console)
    console.print(probe_table(report.summary))
    say(plain("wrote ", "bold"), out, " (summary.json, per_clip.csv, per_class.png)")


def probe_table(summary: dict) -> Table:
    """Accuracy per held-out fold and the mean, for the checkpoint and the random floor."""
    folds = summary["folds"]
    table = Table(title=f"ESC-50 linear probe: {summary['n_clips']} clips, {summary['n_classes']} classes "
                        f"(chance {summary['chance']:.3f})")
    for col in ("audio net", *(f"fold {f}" for f in folds), "mean"):
        table.add_column(col, justify="left" if col == "audio net" else "right")
    for name, label in (("checkpoint", f"checkpoint ({summary['kind']})"), ("random_init", "random init")):
        probe = summary[name]
        table.add_row(label, *(f"{probe['per_fold'][f]:.3f}" for f in folds), f"{probe['mean']:.3f}")
    return table
