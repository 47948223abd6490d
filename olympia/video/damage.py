"""Where a video file is damaged: the frames the decoder could not decode cleanly.

A file with bytes overwritten or lost in the middle (a broken download, a bad disk, a copy
cut short and patched) still decodes to the end: ffmpeg conceals what it cannot read, prints
errors and exits 0. What it shows there is garbage: smeared, half-frozen pictures that the
pose model reads as a person in odd poses. Measured on a Fit3D warm-up (900x900, 50 fps, 5
reps) with 3,000 bytes overwritten in its middle third: 166 decoder errors between 2.86 and
5.26 s, the picture differing from the intact file's from 2.92 s to the end (8.2 s; the only
keyframe after the first error, at 5.0 s, was itself hit), and `count` said 2 reps without a
word.

Finding the frames, cheaply:

1. the decode that feeds the pose model (`ffmpeg_ops.iter_frames`) keeps ffmpeg's error lines
   (-loglevel error: nothing at all on an intact file; none of the 14 real videos under
   realdata/ prints one), so an intact file costs nothing more. Only when there are some,
2. `damaged_stretches` decodes the video stream again with ffprobe, which hands each decoded
   frame over with its timestamp, its keyframe flag and the log lines the decoder printed while
   making it (`-show_log`), and lists every packet: a packet no frame came out of was thrown
   away (a broken NAL unit gives no picture and no per-frame line). ffmpeg's own error lines
   carry no timestamp, and with frame threads several decoder copies print at once, so they
   cannot be placed. The second pass is one single-threaded decode (720p H.264: 346 frames in
   0.57-0.61 s on one core, about 2 ms a frame against about 25 ms for the pose model), paid by
   damaged files only.

A frame with an error damages the pictures predicted from it, up to the next keyframe. A
stretch therefore runs from an error to the first keyframe more than the decoder's reordering
delay after it (an error is told with the frame the decoder hands out next, which with B-frames
lies up to `has_b_frames` frames before the one being decoded). It starts that delay plus
EARLY_S before the error: the decoder can read damaged data for a few frames before it notices
(measured: up to 4 frames, 0.16 s, of visibly broken picture before the first error). On the
25 fps timeline of `ffmpeg_ops` (frame i covers [i/25, (i+1)/25) s of the stream), a stretch
[t0, t1) seconds is frames [floor(t0 x 25), ceil(t1 x 25)).

Measured (benchmarks/measure_decode_damage.py, docs/video.md): 59 damaged copies of 4 real
clips; in the 53 whose decode printed errors every frame whose picture differs from the intact
file's was found, the stretches starting 3-14 frames before the first one. Not found this way:
damage the decoder does not notice (4 of the 59 files; bytes changed inside the picture data
can decode into a plausible but wrong picture); the frozen-picture and camera-cut rules of
`olympia.pose.runs` catch some of that.
"""
from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass

import numpy as np

from olympia.timebase import FPS
from olympia.video.ffmpeg_ops import VideoInfo, ff_path

ERROR_LEVEL = 16        # AV_LOG_ERROR: the log lines that mean a frame was not decoded cleanly
EARLY_S = 0.24          # a stretch starts this much before its first error (see the module docstring)
RANGE_MARGIN_S = 1.0    # decoded beyond a range's end, to find the keyframe that ends a stretch


@dataclass
class DecodedStream:
    """What ffprobe's decode of a video stream tells about each frame."""

    frames: list[tuple[float, bool, int]]   # (time s, keyframe, error lines) per decoded frame
    lost: list[float]                       # times of packets that gave no frame
    origin: float                           # the stream's start time: frame 0 of the timeline
    reorder_s: float                        # the decoder's reordering delay (has_b_frames + 1 frames)


def decode_damage(src, info: VideoInfo, *, fps: float = FPS, start_frame: int = 0,
                  end_frame: int | None = None) -> np.ndarray | None:
    """(end - start,) bool: the frames [start_frame, end_frame) of the `fps` timeline that lie
    in a damaged stretch; None when ffprobe cannot tell (it failed on the file)."""
    end = info.frames_at(fps) if end_frame is None else end_frame
    stretches = damaged_stretches(src, info, fps=fps, start_frame=start_frame, end_frame=end)
    if stretches is None:
        return None
    damaged = np.zeros(end - start_frame, bool)
    for a, b in stretches:
        damaged[a - start_frame:b - start_frame] = True
    return damaged


def damaged_stretches(src, info: VideoInfo, *, fps: float = FPS, start_frame: int = 0,
                      end_frame: int | None = None) -> list[tuple[int, int]] | None:
    """[start, end) frames of the `fps` timeline where the file is damaged (see the module
    docstring), within [start_frame, end_frame); None when ffprobe fails on the file."""
    end = info.frames_at(fps) if end_frame is None else end_frame
    whole = start_frame == 0 and end >= info.frames_at(fps)
    stream = decode_stream(src, None if whole else (start_frame / fps, end / fps + RANGE_MARGIN_S))
    if stream is None:
        return None
    out: list[tuple[int, int]] = []
    for t0, t1 in stretches_in_seconds(stream, trust_from=None if whole else _first_key(stream)):
        a = max(math.floor((t0 - stream.origin) * fps), start_frame)
        b = end if math.isinf(t1) else min(math.ceil((t1 - stream.origin) * fps), end)
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def stretches_in_seconds(stream: DecodedStream, trust_from: float | None = None) -> list[tuple[float, float]]:
    """[t0, t1) seconds of the stream that are damaged: each frame with an error, and each lost
    one, damages from EARLY_S + the reordering delay before it to the first keyframe more than
    the reordering delay after it (t1 inf: none). trust_from: events before this time are left
    out (after a seek, the frames before the first keyframe lack their references)."""
    keys = sorted(t for t, key, _ in stream.frames if key)
    events = sorted([t for t, _, errors in stream.frames if errors] + stream.lost)
    out: list[tuple[float, float]] = []
    for t in events:
        if trust_from is not None and t < trust_from:
            continue
        later = [k for k in keys if k > t + stream.reorder_s]
        t0, t1 = t - stream.reorder_s - EARLY_S, (later[0] if later else math.inf)
        if out and t0 <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], t1))
        else:
            out.append((t0, t1))
    return out


def decode_stream(src, interval: tuple[float, float] | None = None) -> DecodedStream | None:
    """ffprobe's decode of the first video stream of `src` (only [t0, t1) seconds: from the
    keyframe before t0), or None when ffprobe fails."""
    argv = ["ffprobe", "-v", "quiet", "-select_streams", "v:0", "-show_log", str(ERROR_LEVEL),
            "-show_entries", "packet=pts_time:frame=best_effort_timestamp_time,pkt_dts_time,key_frame"
            ":log=level:stream=start_time,avg_frame_rate,r_frame_rate,has_b_frames", "-of", "json"]
    if interval is not None:
        argv += ["-read_intervals", f"{max(interval[0], 0.0):.6f}%{interval[1]:.6f}"]
    try:
        done = subprocess.run(argv + [ff_path(src)], capture_output=True, check=True,
                              stdin=subprocess.DEVNULL)
        report = json.loads(done.stdout or b"{}")
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None
    stream = (report.get("streams") or [{}])[0]
    rate = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate")) or FPS
    frames, packets, last = [], [], 0.0
    for entry in report.get("packets_and_frames", []):
        if entry.get("type") == "packet":
            t = _float(entry.get("pts_time"))
            packets += [] if t is None else [t]
            continue
        t = _float(entry.get("best_effort_timestamp_time"))
        t = _float(entry.get("pkt_dts_time")) if t is None else t
        last = t = last if t is None else t        # no timestamp at all: the frame before's
        errors = sum(1 for log in entry.get("logs", []) if int(log.get("level", 99)) <= ERROR_LEVEL)
        frames.append((t, bool(entry.get("key_frame")), errors))
    return DecodedStream(frames, lost_frames(packets, [t for t, _, _ in frames], 1 / rate),
                         _float(stream.get("start_time")) or 0.0,
                         (int(stream.get("has_b_frames") or 0) + 1) / rate)


def lost_frames(packets: list[float], frames: list[float], frame_s: float) -> list[float]:
    """Times of the packets no decoded frame lies within a quarter frame of: packets the
    decoder threw away (a broken NAL unit gives no picture and logs nothing per frame)."""
    if not frames:
        return sorted(packets)
    shown = np.sort(np.asarray(frames, np.float64))
    t = np.asarray(packets, np.float64)
    i = np.clip(np.searchsorted(shown, t), 1, len(shown) - 1) if len(shown) > 1 else np.zeros(len(t), int)
    nearest = np.minimum(np.abs(shown[i] - t), np.abs(shown[np.maximum(i - 1, 0)] - t))
    return [float(x) for x in t[nearest > frame_s / 4]]


def _first_key(stream: DecodedStream) -> float | None:
    keys = [t for t, key, _ in stream.frames if key]
    return min(keys) if keys else None


def _float(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _rate(text) -> float:
    try:
        num, _, den = str(text or "0").partition("/")
        return float(num) / float(den or 1) if float(den or 1) else 0.0
    except ValueError:
        return 0.0
