"""Test helpers for the loader: a loopback HTTP server and edited shard copies.

`serve` runs a real `http.server` in a thread on 127.0.0.1 and records the paths asked for.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from avcurr.shards.layout import stats_path


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
