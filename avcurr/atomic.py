"""Atomic file output, the one way avcurr writes a file that someone may read or resume from.

A file is written under a hidden temporary name beside its target (`.<name>.<pid>.part`), flushed
to disk, renamed over the target and the folder entry flushed too. A reader, or a rerun after a
kill or a power cut, sees the old file or the new one, never half of one. A write that fails
(disk full, read-only folder) removes its temporary file and becomes one AvcurrError line naming
the target; nothing finished before it is touched.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator

from avcurr.errors import AvcurrError

TEMP_SUFFIX = ".part"


def temp_path(path: Path) -> Path:
    """The hidden temporary name `path` is written under (unique per process)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)" + re.escape(TEMP_SUFFIX) + "$")


def is_temp(path: Path) -> bool:
    """True for a temporary file left by an interrupted atomic write."""
    return _TEMP_NAME.match(Path(path).name) is not None


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (someone else's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temp_files(folder: Path, is_ours: Callable[[str], bool] = lambda target: True) -> list[tuple[Path, int]]:
    """(temporary file, pid of its writer) in `folder` (not below it) for the target names
    `is_ours` accepts."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for file in folder.iterdir():
        temp = _TEMP_NAME.match(file.name)
        if temp and is_ours(temp["target"]):
            found.append((file, int(temp["pid"])))
    return found


def stale_temps(folder: Path, is_ours: Callable[[str], bool] = lambda target: True) -> list[Path]:
    """Temporary files in `folder` that atomic writes of processes now gone left behind; a
    running writer's file is never listed."""
    return [file for file, pid in temp_files(folder, is_ours) if pid != os.getpid() and not pid_alive(pid)]


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename is durable only once its folder is)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # not every file system lets a folder be opened; the rename still happened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _error(path: Path, exc: OSError) -> AvcurrError:
    return AvcurrError(f"cannot write {path}: {exc.strerror or exc}")


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AvcurrError(f"cannot create folder {path.parent}: {exc.strerror or exc}") from None


def _commit(tmp: Path, path: Path) -> None:
    _fsync_file(tmp)
    os.replace(tmp, path)
    fsync_folder(path.parent)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path for a writer that wants a file name (torch.save, ffmpeg, parquet);
    when the block ends without an exception it becomes `path`, durably.

    An exception inside the block removes the temporary file and propagates as it is (the caller
    knows what its writer's errors mean); a failure to flush or rename becomes an AvcurrError."""
    path = Path(path)
    _make_parent(path)
    tmp = temp_path(path)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        _commit(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _error(path, exc) from None


def atomic_write(path: Path, data: bytes | memoryview | str, encoding: str = "utf-8") -> Path:
    """Write `data` (bytes, or text in `encoding` with '\\n' line ends) to `path` atomically."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    try:
        with atomic_output(path) as tmp:
            tmp.write_bytes(payload)
    except OSError as exc:  # disk full, read-only folder: one line naming the target
        raise _error(Path(path), exc) from None
    return Path(path)


class AtomicFile:
    """A file written in several steps (a shard tar) that appears under its name only on `commit`.

        out = AtomicFile(path); handle = out.open(); ...; out.commit()   # or out.discard()
    """

    def __init__(self, path: Path, tmp: Path | None = None):
        self.path = Path(path)
        self.tmp = Path(tmp) if tmp is not None else temp_path(self.path)
        self.handle: IO[bytes] | None = None

    def open(self) -> IO[bytes]:
        _make_parent(self.path)
        try:
            self.handle = open(self.tmp, "wb")
        except OSError as exc:
            raise _error(self.path, exc) from None
        return self.handle

    def commit(self) -> Path:
        """Flush, close and rename into place; the folder entry is flushed too."""
        try:
            if self.handle is not None:
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.handle.close()
            os.replace(self.tmp, self.path)
            fsync_folder(self.path.parent)
        except OSError as exc:
            self.discard()
            raise _error(self.path, exc) from None
        finally:
            self.handle = None
        return self.path

    def discard(self) -> None:
        """Close and remove the temporary file (the target, if any, is left as it was)."""
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass
            self.handle = None
        self.tmp.unlink(missing_ok=True)
