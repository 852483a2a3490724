"""Generic readers on a shard root: Hugging Face `datasets` through the dataset card (without
torchcodec), Ray's `read_webdataset`, `webdataset` through the wids `_shards.json`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import webdataset

from avcurr.shards.card import CARD_MARK, write_card
from shards_fixtures import GOOD, SHORT_ID, built_root

KEYS = {f"{y}_0" for y, _, _ in GOOD} | {f"{SHORT_ID}_0"}
C2 = {f"{y}_0" for y, c, _ in GOOD if c == "c2"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return built_root(tmp_path_factory)[0]


def test_datasets_load_the_samples_without_torchcodec(root, tmp_path):
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["torchcodec"] = None      # as if it were not installed: any import of it fails
        import datasets
        folder, cache = {str(root / "lav")!r}, {str(tmp_path / "cache")!r}
        train = datasets.load_dataset(folder, split="train", cache_dir=cache)
        c2 = datasets.load_dataset(folder, "c2", split="train", cache_dir=cache)
        row = train[0]
        print(json.dumps({{"keys": list(train["__key__"]), "c2": list(c2["__key__"]), "flac": type(row["flac"]).__name__,
                          "json_key": row["json"]["key"], "key": row["__key__"],
                          "curricula": sorted({{m["curriculum"] for m in train["json"]}}),
                          "source_names": row["json"].get("source_names"),
                          "spec": [len(row["spec.npy"]), len(row["spec.npy"][0])], "image": row["f0.jpg"].size}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(got["keys"]) == sorted(KEYS)          # the samples, one per key, not the stats files
    assert sorted(got["c2"]) == sorted(C2)
    assert got["flac"] == "bytes" and got["json_key"] == got["key"] and got["curricula"] == ["c1", "c2"]
    assert got["source_names"] == ["X"]                 # a manifest's extra column, typed from the stats
    assert got["spec"] == [512, 432] and got["image"] == [256, 256]


def test_ray_read_webdataset_counts_the_samples(root):
    ray = pytest.importorskip("ray", reason="ray is in the test extra; without it this reader is not checked")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        # the plain call on a curriculum folder: its side files (_stats/, _shards.json) are skipped
        c1 = ray.data.read_webdataset(str(root / "lav/train/c1")).count()
        # above it, Ray reads every nested file: select the tars
        everything = ray.data.read_webdataset(str(root / "lav"), file_extensions=["tar"]).count()
    finally:
        ray.shutdown()
    assert c1 == len(KEYS - C2) and everything == len(KEYS)


def test_wids_index_lists_finished_shards_and_webdataset_reads_them(root):
    index = json.loads((root / "lav/train/c1/_shards.json").read_text())
    assert index["__kind__"] == "wids-shard-index-v1" and index["wids_version"] == 1
    assert index["name"] == "lav-train-c1"
    names = [s["url"] for s in index["shardlist"]]
    assert names == sorted(p.name for p in (root / "lav/train/c1").glob("*.tar"))
    assert all(s["filesize"] == (root / "lav/train/c1" / s["url"]).stat().st_size for s in index["shardlist"])
    urls = [str(root / "lav/train/c1" / n) for n in names]
    samples = list(webdataset.WebDataset(urls, shardshuffle=False))
    assert sum(s["nsamples"] for s in index["shardlist"]) == len(samples) == len(KEYS - C2)


def test_a_readme_of_the_user_is_never_overwritten(root, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    card = copy / "lav" / "README.md"
    assert CARD_MARK in card.read_text()
    card.write_text("# my own notes\n")
    assert write_card(copy, "lav") is None and card.read_text() == "# my own notes\n"
