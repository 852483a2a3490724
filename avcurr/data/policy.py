"""What the loader does with a bad sample or an unreadable shard: webdataset's `handler=` idea.

`raise` (the default) stops at the first one with a single AvcurrError naming shard and key.
`skip` drops it, logs a warning naming shard and key, and counts it per shard. The counts live
in a small shared-memory table (one row per DataLoader worker, one column per shard) so that the
loader object in the main process can report what its workers skipped.
"""

from __future__ import annotations

import logging

import torch

from avcurr.errors import AvcurrError

POLICIES = ("raise", "skip")
log = logging.getLogger("avcurr.data")


class SampleError(Exception):
    """A bad sample (`key`), or a shard that could not be read to its end (`whole_rest`; then
    `key` is the last member read, if any)."""

    def __init__(self, shard: str, key: str | None, reason: str, whole_rest: bool = False):
        super().__init__(shard, key, reason)
        self.shard, self.key, self.reason, self.whole_rest = shard, key, reason, whole_rest

    def message(self) -> str:
        if self.whole_rest:
            after = f" after member {self.key}" if self.key else ""
            return f"cannot read shard {self.shard}{after}: {self.reason}"
        if self.key is None:
            return f"bad data in shard {self.shard}: {self.reason}"
        return f"bad sample {self.key} in shard {self.shard}: {self.reason}"


def describe(exc: BaseException) -> str:
    """`Type: message` of an exception, on one line."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"


def check_policy(handler: str) -> str:
    if handler not in POLICIES:
        raise AvcurrError(f"bad handler {handler!r}: expected one of {', '.join(POLICIES)}")
    return handler


class SkipCounts:
    """Per-shard counts of skipped samples (and unreadable shard tails), shared with workers."""

    def __init__(self, shards: list[str], rows: int, shared: bool):
        self.shards = [*shards, "?"]  # "?": an error that named no shard
        self._column = {url: i for i, url in enumerate(self.shards)}
        self.table = torch.zeros((max(rows, 1), len(self.shards)), dtype=torch.int64)
        if shared:
            self.table.share_memory_()

    def __contains__(self, shard: object) -> bool:
        return shard in self._column

    def add(self, row: int, shard: str) -> None:
        self.table[row, self._column.get(shard, len(self.shards) - 1)] += 1

    def by_shard(self) -> dict[str, int]:
        """{shard: skipped} for every shard where something was skipped."""
        totals = self.table.sum(dim=0).tolist()
        return {url: int(n) for url, n in zip(self.shards, totals) if n}


class ErrorPolicy:
    """A webdataset-style handler: called with the exception, returns True to go on."""

    def __init__(self, mode: str, counts: SkipCounts, row: int = 0):
        self.mode, self.counts, self.row = check_policy(mode), counts, row

    def __call__(self, exc: BaseException) -> bool:
        if not isinstance(exc, SampleError):  # from a webdataset stage: find the shard in its args
            shard = next((a for a in exc.args if isinstance(a, str) and a in self.counts), "?")
            first = exc.args[0] if exc.args else ""  # webdataset appends its context to args
            exc = SampleError(shard, None, f"{type(exc).__name__}: {' '.join(str(first).split())}")
        if self.mode == "raise":
            raise AvcurrError(exc.message()) from None
        self.counts.add(self.row, exc.shard)
        log.warning("skipped: %s%s", exc.message(), "; rest of shard skipped" if exc.whole_rest else "")
        return True
