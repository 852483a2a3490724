"""Getting one file from a URL (official lists, archives) safely: atomic, resumable by marker."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from avcurr.atomic import atomic_output
from avcurr.errors import AvcurrError


def is_url(text: str) -> bool:
    return str(text).startswith(("http://", "https://"))


def download_file(url: str, dest: Path, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` unless it is already there (written under a temporary name, then
    renamed, so an existing `dest` is always complete). One-line AvcurrError on failure."""
    dest = Path(dest)
    if dest.is_file():
        return dest
    try:
        with atomic_output(dest) as tmp, urllib.request.urlopen(url, timeout=timeout) as response, \
                open(tmp, "wb") as handle:
            shutil.copyfileobj(response, handle, 1 << 20)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise AvcurrError(f"cannot download {url}: {reason}") from None
    return dest


def local_or_download(source: str | Path, cache_dir: Path) -> Path:
    """A local path as it is (must exist), or a URL downloaded once into `cache_dir`."""
    if is_url(str(source)):
        name = str(source).rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "download"
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".") or "download"
        return download_file(str(source), Path(cache_dir) / safe)
    path = Path(source)
    if not path.is_file():
        raise AvcurrError(f"archive not found: {path}")
    return path
