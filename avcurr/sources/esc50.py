"""ESC-50 (Piczak 2015): the official repository zip (`ESC-50-master/audio/*.wav` and
`ESC-50-master/meta/esc50.csv`) unpacked safely into `<out>/esc50/audio/` plus a manifest with
folds and classes."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from avcurr.errors import AvcurrError
from avcurr.paths import bundled
from avcurr.sources.archive import Member, copy_member, members
from avcurr.sources.listing import write_manifest
from avcurr.sources.remote import local_or_download

HEADER = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
FILENAME = re.compile(r"^\d+-[0-9A-Za-z]+-[A-Z]-\d+\.wav$")
OFFICIAL_ZIP = "https://github.com/karoldvl/ESC-50/archive/master.zip"


@dataclass(frozen=True)
class Esc50Result:
    manifest: Path
    clips: int             # rows in the metadata
    present: int           # rows whose audio was in the archive
    missing: tuple[str, ...]
    metadata: str          # "archive" or "bundled"


def _rows(text: str, where: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != HEADER:
        raise AvcurrError(f"{where}: header {reader.fieldnames} is not ESC-50's {','.join(HEADER)}")
    rows = []
    for number, row in enumerate(reader, 2):
        if not FILENAME.match(row["filename"] or ""):
            raise AvcurrError(f"{where}:{number}: {row['filename']!r} is not an ESC-50 file name")
        try:
            rows.append({"filename": row["filename"], "fold": int(row["fold"]), "target": int(row["target"]),
                         "category": row["category"], "esc10": row["esc10"] == "True",
                         "src_file": row["src_file"], "take": row["take"]})
        except ValueError:
            raise AvcurrError(f"{where}:{number}: fold/target must be integers") from None
    return rows


def _metadata(found: list[Member]) -> tuple[list[dict], str]:
    meta = [m for m in found if PurePosixPath(m.name).parts[-2:] == ("meta", "esc50.csv")]
    if meta:
        with meta[0].open() as handle:
            return _rows(handle.read().decode("utf-8"), meta[0].name), "archive"
    path = bundled("esc50", "meta", "esc50.csv")
    return _rows(path.read_text(encoding="utf-8"), str(path)), "bundled"


def prepare_esc50(archive: str | Path, out: Path) -> Esc50Result:
    """Unpack the ESC-50 zip (path or URL) and write `<out>/esc50/esc50.parquet`."""
    out = Path(out)
    found = members(local_or_download(archive, out / "downloads"))
    rows, origin = _metadata(found)
    audio = {PurePosixPath(m.name).name: m for m in found
             if PurePosixPath(m.name).parent.name == "audio" and FILENAME.match(PurePosixPath(m.name).name)}
    if not audio:
        raise AvcurrError("the archive holds no audio/<fold>-<id>-<take>-<class>.wav files; "
                          "is it the ESC-50 repository zip?")
    for row in rows:
        member = audio.get(row["filename"])
        dest = out / "esc50" / "audio" / row["filename"]  # the name matched FILENAME: no path parts
        if member is not None and not (dest.is_file() and dest.stat().st_size == member.size):
            copy_member(member, dest)
        row["path"] = str(dest.relative_to(out)) if member is not None else None
        row["present"] = member is not None
    manifest = write_manifest(rows, out / "esc50" / "esc50.parquet")
    missing = tuple(r["filename"] for r in rows if not r["present"])
    return Esc50Result(manifest, len(rows), len(rows) - len(missing), missing, origin)
