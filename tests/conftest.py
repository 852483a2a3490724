"""Fixtures shared by every test module."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared reference data (`../shared/data` beside the repository).

    CI always has it; a missing folder is an error, not a skip, so no suite is silently dropped.
    """
    path = Path(os.environ.get("AVCURR_SHARED", REPO.parent / "shared")) / "data"
    if not path.is_dir():
        pytest.fail(f"shared reference data not found at {path}; set AVCURR_SHARED to the shared/ folder")
    return path
