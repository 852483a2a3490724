"""A loopback media mirror for fetch tests: honours HTTP Range requests (206, Content-Range,
Accept-Ranges) as real video hosts do, counts the bytes it serves, and misbehaves per path on
purpose so the downloader's error handling meets real sockets, not mocks.

Behaviours (set per path with `Mirror.add(name, data, behaviour)`):
  "ok"                 serve normally
  "404"                always 404 Not Found
  "429:N"              the first N requests get 429 Too Many Requests, then normal
  "truncate:F"         announce the full length but close the connection after byte F*size
  "stall:S"            wait S seconds (or until shutdown) before answering anything
  "slow:S"             wait S seconds before each answer, then serve normally
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class _Entry:
    data: bytes
    behaviour: str
    requests: int = 0


class Mirror:
    """A threaded HTTP server on 127.0.0.1 (random port) serving in-memory media files."""

    def __init__(self, content_type: str = "video/mp4") -> None:
        self.content_type = content_type
        self.entries: dict[str, _Entry] = {}
        self.bytes_served: dict[str, int] = defaultdict(int)
        self.log: list[tuple[str, str, int]] = []  # (path, range header, status)
        self.times: list[float] = []  # monotonic arrival time of each logged request
        self.cookies: list[tuple[str, str, str]] = []  # (path, range header, Cookie header)
        self.proxied: list[str] = []  # paths asked for in proxy form (absolute URL)
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url_template(self) -> str:
        """`http://127.0.0.1:PORT/{ytid}.mp4`, the form `avcurr fetch --url-template` takes."""
        return f"http://127.0.0.1:{self.port}/{{ytid}}.mp4"

    def add(self, name: str, data: bytes, behaviour: str = "ok") -> None:
        with self.lock:
            self.entries[f"/{name}"] = _Entry(data, behaviour)

    def requests_for(self, name: str) -> int:
        with self.lock:
            return sum(1 for path, _, _ in self.log if path == f"/{name}")

    def __enter__(self) -> "Mirror":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive byte positions, or None for the whole file; ValueError if unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # unknown units or a multi-range: RFC 9110 lets us ignore it
    if not m.group(1):  # suffix form: the last N bytes
        n = int(m.group(2))
        return max(0, size - n), size - 1
    first = int(m.group(1))
    last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if first >= size or last < first:
        raise ValueError(header)
    return first, last


def _make_handler(mirror: Mirror):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            # A small send buffer so that bytes a client never reads (yt-dlp's probe request
            # closes after the headers) are not silently swallowed by the kernel and counted.
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
            super().setup()

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _status_only(self, code: int, extra: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _serve(self, body: bool) -> None:
            # A proxy request names the whole URL ("GET http://host/x.mp4"): serve it as "/x.mp4",
            # so the mirror doubles as an HTTP proxy for --proxy tests.
            path = re.sub(r"^https?://[^/]+", "", self.path).split("?", 1)[0]
            self.proxied = self.path != path and not self.path.startswith("/")
            with mirror.lock:
                entry = mirror.entries.get(path)
                if entry is not None:
                    entry.requests += 1
                    count = entry.requests
            with mirror.lock:  # logged on arrival, so a stalled request is seen while it hangs
                slot = len(mirror.log)
                mirror.log.append((path, self.headers.get("Range", ""), 0))
                mirror.times.append(time.monotonic())
                mirror.cookies.append((path, self.headers.get("Range", ""), self.headers.get("Cookie", "")))
                if self.proxied:
                    mirror.proxied.append(path)
            kind, _, arg = (entry.behaviour if entry else "404").partition(":")
            code = self._answer(entry, kind, arg, count if entry else 0, body)
            with mirror.lock:
                mirror.log[slot] = (path, self.headers.get("Range", ""), code)

        def _answer(self, entry: _Entry | None, kind: str, arg: str, count: int, body: bool) -> int:
            if kind in ("stall", "slow"):
                mirror.closing.wait(float(arg))
                if kind == "stall":
                    self.close_connection = True
                    return 0
            if entry is None or kind == "404":
                self._status_only(404)
                return 404
            if kind == "429" and count <= int(arg):
                self._status_only(429, {"Retry-After": "1"})
                return 429
            size = len(entry.data)
            try:
                span = _parse_range(self.headers.get("Range"), size)
            except ValueError:
                self._status_only(416, {"Content-Range": f"bytes */{size}"})
                return 416
            first, last = span if span else (0, size - 1)
            code = 206 if span else 200
            self.send_response(code)
            self.send_header("Content-Type", mirror.content_type)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(last - first + 1))
            if span:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            if not body:
                return code
            stop = last + 1
            if kind == "truncate":
                stop = min(stop, max(first, int(float(arg) * size)))
                self.close_connection = True
            self._write(path_key=re.sub(r"^https?://[^/]+", "", self.path).split("?", 1)[0],
                        chunk=entry.data[first:stop])
            return code

        def _write(self, path_key: str, chunk: bytes) -> None:
            view = memoryview(chunk)
            try:
                for offset in range(0, len(view), 65536):
                    piece = view[offset:offset + 65536]
                    self.wfile.write(piece)
                    with mirror.lock:
                        mirror.bytes_served[path_key] += len(piece)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client seeked away; normal for ffmpeg

    return Handler


def make_video(path, seconds: float, size: int = 96, fps: int = 4, tone: int = 440) -> bytes:
    """A small H.264/AAC mp4 (moov at the front, a keyframe every second) made by ffmpeg lavfi;
    returns its bytes. Real hosts put the index first too, which is what makes seeking cheap."""
    import subprocess

    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}x{size}:rate={fps}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=22050:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", str(fps), "-c:a", "aac", "-b:a", "32k",
         "-movflags", "+faststart", "-shortest", str(path)],
        check=True, capture_output=True)
    with open(path, "rb") as handle:
        return handle.read()
