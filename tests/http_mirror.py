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

`Mirror(bytes_per_second=R)` paces every connection's writes to R bytes/s, as a host behind a
link of that speed, and leaves the kernel's send buffer to grow as a real host's does. A client
that reads slower than R lets the host fill the TCP buffers with bytes it may never use.
`bytes_served` counts what the host wrote (send buffer included); `bytes_delivered` (paced mode
only) what reached the client's side, read or not: the bytes its kernel acknowledged (Linux
TCP_INFO `tcpi_bytes_acked`, still readable after the client reset the connection).
"""

from __future__ import annotations

import re
import socket
import struct
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

    def __init__(self, content_type: str = "video/mp4", bytes_per_second: float | None = None) -> None:
        self.content_type = content_type
        self.bytes_per_second = bytes_per_second
        self.entries: dict[str, _Entry] = {}
        self.bytes_served: dict[str, int] = defaultdict(int)
        self.bytes_delivered: dict[str, int] = defaultdict(int)
        self.sending = 0  # responses whose body is being written right now
        self.responses: list[tuple[str, str, int, int]] = []  # (path, range header, written, delivered)
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

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no response is being written: a client's close reaches a paced writer only
        at its next write, and its counts are final only then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.sending:
                    return
            time.sleep(0.01)

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
            if not mirror.bytes_per_second:
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
            rate = mirror.bytes_per_second
            step = 16384 if rate else 65536  # paced: small writes, so the pace holds at any moment
            began = time.monotonic()
            written = 0
            acked_before = _bytes_acked(self.request) if rate else 0
            with mirror.lock:
                mirror.sending += 1
            try:
                for offset in range(0, len(view), step):
                    if rate:
                        ahead = began + offset / rate - time.monotonic()
                        if ahead > 0:
                            time.sleep(ahead)
                    piece = view[offset:offset + step]
                    self.wfile.write(piece)
                    written += len(piece)
                    with mirror.lock:
                        mirror.bytes_served[path_key] += len(piece)
                if rate:  # all written: give the client a moment to take the rest
                    deadline = time.monotonic() + 1.0
                    while (_bytes_acked(self.request) - acked_before < written and time.monotonic() < deadline
                           and not mirror.closing.is_set()):
                        time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client seeked away; normal for ffmpeg
            finally:
                delivered = min(written, _bytes_acked(self.request) - acked_before) if rate else 0
                with mirror.lock:
                    mirror.sending -= 1
                    mirror.bytes_delivered[path_key] += delivered
                    mirror.responses.append((path_key, self.headers.get("Range", ""), written, delivered))

    return Handler


def _bytes_acked(sock: socket.socket) -> int:
    """Bytes the peer's kernel has acknowledged on `sock` so far (Linux `struct tcp_info`)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("Q", info, _TCPI_BYTES_ACKED)[0]


_TCPI_BYTES_ACKED = 120  # offset of tcpi_bytes_acked (u64) in Linux's struct tcp_info, since 4.1


def make_video(path, seconds: float, size: int = 96, fps: int = 4, tone: int = 440, height: int | None = None,
               preset: str = "ultrafast") -> bytes:
    """A small H.264/AAC mp4 (moov at the front, a keyframe every second) made by ffmpeg lavfi;
    returns its bytes. Real hosts put the index first too, which is what makes seeking cheap.
    `size` x `height` pixels (square if no height); a slower `preset` gives smaller files."""
    import subprocess

    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}x{height or size}:rate={fps}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=22050:duration={seconds}",
         "-c:v", "libx264", "-preset", preset, "-g", str(fps), "-c:a", "aac", "-b:a", "32k",
         "-movflags", "+faststart", "-shortest", str(path)],
        check=True, capture_output=True)
    with open(path, "rb") as handle:
        return handle.read()
