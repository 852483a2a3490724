"""AudioSet's ontology as a DAG, class depths, and the third-level filter (SPEC §1).

`levels(c)` is the set of depths of `c` over every root-to-`c` path (roots have depth 1).
The filter keeps classes whose levels include 3, lifts deeper classes to the level-3
classes met first on the way up, and drops coarser ones; the number of distinct kept
classes is the clip's number of sound sources.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Iterable

from avcurr.errors import AvcurrError

SOURCE_LEVEL = 3


class Policy(str, Enum):
    """How a label deeper than level 3 is lifted to level 3."""

    ALL = "all"      # every level-3 class met first along each parent path
    FIRST = "first"  # one level-3 ancestor: an already kept one, else the first in BFS order


@dataclass(frozen=True)
class OntologyClass:
    id: str
    name: str
    child_ids: tuple[str, ...]


class Ontology:
    """Classes, parent links (in `ontology.json` order) and depth sets."""

    def __init__(self, classes: Iterable[OntologyClass]):
        self.classes: dict[str, OntologyClass] = {c.id: c for c in classes}
        self.order = {cid: i for i, cid in enumerate(self.classes)}
        parents: dict[str, list[str]] = {cid: [] for cid in self.classes}
        for parent in self.classes.values():
            for child in parent.child_ids:
                if child not in parents:
                    raise AvcurrError(f"ontology: class {parent.id} lists unknown child {child}")
                parents[child].append(parent.id)
        # Parents in the order ontology.json lists classes: the BFS of policy `first` relies on it.
        self.parents = {cid: tuple(sorted(ps, key=self.order.__getitem__)) for cid, ps in parents.items()}

    @classmethod
    def load(cls, path: Path) -> "Ontology":
        """Read AudioSet's `ontology.json`."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AvcurrError(f"ontology file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AvcurrError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(raw, list) or not raw:
            raise AvcurrError(f"{path}: expected a non-empty JSON list of classes")
        try:
            return cls(OntologyClass(c["id"], c["name"], tuple(c.get("child_ids", ()))) for c in raw)
        except (KeyError, TypeError) as exc:
            raise AvcurrError(f"{path}: a class entry lacks {exc}") from None

    def __contains__(self, class_id: str) -> bool:
        return class_id in self.classes

    def name(self, class_id: str) -> str:
        return self.classes[class_id].name

    @cached_property
    def levels(self) -> dict[str, frozenset[int]]:
        """Depth set of every class; roots (nobody's child) have depth 1."""
        levels: dict[str, frozenset[int]] = {}

        def visit(cid: str, stack: tuple[str, ...]) -> frozenset[int]:
            if cid in levels:
                return levels[cid]
            if cid in stack:
                raise AvcurrError(f"ontology has a cycle through {cid}")
            ps = self.parents[cid]
            depths = {1} if not ps else {d + 1 for p in ps for d in visit(p, stack + (cid,))}
            levels[cid] = frozenset(depths)
            return levels[cid]

        for cid in self.classes:
            visit(cid, ())
        return levels

    def level3_ancestors(self, class_id: str) -> tuple[str, ...]:
        """Level-3 classes met first on each upward path from `class_id` (ontology order)."""
        found: set[str] = set()
        seen: set[str] = set()

        def walk(cid: str) -> None:
            for parent in self.parents[cid]:
                if SOURCE_LEVEL in self.levels[parent]:
                    found.add(parent)
                elif parent not in seen:
                    seen.add(parent)
                    walk(parent)

        walk(class_id)
        return tuple(sorted(found, key=self.order.__getitem__))

    def first_level3_ancestor(self, class_id: str) -> str | None:
        """The first level-3 class met by a breadth-first walk up the parents."""
        queue = deque(self.parents[class_id])
        seen = set(queue)
        while queue:
            cid = queue.popleft()
            if SOURCE_LEVEL in self.levels[cid]:
                return cid
            for parent in self.parents[cid]:
                if parent not in seen:
                    seen.add(parent)
                    queue.append(parent)
        return None

    def sources(self, labels: Iterable[str], policy: Policy = Policy.ALL) -> tuple[str, ...]:
        """The clip's distinct level-3 source classes, in the order they are first found.

        Labels must be known (checked by the segment reader). Under `first`, deeper labels are
        resolved in the order given, so "already kept" includes earlier lifts of the same clip.
        """
        labels = list(dict.fromkeys(labels))
        kept = [l for l in labels if SOURCE_LEVEL in self.levels[l]]
        for label in labels:
            if SOURCE_LEVEL in self.levels[label] or max(self.levels[label]) < SOURCE_LEVEL:
                continue
            candidates = self.level3_ancestors(label)
            if policy is Policy.ALL:
                lifted = list(candidates)
            else:
                already = [c for c in candidates if c in kept]
                first = already[0] if already else self.first_level3_ancestor(label)
                lifted = [first] if first else []
            kept.extend(c for c in lifted if c not in kept)
        return tuple(kept)
