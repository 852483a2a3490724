"""Where shards live (SPEC §4) and which of them are finished. Light: no numpy, no torch.

`<root>/<dataset>/<split>/c<k>/<dataset>-<split>-c<k>-<nnnnnn>.tar`, its stats in
`c<k>/_stats/<name>.stats.json` (written last: a tar without stats is unfinished), a shard being
written as a hidden `.<name>.tar.<random>.partial`, `c<k>/_shards.json` (the finished shards in the
`wids` index format, for readers that cannot list a folder), `index.parquet` and
`failures.parquet` per `<dataset>/<split>`, and the dataset card `<root>/<dataset>/README.md`.

Everything in a curriculum folder that is not a shard starts with `_` or `.`: readers that take a
folder of tars and skip such names (Ray's `read_webdataset`) read the folder as it is. Stats of
the first layout, `<name>.stats.json` beside the tar, are still read, and moved on the next build.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.keys import safe_name

MEMBERS = ("flac", "spec.npy", "f0.jpg", "f1.jpg", "f2.jpg", "json")
AUDIO_ONLY_MEMBERS = tuple(m for m in MEMBERS if m != "spec.npy")
INDEX_NAME = "index.parquet"
FAILURES_NAME = "failures.parquet"
SHARD_INDEX_NAME = "_shards.json"
STATS_DIR = "_stats"
CARD_NAME = "README.md"
PARTIAL_SUFFIX = ".partial"
_CURRICULUM = re.compile(r"^c[0-9]+$")
_SHARD = re.compile(r"^(?P<stem>.+)-(?P<n>[0-9]{6})\.tar$")


def check_curriculum(name: str) -> str:
    """Return `name` if it looks like `c<k>`, else a clear error."""
    if not isinstance(name, str) or not _CURRICULUM.match(name):
        raise AvcurrError(f"bad curriculum {name!r}: expected c1, c2, ...")
    return name


def is_curriculum(name: str) -> bool:
    """True for folder names like `c1`, `c12`."""
    return bool(_CURRICULUM.match(name))


def split_dir(root: Path, dataset: str, split: str) -> Path:
    """`<root>/<dataset>/<split>` (both names checked: they become folder names)."""
    return Path(root) / safe_name(dataset, "dataset name") / safe_name(split, "split name")


def curriculum_dir(root: Path, dataset: str, split: str, curriculum: str) -> Path:
    """`<root>/<dataset>/<split>/c<k>`."""
    return split_dir(root, dataset, split) / check_curriculum(curriculum)


def shard_path(root: Path, dataset: str, split: str, curriculum: str, number: int) -> Path:
    """Path of shard `number` of one curriculum."""
    name = f"{dataset}-{split}-{curriculum}-{number:06d}.tar"
    return curriculum_dir(root, dataset, split, curriculum) / name


def shard_number(tar: Path) -> int:
    """The `<nnnnnn>` of a shard file name."""
    match = _SHARD.match(Path(tar).name)
    if match is None:
        raise AvcurrError(f"not a shard name: {tar}")
    return int(match["n"])


def stats_path(tar: Path) -> Path:
    """Where a shard's stats are written: `c<k>/_stats/<name>.stats.json`."""
    tar = Path(tar)
    return tar.parent / STATS_DIR / f"{tar.stem}.stats.json"


def legacy_stats_path(tar: Path) -> Path:
    """Where the first layout kept them: `<name>.stats.json` beside the tar."""
    return Path(tar).with_suffix(".stats.json")


def existing_stats(tar: Path) -> Path | None:
    """The shard's stats file, in this layout or the first one; None for an unfinished shard."""
    for path in (stats_path(tar), legacy_stats_path(tar)):
        if path.is_file():
            return path
    return None


def partial_path(tar: Path) -> Path:
    """The hidden name a shard is written under until it is complete."""
    return Path(tar).with_name(f".{Path(tar).name}{PARTIAL_SUFFIX}")


def partial_files(folder: Path) -> list[Path]:
    """Half-written shards (`*.partial`) in one curriculum folder, by name."""
    return sorted(p for p in folder.iterdir() if p.name.endswith(PARTIAL_SUFFIX))


def all_tars(folder: Path) -> list[Path]:
    """Every `*.tar` shard in one curriculum folder (finished or not), by number."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if _SHARD.match(p.name)), key=shard_number)


def finished_shards(root: Path, dataset: str, split: str, curricula) -> list[Path]:
    """Finished shards (tar and stats present) of the given curricula, in a stable order."""
    out: list[Path] = []
    for curriculum in curricula:
        folder = curriculum_dir(root, dataset, split, curriculum)
        out += [t for t in all_tars(folder) if existing_stats(t) is not None]
    return out


def shard_index_path(root: Path, dataset: str, split: str, curriculum: str) -> Path:
    """`<root>/<dataset>/<split>/c<k>/_shards.json` (the wids shard index of that curriculum)."""
    return curriculum_dir(root, dataset, split, curriculum) / SHARD_INDEX_NAME


def splits_present(root: Path, dataset: str) -> list[str]:
    """Split folders under `<root>/<dataset>` that hold at least one `c<k>` folder, sorted."""
    base = Path(root) / safe_name(dataset, "dataset name")
    if not base.is_dir():
        return []
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            if curricula_present(root, dataset, folder.name):
                found.append(folder.name)
        except AvcurrError:  # a folder whose name no build would write: not a split
            continue
    return found


def curricula_present(root: Path, dataset: str, split: str) -> list[str]:
    """The `c<k>` folders that exist under `<root>/<dataset>/<split>`, sorted by k."""
    base = split_dir(root, dataset, split)
    if not base.is_dir():
        return []
    names = [p.name for p in base.iterdir() if p.is_dir() and _CURRICULUM.match(p.name)]
    return sorted(names, key=lambda n: int(n[1:]))


def read_stats(tar: Path) -> dict:
    """The stats JSON of a finished shard."""
    try:
        return json.loads((existing_stats(tar) or stats_path(tar)).read_text())
    except (OSError, ValueError) as exc:
        raise AvcurrError(f"cannot read stats of {tar}: {exc}") from None
