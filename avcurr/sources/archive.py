"""Reading zip and tar archives without trusting them: every member name is checked before
anything is written, links and devices are refused, and files are only ever written to paths
we build ourselves under the output folder."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from avcurr.atomic import atomic_output
from avcurr.errors import AvcurrError


@dataclass(frozen=True)
class Member:
    name: str                         # normalised posix path inside the archive
    size: int
    open: Callable[[], BinaryIO]


def _checked(name: str, archive: Path) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise AvcurrError(f"{archive}: unsafe member {name!r} (absolute or '..' path); refusing the archive")
    return str(path)


def _zip_members(archive: Path) -> Iterator[Member]:
    handle = zipfile.ZipFile(archive)
    infos = handle.infolist()
    checked = [(_checked(i.filename, archive), i) for i in infos]  # all names before any file
    for name, info in checked:
        if not info.is_dir():
            yield Member(name, info.file_size, lambda info=info: handle.open(info))


def _tar_members(archive: Path) -> Iterator[Member]:
    handle = tarfile.open(archive)
    infos = handle.getmembers()
    for info in infos:
        _checked(info.name, archive)
        if info.issym() or info.islnk() or info.isdev() or info.isfifo():
            raise AvcurrError(f"{archive}: member {info.name!r} is a link or device; refusing the archive")
    for info in infos:
        if info.isfile():
            yield Member(_checked(info.name, archive), info.size, lambda info=info: handle.extractfile(info))


def members(archive: Path) -> list[Member]:
    """Every regular file of a zip or tar(.gz/.bz2/.xz) archive; AvcurrError if any member is unsafe."""
    archive = Path(archive)
    try:
        if zipfile.is_zipfile(archive):
            return list(_zip_members(archive))
        if tarfile.is_tarfile(archive):
            return list(_tar_members(archive))
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise AvcurrError(f"{archive}: cannot read archive: {exc}") from None
    raise AvcurrError(f"{archive}: not a zip or tar archive")


def copy_member(member: Member, dest: Path) -> Path:
    """Write one member to `dest` (a path the caller built from sanitised parts), atomically."""
    with atomic_output(dest) as tmp, member.open() as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return dest
