"""Test helpers for the loader: the wids shard index, a loopback HTTP server, edited shard copies.

`write_index` writes `c<k>/shards.json` in the pinned wids format (build-shards writes it in the
real pipeline; these tests must not depend on that). `serve` runs a real `http.server` in a
thread on 127.0.0.1 and records the paths asked for.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from avcurr.shards.layout import curricula_present, curriculum_dir, finished_shards, read_stats, stats_path


def write_index(root: Path, dataset: str, split: str) -> None:
    """`<root>/<dataset>/<split>/c<k>/shards.json` for every curriculum, finished shards only."""
    for curriculum in curricula_present(root, dataset, split):
        tars = finished_shards(root, dataset, split, [curriculum])
        index = {"__kind__": "wids-shard-index-v1", "wids_version": 1, "name": f"{dataset}-{split}-{curriculum}",
                 "shardlist": [{"url": t.name, "nsamples": read_stats(t)["n_samples"], "filesize": t.stat().st_size}
                               for t in tars]}
        (curriculum_dir(root, dataset, split, curriculum) / "shards.json").write_text(json.dumps(index))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        super().do_GET()


@contextmanager
def serve(folder: Path):
    """Serve `folder` over HTTP on loopback; yields (base URL, list of paths asked for)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    server.daemon_threads = True
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.asked
    finally:
        server.shutdown()
        server.server_close()


def copy_root(source: Path, target: Path) -> Path:
    """A private copy of a built shard root (tests edit it)."""
    shutil.copytree(source, target)
    return target


def members(tar: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(tar) as handle:
        return [(m.name, handle.extractfile(m).read()) for m in handle.getmembers() if m.isfile()]


def rewrite(tar: Path, edit=lambda name, data: data, tar_format: int = tarfile.USTAR_FORMAT,
            mtime: float = 0) -> None:
    """Write `tar` again with every member passed through `edit(name, data)` (keeps its stats)."""
    old = members(tar)
    with tarfile.open(tar, "w", format=tar_format) as out:
        for name, data in old:
            data = edit(name, data)
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            out.addfile(info, io.BytesIO(data))
    assert stats_path(tar).is_file()
