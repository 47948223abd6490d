"""Gaps in a keypoint sequence: frames with a missing joint, and the one way they are filled.

A frame is *missing* when any of its keypoints is NaN (no person detected, an untracked joint).
`fill_gaps` fills every run of missing frames of at most `max_gap` frames (None: every run):
   - inside the sequence: linear interpolation in time, per joint and axis, between the last
     present frame before the run and the first one after it;
   - at the start or end: the nearest present frame is held.
Longer runs stay missing. What a caller accepts is its policy (`GapPolicy`):
   - the pose path (docs/video.md): runs of at most 12 frames (0.48 s at 25 fps, shorter than
     one repetition, so filling cannot invent or erase a rep) and at most 20 % of frames filled;
   - the 3D adapters (docs/adapters.md): every run, as long as at most 20 % of frames are filled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from olympia.timebase import interpolate_frames


@dataclass(frozen=True)
class GapPolicy:
    max_gap: int | None = 12           # longest run of missing frames that is filled (None: any)
    max_filled_fraction: float = 0.2   # sequences with more filled frames are rejected


@dataclass
class GapFill:
    keypoints: np.ndarray      # (T, ...) float32, filled where possible
    filled: np.ndarray         # (T,) bool: frames that were filled
    missing: np.ndarray        # (T,) bool: frames still missing (runs longer than max_gap)

    @property
    def filled_fraction(self) -> float:
        return float(self.filled.mean()) if self.filled.size else 0.0

    @property
    def longest_unfilled_run(self) -> int:
        return max((e - s for s, e in missing_runs(self.missing)), default=0)


def missing_runs(missing: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True in a (T,) bool array."""
    m = np.concatenate([[False], np.asarray(missing, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2])]


def fill_gaps(keypoints: np.ndarray, max_gap: int | None = GapPolicy.max_gap) -> GapFill:
    """Fill the short gaps of a (T, ...) sequence by the rule in the module docstring."""
    kp = np.array(keypoints, dtype=np.float32, copy=True)
    missing = ~np.isfinite(kp).reshape(len(kp), -1).all(axis=1)
    filled = np.zeros(len(kp), bool)
    if missing.all():
        return GapFill(kp, filled, missing)
    for start, end in missing_runs(missing):
        filled[start:end] = max_gap is None or end - start <= max_gap
    if filled.any():
        present = np.flatnonzero(~missing)
        # a filled frame's position among the present frames: linear in time between its two
        # neighbours, clamped (the nearest one held) before the first and after the last
        position = np.interp(np.flatnonzero(filled), present, np.arange(len(present)))
        kp[filled] = interpolate_frames(kp[present], position)
    return GapFill(kp, filled, missing & ~filled)
