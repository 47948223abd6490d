"""ffmpeg through ffmpeg-python: probe, normalize to constant 25 fps H.264, cut [start, end).

ffmpeg-python builds argv lists (never a shell string), so paths and values from users cannot
inject commands; every path reaches ffmpeg and ffprobe as `file:<absolute path>` (`ff_path`),
so a file named `-y.mp4` or `http:x.mp4` is a file, never an option or a protocol. Every write
goes through `olympia.io.atomic_path` (a temporary file beside the target, renamed into place)
and is checked before the rename (`check_output`: a video stream, the expected frame count), so
neither a crash nor a bad input ever leaves a broken video under the final name.

Frame indices are always frames of the *normalized* 25 fps timeline (method.md §5): frame i
covers [i/25, (i+1)/25) seconds of the source.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import ffmpeg
import numpy as np

from olympia.errors import VideoError
from olympia.io import atomic_path
from olympia.timebase import FPS, seconds_to_frame
MAX_HEIGHT = 720
FRAME_COUNT_TOLERANCE = 1  # a whole-file normalize may differ by one frame from duration x fps
X264_PRESET = "veryfast"   # normalization speed vs size; quality is set by CRF
X264_CRF = 18              # visually lossless for pose estimation and annotation
KEPT_ERROR_LINES = 100     # ffmpeg error lines kept from one decode (a damaged file prints thousands)


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe says about a file's first video stream."""

    path: str
    width: int          # stored (coded) width, before rotation
    height: int         # stored height, before rotation
    fps: float          # average frame rate (frames / duration)
    n_frames: int       # frames in the stream (counted by the container, or duration x fps)
    duration: float     # seconds
    rotation: int       # display rotation in degrees (0, 90, 180, 270) from metadata
    codec: str
    has_video: bool
    has_audio: bool
    variable_frame_rate: bool  # r_frame_rate != avg_frame_rate: timestamps are irregular

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, rotation applied."""
        return (self.height, self.width) if self.rotation % 180 == 90 else (self.width, self.height)

    def frames_at(self, fps: float = FPS) -> int:
        """Number of frames on a constant `fps` timeline covering the whole duration."""
        return seconds_to_frame(self.duration, fps)


def ff_path(path) -> str:
    """A path as ffmpeg/ffprobe must see it: `file:` + absolute path. A relative name starting
    with `-` would otherwise be read as an option, one holding `:` as a protocol."""
    return "file:" + os.path.abspath(os.fspath(path))


def _ffmpeg_error(path, action: str, exc: ffmpeg.Error) -> VideoError:
    err = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    tail = " | ".join(err[-3:]) if err else "no message"
    return VideoError(f"{path}: cannot {action} ({tail}); check that the file is a complete, "
                      "readable video (re-download or re-export it)")


def _fraction(text: str | None) -> float:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value) if value.denominator else 0.0


def _rotation(stream: dict) -> int:
    rot = stream.get("tags", {}).get("rotate")
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            rot = side["rotation"]
    try:
        return int(round(float(rot or 0))) % 360
    except ValueError:
        return 0


def probe(path) -> VideoInfo:
    """Read a video's stream facts. Raises VideoError for missing, unreadable or corrupt files
    and for a directory given as a video."""
    path = Path(path)
    if path.is_dir():
        raise VideoError(f"{path}: is a directory, not a video file; give the video files in it "
                         f"(e.g. {path / '*.mp4'})")
    if not path.exists():
        raise VideoError(f"{path}: no such file; check the path")
    if not path.is_file():
        raise VideoError(f"{path}: not a regular file (a device or a pipe); give a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: file is empty (0 bytes); re-download or re-export it")
    try:
        meta = ffmpeg.probe(ff_path(path), v="error")
    except ffmpeg.Error as exc:
        raise _ffmpeg_error(path, "probe", exc) from None
    streams = meta.get("streams", [])
    fmt = meta.get("format", {})
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if video is None:
        return VideoInfo(str(path), 0, 0, 0.0, 0, float(fmt.get("duration") or 0.0), 0,
                         "", False, has_audio, False)
    r_rate, avg_rate = _fraction(video.get("r_frame_rate")), _fraction(video.get("avg_frame_rate"))
    duration = float(video.get("duration") or fmt.get("duration") or 0.0)
    fps = avg_rate or r_rate
    n_frames = int(video.get("nb_frames") or 0) or int(round(duration * fps))
    vfr = bool(r_rate and avg_rate and abs(r_rate - avg_rate) > 1e-3 * max(r_rate, avg_rate))
    return VideoInfo(str(path), int(video.get("width") or 0), int(video.get("height") or 0),
                     float(fps), n_frames, duration, _rotation(video), video.get("codec_name", ""),
                     True, has_audio, vfr)


def require_video(path) -> VideoInfo:
    """probe(), then refuse files without a decodable video stream or without frames."""
    info = probe(path)
    if not info.has_video:
        what = "audio only" if info.has_audio else "no streams"
        raise VideoError(f"{path}: has no video stream ({what}); pass a video file")
    if info.n_frames < 1 or info.duration <= 0 or info.width <= 0:
        raise VideoError(f"{path}: video stream has no frames (zero-length); re-export it")
    return info


def _encode(stream, dst: Path, src, action: str, expected: int, tolerance: int = 0) -> Path:
    try:
        with atomic_path(dst) as tmp:   # the temporary name does not end in .mp4: say the format
            stream.output(ff_path(tmp), format="mp4", vcodec="libx264", preset=X264_PRESET,
                          crf=X264_CRF, pix_fmt="yuv420p", movflags="+faststart", an=None,
                          **{"fps_mode": "cfr", "map_metadata": -1}
                          ).overwrite_output().run(quiet=True)
            check_output(tmp, src, action, expected, tolerance)
    except ffmpeg.Error as exc:
        raise _ffmpeg_error(src, action, exc) from None
    return dst


def check_output(path, src, action: str, expected: int, tolerance: int = 0) -> VideoInfo:
    """Refuse an encoded file without a video stream or with a frame count other than
    `expected` (+- tolerance): a truncated or one-frame input must not pass as a good video."""
    info = probe(path) if Path(path).stat().st_size else None
    if info is None or not info.has_video or info.n_frames < 1:
        raise VideoError(f"{src}: {action} produced no video frames (expected {expected}); the input "
                         "is shorter than one frame at the target rate or unreadable: re-export it")
    if abs(info.n_frames - expected) > tolerance:
        raise VideoError(f"{src}: {action} produced {info.n_frames} frames, expected {expected} "
                         f"({expected / FPS:.2f} s at {FPS:g} fps); the input is probably truncated "
                         "or corrupt after its header: re-download or re-export it")
    return info


def _scale_filter(stream, info: VideoInfo, max_height: int | None):
    # Rotation is applied by ffmpeg's autorotate before this filter; the target size is the
    # display size scaled as frame_size() says, so normalize, cut and iter_frames agree.
    width, height = frame_size(info, max_height)
    return stream.filter("scale", width, height)


def normalize_video(src, dst, fps: float = FPS, max_height: int | None = MAX_HEIGHT,
                    start_frame: int | None = None, end_frame: int | None = None) -> Path:
    """Re-encode `src` as constant-`fps` H.264 mp4 (yuv420p, no audio), rotation applied and
    the rotation metadata cleared, shorter side at most `max_height` (see frame_size). Variable
    frame rate input is resampled onto the constant timeline (frames duplicated/dropped by
    timestamp). With
    start_frame/end_frame only frames [start, end) of that timeline are written (normalize and
    cut in one pass). Atomic: a failure leaves nothing under `dst`."""
    info = require_video(src)
    if start_frame is None and end_frame is None:
        stream = ffmpeg.input(ff_path(src)).video.filter("fps", fps=fps)
        return _encode(_scale_filter(stream, info, max_height), Path(dst), src, "normalize",
                       info.frames_at(fps), FRAME_COUNT_TOLERANCE)
    start = 0 if start_frame is None else start_frame
    end = info.frames_at(fps) if end_frame is None else end_frame
    return _render_range(src, info, dst, start, end, fps, max_height, "normalize")


def _render_range(src, info: VideoInfo, dst, start_frame: int, end_frame: int, fps: float,
                  max_height: int | None, action: str) -> Path:
    _check_range(info, src, start_frame, end_frame, fps)
    stream, offset = _segment_input(src, info, start_frame, fps)
    stream = stream.trim(start_frame=start_frame - offset, end_frame=end_frame - offset)
    stream = stream.setpts("PTS-STARTPTS")
    return _encode(_scale_filter(stream, info, max_height), Path(dst), src, action,
                   end_frame - start_frame)


def _check_range(info: VideoInfo, src, start_frame: int, end_frame: int, fps: float) -> int:
    total = info.frames_at(fps)
    if int(start_frame) != start_frame or int(end_frame) != end_frame:
        raise VideoError(f"{src}: start_frame/end_frame must be integers, got {start_frame}, {end_frame}")
    if start_frame < 0 or end_frame <= start_frame:
        raise VideoError(f"{src}: bad frame range [{start_frame}, {end_frame}); need "
                         "0 <= start_frame < end_frame")
    if end_frame > total:
        raise VideoError(f"{src}: frame range [{start_frame}, {end_frame}) lies outside the video "
                         f"({total} frames at {fps:g} fps = {info.duration:.2f} s); fix the timestamps")
    return total


def _segment_input(src, info: VideoInfo, start_frame: int, fps: float):
    """Input stream positioned near start_frame; returns (stream, offset) with offset the number
    of 25 fps frames skipped by seeking. Seeking is only used on constant-rate input at the
    target rate (normalized files); otherwise the whole file is decoded for exact indices."""
    cfr_at_target = (not info.variable_frame_rate) and abs(info.fps - fps) < 1e-3
    margin = int(2 * fps)
    if not cfr_at_target or start_frame <= margin:
        return ffmpeg.input(ff_path(src)).video.filter("fps", fps=fps), 0
    offset = start_frame - margin
    # Seek a quarter frame before `offset`: accurate seek drops every frame whose timestamp
    # lies before it, so the first frame out is exactly frame `offset`, and its timestamp
    # (+0.25 frame) is not a rounding tie for the fps filter.
    seek = (offset - 0.25) / fps
    return ffmpeg.input(ff_path(src), ss=f"{seek:.6f}").video.filter("fps", fps=fps), offset


def cut_clip(src, dst, start_frame: int, end_frame: int, fps: float = FPS,
             max_height: int | None = None) -> Path:
    """Cut frames [start_frame, end_frame) of the `fps` timeline of `src` into an H.264 mp4
    (full resolution unless max_height). Frame-accurate (re-encodes). Raises VideoError when
    the range lies outside the video."""
    info = require_video(src)
    return _render_range(src, info, dst, start_frame, end_frame, fps, max_height, "cut")


def iter_frames(src, *, fps: float = FPS, max_height: int | None = MAX_HEIGHT,
                start_frame: int = 0, end_frame: int | None = None,
                info: VideoInfo | None = None, errors: list[str] | None = None) -> Iterator[np.ndarray]:
    """Decode frames [start_frame, end_frame) of the constant-`fps` timeline as RGB uint8
    (H, W, 3) arrays, rotation applied, scaled down to `max_height`. No temporary files.
    `errors`: ffmpeg's error lines of a decode that went to the end are appended to it (up to
    KEPT_ERROR_LINES): a file damaged in the middle decodes with them and exits 0 (where it
    is damaged: olympia.video.damage); a decode that fails raises VideoError."""
    info = info or require_video(src)
    end = info.frames_at(fps) if end_frame is None else end_frame
    _check_range(info, src, start_frame, end, fps)
    width, height = frame_size(info, max_height)
    stream, offset = _segment_input(src, info, start_frame, fps)
    stream = stream.trim(start_frame=start_frame - offset, end_frame=end - offset)
    # area averaging: a proper downscale (no aliasing) at the cost of a plain bilinear one; the
    # default bicubic took 40% more decode time for frames the pose model shrinks again anyway
    stream = stream.setpts("PTS-STARTPTS").filter("scale", width, height, flags="area")
    # passthrough: the rawvideo muxer would otherwise pad with duplicated frames
    proc = (stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
            .global_args("-nostdin", "-loglevel", "error")
            .run_async(pipe_stdout=True, pipe_stderr=True))
    lines: list[str] = []
    reader = _drain_lines(proc.stderr, lines)
    frame_bytes = width * height * 3
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
    finally:
        proc.stdout.close()
        code = proc.wait()
        reader.join()
        proc.stderr.close()
    if code != 0:
        raise VideoError(f"{src}: decoding failed ({lines[-1] if lines else code}); "
                         "the file may be truncated or corrupt: re-download or re-export it")
    if errors is not None:
        errors += lines[:KEPT_ERROR_LINES]


def _drain_lines(pipe, lines: list[str]) -> threading.Thread:
    """Read a pipe to its end in a thread, keeping its first KEPT_ERROR_LINES lines and its
    last. Read only after the frames, ffmpeg's error lines filled the pipe (64 KiB, about 1,000
    lines of a badly damaged file) and it stopped while this process waited for its frames:
    measured, a hang."""
    def read():
        for raw in pipe:
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            if len(lines) > KEPT_ERROR_LINES:
                lines[-1] = line
            else:
                lines.append(line)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def frame_size(info: VideoInfo, max_height: int | None = MAX_HEIGHT) -> tuple[int, int]:
    """(width, height) of decoded frames: display orientation, scaled down so that the SHORTER
    side is at most max_height ("720p" for landscape and portrait alike: a 1080x1920 phone
    video becomes 720x1280), both sides even (yuv420p)."""
    w, h = info.display_size
    short = min(w, h)
    if max_height and short > max_height:
        w, h = int(round(w * max_height / short / 2)) * 2, int(round(h * max_height / short / 2)) * 2
    return max(2, w // 2 * 2), max(2, h // 2 * 2)
