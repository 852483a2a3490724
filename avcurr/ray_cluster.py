"""Ray for the `--engine ray` stages (fetch, build-shards): the module, and a cluster to run on.

Both say what went wrong in one line: Ray missing, or a cluster that cannot be started or joined.
"""

from __future__ import annotations

import logging

from avcurr.errors import AvcurrError


def require_ray():
    """The `ray` module, or one clear error saying how to get it."""
    try:
        import ray
    except ImportError:
        raise AvcurrError("--engine ray needs Ray, which is not installed here: "
                          "pip install 'avcurr[ray]' (or use --engine local)") from None
    return ray


def connect_ray(address: str | None):
    """(ray, started_here): join the cluster at `address` ("auto": the running one) or, for None,
    start a Ray instance on this machine; a process already connected stays as it is."""
    ray = require_ray()
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(address=address or "local", logging_level=logging.WARNING,
                 **({} if address else {"include_dashboard": False}))
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise AvcurrError(f"cannot start or join {where}: {type(exc).__name__}: {exc}".rstrip()) from None
    return ray, True
