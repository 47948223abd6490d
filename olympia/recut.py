"""Shorter sets cut from a clip at its annotated repetition boundaries (rep-diverse counting).

Fit3D's sets are nearly all 5 repetitions, so a model that always answers 5 scores an OBO of
~1 on them: the figure measures the prior, not counting. Cutting each annotated set at its rep
boundaries into sets of 2..8 consecutive repetitions gives clips whose true counts are spread
evenly, so OBO and MAE measure counting again.

A window of `reps` consecutive repetitions starting at rep `first` covers frames
[rep_bounds[first][0], rep_bounds[first + reps - 1][1]) of the clip: it starts where its first
rep starts and ends where its last rep ends (what the source annotated, nothing guessed).
Which windows are cut is deterministic:

- `per_count=None`: every window (R - n + 1 of them for each length n) — for training data;
- `per_count=k`: k windows of each length n, their first reps spread evenly over the R - n + 1
  possible ones, offset by a hash of the clip id (so not every clip's 2-rep window is its first
  two reps) — for evaluation, where each clip then contributes equally to each count.

Lengths run from `min_reps` to min(`max_reps`, R); the whole set (n = R) is one of the windows.
A re-cut clip keeps its parent's subject, split group and label, so it lands in the parent's
split; its id is `<parent id>:reps<first>-<first + n>` (reps numbered from 0, end exclusive).
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from olympia.schema import Clip, make_clip_id
from olympia.segment import check_rep_bounds

MIN_REPS, MAX_REPS = 2, 8    # the rep-diverse evaluation's range (issue #16)


@dataclass(frozen=True)
class RepWindow:
    first: int      # index of the window's first repetition in the parent clip
    reps: int       # repetitions in the window
    start: int      # first frame (in the parent clip)
    end: int        # one past the last frame

    def suffix(self) -> str:
        """The id part a re-cut clip appends to its parent's id."""
        return f"reps{self.first}-{self.first + self.reps}"


def _offset(key: str, reps: int) -> int:
    return int(hashlib.sha256(f"{key}:{reps}".encode()).hexdigest()[:8], 16)


def rep_windows(rep_bounds, n_frames: int, *, min_reps: int = MIN_REPS, max_reps: int = MAX_REPS,
                per_count: int | None = 1, key: str = "") -> list[RepWindow]:
    """The windows of consecutive repetitions to cut from a set with these rep bounds (see the
    module doc), ordered by length then first rep. No bounds (unknown) gives no window;
    invalid bounds raise ValueError (olympia.segment.check_rep_bounds)."""
    if min_reps < 1 or max_reps < min_reps:
        raise ValueError(f"need 1 <= min_reps <= max_reps, got {min_reps}..{max_reps}")
    if per_count is not None and per_count < 1:
        raise ValueError(f"per_count must be >= 1 or None (every window), got {per_count}")
    if isinstance(rep_bounds, np.ndarray) and rep_bounds.dtype == object:   # Parquet list column: array of pairs
        rep_bounds = [list(pair) for pair in rep_bounds]
    rb = check_rep_bounds(rep_bounds, n_frames)
    total = len(rb)
    out = []
    for n in range(min_reps, min(max_reps, total) + 1):
        n_starts = total - n + 1
        if per_count is None or per_count >= n_starts:
            firsts = range(n_starts)
        else:
            step = n_starts / per_count
            off = _offset(key, n) % n_starts
            firsts = sorted({(off + int(i * step)) % n_starts for i in range(per_count)})
        out += [RepWindow(f, n, int(rb[f, 0]), int(rb[f + n - 1, 1])) for f in firsts]
    return out


def recut_clip(clip: Clip, *, min_reps: int = MIN_REPS, max_reps: int = MAX_REPS,
               per_count: int | None = 1) -> list[Clip]:
    """The clips cut from `clip` at its rep boundaries (see the module doc); [] when the clip
    has no rep bounds. Each keeps the parent's subject, split group, label and provenance, and
    records where it came from in extra["recut_from"] / extra["recut_frames"]."""
    windows = rep_windows(clip.rep_bounds, clip.n_frames, min_reps=min_reps, max_reps=max_reps,
                          per_count=per_count, key=clip.id)
    rb = np.asarray(clip.rep_bounds, np.int64).reshape(-1, 2)
    conf = clip.frame_confidence
    return [dataclasses.replace(
        clip, id=window_clip_id(clip.id, w), reps=w.reps,
        keypoints=clip.keypoints[w.start:w.end], rep_bounds=rb[w.first:w.first + w.reps] - w.start,
        frame_confidence=None if conf is None else np.asarray(conf)[w.start:w.end],
        extra={**clip.extra, "recut_from": clip.id, "recut_frames": [w.start, w.end]})
        for w in windows]


def window_clip_id(parent_id: str, window: RepWindow) -> str:
    """The id of the clip cut from `parent_id` at `window` (what recut_clip gives it)."""
    return make_clip_id(*parent_id.split(":"), window.suffix())
