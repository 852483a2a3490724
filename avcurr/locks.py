"""Folder locks: one writer per output folder (a shard split, a training run) at a time.

The lock is an `flock` on `<folder>/.lock`, so it disappears with the process that held it, even
after kill -9; a second writer gets one clear line instead of two processes numbering the same
shards or appending to the same metrics.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from avcurr.errors import AvcurrError

LOCK_NAME = ".lock"


@contextmanager
def _locked(folder: Path, what: str, flag: int) -> Iterator[None]:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_NAME, "a")
    except OSError as exc:
        raise AvcurrError(f"cannot lock {folder}: {exc.strerror or exc}") from None
    with handle:
        try:
            fcntl.flock(handle, flag | fcntl.LOCK_NB)
        except OSError:
            raise AvcurrError(f"{what} is writing {folder}; wait for it or choose another folder") from None
        yield


def exclusive(folder: Path, what: str):
    """Hold `folder`'s lock for the block; `what` names the other writer in the error
    (for example "another `avcurr train`")."""
    return _locked(folder, what, fcntl.LOCK_EX)


def shared(folder: Path, what: str):
    """Hold `folder`'s lock shared for the block: any number of shared holders (the tasks of a
    job array) at once, but never beside an `exclusive` holder; `what` names that other writer."""
    return _locked(folder, what, fcntl.LOCK_SH)
