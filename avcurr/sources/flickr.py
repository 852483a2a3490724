"""SoundNet-Flickr sound-source localisation test set (Senocak et al.).

Its frames, audio and box annotations come as an archive that users obtain from the authors;
`prepare_flickr` unpacks it safely and normalises it into
`<out>/flickr/{frames,audio,annotations,videos}/<id>.<ext>` plus `flickr_test.parquet`, with
the bundled 250-id test list as the reference, and reports ids the archive lacks.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from avcurr.errors import AvcurrError
from avcurr.keys import safe_name
from avcurr.paths import bundled
from avcurr.sources.archive import Member, copy_member, members
from avcurr.sources.listing import write_manifest
from avcurr.sources.remote import local_or_download

KINDS = {".jpg": "frames", ".jpeg": "frames", ".png": "frames", ".wav": "audio", ".mp3": "audio",
         ".flac": "audio", ".ogg": "audio", ".m4a": "audio", ".xml": "annotations", ".mp4": "videos",
         ".webm": "videos", ".mkv": "videos"}
MAX_XML_BYTES = 1 << 20


@dataclass(frozen=True)
class FlickrResult:
    manifest: Path
    reference: int            # ids in the reference list
    complete: int             # reference ids with a frame, audio and an annotation
    missing: tuple[str, ...]  # reference ids with nothing at all in the archive
    incomplete: tuple[str, ...]  # reference ids with some but not all parts
    ignored: int              # archive files that are not an id's frame/audio/annotation/video


def flickr_test_ids(path: Path | None = None) -> list[str]:
    """Ids of the test list (`2432219254.png` lines -> `2432219254`), bundled by default."""
    path = Path(path) if path else bundled("soundnet_flickr", "test_list.txt")
    ids = [line.strip().rsplit(".", 1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [safe_name(i, f"id in {path}") for i in ids]


def _placement(member: Member, reference: set[str]) -> tuple[str, str, str] | None:
    """(kind, id, file name) for a member we keep, None for one we ignore."""
    path = PurePosixPath(member.name)
    kind = KINDS.get(path.suffix.lower())
    if kind is None or path.name.startswith("."):
        return None
    candidates = [path.stem, path.parent.name]
    ident = next((c for c in candidates if c in reference or (c.isdigit() and c)), None)
    if ident is None:
        return None
    return kind, safe_name(ident, "flickr id"), f"{ident}{path.suffix.lower()}"


def _count_boxes(path: Path) -> int | None:
    if path.stat().st_size > MAX_XML_BYTES:
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return None
    return sum(1 for el in root.iter() if el.tag.lower() in ("bbox", "bndbox"))


def prepare_flickr(archive: str | Path, out: Path, reference_list: Path | None = None) -> FlickrResult:
    """Unpack `archive` (path or URL; zip or tar) into our layout and write the manifest."""
    out = Path(out)
    source = local_or_download(archive, out / "downloads")
    reference = flickr_test_ids(reference_list)
    ref_set = set(reference)
    found: dict[str, dict[str, str]] = {}
    ignored = 0
    for member in members(source):  # every name is checked before the first file is written
        placed = _placement(member, ref_set)
        if placed is None:
            ignored += 1
            continue
        kind, ident, name = placed
        if kind in found.get(ident, {}):
            ignored += 1  # one file per kind and id: a second frame of an id is not the test frame
            continue
        dest = out / "flickr" / kind / name
        copy_member(member, dest)
        found.setdefault(ident, {})[kind] = str(dest.relative_to(out))
    return _write(found, reference, out, ignored)


def _write(found: dict[str, dict[str, str]], reference: list[str], out: Path, ignored: int) -> FlickrResult:
    ids = reference + sorted(set(found) - set(reference))
    rows, ref_set = [], set(reference)
    for ident in ids:
        parts = found.get(ident, {})
        annotation = parts.get("annotations")
        rows.append({"id": ident, "in_test_list": ident in ref_set, "frame": parts.get("frames"),
                     "audio": parts.get("audio"), "annotation": annotation, "video": parts.get("videos"),
                     "n_boxes": _count_boxes(out / annotation) if annotation else None,
                     "complete": all(k in parts for k in ("frames", "audio", "annotations"))})
    if not found:
        raise AvcurrError("the archive holds no frames, audio or annotations named by a Flickr id")
    manifest = write_manifest(rows, out / "flickr" / "flickr_test.parquet")
    missing = tuple(i for i in reference if i not in found)
    incomplete = tuple(r["id"] for r in rows if r["in_test_list"] and r["id"] in found and not r["complete"])
    return FlickrResult(manifest, len(reference), sum(r["complete"] for r in rows if r["in_test_list"]),
                        missing, incomplete, ignored)
