"""Motion image (method.md §6): a skeleton sequence as a 320 × T/2 × 3 image.

Rows are the five kinematic chains, each resampled to 64 evenly spaced points along the
chain (polyline parameterised by joint index, as the paper interpolates "between joints");
columns are time after a w=3 moving average and keeping frames 0, 2, 4, ...; channels are
x, y, z in metres.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from olympia.skeleton import KINEMATIC_CHAINS, N_JOINTS
from olympia.timebase import FPS, duration_seconds, resample_to_fps, resample_to_length, resampled_length

POINTS_PER_CHAIN = 64
IMAGE_ROWS = POINTS_PER_CHAIN * len(KINEMATIC_CHAINS)   # 320
PAD_HEIGHT, PAD_WIDTH = 384, 640                         # ViLT's largest image (method.md §6)
MAX_SECONDS = duration_seconds(PAD_WIDTH * 2)           # 51.2 s at 25 fps


@lru_cache(maxsize=None)
def chain_segments(points: int = POINTS_PER_CHAIN):
    """Per chain segment: (first row, last row + 1, joint a, joint b, fractions (rows,)).

    Point p of a chain with k joints sits at s = p * (k-1) / (points-1) along the polyline
    (in joint-index units): between joints floor(s) and floor(s)+1 with fraction s - floor(s).
    """
    segments = []
    for c, chain in enumerate(KINEMATIC_CHAINS):
        s = np.arange(points, dtype=np.float64) * (len(chain) - 1) / (points - 1)
        seg = np.minimum(np.floor(s).astype(int), len(chain) - 2)
        frac = (s - seg).astype(np.float32)
        for k in range(len(chain) - 1):
            rows = np.nonzero(seg == k)[0]
            segments.append((c * points + rows[0], c * points + rows[-1] + 1,
                             chain[k], chain[k + 1], frac[rows]))
    return tuple(segments)


@lru_cache(maxsize=None)
def chain_segment_weights(points: int = POINTS_PER_CHAIN):
    """Per chain segment: (first row, last row + 1, joint a, joint b, weights (rows, 2) float32)
    with weights [1 - fraction, fraction], so rows = weights @ [joint a; joint b]: one small
    matrix product per segment writes its rows in a single pass."""
    return tuple((r0, r1, a, b, np.stack([1 - frac, frac], axis=1).astype(np.float32))
                 for r0, r1, a, b, frac in chain_segments(points))


def smooth_and_downsample(keypoints: np.ndarray, step: int = 2) -> np.ndarray:
    """S'[t] = mean of frames t-1..t+1 that exist, kept at t = 0, step, 2*step, ...

    Computed only at the kept frames. Returns (ceil(T/step), 17, 3) float32.
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    if step != 2:
        return _smooth_general(kp, step)
    # kept frames are the even ones; their neighbours are the odd ones (strided views, no gather)
    even, odd = kp[0::2], kp[1::2]
    total = even.copy()                      # always a copy: the input must not change
    total[:len(odd)] += odd                  # frame t+1
    total[1:] += odd[:len(even) - 1]         # frame t-1
    count = np.full(len(even), 3.0, dtype=np.float32)
    count[0] -= 1                            # frame 0 has no t-1
    if len(odd) < len(even):
        count[-1] -= 1                       # odd T: the last kept frame has no t+1
    total /= count[:, None, None]
    return total


def _smooth_general(kp: np.ndarray, step: int) -> np.ndarray:
    t = kp.shape[0]
    keep = np.arange(0, t, step)
    total = kp[keep].copy()
    count = np.ones(len(keep), dtype=np.float32)
    prev, nxt = keep - 1, keep + 1
    has_prev, has_next = prev >= 0, nxt < t
    total[has_prev] += kp[prev[has_prev]]
    total[has_next] += kp[nxt[has_next]]
    count += has_prev.astype(np.float32) + has_next.astype(np.float32)
    total /= count[:, None, None]
    return total


def motion_image(keypoints: np.ndarray, fps: float = FPS, out: np.ndarray | None = None) -> np.ndarray:
    """(T, 17, 3) skeleton at 25 fps -> float32 (320, ceil(T/2), 3) motion image.

    `fps` other than 25 is resampled to 25 first (linear). `out` may be a preallocated
    (320, >= ceil(T/2), 3) float32 array (e.g. a slice of a padded batch buffer).
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"motion_image expects (T, {N_JOINTS}, 3) keypoints, got {kp.shape}")
    if kp.shape[0] < 1:
        raise ValueError("motion_image needs at least one frame")
    if abs(fps - FPS) > 1e-6:
        kp = resample_to_fps(kp, fps)
    joints = np.ascontiguousarray(smooth_and_downsample(kp).transpose(1, 0, 2))  # (17, W, 3)
    width = joints.shape[1]
    out = np.empty((IMAGE_ROWS, width, 3), dtype=np.float32) if out is None else out[:, :width]
    # Work on (rows, W*3) views: numpy's inner loops then run over W*3 values, not over 3.
    flat_joints = joints.reshape(N_JOINTS, width * 3)
    flat_out = out.reshape(IMAGE_ROWS, width * 3)
    copy_back = not np.shares_memory(flat_out, out)   # a caller's buffer whose rows can't be flattened
    for r0, r1, a, b, weights in chain_segment_weights():
        np.matmul(weights, flat_joints[[a, b]], out=flat_out[r0:r1])
    if copy_back:
        out[...] = flat_out.reshape(IMAGE_ROWS, width, 3)
    return out


def pad_motion_image(image: np.ndarray, height: int = PAD_HEIGHT, width: int = PAD_WIDTH):
    """Zero-pad (rows, cols, 3) to (height, width, 3) with a bool pixel mask (True = real).

    Rule for clips longer than 51.2 s (more than `width` columns), which the paper leaves
    open: the image is uniformly resampled in time to exactly `width` columns (linear), so
    the whole set stays visible; `was_resampled` reports it so callers can record it.
    Returns (padded, mask, was_resampled).
    """
    rows, cols = image.shape[:2]
    if rows > height:
        raise ValueError(f"image has {rows} rows, more than the padded height {height}")
    resampled = cols > width
    if resampled:
        image = resample_to_length(image.transpose(1, 0, 2), width).transpose(1, 0, 2)
        cols = width
    padded = np.zeros((height, width, 3), dtype=np.float32)
    padded[:rows, :cols] = image
    mask = np.zeros((height, width), dtype=bool)
    mask[:rows, :cols] = True
    return padded, mask, resampled


def padded_motion_image(keypoints: np.ndarray, fps: float = FPS, out: np.ndarray | None = None,
                        height: int = PAD_HEIGHT, width: int = PAD_WIDTH, zeroed_from: int | None = None):
    """`pad_motion_image(motion_image(keypoints, fps))` without the intermediate image.

    Writes straight into `out` (a reusable (height, width, 3) float32 buffer, e.g. one slot of
    a batch; its old content is overwritten) and returns (padded, mask, was_resampled).
    `zeroed_from`: the caller guarantees `out` is already zero in the padding rows and from this
    column on (e.g. the width of the clip the slot held before), so only the columns between
    this clip's width and it are cleared.
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    if out is None:
        out = np.empty((height, width, 3), dtype=np.float32)
    n_frames = kp.shape[0] if abs(fps - FPS) <= 1e-6 else resampled_length(kp.shape[0], fps)
    cols = math.ceil(n_frames / 2)
    if cols > width:                      # longer than 51.2 s: the resampling rule of pad_motion_image
        padded, mask, resampled = pad_motion_image(motion_image(kp, fps), height, width)
        out[...] = padded
        return out, mask, resampled
    image = motion_image(kp, fps, out=out[:IMAGE_ROWS])
    cols = image.shape[1]
    if zeroed_from is None:
        out[:IMAGE_ROWS, cols:] = 0
        out[IMAGE_ROWS:] = 0
    elif zeroed_from > cols:
        out[:IMAGE_ROWS, cols:zeroed_from] = 0
    return out, pixel_mask(cols, height, width), False


@lru_cache(maxsize=1024)
def pixel_mask(cols: int, height: int = PAD_HEIGHT, width: int = PAD_WIDTH) -> np.ndarray:
    """Read-only (height, width) bool mask, True on the first IMAGE_ROWS rows x `cols` columns
    (shared between calls: copy it before editing)."""
    mask = np.zeros((height, width), dtype=bool)
    mask[:IMAGE_ROWS, :cols] = True
    mask.flags.writeable = False
    return mask


def padded_width(n_frames: int) -> int:
    """Columns a clip of n_frames (25 fps) occupies in the padded image."""
    return min(math.ceil(n_frames / 2), PAD_WIDTH)
