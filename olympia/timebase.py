"""The project's one timebase: 25 fps, 0-based half-open frame intervals (method.md §5).

Every clip Olympia writes is sampled at `FPS`; every frame interval is [start, end) with 0 the
first frame. Sources at another rate are resampled here (`resample_to_fps`), and their frame
indices (rep boundaries, segment bounds) rescaled with the same mapping (`rescale_frames`), so
a boundary keeps pointing at the same instant. Label Studio's timeline (1-based, inclusive)
is converted at its edge with `ls_range_to_frames` / `frames_to_ls_range`.
"""
from __future__ import annotations

import math

import numpy as np

FPS = 25.0   # the project's frame rate: every stored clip, normalized video and frame index


def frame_to_seconds(frame: float, fps: float = FPS) -> float:
    """Start time of a frame: frame i covers [i / fps, (i + 1) / fps) seconds."""
    return float(frame) / fps


def seconds_to_frame(seconds: float, fps: float = FPS) -> int:
    """The frame whose start is nearest to `seconds` (a boundary in time -> a frame index)."""
    return int(round(float(seconds) * fps))


def duration_seconds(n_frames, fps: float = FPS):
    """Length in seconds of n_frames frames (a number, or an array/Series of them)."""
    return n_frames / fps


def resampled_length(n_src: int, src_fps: float, dst_fps: float = FPS) -> int:
    """Frames at dst_fps covering the same span [0, (n_src - 1) / src_fps] seconds."""
    if n_src < 1:
        return 0
    return int(math.floor((n_src - 1) * dst_fps / src_fps + 1e-9)) + 1


def resample_to_fps(keypoints: np.ndarray, src_fps: float, dst_fps: float = FPS) -> np.ndarray:
    """(T, ...) sampled at src_fps -> (T', ...) float32 at dst_fps, linear in time.

    Output frame k sits at time k / dst_fps; T' = floor((T - 1) · dst / src) + 1, so no frame
    is extrapolated. Source frame f maps to frame f · dst / src (see `rescale_frames`).
    """
    if not (src_fps > 0 and dst_fps > 0):
        raise ValueError(f"fps must be > 0, got source {src_fps}, target {dst_fps}")
    kp = np.asarray(keypoints)
    if abs(src_fps - dst_fps) < 1e-9:
        return kp.astype(np.float32)
    n = kp.shape[0]
    positions = np.arange(resampled_length(n, src_fps, dst_fps)) * (src_fps / dst_fps)
    return interpolate_frames(kp, positions)


def resample_to_length(keypoints: np.ndarray, n_out: int) -> np.ndarray:
    """(T, ...) -> (n_out, ...) float32 spanning the same time, linear (first and last kept)."""
    kp = np.asarray(keypoints)
    n = kp.shape[0]
    if n_out == n:
        return kp.astype(np.float32)
    positions = np.linspace(0.0, max(n - 1, 0), n_out)
    return interpolate_frames(kp, positions)


def interpolate_frames(keypoints: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, ...) at fractional frame positions (clamped to [0, T-1])."""
    kp = np.asarray(keypoints, dtype=np.float64)
    last = max(kp.shape[0] - 1, 0)
    positions = np.clip(np.asarray(positions, np.float64), 0, last)
    i0 = np.floor(positions).astype(np.int64)
    i1 = np.minimum(i0 + 1, last)
    w = (positions - i0).reshape((-1,) + (1,) * (kp.ndim - 1))
    return ((1 - w) * kp[i0] + w * kp[i1]).astype(np.float32)


def rescale_frames(frames, src_fps: float, dst_fps: float = FPS, n_dst: int | None = None) -> np.ndarray:
    """Source frame indices -> dst_fps indices with the mapping of `resample_to_fps`
    (f -> round(f · dst / src)), clipped to [0, n_dst] when n_dst is given."""
    out = np.rint(np.asarray(frames, dtype=np.float64) * (dst_fps / src_fps)).astype(np.int64)
    return np.clip(out, 0, n_dst) if n_dst is not None else out


def rescale_rep_bounds(rep_bounds, src_fps: float, n_dst: int, dst_fps: float = FPS) -> np.ndarray:
    """(R, 2) [start, end) source frames -> dst frames; ValueError if a rep collapses to nothing."""
    rb = np.asarray(rep_bounds, dtype=np.int64).reshape(-1, 2)
    out = rescale_frames(rb, src_fps, dst_fps, n_dst)
    if rb.size and (out[:, 0] >= out[:, 1]).any():
        i = int(np.argmax(out[:, 0] >= out[:, 1]))
        raise ValueError(f"rep {i} ({rb[i].tolist()} at {src_fps:g} fps) is shorter than one frame "
                         f"at {dst_fps:g} fps")
    return out


# Label Studio numbers video frames from 1, and a TimelineLabels range {"start": s, "end": e}
# includes both ends (a one-frame region has s == e). Olympia's [start, end) is [s - 1, e).
def ls_range_to_frames(start: int, end: int) -> tuple[int, int]:
    """Label Studio's 1-based inclusive range -> Olympia's 0-based half-open frames."""
    return start - 1, end


def frames_to_ls_range(start_frame: int, end_frame: int) -> dict:
    """Olympia's [start_frame, end_frame) -> Label Studio's {"start", "end"} (1-based, inclusive)."""
    return {"start": start_frame + 1, "end": end_frame}
