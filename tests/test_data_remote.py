"""The loader on URL roots: http(s) through _shards.json, brace URLs, pipe: commands, file: URLs."""

from __future__ import annotations

import json
import shlex
import tarfile

import pytest
import torch

from avcurr.data import LoaderConfig, count_samples, make_loader
from avcurr.errors import AvcurrError
from data_fixtures import copy_root, serve
from shards_fixtures import built_root

from avcurr.shards.layout import SHARD_INDEX_NAME

ALL = ("c1", "c2")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A private copy of the built lav root (build-shards wrote each curriculum's _shards.json)."""
    copy = copy_root(built_root(tmp_path_factory)[0], tmp_path_factory.mktemp("remote") / "shards")
    assert (copy / "lav" / "train" / "c1" / SHARD_INDEX_NAME).is_file()
    return copy


def _batches(root, **kw):
    config = dict(dataset="lav", split="train", curricula=ALL, batch_size=4, training=False) | kw
    return list(make_loader(LoaderConfig(root, **config)))


def _by_key(batches):
    return {k: (b["spec"][i], b["image"][i], b["meta"][i]) for b in batches for i, k in enumerate(b["key"])}


def _tar_keys(tar):
    with tarfile.open(tar) as handle:
        return {n.partition(".")[0] for n in handle.getnames()}


def _same(got, want):
    assert got.keys() == want.keys()
    for key, (spec, image, meta) in want.items():
        assert torch.equal(got[key][0], spec) and torch.equal(got[key][1], image) and got[key][2] == meta


def test_http_root_reads_through_the_index_without_listing(root):
    local = _batches(root)
    with serve(root) as (url, asked):
        remote = _batches(url)
        assert count_samples(LoaderConfig(url, "lav", "train", curricula=ALL)) == 9
    assert [k for b in remote for k in b["key"]] == [k for b in local for k in b["key"]]
    _same(_by_key(remote), _by_key(local))
    # nothing but the two indexes and the tars they list: no directory listing was needed
    assert {p for p in asked if not p.endswith(".tar")} == {"/lav/train/c1/_shards.json", "/lav/train/c2/_shards.json"}


def test_brace_url_over_http_reads_exactly_those_shards(root):
    tars = sorted(root.glob("lav/train/c1/*.tar"))[:2]  # the brace names these two, not the rest
    assert [t.name for t in tars] == ["lav-train-c1-000000.tar", "lav-train-c1-000001.tar"]
    with serve(root) as (url, _):
        spec = f"{url}/lav/train/c1/lav-train-c1-{{000000..000001}}.tar"
        batches = _batches("unused", shard_urls=spec)
    assert sorted(k for b in batches for k in b["key"]) == sorted(_tar_keys(tars[0]) | _tar_keys(tars[1]))


def test_pipe_and_file_urls_read_like_the_folder(root):
    want = _by_key(_batches(root))
    _same(_by_key(_batches(f"pipe:cat {shlex.quote(str(root))}/{{}}")), want)  # {} = the relative path
    _same(_by_key(_batches(f"file://{root}")), want)
    one = sorted(root.glob("lav/train/c2/*.tar"))[0]
    assert {k for b in _batches("unused", shard_urls=f"pipe:cat {shlex.quote(str(one))}") for k in b["key"]} \
        == _tar_keys(one)
    assert count_samples(LoaderConfig("unused", "lav", "train", shard_urls=str(one))) == 3  # from its stats


def test_training_config_as_the_train_loop_gives_it_works_on_a_url(root):
    with serve(root) as (url, _):
        config = LoaderConfig(root=url, dataset="lav", split="train", curricula=("c1",), batch_size=2,
                              shuffle_buffer=4, num_workers=0, seed=3, epochs=None, training=True,
                              drop_last=True, pin_memory=True)
        loader = iter(make_loader(config))
        batches = [next(loader) for _ in range(6)]  # c1 holds 5: runs across epoch ends
    assert all(b["spec"].shape == (2, 1, 512, 432) and b["image"].dtype == torch.float32 for b in batches)


def test_url_root_errors_are_one_clear_line(root, tmp_path):
    with serve(root) as (url, _):
        with pytest.raises(AvcurrError, match=r"cannot read shard index .*/lav/train/c7/_shards.json: HTTP 404"):
            make_loader(LoaderConfig(url, "lav", "train", curricula=("c7",)))
        with pytest.raises(AvcurrError, match=r"cannot read shard .*lav-train-c1-000009.tar.*HTTP 404"):
            _batches("unused", shard_urls=f"{url}/lav/train/c1/lav-train-c1-000009.tar")
    bad = tmp_path / "bad"
    (bad / "lav/train/c1").mkdir(parents=True)
    (bad / "lav/train/c1/_shards.json").write_text(json.dumps(
        {"__kind__": "wids-shard-index-v1", "shardlist": [{"url": "../../elsewhere.tar", "nsamples": 1}]}))
    with serve(bad) as (url, _):
        with pytest.raises(AvcurrError, match=r"bad shard name '\.\./\.\./elsewhere\.tar'"):
            make_loader(LoaderConfig(url, "lav", "train"))
    with pytest.raises(AvcurrError, match=r"cannot read shard pipe:false.*exited with status 1"):
        _batches("unused", shard_urls="pipe:false")
    with pytest.raises(AvcurrError, match=r"cannot count the samples of http://127\.0\.0\.1:9/x\.tar"):
        count_samples(LoaderConfig("unused", "lav", "train", shard_urls="http://127.0.0.1:9/x.tar"))
