"""Detection gaps: frames where the pose backend found no person.

The rule (documented in docs/video.md, configurable through GapPolicy):

1. A frame is *missing* when any of its keypoints is NaN; its confidence is 0.
2. A run of missing frames of at most `max_gap` frames (default 12 = 0.48 s at 25 fps, shorter
   than one repetition, so filling cannot invent or erase a rep) is filled:
   - inside the clip: linear interpolation, per joint and axis, between the last detected
     frame before the run and the first detected frame after it;
   - at the start or end of the clip: the nearest detected frame is held.
3. Longer runs are not filled. A clip that still has missing frames, or whose filled fraction
   exceeds `max_filled_fraction` (default 0.2), is quarantined as `Rejected`.
4. The fraction of filled frames goes to `clip.gap_filled_fraction`; filled frames keep
   confidence 0 in `clip.frame_confidence`, so they stay identifiable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GapPolicy:
    max_gap: int = 12                  # longest run of missing frames that is filled
    max_filled_fraction: float = 0.2   # clips with more filled frames are rejected


@dataclass
class GapFill:
    keypoints: np.ndarray      # (T, 17, 3) float32, filled where possible
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


def fill_gaps(keypoints: np.ndarray, max_gap: int = GapPolicy.max_gap) -> GapFill:
    """Fill short detection gaps by the rule in the module docstring."""
    kp = np.array(keypoints, dtype=np.float32, copy=True)
    t = kp.shape[0]
    missing = ~np.isfinite(kp).all(axis=(1, 2))
    filled = np.zeros(t, bool)
    if missing.all():
        return GapFill(kp, filled, missing.copy())
    for start, end in missing_runs(missing):
        if end - start > max_gap:
            continue
        if start == 0:
            kp[start:end] = kp[end]
        elif end == t:
            kp[start:end] = kp[start - 1]
        else:
            w = (np.arange(start, end) - (start - 1)) / (end - (start - 1))
            kp[start:end] = (1 - w)[:, None, None] * kp[start - 1] + w[:, None, None] * kp[end]
        filled[start:end] = True
    return GapFill(kp, filled, missing & ~filled)
