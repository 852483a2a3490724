"""Pick the frames at given times from a video stream in one forward pass, decoding only the GOPs
that hold one.

Packets arrive in decode order. Those of the current GOP (from its keyframe on) are kept undecoded
until one of them reaches the next wanted time: only then is the GOP fed to the decoder, from its
keyframe (or from where decoding paused inside it). A GOP that holds no wanted time is dropped
without being decoded. So three times in one 10 s GOP cost one forward decode up to the last of
them (a per-frame seek would decode the GOP's start three times), and times in different GOPs cost
what a seek to each would, without the seeks. The frame taken for a time `t` is the first one shown
at or after `t`, as `ffmpeg -ss t -i ... -frames:v 1` takes it.
"""

from __future__ import annotations

import os
import threading

import av
import numpy as np
from av.video.reformatter import VideoReformatter

FRAME_SIZE = 256
_TOLERANCE = 5e-4  # frame times are rounded to the millisecond
_LOCAL = threading.local()


def scaled_rgb(frame: av.VideoFrame) -> np.ndarray:
    """256x256 RGB uint8, no crop, bicubic swscale (what the CLI's `scale=256:256:flags=bicubic` does).

    One reformatter per thread and process keeps its scaler between frames and clips:
    `frame.reformat` builds a new one per call, which costs 70 times the scaling itself (10 ms
    against 0.15 ms). It scales on the calling thread only (`threads=1`), and a forked worker makes
    its own: a scaler inherited through fork would wait forever for the parent's slice threads."""
    pid = os.getpid()
    if getattr(_LOCAL, "pid", None) != pid:
        _LOCAL.reformatter, _LOCAL.pid = VideoReformatter(), pid
    rgb = _LOCAL.reformatter.reformat(frame, width=FRAME_SIZE, height=FRAME_SIZE, format="rgb24",
                                      interpolation="BICUBIC", threads=1)
    return rgb.to_ndarray()


def _time(value, time_base) -> float | None:
    return None if value is None or time_base is None else float(value * time_base)


class FramePicker:
    """Feed it the video stream's packets in demux order (`add`), then `finish()` at the end of the
    stream; `frames[i]` is the scaled frame for `times[i]` (absolute stream times), None until found."""

    def __init__(self, stream: av.video.stream.VideoStream, times):
        self.stream = stream
        self.codec = stream.codec_context
        self.times = [float(t) for t in times]
        self.frames: list[np.ndarray | None] = [None] * len(self.times)
        self.errors: list[str] = []
        self._pending: list[av.Packet] = []  # current GOP's packets not yet fed to the decoder
        self._fed_since_flush = False         # the decoder holds state of the current GOP
        self._seen_keyframe = False

    @property
    def done(self) -> bool:
        return all(f is not None for f in self.frames)

    def _next_time(self) -> float | None:
        return next((t for t, f in zip(self.times, self.frames) if f is None), None)

    def _take(self, frame: av.VideoFrame) -> None:
        t = _time(frame.pts, frame.time_base)
        for i, want in enumerate(self.times):
            if self.frames[i] is None and (t is None or t >= want - _TOLERANCE):
                self.frames[i] = scaled_rgb(frame)  # later times that this frame also covers get it too

    def _feed(self, packet: av.Packet | None, before: float | None = None) -> None:
        """Decode one packet. A packet shown before the wanted time `before` can be no wanted frame:
        the decoder may skip it if no other frame refers to it (a B-frame), which saves up to half
        the decoding in a GOP with B-frames."""
        shown = None if packet is None else _time(packet.pts, packet.time_base)
        skip = "NONREF" if before is not None and shown is not None and shown < before - _TOLERANCE else "DEFAULT"
        if self.codec.skip_frame != skip:
            self.codec.skip_frame = skip
        try:
            frames = self.codec.decode(packet)
        except av.error.FFmpegError as exc:  # one broken packet is skipped, as the CLI does
            self.errors.append(str(exc))
            return
        self._fed_since_flush = True
        for frame in frames:
            if self.done:
                return
            self._take(frame)

    def _drop_gop(self) -> None:
        self._pending = []
        if self._fed_since_flush:
            self.codec.flush_buffers()  # the next GOP is decoded from its keyframe, as after a seek
            self._fed_since_flush = False

    def add(self, packet: av.Packet) -> None:
        """One packet of the stream, in demux order."""
        if self.done:
            return
        if packet.is_keyframe:
            self._seen_keyframe = True
            if self._pending:  # the previous GOP ends here and held no wanted time
                self._drop_gop()
        elif not self._seen_keyframe and not self._fed_since_flush:
            return  # before the first keyframe nothing can be decoded
        self._pending.append(packet)
        t = _time(packet.pts if packet.pts is not None else packet.dts, packet.time_base)
        want = self._next_time()
        if t is None or (want is not None and t >= want - _TOLERANCE):
            pending, self._pending = self._pending, []
            for p in pending:
                self._feed(p, before=want)
                if self.done:
                    return

    def finish(self) -> None:
        """End of stream: decode what is left where a time is still open, drain the decoder."""
        if self.done:
            return
        pending, self._pending = self._pending, []
        for p in pending:
            self._feed(p)
        if self._fed_since_flush:
            self._feed(None)
