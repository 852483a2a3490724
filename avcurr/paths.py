"""Where avcurr finds its bundled lists and where it writes by default."""

from __future__ import annotations

import os
from pathlib import Path

from avcurr.errors import AvcurrError

_PACKAGE_DIR = Path(__file__).resolve().parent

# A wheel carries the lists inside the package; a source checkout (editable install) keeps them
# at the repository's top level, where people can read them next to their provenance.
_MANIFEST_CANDIDATES = (_PACKAGE_DIR / "_manifests", _PACKAGE_DIR.parent / "manifests")


def manifests_dir() -> Path:
    """The folder of bundled source lists (`manifests/` in the repository)."""
    for candidate in _MANIFEST_CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise AvcurrError("bundled manifests not found; reinstall avcurr (looked in "
                      + ", ".join(str(c) for c in _MANIFEST_CANDIDATES) + ")")


def bundled(*parts: str) -> Path:
    """Path of one bundled file, for example `bundled("audioset", "ontology.json")`."""
    path = manifests_dir().joinpath(*parts)
    if not path.exists():
        raise AvcurrError(f"bundled file missing: {path}")
    return path


def work_dir() -> Path:
    """Default output folder: `$AVCURR_WORK`, else `./avcurr-work`."""
    return Path(os.environ.get("AVCURR_WORK", "avcurr-work"))
