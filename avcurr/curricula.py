"""`build-curricula`: grade AudioSet clips into curricula c1..c5 by their number of sound sources."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from avcurr.errors import AvcurrError
from avcurr.ontology import Ontology, Policy
from avcurr.parquet_io import write_table_atomic
from avcurr.paths import bundled, work_dir
from avcurr.segments import Duplicate, Segment, read_segments, unique_segments

MAX_CURRICULUM = 5  # c5 holds every clip with 5 or more sources

CURRICULA_SCHEMA = pa.schema([
    ("ytid", pa.string()),
    ("start", pa.float64()),
    ("end", pa.float64()),
    ("labels", pa.list_(pa.string())),
    ("sources", pa.list_(pa.string())),
    ("source_names", pa.list_(pa.string())),
    ("n_sources", pa.int32()),
    ("curriculum", pa.string()),
])


def curriculum_of(n_sources: int) -> str | None:
    """`c1`..`c4` for exactly 1..4 sources, `c5` for more, None for no countable source."""
    if n_sources <= 0:
        return None
    return f"c{min(n_sources, MAX_CURRICULUM)}"


@dataclass(frozen=True)
class CurriculaConfig:
    """One grading run. Paths may be given as `str`; every field has a default:

    segments: AudioSet-layout segment CSV (default: the bundled balanced_train_segments.csv);
    ontology: AudioSet ontology.json (default: the bundled copy);
    out: output Parquet (default: `$AVCURR_WORK/curricula/<segments name>.parquet`), with the
      histogram PNG beside it;
    policy: how labels deeper than level 3 are lifted, `Policy` or "all" / "first".
    """

    segments: Path | None = None
    ontology: Path | None = None
    out: Path | None = None
    policy: Policy = Policy.ALL

    def __post_init__(self) -> None:
        segments = Path(self.segments) if self.segments is not None else \
            bundled("audioset", "balanced_train_segments.csv")
        ontology = Path(self.ontology) if self.ontology is not None else bundled("audioset", "ontology.json")
        out = Path(self.out) if self.out is not None else work_dir() / "curricula" / f"{segments.stem}.parquet"
        object.__setattr__(self, "segments", segments)
        object.__setattr__(self, "ontology", ontology)
        object.__setattr__(self, "out", out)
        object.__setattr__(self, "policy", _policy(self.policy))


def _policy(value: Policy | str) -> Policy:
    try:
        return Policy(value)
    except ValueError:
        choices = ", ".join(p.value for p in Policy)
        raise AvcurrError(f"unknown policy {value!r}; choose one of {choices}") from None


@dataclass
class CurriculaSummary:
    """What a run produced, for the closing table."""

    out: Path
    histogram: Path
    n_clips: int
    per_curriculum: Counter = field(default_factory=Counter)
    n_sources_counts: Counter = field(default_factory=Counter)
    top_sources: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)  # repeated rows, same labels: kept once


def grade(segments: list[Segment], ontology: Ontology, policy: Policy) -> pa.Table:
    """One row per segment with its level-3 sources, their count and its curriculum."""
    rows = {name: [] for name in CURRICULA_SCHEMA.names}
    for seg in segments:
        sources = ontology.sources(seg.labels, policy)
        rows["ytid"].append(seg.ytid)
        rows["start"].append(seg.start)
        rows["end"].append(seg.end)
        rows["labels"].append(list(seg.labels))
        rows["sources"].append(list(sources))
        rows["source_names"].append([ontology.name(s) for s in sources])
        rows["n_sources"].append(len(sources))
        rows["curriculum"].append(curriculum_of(len(sources)))
    return pa.table(rows, schema=CURRICULA_SCHEMA)


def summarise(table: pa.Table, out: Path, histogram: Path, top_k: int = 5) -> CurriculaSummary:
    summary = CurriculaSummary(out=out, histogram=histogram, n_clips=table.num_rows)
    curricula = table.column("curriculum").to_pylist()
    names = table.column("source_names").to_pylist()
    summary.per_curriculum = Counter(curricula)
    summary.n_sources_counts = Counter(table.column("n_sources").to_pylist())
    by_curriculum: dict[str, Counter] = {}
    for curriculum, clip_names in zip(curricula, names):
        if curriculum is not None:
            by_curriculum.setdefault(curriculum, Counter()).update(clip_names)
    summary.top_sources = {c: counts.most_common(top_k) for c, counts in sorted(by_curriculum.items())}
    return summary


def build_curricula(config: CurriculaConfig) -> CurriculaSummary:
    """Grade every segment of `config.segments`, write Parquet and a histogram PNG beside it.

    A clip listed twice with different labels is an error naming both lines; listed twice with
    the same labels, it is graded once and the repeats are in `summary.duplicates`.
    """
    from avcurr.plots import save_count_histogram  # matplotlib only when a picture is drawn

    ontology = Ontology.load(config.ontology)
    segments, duplicates = unique_segments(read_segments(config.segments, known_labels=ontology.classes),
                                           config.segments)
    table = grade(segments, ontology, config.policy)
    write_table_atomic(table, config.out)
    histogram = config.out.with_name(config.out.stem + "_n_sources.png")
    summary = summarise(table, config.out, histogram)
    summary.duplicates = duplicates
    save_count_histogram(summary.n_sources_counts, histogram,
                         title=f"Sound sources per clip: {config.segments.name} ({config.policy.value})")
    return summary
