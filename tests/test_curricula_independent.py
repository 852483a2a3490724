"""All 42,531 bundled AudioSet rows against an independent implementation of SPEC §1.

The reference below enumerates every root-to-class path explicitly (no memoised depth sets)
and walks each path upward by hand, so it shares no logic with `avcurr.ontology`.
"""

import csv
import json

import pyarrow.parquet as pq
import pytest

from avcurr.curricula import CurriculaConfig, build_curricula
from avcurr.ontology import Policy
from avcurr.paths import bundled


def _reference_counter(ontology_path):
    classes = json.loads(ontology_path.read_text())
    children = {c["id"]: c["child_ids"] for c in classes}
    is_child = {k for c in classes for k in c["child_ids"]}
    paths = {c["id"]: [] for c in classes}  # every root-to-class path, as lists of ids

    def descend(path):
        paths[path[-1]].append(path)
        for child in children[path[-1]]:
            descend(path + [child])

    for root in (c["id"] for c in classes if c["id"] not in is_child):
        descend([root])
    depths = {cid: {len(p) for p in ps} for cid, ps in paths.items()}

    def n_sources(labels):
        kept = set()
        for label in labels:
            if 3 in depths[label]:
                kept.add(label)
            elif max(depths[label]) > 3:
                for path in paths[label]:
                    for ancestor in reversed(path[:-1]):  # walk up this path
                        if 3 in depths[ancestor]:
                            kept.add(ancestor)
                            break
        return len(kept)

    return n_sources


def _rows(csv_path):
    with open(csv_path, newline="") as handle:
        for row in csv.reader(handle, skipinitialspace=True):
            if row and not row[0].startswith("#"):
                yield row[0], [l.strip() for l in row[3].split(",")]


@pytest.mark.parametrize("name, expected_rows", [("balanced_train_segments.csv", 22160),
                                                 ("eval_segments.csv", 20371)])
def test_every_bundled_row_matches_reference(tmp_path, name, expected_rows):
    ontology = bundled("audioset", "ontology.json")
    reference = _reference_counter(ontology)
    out = tmp_path / "curricula.parquet"
    build_curricula(CurriculaConfig(segments=bundled("audioset", name), ontology=ontology, out=out,
                                    policy=Policy.ALL))
    table = pq.read_table(out).to_pydict()
    expected = [(ytid, reference(labels)) for ytid, labels in _rows(bundled("audioset", name))]
    assert len(expected) == expected_rows == len(table["ytid"])
    assert list(zip(table["ytid"], table["n_sources"])) == expected
    for n, curriculum in zip(table["n_sources"], table["curriculum"]):
        assert curriculum == (None if n == 0 else f"c{min(n, 5)}")
