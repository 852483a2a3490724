"""Benchmark `avcurr fetch` on loopback, two tables:

bandwidth: bytes the host sends per clip, beside the whole video and the segment itself, against
a mirror that paces every connection to a link speed (5 MB/s by default) and lets its send buffer
grow as a real host's does; for `--cut copy`, for `--cut exact` as it was (ffmpeg encoding while
it reads from the host: `exact_strategy="stream"`) and as it is now (stream copy of the segment,
connection closed, then a local cut and encode), with the wall time of each (ratio to exact as it
was, measured in the same run, rounds interleaved).

workers: clips per second with 1, 2 and 4 workers (ratio to 1 worker, same run), with and without
host latency, and bytes per clip against the whole video.

Every clip goes through the real yt-dlp (generic extractor) and real ffmpeg against a Range-
honouring mirror (tests/http_mirror.py). Run: .venv/bin/python benchmarks/bench_fetch.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from http_mirror import Mirror, make_video  # noqa: E402

from avcurr.fetch import FetchConfig, FetchJob, run_fetch  # noqa: E402

MODES = (("copy", "copy", "local"), ("exact, before: encode while reading", "exact", "stream"),
         ("exact, now: copy, close, encode", "exact", "local"))


def _fetch(mirror: Mirror, data: bytes, out: Path, tag: str, clips: int, workers: int, start: float,
           length: float, behaviour: str = "ok", **config) -> tuple[float, float, float]:
    """Fetch `clips` copies of the video under fresh names; (seconds, bytes written, bytes delivered) per clip."""
    ytids = [f"{tag}{i:04d}".ljust(11, "x")[:11] for i in range(clips)]
    for ytid in ytids:
        mirror.add(f"{ytid}.mp4", data, behaviour)
    settings = dict(out=out, workers=workers, url_template=mirror.url_template, progress=False, timeout=10)
    t0 = time.perf_counter()
    summary = run_fetch([FetchJob(y, start, start + length) for y in ytids], FetchConfig(**{**settings, **config}))
    seconds = time.perf_counter() - t0
    if summary.ok != clips:
        raise SystemExit(f"benchmark run failed: {summary.by_reason}")
    mirror.wait_idle()  # a paced writer learns of a closed connection only at its next write
    written = sum(mirror.bytes_served.get(f"/{y}.mp4", 0) for y in ytids)
    delivered = sum(mirror.bytes_delivered.get(f"/{y}.mp4", 0) for y in ytids)
    return seconds, written / clips, delivered / clips


def segment_bytes(path: Path, start: float, end: float) -> int:
    """Bytes of every packet (all streams) whose timestamp falls in `[start, end)`: the segment's own size."""
    text = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=pts_time,size", "-of", "json",
                           str(path)], capture_output=True, check=True).stdout
    return sum(int(p["size"]) for p in json.loads(text)["packets"]
               if p.get("pts_time") not in (None, "N/A") and start <= float(p["pts_time"]) < end)


def bandwidth_table(args, tmp: Path) -> Table:
    data = make_video(tmp / "paced.mp4", args.video_seconds, size=args.width, height=args.height, fps=25,
                      preset="veryfast")
    start, end = args.start, args.start + args.length
    segment = segment_bytes(tmp / "paced.mp4", start, end)
    plan = [(workers, mode) for workers in args.workers for mode in MODES]
    results: dict[tuple, list[tuple[float, float, float]]] = {(w, m[0]): [] for w, m in plan}
    with Mirror(bytes_per_second=args.mbps * 1e6) as mirror:
        for repeat in range(args.repeats):
            shift = repeat % len(plan)
            for workers, (name, cut, strategy) in plan[shift:] + plan[:shift]:  # spread load drift
                tag = f"b{repeat}{workers}{cut[0]}{strategy[0]}"
                results[workers, name].append(_fetch(mirror, data, tmp / tag, tag, args.videos, workers, start,
                                                     args.length, cut=cut, exact_strategy=strategy))
    load = os.getloadavg()[0]
    table = Table(title=f"avcurr fetch: bytes per clip against a mirror paced at {args.mbps:g} MB/s per connection "
                        f"({args.videos} x {args.video_seconds:.0f} s {args.width}x{args.height} videos of "
                        f"{len(data) / 1e6:.2f} MB, the {start:g}-{end:g} s segment)")
    for column in ("what", "workers", "MB host wrote / clip", "x segment", "MB reached client / clip",
                   "x segment", "wall s (median)", "clips/s", "wall vs exact before"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_row("whole file", "", f"{len(data) / 1e6:.3f}", f"{len(data) / segment:.2f}x", "", "", "", "", "")
    table.add_row(f"segment ({start:g}-{end:g} s, packets)", "", f"{segment / 1e6:.3f}", "1.00x", "", "", "", "", "")
    for workers in args.workers:
        floor = statistics.median(r[0] for r in results[workers, MODES[1][0]])
        for name, _, _ in MODES:
            runs = results[workers, name]
            wall = statistics.median(r[0] for r in runs)
            written = statistics.mean(r[1] for r in runs)
            delivered = statistics.mean(r[2] for r in runs)
            table.add_row(name, str(workers), f"{written / 1e6:.3f}", f"{written / segment:.2f}x",
                          f"{delivered / 1e6:.3f}", f"{delivered / segment:.2f}x", f"{wall:.2f}",
                          f"{args.videos / wall:.2f}", f"{wall / floor:.2f}x")
    table.caption = (f"host wrote = bytes handed to the socket (its send buffer included: what a host may push "
                     f"while the client is not reading); reached the client = bytes the client's kernel "
                     f"acknowledged (TCP_INFO). Means over {args.repeats} interleaved rounds; load average "
                     f"{load:.1f} on {os.cpu_count()} CPUs at the end.")
    return table


def workers_table(args, tmp: Path) -> Table:
    with Mirror() as mirror:
        data = make_video(tmp / "source.mp4", args.video_seconds, size=320, fps=25)
        start = args.video_seconds / 2
        rows = []
        plan = [("exact", 0.0, w) for w in (1, 2, 4)] + [("copy", 0.0, w) for w in (1, 4)]
        plan += [("copy", args.latency, w) for w in (1, 2, 4)]
        for cut, latency, workers in plan:
            tag = f"{cut[0]}{int(latency * 1000)}l{workers}w"
            seconds, per_clip, _ = _fetch(mirror, data, tmp / tag, tag, args.clips, workers, start, 10.0,
                                          f"slow:{latency}" if latency else "ok", cut=cut)
            rows.append((cut, latency, workers, args.clips / seconds, per_clip))
    table = Table(title=f"avcurr fetch on loopback: {args.clips} clips of 10 s from a "
                        f"{args.video_seconds:.0f} s video ({len(data) / 1e6:.2f} MB, 320x320 25 fps)")
    for name in ("cut", "latency", "workers", "clips/s", "ratio vs 1 worker", "bytes sent per clip",
                 "of whole video"):
        table.add_column(name, justify="right")
    floor = {(cut, latency): rate for cut, latency, workers, rate, _ in rows if workers == 1}
    for cut, latency, workers, rate, per_clip in rows:
        table.add_row(cut, f"{latency:.1f} s", str(workers), f"{rate:.2f}", f"{rate / floor[cut, latency]:.2f}x",
                      f"{per_clip / 1e6:.3f} MB", f"{per_clip / len(data):.1%}")
    table.caption = ("unpaced mirror with a small send buffer; bytes sent = what the mirror wrote to sockets "
                     "(incl. yt-dlp's probe request and read-ahead that ffmpeg discards when it seeks); "
                     f"floor = 1 worker, same cut and latency; load average {os.getloadavg()[0]:.1f} at the end")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="bandwidth,workers", help="which tables: bandwidth, workers")
    parser.add_argument("--videos", type=int, default=8, help="bandwidth: clips per mode and round")
    parser.add_argument("--video-seconds", type=float, default=120.0, help="length of the served video")
    parser.add_argument("--width", type=int, default=640, help="bandwidth: video width")
    parser.add_argument("--height", type=int, default=360, help="bandwidth: video height")
    parser.add_argument("--start", type=float, default=50.0, help="bandwidth: segment start (s)")
    parser.add_argument("--length", type=float, default=10.0, help="bandwidth: segment length (s)")
    parser.add_argument("--mbps", type=float, default=5.0, help="bandwidth: MB/s per connection")
    parser.add_argument("--workers", type=lambda text: [int(w) for w in text.split(",")], default=[4, 1],
                        help="bandwidth: parallel downloads, one set of rows each (e.g. 4,1)")
    parser.add_argument("--repeats", type=int, default=3, help="bandwidth: interleaved rounds per mode")
    parser.add_argument("--clips", type=int, default=12, help="workers: clips per configuration")
    parser.add_argument("--latency", type=float, default=0.2,
                        help="workers: seconds the mirror waits before each answer in the latency rows (a far host)")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 150))  # the tables are wide; a pipe gets them whole
    tables = {t.strip() for t in args.tables.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        if "bandwidth" in tables:
            console.print(bandwidth_table(args, Path(tmp)))
        if "workers" in tables:
            console.print(workers_table(args, Path(tmp)))


if __name__ == "__main__":
    main()
