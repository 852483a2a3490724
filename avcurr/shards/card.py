"""The dataset card `<root>/<dataset>/README.md` that generic readers open.

Its YAML header holds the `configs:` Hugging Face `datasets` reads: a `default` config with every
curriculum and one config per curriculum, one split per split folder, data files = the tars (so the
stats, indexes and `_shards.json` beside them are never taken for data). It also declares the
features, so that `load_dataset(<dataset folder>, split=...)` needs no audio decoder: the FLAC
comes as bytes, the spectrogram as a float16 512x432 array, the frames as images and the JSON as a
struct whose field types are those the shards' stats recorded.

The card is ours only while it carries `CARD_MARK`; a README.md without it is the user's and is
never overwritten.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from avcurr.atomic import atomic_write
from avcurr.keys import safe_name
from avcurr.shards.layout import CARD_NAME, curricula_present, finished_shards, read_stats, splits_present

CARD_MARK = "<!-- written by avcurr build-shards: rewritten after every build; delete this line to keep your own card -->"
_HF_SPLIT = re.compile(r"^\w+(\.\w+)*$")
# SPEC §4 fields with fixed types; other JSON fields get the type the stats recorded
_KNOWN = {"key": "string", "dataset": "string", "split": "string", "ytid": "string", "start": "float64",
          "end": "float64", "labels": "list:string", "sources": "list:string", "n_sources": "int64",
          "curriculum": "string", "sample_rate": "int64", "n_valid_samples": "int64", "padded": "bool",
          "frame_times": "list:float64"}
_SCALAR = {"bool": "bool", "int": "int64", "float": "float64", "str": "string"}


def _feature_type(kinds: set[str]) -> str | None:
    """Arrow/HF type of a JSON field seen with `kinds` (from stats), None where they disagree."""
    kinds = set(kinds) - {"null"}
    lists = {k for k in kinds if k.startswith("list:")}
    if lists and lists != kinds:
        return None
    if lists:
        inner = {k[5:] for k in lists} - {"null"}
        if inner == {"int", "float"}:
            inner = {"float"}
        if not inner:
            return "list:string"
        return f"list:{_SCALAR[inner.pop()]}" if len(inner) == 1 and next(iter(inner)) in _SCALAR else None
    if kinds == {"int", "float"}:
        return "float64"
    if not kinds:
        return "string"
    return _SCALAR.get(kinds.pop()) if len(kinds) == 1 else None


def _json_struct(stats: list[dict]) -> dict[str, str]:
    seen: dict[str, set[str]] = {}
    for s in stats:
        for name, kinds in (s.get("json_fields") or {}).items():
            seen.setdefault(name, set()).update(kinds)
    struct = dict(_KNOWN)
    for name in sorted(set(seen) - set(_KNOWN)):
        kind = _feature_type(seen[name])
        if kind is not None:
            struct[name] = kind
    return struct


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _type_lines(name: str, kind: str, indent: str) -> list[str]:
    if kind.startswith("list:"):
        return [f"{indent}- name: {_q(name)}", f"{indent}  list: {kind[5:]}"]
    return [f"{indent}- name: {_q(name)}", f"{indent}  dtype: {kind}"]


def _features(with_spec: bool, struct: dict[str, str]) -> list[str]:
    lines = ["  features:", "  - name: __key__", "    dtype: string", "  - name: __url__", "    dtype: string",
             "  - name: flac", "    dtype: binary"]
    if with_spec:
        lines += ["  - name: spec.npy", "    dtype:", "      array2_d:", "        shape:", "        - 512",
                  "        - 432", "        dtype: float16"]
    for i in range(3):
        lines += [f"  - name: f{i}.jpg", "    dtype: image"]
    lines += ["  - name: json", "    struct:"]
    for name, kind in struct.items():
        lines += _type_lines(name, kind, "    ")
    return lines


def card_text(root: Path, dataset: str) -> str | None:
    """The card of `<root>/<dataset>`, or None when it has no finished shard."""
    layout: dict[str, list[str]] = {}
    stats: list[dict] = []
    for split in splits_present(root, dataset):
        if not _HF_SPLIT.match(split):
            continue  # Hugging Face split names are words joined by dots
        curricula = curricula_present(root, dataset, split)
        tars = finished_shards(root, dataset, split, curricula)
        if tars:
            layout[split] = sorted({t.parent.name for t in tars}, key=lambda c: int(c[1:]))
            stats += [read_stats(t) for t in tars]
    if not layout:
        return None
    with_spec = any(s.get("spec", True) for s in stats)
    features = _features(with_spec, _json_struct(stats))
    configs = [("default", {split: f"{split}/c*/*.tar" for split in layout})]
    for c in sorted({c for cs in layout.values() for c in cs}, key=lambda c: int(c[1:])):
        configs.append((c, {split: f"{split}/{c}/*.tar" for split, cs in layout.items() if c in cs}))
    lines = ["---", "configs:"]
    for name, files in configs:
        lines += [f"- config_name: {name}", "  data_files:"]
        for split, pattern in files.items():
            lines += [f"  - split: {split}", f"    path: {_q(pattern)}"]
        if name == "default":
            lines.append("  default: true")
    lines.append("dataset_info:")
    for name, _ in configs:
        lines += [f"- config_name: {name}", *features]
    lines += ["---", CARD_MARK, "", *_body(dataset, layout)]
    return "\n".join(lines) + "\n"


def _body(dataset: str, layout: dict[str, list[str]]) -> list[str]:
    rows = [f"| {split} | {', '.join(cs)} |" for split, cs in layout.items()]
    return [f"# {dataset}", "",
            "Audio-visual clips as WebDataset shards, one folder per curriculum (`c<k>`: clips with k sound",
            "sources), written by `avcurr build-shards`. Each sample: `<key>.flac` (mono 11025 Hz, 16 bit,",
            "110336 samples), `<key>.spec.npy` (512x432 float16 log spectrogram), `<key>.f0.jpg`..`f2.jpg`",
            "(256x256 frames at 25/50/75 % of the clip) and `<key>.json`.", "",
            "| split | curricula |", "| --- | --- |", *rows, "",
            "```python",
            "import datasets",
            f"train = datasets.load_dataset(\"path/to/{dataset}\", split=\"{next(iter(layout))}\")            # every curriculum",
            f"c1 = datasets.load_dataset(\"path/to/{dataset}\", \"c1\", split=\"{next(iter(layout))}\")        # one curriculum",
            "```", ""]


def write_card(root: Path, dataset: str) -> Path | None:
    """Write (or refresh) the card; None when a README.md that is not ours is there, or no shard is."""
    path = Path(root) / safe_name(dataset, "dataset name") / CARD_NAME
    if path.is_file() and CARD_MARK not in path.read_text(encoding="utf-8", errors="replace"):
        return None
    text = card_text(root, dataset)
    if text is None:
        return None
    return atomic_write(path, text)
