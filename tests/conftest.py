"""Fixtures shared by every test module."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared reference data (`../shared/data` beside the repository, or
    `$AVCURR_SHARED/data`).

    The suite passes from a clone alone: every check that needs this folder has a generated
    counterpart, and is skipped, saying so, where the folder is absent.
    """
    path = Path(os.environ.get("AVCURR_SHARED", REPO.parent / "shared")) / "data"
    if not path.is_dir():
        pytest.skip(f"shared reference data not found at {path} (a clone alone has none; set AVCURR_SHARED "
                    f"to a shared/ folder to run this check on the real files too)")
    return path


@pytest.fixture(scope="module")
def ray_cluster():
    """A Ray instance of this module's own (2 CPUs), shut down after it."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'avcurr[ray]')")
    # address="local": a new instance of our own, never a cluster some other process started.
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=80 << 20,
             logging_level="WARNING")
    yield ray
    ray.shutdown()
