"""`build-curricula`: grade AudioSet clips into curricula c1..c5 by their number of sound sources."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from avcurr.ontology import Ontology, Policy
from avcurr.parquet_io import write_table_atomic
from avcurr.segments import Segment, read_segments

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
    segments: Path
    ontology: Path
    out: Path
    policy: Policy = Policy.ALL


@dataclass
class CurriculaSummary:
    """What a run produced, for the closing table."""

    out: Path
    histogram: Path
    n_clips: int
    per_curriculum: Counter = field(default_factory=Counter)
    n_sources_counts: Counter = field(default_factory=Counter)
    top_sources: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


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
    """Grade every segment of `config.segments`, write Parquet and a histogram PNG beside it."""
    from avcurr.plots import save_count_histogram  # matplotlib only when a picture is drawn

    ontology = Ontology.load(config.ontology)
    segments = read_segments(config.segments, known_labels=ontology.classes)
    table = grade(segments, ontology, config.policy)
    write_table_atomic(table, config.out)
    histogram = config.out.with_name(config.out.stem + "_n_sources.png")
    summary = summarise(table, config.out, histogram)
    save_count_histogram(summary.n_sources_counts, histogram,
                         title=f"Sound sources per clip: {config.segments.name} ({config.policy.value})")
    return summary
