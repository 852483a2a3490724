"""Sample keys and safe names: the one place that turns outside names into file stems."""

from __future__ import annotations

import re

from avcurr.errors import AvcurrError

_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def safe_name(name: str, what: str = "name") -> str:
    """Return `name` if it is only `[A-Za-z0-9_-]` (so it can never be a path with `/` or `..`)."""
    if not isinstance(name, str) or not _SAFE.match(name):
        raise AvcurrError(f"unsafe {what} {name!r}: only letters, digits, '_' and '-' are allowed")
    return name


def clip_key(ytid: str, start_seconds: float) -> str:
    """Sample key / media file stem `<ytid>_<start in integer ms>`, e.g. `--PJHxphWEs_30000`."""
    return f"{safe_name(ytid, 'video id')}_{int(round(start_seconds * 1000))}"
