"""Benchmark `avcurr fetch` on loopback: clips per second with 1, 2 and 4 workers (ratio to 1
worker, measured in the same run), and bytes the host sent per clip against the bytes of the
whole video (the segment-only saving).

Every clip goes through the real yt-dlp (generic extractor) and real ffmpeg against a Range-
honouring mirror (tests/http_mirror.py). Run: .venv/bin/python benchmarks/bench_fetch.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from http_mirror import Mirror, make_video  # noqa: E402

from avcurr.fetch import FetchConfig, FetchJob, run_fetch  # noqa: E402


def _run(mirror: Mirror, data: bytes, out: Path, tag: str, clips: int, workers: int, cut: str, start: float,
         latency: float):
    ytids = [f"{tag}{i:04d}".ljust(11, "x")[:11] for i in range(clips)]
    for ytid in ytids:
        mirror.add(f"{ytid}.mp4", data, f"slow:{latency}" if latency else "ok")
    before = {y: mirror.bytes_served.get(f"/{y}.mp4", 0) for y in ytids}
    config = FetchConfig(out=out, workers=workers, url_template=mirror.url_template, cut=cut, progress=False,
                         timeout=10)
    t0 = time.perf_counter()
    summary = run_fetch([FetchJob(y, start, start + 10.0) for y in ytids], config)
    seconds = time.perf_counter() - t0
    served = sum(mirror.bytes_served.get(f"/{y}.mp4", 0) - before[y] for y in ytids)
    if summary.ok != clips:
        raise SystemExit(f"benchmark run failed: {summary.by_reason}")
    return clips / seconds, served / clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12, help="clips per configuration")
    parser.add_argument("--video-seconds", type=float, default=120.0, help="length of the served video")
    parser.add_argument("--latency", type=float, default=0.2,
                        help="seconds the mirror waits before each answer in the latency rows (a far host)")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp, Mirror() as mirror:
        tmp = Path(tmp)
        data = make_video(tmp / "source.mp4", args.video_seconds, size=320, fps=25)
        start = args.video_seconds / 2
        rows = []
        plan = [("exact", 0.0, w) for w in (1, 2, 4)] + [("copy", 0.0, w) for w in (1, 4)]
        plan += [("copy", args.latency, w) for w in (1, 2, 4)]
        for cut, latency, workers in plan:
            tag = f"{cut[0]}{int(latency * 1000)}l{workers}w"
            rate, per_clip = _run(mirror, data, tmp / tag, tag, args.clips, workers, cut, start, latency)
            rows.append((cut, latency, workers, rate, per_clip))
    table = Table(title=f"avcurr fetch on loopback: {args.clips} clips of 10 s from a "
                        f"{args.video_seconds:.0f} s video ({len(data) / 1e6:.2f} MB, 320x240 25 fps)")
    for name in ("cut", "latency", "workers", "clips/s", "ratio vs 1 worker", "bytes sent per clip",
                 "of whole video"):
        table.add_column(name, justify="right")
    floor = {(cut, latency): rate for cut, latency, workers, rate, _ in rows if workers == 1}
    for cut, latency, workers, rate, per_clip in rows:
        table.add_row(cut, f"{latency:.1f} s", str(workers), f"{rate:.2f}", f"{rate / floor[cut, latency]:.2f}x",
                      f"{per_clip / 1e6:.3f} MB", f"{per_clip / len(data):.1%}")
    table.caption = ("bytes sent = what the mirror wrote to sockets (incl. yt-dlp's probe request and "
                     "read-ahead that ffmpeg discards when it seeks); floor = 1 worker, same cut and latency")
    console.print(table)


if __name__ == "__main__":
    main()
