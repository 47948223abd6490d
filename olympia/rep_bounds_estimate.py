"""Rep bounds for a clip whose source gives only a count (issue "Real workout videos", item 5):
UI-PRMD, KIMORE, video clips. The counter's bounds where it counts as many reps; otherwise the
`reps` most prominent cycles of its counted signal, or equal parts (docs/counting.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from olympia.counting import count_reps
from olympia.periodicity import pose_features, repeat_strength
from olympia.rep_bounds import cover_clip, rest_band_bounds, start_pose_bounds
from olympia.rep_peaks import away_from_rest
from olympia.rep_signals import candidate_directions
from olympia.timebase import FPS


@dataclass(frozen=True)
class RepBoundsEstimate:
    """Rep bounds estimated for a clip whose source gives no per-rep segments (item 5)."""

    rep_bounds: np.ndarray    # (R, 2) int64 [start, end) frames of the clip
    confidence: np.ndarray    # (R,) in [0, 1]
    method: str               # "counter" (its count agreed or no count was given),
    #                           "forced" (R most prominent cycles), "even" (equal split), "none"

    @property
    def reps(self) -> int:
        return len(self.rep_bounds)


def estimate_rep_bounds(keypoints: np.ndarray, reps: int | None = None, fps: float = FPS,
                        cut_to_set: bool = False) -> RepBoundsEstimate:
    """Per-rep [start, end) frames for a clip of one set, estimated by the counter.

    reps=None: the counter's reps. A known count `reps` is kept: when the counter finds that
    many, its bounds are used; otherwise the `reps` most prominent cycles of the counted
    signal at period (set length / reps) are taken, and when even those are too few the set
    is split into `reps` equal parts. One rep spans the whole clip. `cut_to_set`: the source
    cut the clip at its annotated set (MM-Fit's labelled set frames, a cut Fit3D capture), so
    with a known count its reps cover it: the first starts at frame 0, the last ends at the
    clip's end (`cover_clip`); without it, idle frames before and after the set stay out of
    the reps (a whole video of one set). Bounds are always valid for
    `olympia.segment.check_rep_bounds(bounds, len(keypoints), reps)`."""
    n = len(keypoints)
    if reps is not None and (reps <= 0 or n == 0):
        return RepBoundsEstimate(np.zeros((0, 2), np.int64), np.zeros(0), "none")
    if reps == 1:   # the source cut the clip to one rep
        return RepBoundsEstimate(np.asarray([[0, n]], np.int64), np.ones(1), "forced")
    res = count_reps(keypoints, fps)
    if reps is None or res.count == reps:
        method = "counter" if res.count else "none"
        bounds = cover_clip(res.rep_bounds, n) if reps is not None and cut_to_set else res.rep_bounds
        return RepBoundsEstimate(bounds.copy(), res.confidence.copy(), method)
    x = pose_features(keypoints, fps)
    a, b = res.span if res.span and res.count else (0, n)
    if (b - a) < reps * 2:
        a, b = 0, n
    period = (b - a) / reps
    forced = _forced_bounds(x[a:b], reps, period, (a == 0, b == n))
    if forced is not None:
        bounds, conf = forced
        bounds = cover_clip(bounds + a, n) if cut_to_set else bounds + a
        return RepBoundsEstimate(bounds, conf, "forced")
    edges = np.rint(np.linspace(a, b, reps + 1)).astype(np.int64)
    bounds = np.stack([edges[:-1], edges[1:]], axis=1)
    return RepBoundsEstimate(cover_clip(bounds, n) if cut_to_set else bounds, np.full(reps, 0.25), "even")


def _forced_bounds(xs: np.ndarray, reps: int, period: float, clip_edges: tuple[bool, bool]):
    """The `reps` most prominent extremes (away from rest) of the counted signal, at least half
    a period apart, cut where the pose returns to the start pose (`start_pose_bounds`); None
    when there are fewer."""
    _, directions = candidate_directions(xs)
    signals = (xs - xs.mean(axis=0)) @ directions
    s = signals[:, int(np.argmax(repeat_strength(signals, period)[0]))]
    sign = away_from_rest(s, period)
    peaks, props = find_peaks(sign * s, distance=max(1, int(0.5 * period)), prominence=1e-9)
    if len(peaks) < reps:
        return None
    top = np.sort(peaks[np.argsort(props["prominences"])[::-1][:reps]])
    prom = props["prominences"][np.searchsorted(peaks, top)]
    if reps >= 2:
        bounds, closeness = start_pose_bounds(xs, top, period, clip_edges)
    else:
        bounds, closeness = rest_band_bounds(sign * s, top, period), 1.0
    return bounds, 0.5 * np.clip(prom / max(float(np.median(prom)), 1e-12), 0.0, 1.0) * closeness

