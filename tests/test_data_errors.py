"""The loader's error policy (handler="raise" | "skip"), odd tars, and loaders that can never batch."""

from __future__ import annotations

import logging
import tarfile
import threading

import pytest
import torch

from avcurr.data import LoaderConfig, make_loader
from avcurr.errors import AvcurrError
from data_fixtures import copy_root, members, rewrite
from shards_fixtures import built_root

ALL = ("c1", "c2")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return built_root(tmp_path_factory)[0]


def _damaged(clean, tmp_path, edit, shard="c2"):
    """A copy of the root whose one c2 shard went through `edit`; (root, shard path, its keys)."""
    root = copy_root(clean, tmp_path / "shards")
    tar = sorted(root.glob(f"lav/train/{shard}/*.tar"))[0]
    keys = list(dict.fromkeys(name.partition(".")[0] for name, _ in members(tar)))  # in file order
    edit(tar, keys)
    return root, tar, keys


def _config(root, **kw):
    return LoaderConfig(root, "lav", "train", **({"curricula": ALL, "batch_size": 2, "training": False} | kw))


def _corrupt_jpeg(tar, keys):
    rewrite(tar, lambda name, data: data[:200] + b"\xff" * 400 if name == f"{keys[1]}.f1.jpg" else data)


def test_corrupt_jpeg_is_skipped_and_counted_or_raised_with_shard_and_key(clean, tmp_path, caplog):
    root, tar, keys = _damaged(clean, tmp_path, _corrupt_jpeg)
    with pytest.raises(AvcurrError, match=rf"^bad sample {keys[1]} in shard .*{tar.name}: "):
        list(make_loader(_config(root)))
    loader = make_loader(_config(root, handler="skip"))
    with caplog.at_level(logging.WARNING, logger="avcurr.data"):
        got = [k for batch in loader for k in batch["key"]]
    assert len(got) == 8 and keys[1] not in got and set(keys) - {keys[1]} <= set(got)
    assert loader.skipped == {str(tar): 1}
    assert any(keys[1] in r.getMessage() and tar.name in r.getMessage() for r in caplog.records)
    again = [k for batch in loader for k in batch["key"]]  # a second pass counts again
    assert again == got and loader.skipped == {str(tar): 2}


def test_bad_npy_in_a_worker_is_counted_on_the_main_loader(clean, tmp_path):
    root, tar, keys = _damaged(clean, tmp_path, lambda tar, keys: rewrite(
        tar, lambda name, data: b"not an npy file" if name == f"{keys[0]}.spec.npy" else data))
    loader = make_loader(_config(root, handler="skip", num_workers=2))
    got = [k for batch in loader for k in batch["key"]]
    assert len(got) == 8 and keys[0] not in got
    assert loader.skipped == {str(tar): 1}
    with pytest.raises(AvcurrError, match=rf"^bad sample {keys[0]} in shard .*{tar.name}: ValueError"):
        list(make_loader(_config(root, num_workers=2)))  # one line, not the worker's traceback


def test_truncated_tar_keeps_what_was_whole(clean, tmp_path):
    def truncate(tar, keys):
        with tarfile.open(tar) as handle:
            cut = handle.getmember(f"{keys[2]}.spec.npy").offset_data + 1000  # inside the third sample
        tar.write_bytes(tar.read_bytes()[:cut])

    root, tar, keys = _damaged(clean, tmp_path, truncate)
    with pytest.raises(AvcurrError, match=rf"^cannot read shard .*{tar.name} after member {keys[2]}.flac: ReadError"):
        list(make_loader(_config(root)))
    loader = make_loader(_config(root, handler="skip"))
    got = {k for batch in loader for k in batch["key"]}
    assert keys[0] in got and keys[1] in got and keys[2] not in got and len(got) == 8
    assert loader.skipped == {str(tar): 1}


def test_pax_tars_and_both_readers_give_the_same_batches(clean, tmp_path):
    root, tar, _ = _damaged(clean, tmp_path, lambda tar, keys: rewrite(tar, tar_format=tarfile.PAX_FORMAT,
                                                                       mtime=1.5))  # float mtime: PAX records
    with tarfile.open(tar) as handle:
        assert any(m.pax_headers for m in handle.getmembers())
    want = {k: (b["spec"][i], b["image"][i]) for b in make_loader(_config(clean)) for i, k in enumerate(b["key"])}
    for reader in ("ustar", "webdataset"):
        got = {k: (b["spec"][i], b["image"][i]) for b in make_loader(_config(root, tar_reader=reader))
               for i, k in enumerate(b["key"])}
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k][0], want[k][0]) and torch.equal(got[k][1], want[k][1]) for k in want)


def _first_batch_in_thread(loader, seconds=60):
    """next(iter(loader)) with a time limit: a hang fails the test instead of stopping the suite."""
    out: dict = {}

    def run():
        try:
            out["batch"] = next(iter(loader))
        except Exception as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the loader hung"
    return out


@pytest.mark.parametrize("workers", [0, 2])
def test_a_batch_that_can_never_be_formed_is_an_error_not_a_hang(clean, workers):
    loader = make_loader(LoaderConfig(clean, "lav", "train", curricula=ALL, batch_size=16, epochs=None,
                                      drop_last=True, num_workers=workers))
    out = _first_batch_in_thread(loader)
    assert isinstance(out.get("error"), AvcurrError)
    message = str(out["error"])
    assert "fewer than batch_size 16 with drop_last" in message and "Traceback" not in message


def test_bad_settings_are_clear_errors(clean):
    with pytest.raises(AvcurrError, match="bad handler 'ignore'"):
        make_loader(_config(clean, handler="ignore"))
    with pytest.raises(AvcurrError, match="bad tar_reader"):
        make_loader(_config(clean, tar_reader="zip"))
    with pytest.raises(AvcurrError, match="batch_size must be at least 1"):
        make_loader(_config(clean, batch_size=0))
