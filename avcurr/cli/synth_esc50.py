"""`avcurr synth --layout esc50`: a thin wrapper around avcurr.synth.esc50.synthesize_esc50."""

from __future__ import annotations

from pathlib import Path

from avcurr.cli.common import console, plain, reported_errors, say


def synth_esc50(out: Path, clips: int, seed: int, overwrite: bool) -> None:
    """Write a synthetic ESC-50 style set of about `clips` clips (10 categories x 5 folds, at least
    one clip in each) and say what was written."""
    from avcurr.synth.esc50 import Esc50SynthConfig, per_fold_for, synthesize_esc50

    with reported_errors():
        cfg = Esc50SynthConfig(out=out, per_fold=per_fold_for(clips), seed=seed)
        summary = synthesize_esc50(cfg, console, overwrite=overwrite)
    say(plain("wrote ", "bold"), f"{summary.clips} clips ({cfg.per_fold} per category and fold, "
        f"{len(summary.per_category)} categories, {cfg.folds} folds) in {summary.seconds:.1f} s: ",
        summary.files["meta"], " and ", summary.files["audio"])
