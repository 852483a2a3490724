"""The same synthetic world built twice (one worker, then two) gives byte-identical shards."""

from __future__ import annotations

import tarfile

from avcurr.shards.build import BuildConfig, build_shards
from tests.cavl_fixtures import DATASET, cavl_world  # noqa: F401 - session fixture


def test_same_world_twice_gives_identical_tars(cavl_world, tmp_path):  # noqa: F811
    first = cavl_world["shards"]
    manifest = first.parent / "curricula.parquet"
    again = tmp_path / "again"
    build_shards(BuildConfig(manifest=manifest, out=again, dataset=DATASET, split="train",
                             media=cavl_world["world"] / "media", workers=2))
    tars = sorted(p.relative_to(first) for p in first.glob("*/*/c*/*.tar"))
    assert tars and tars == sorted(p.relative_to(again) for p in again.glob("*/*/c*/*.tar"))
    for name in tars:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    with tarfile.open(first / tars[0]) as handle:
        info = handle.getmembers()[0]
    assert (info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode) == (0, 0, 0, "", "", 0o644)
