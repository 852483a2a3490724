"""`avcurr build-curricula`: a thin wrapper around `avcurr.curricula.build_curricula`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from avcurr.cli.common import console, plain, reported_errors, say, warning_line
from avcurr.curricula import CurriculaConfig, CurriculaSummary, build_curricula
from avcurr.ontology import Policy


def summary_table(summary: CurriculaSummary) -> Table:
    """Clips, share and most frequent source classes per curriculum (class names as plain text)."""
    table = Table(title=f"Curricula of {summary.n_clips:,} clips",
                  caption="none: clips with no countable (level-3) sound source")
    table.add_column("curriculum")
    table.add_column("sources", justify="right")
    table.add_column("clips", justify="right")
    table.add_column("share", justify="right")
    table.add_column("most frequent source classes")
    for name in [f"c{k}" for k in range(1, 6)] + [None]:
        clips = summary.per_curriculum.get(name, 0)
        sources = "0" if name is None else (name[1:] if name != "c5" else "5+")
        top = ", ".join(f"{n} ({c})" for n, c in summary.top_sources.get(name, [])[:3]) if name else ""
        table.add_row(name or "none", sources, f"{clips:,}",
                      f"{100 * clips / max(summary.n_clips, 1):.1f} %", plain(top))
    return table


def build_curricula_command(
    segments: Annotated[Optional[Path], typer.Option(
        help="AudioSet segment CSV. (default: the bundled balanced_train_segments.csv)")] = None,
    ontology: Annotated[Optional[Path], typer.Option(
        help="AudioSet ontology.json. (default: the bundled copy)")] = None,
    policy: Annotated[Policy, typer.Option(
        help="How labels deeper than level 3 are lifted: 'all' level-3 ancestors met first on "
             "each path, or only the 'first' (an already kept one, else breadth-first).")] = Policy.ALL,
    out: Annotated[Optional[Path], typer.Option(
        help="Output Parquet file. (default: $AVCURR_WORK/curricula/<segments name>.parquet)")] = None,
) -> None:
    """Count sound sources per clip with the third-level filter and grade clips into c1..c5."""
    with reported_errors():
        summary = build_curricula(CurriculaConfig(segments=segments, ontology=ontology, out=out, policy=policy))
    if summary.duplicates:
        shown = ", ".join(f"{d.key} (lines {d.first_line} and {d.line})" for d in summary.duplicates[:5])
        more = f" and {len(summary.duplicates) - 5} more" if len(summary.duplicates) > 5 else ""
        warning_line(f"{len(summary.duplicates)} repeated row(s) with the same labels graded once: {shown}{more}")
    console.print(summary_table(summary))
    say("wrote ", plain(summary.out, "bold"), " and histogram ", plain(summary.histogram, "bold"))
