"""Where shards come from: local paths, `file:`, `http(s)://` and `pipe:` URLs, opened as streams.

A shard root may be a folder or a URL. For URL roots the loader never lists a directory: it
reads each curriculum's `_shards.json` (the `wids` shard index) and joins the names it lists onto
the curriculum's URL. `pipe:` roots are a command whose last word gets the relative path appended
(`pipe:curl -s http://host/shards`), or that holds `{}` where the relative path goes
(`pipe:aws s3 cp s3://bucket/shards/{} -`).

Two choices differ from webdataset's own `gopen` on purpose:
- `pipe:` commands run without a shell (split with `shlex`; no `|`, `>` or `$VAR`): a URL that
  came from a config file or an index can never run a second command. Wrap a shell pipeline in
  a script and call that.
- `http(s)://` is read in this process with `urllib` (one request per shard, streamed), not with
  a `curl` subprocess per shard: no tool to install, errors come back as HTTP statuses, and no
  process start per shard (bench_loader.py measures the two side by side).
"""

from __future__ import annotations

import io
import re
import shlex
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from avcurr.errors import AvcurrError

HTTP_TIMEOUT_S = 60
_BUFFER = 1 << 20
# A name a shard index may list: a plain file name (no folders, no leading dot or dash).
_SHARD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*\.tar$")


def is_remote(root: str | Path) -> bool:
    """True for `http(s)://` and `pipe:` roots (no directory listing there); False for paths and
    `file:` URLs, which are read as folders."""
    return isinstance(root, str) and (root.startswith(("http://", "https://", "pipe:")))


def shard_root(root: str | Path) -> str | Path:
    """A shard root as a user gives it: URLs stay strings (a Path would fold `http://` into
    `http:/`), anything else becomes a Path."""
    if isinstance(root, str) and (is_remote(root) or root.startswith("file:")):
        return root
    return Path(root)


def local_path(root: str | Path) -> Path:
    """A local root as a Path (`file:///x` and `file:x` become `/x` and `x`)."""
    if isinstance(root, str) and root.startswith("file:"):
        parsed = urlparse(root)
        return Path(unquote(parsed.path if parsed.netloc in ("", "localhost") else f"//{parsed.netloc}{parsed.path}"))
    return Path(root)


def join(root: str, relative: str) -> str:
    """`relative` (a/b/c.tar) under a URL root: appended after a slash, or put where `{}` is in a
    `pipe:` root."""
    if root.startswith("pipe:") and "{}" in root:
        return root.replace("{}", relative)
    return f"{root.rstrip('/')}/{relative}"


def check_shard_name(name: object, where: str) -> str:
    """A shard name from an index, refused unless it is a plain `*.tar` file name: an index must
    not send the reader to `../elsewhere` or hand a command an option."""
    if not isinstance(name, str) or not _SHARD_NAME.match(name):
        raise AvcurrError(f"{where}: bad shard name {name!r} (expected a plain file name ending in .tar)")
    return name


class _Command(io.RawIOBase):
    """Read end of a command's stdout; a non-zero exit is an error when the stream ends or closes."""

    def __init__(self, command: str):
        import subprocess

        args = shlex.split(command)
        if not args:
            raise AvcurrError("empty pipe: command")
        self.command = command
        try:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise AvcurrError(f"cannot run pipe:{command}: {exc.strerror or exc}") from None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.proc.stdout.readinto(buffer)
        if n == 0:
            self._check(self.proc.wait())
        return n

    def _check(self, status: int) -> None:
        # 141 / -13: SIGPIPE because we stopped reading early, which is not the command's fault.
        if status not in (0, 141, -13):
            raise OSError(f"pipe:{self.command} exited with status {status}")

    def close(self) -> None:
        # Errors are raised where the output ends (readinto); closing early only stops the
        # command (SIGPIPE), which is no error of its own.
        if not self.closed:
            self.proc.stdout.close()
            if self.proc.poll() is None:
                self.proc.terminate()
            self.proc.wait()
            super().close()


def open_url(url: str | Path) -> BinaryIO:
    """A buffered binary stream of a local path, `file:`, `http(s)://` or `pipe:` URL."""
    if isinstance(url, Path) or not url.startswith(("http://", "https://", "pipe:")):
        return open(local_path(url), "rb", buffering=_BUFFER)
    if url.startswith("pipe:"):
        return io.BufferedReader(_Command(url[5:]), buffer_size=_BUFFER)
    try:
        response = urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S)  # noqa: S310 (http(s) only, checked above)
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        raise OSError(f"cannot reach {url}: {exc.reason}") from None
    return io.BufferedReader(response, buffer_size=_BUFFER)


def read_bytes(url: str | Path) -> bytes:
    """The whole content of a small file at `url` (a shard index)."""
    with open_url(url) as stream:
        return stream.read()
