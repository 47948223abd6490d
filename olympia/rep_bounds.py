"""Where each repetition starts and ends, once the reps are counted (olympia.counting).

Two rules, both training-free (docs/counting.md, "Rep boundaries"):
- `start_pose_bounds`: reps are cut where the pose comes back to the pose the set starts and
  ends in — the convention of Fit3D's annotators;
- `rest_band_bounds`: on one signal, reps are cut in the middle of the rest between two peaks
  (for sets too short for a start-pose template).
"""
from __future__ import annotations

import numpy as np

REST_BAND = 0.1           # the signal rests between reps within this fraction of a rep's rise
EDGE_FRACTION = 0.15      # the set's edges: its first and last this many periods
START_POSE_BAND = 0.3     # a rep boundary: the middle of the frames this close to the start pose
#                           (fraction of the distance's range over the set)
SET_EDGE_BAND = 0.2       # the same at the set's first start and last end (narrower: getting into
#                           position passes near the start pose without holding it)
SET_EDGE_LEAD = 0.12      # the first rep starts this many periods before the pose leaves that band
#                           (the last ends as long after it reaches it): Fit3D's annotators lead the
#                           counter's band by a median 0.13-0.14 periods, cut and uncut (docs/counting.md)
BOUND_REACH = 0.35        # a boundary is searched within this many periods of where it is expected
BOUND_REFINEMENTS = 2     # times the start pose is re-estimated from the boundaries found
MIN_INNER_REP = 0.2       # a rep between two others spans at least this many periods (Fit3D's
#                           counted reps: 0.24 or more, a compound one; see `_no_sliver_reps`)
PASSING_REST = 0.2        # a rest between reps shorter than this many periods is a pass through
#                           the start pose, not a hold: cut where the pose leaves it (its last frame)
DISTINCT_MARGIN = 0.25    # a rep's middle: its frames this many periods inside its bounds ...
DISTINCT_BAND = 0.25      # ... stay farther from the start pose than its bounds by this fraction of the
#                           distance's range: distinct bounds (confidence factor 1) ...
AMBIGUOUS_BOUNDS = 0.5    # ... or come as close: ambiguous bounds, maybe half a rep off (factor 0.5)
SPAN_OVERSHOOT = 0.3      # a set's span ending inside the clip reaches this many periods past the
#                           set (the period scan's windows run past its last rep: median 0.31 at the
#                           start, 0.31 at the end over 147 uncut Fit3D captures, IQR 0.19-0.42)
TIMING_WEIGHT = 0.5       # the start pose's phase: a cycle's timing error costs this much of the
#                           pose distance's range (see `start_pose_phase`)
REST_AROUND_WEIGHT = 2.0  # ... and, for a set with rest on both sides in the clip, how far the frames
#                           just before its first rep and after its last lie from the phase's pose
#                           costs twice as much (see `rest_around_cost`)


def rest_band_bounds(s: np.ndarray, peaks: np.ndarray, period: float) -> np.ndarray:
    """[start, end) per rep, cut where the signal rests between reps: the frames within
    REST_BAND of the cycle's range above the trough between two peaks, cut in their middle; the
    first rep starts where the signal leaves the rest before its peak (searched one period
    back) or, with 3 or more reps, as far before its peak as the reps between start before
    theirs, if that is earlier (the same for the last rep's end)."""
    if not len(peaks):
        return np.zeros((0, 2), np.int64)
    reach = int(round(period))
    band = REST_BAND * float(np.median(s[peaks]) - np.min(s)) if len(s) else 0.0
    edges = [(max(0, int(peaks[0]) - reach), int(peaks[0]) + 1, "onset")]
    edges += [(int(p), int(q) + 1, "middle") for p, q in zip(peaks[:-1], peaks[1:])]
    edges.append((int(peaks[-1]), min(len(s), int(peaks[-1]) + reach + 1), "return"))
    cuts = []
    for lo, hi, where in edges:
        seg = s[lo:hi]
        m = int(np.argmin(seg))
        low = seg <= seg[m] + band
        first, last = m, m
        while first > 0 and low[first - 1]:
            first -= 1
        while last < len(seg) - 1 and low[last + 1]:
            last += 1
        cuts.append(lo + {"onset": last, "middle": (first + last) // 2, "return": first + 1}[where])
    cuts = np.asarray(cuts, np.int64)
    if len(peaks) >= 3:   # the first and last reps rise and fall like the reps between them
        rise = int(np.median(peaks[1:] - cuts[1:-1]))
        fall = int(np.median(cuts[1:-1] - peaks[:-1]))
        cuts[0] = max(0, min(cuts[0], int(peaks[0]) - rise))
        cuts[-1] = min(len(s), max(cuts[-1], int(peaks[-1]) + fall))
    cuts[-1] = min(max(cuts[-1], peaks[-1] + 1), len(s))
    bounds = np.stack([cuts[:-1], cuts[1:]], axis=1)
    bounds[:, 1] = np.maximum(bounds[:, 1], bounds[:, 0] + 1)
    return bounds


def start_pose_bounds(xs: np.ndarray, peaks: np.ndarray, period: float,
                      clip_edges: tuple[bool, bool] = (False, False)) -> tuple[np.ndarray, np.ndarray]:
    """([start, end) per rep, how close each rep's bounds come to the start pose) for features
    xs (the set's frames) with >= 2 rep peaks: the reps are cut where the pose comes back to the
    pose the set starts and ends in (the convention of Fit3D's annotators, docs/counting.md:
    93% of their boundaries between reps within 0.3 s when that pose is taken from them).
    `clip_edges`: whether xs starts (ends) at the clip's first (last) frame.

    The start pose: the phase of the rep cycle (the median pose `delta` frames after each rep's
    peak) closest to the mean of the poses at the set's edges and to the phase where the set
    starts and ends (`start_pose_phase`). A single frame is a noisy
    template; the cycle's median averages every rep. Around each place the start pose recurs
    (within BOUND_REACH periods) the frames within START_POSE_BAND of the distance's range of
    their closest approach are the rest: a boundary is its middle. The template is then
    re-estimated as the median pose at those boundaries (BOUND_REFINEMENTS times). A rest
    shorter than PASSING_REST periods is a pass through the start pose, not a hold: its
    boundary is its last frame, where the pose leaves the start pose. The first
    rep starts SET_EDGE_LEAD periods before the pose leaves the start pose (within SET_EDGE_BAND
    of it), the last ends as long after it reaches it, within the rest around the set.
    Closeness per rep: 1 - the mean distance of its start and end poses from the start pose,
    relative to the distance's range (1: both bounds in the start pose), times
    `distinct_bounds` (0.5 when the rep's middle comes as close to the start pose as its
    bounds). It scales the rep's confidence: a rep that never comes back to the start pose, or
    comes back to it twice, has uncertain bounds."""
    n = len(xs)
    length = max(2, min(round(period), n - int(peaks[0])))
    cycle = _rep_cycle(xs, peaks, length)
    phase = start_pose_phase(xs, cycle, peaks, period, clip_edges)
    template = cycle[phase]
    centres = np.concatenate([[peaks[0] + phase - period], peaks + phase]).astype(float)
    reach = BOUND_REACH * period
    for _ in range(BOUND_REFINEMENTS + 1):
        d = np.linalg.norm(xs - template, axis=1)
        scale = float(np.percentile(d, 95) - d.min())
        rests = [_rest_run(d, c, reach, START_POSE_BAND * scale) for c in centres[1:-1]]
        inner = np.array([(f + l) // 2 for f, l in rests], np.int64)
        if len(inner):
            template = np.median(xs[inner], axis=0)
            centres[1:-1] = inner
    # a pass is cut where it ends, a hold in its middle (Fit3D's annotators, docs/counting.md)
    inner = np.array([l if l - f + 1 < PASSING_REST * period else c for (f, l), c in zip(rests, inner)],
                     np.int64)
    lead = SET_EDGE_LEAD * period
    f, l = _rest_run(d, centres[0], reach, SET_EDGE_BAND * scale)
    first = max(f, l - lead)
    f, l = _rest_run(d, centres[-1], reach, SET_EDGE_BAND * scale)
    last = min(l + 1, f + lead + 1)
    cuts = np.rint(np.concatenate([[first], inner, [last]])).astype(np.int64)
    # each rep holds its peak: the start pose may lie anywhere in the cycle, but a boundary
    # between two reps lies between their peaks (a span ending right after its last peak
    # would otherwise push the last boundaries together)
    cuts[0] = min(cuts[0], peaks[0])
    cuts[1:-1] = np.clip(cuts[1:-1], peaks[:-1] + 1, peaks[1:])
    cuts[-1] = max(cuts[-1], peaks[-1] + 1)
    cuts = _no_sliver_reps(cuts, peaks, period)
    bounds = _increasing_bounds(cuts, n)
    at_bounds = d[np.minimum(bounds, n - 1)].mean(axis=1)   # an end frame is exclusive: its pose is the next rep's
    closeness = np.clip(1.0 - at_bounds / max(scale, 1e-12), 0.0, 1.0)
    return bounds, closeness * distinct_bounds(d, bounds, period, scale)


def start_pose_phase(xs: np.ndarray, cycle: np.ndarray, peaks: np.ndarray, period: float,
                     clip_edges: tuple[bool, bool]) -> int:
    """Frames after a rep's peak at which the rep cycle passes the start pose: the phase
    minimising the distance of the cycle's pose from the mean pose at the set's edges (0 to 1
    over the cycle: the clip's first (last) frame where the set starts (ends) there, a set cut
    at its start begins in the start pose; else the median over the set's first (last)
    EDGE_FRACTION periods, where a fast rep moves halfway through its cycle) plus TIMING_WEIGHT times
    the phase's distance from where the set's edges lie in the cycle (in periods, 0 to 0.5).
    A pose passed twice per rep (a swing through the centre, a squat whose start pose is
    halfway down) matches the edges' pose at two phases; the set's timing tells them apart.
    The set starts at xs's first frame when that is the clip's first (a clip cut at the set),
    else SPAN_OVERSHOOT periods later (the span of the periodic motion reaches past the set);
    the same at the end. 1.5 periods before the first peak are as good as 0.5 before it: the
    cycle's phase is the start's offset modulo the period, averaged over both edges. A set
    with rest on both sides inside the clip adds REST_AROUND_WEIGHT times `rest_around_cost`:
    its edges' pose above is a guess (the span's first frames may be the approach, picking up
    the bar), the frames right before its first rep at each phase are not."""
    n, length = len(xs), len(cycle)
    dist = np.linalg.norm(cycle - edge_pose(xs, period, clip_edges), axis=1)
    pose_cost = (dist - dist.min()) / max(float(np.ptp(dist)), 1e-12)
    start = 0.0 if clip_edges[0] else SPAN_OVERSHOOT * period
    end = float(n) if clip_edges[1] else n - SPAN_OVERSHOOT * period
    turns = np.exp(2j * np.pi * np.array([start - peaks[0], end - peaks[-1]]) / period).sum()
    if abs(turns) < 1e-9:         # the two edges disagree by half a cycle: no timing cue
        return int(np.argmin(pose_cost))
    timed = (np.angle(turns) / (2 * np.pi)) % 1.0 * period
    off = np.abs((np.arange(length) - timed + period / 2) % period - period / 2) / period
    cost = pose_cost + TIMING_WEIGHT * off
    if not any(clip_edges):   # rest on both sides of the set in the clip: look at it
        cost = cost + REST_AROUND_WEIGHT * rest_around_cost(xs, cycle, peaks, period)
    return int(np.argmin(cost))


def rest_around_cost(xs: np.ndarray, cycle: np.ndarray, peaks: np.ndarray, period: float) -> np.ndarray:
    """Per phase of the rep cycle (frames after a rep's peak), 0 to 1 over the cycle: how far
    the poses just before the set's first rep and just after its last lie from the cycle's pose
    at that phase, were the reps cut there. A set starts from its start pose and ends in it (the
    subject stands ready before the first rep and comes back after the last), so at the right
    phase the EDGE_FRACTION periods before the first rep's start (the first peak + phase - one
    period) and after the last rep's end (the last peak + phase) hold that pose; at a wrong
    phase they hold the approach, a different rest or the reps' own motion. Unlike the poses
    at the span's edges (`edge_pose`), these move with the phase, so they need no estimate of
    where the set starts inside the span."""
    n, length = len(xs), len(cycle)
    w = max(1, int(EDGE_FRACTION * period))
    phase = np.arange(length)
    start = np.clip(np.rint(peaks[0] + phase - period).astype(np.int64), 0, n - 1)
    end = np.minimum(int(peaks[-1]) + phase, n - 1)
    # windows [start - w, start] and [end, end + w] (clipped to the clip), as [lo, hi) per phase
    windows = [(np.maximum(0, start - w), start + 1), (end, np.minimum(n, end + w + 1))]
    cost = np.zeros(length)
    for lo, hi in windows:
        a, b = int(lo.min()), int(hi.max())
        # distance of every frame in [a, b) from every phase's pose, summed along the frames
        dist = np.sqrt(np.maximum(0.0, (xs[a:b] ** 2).sum(axis=1)[:, None] + (cycle ** 2).sum(axis=1)[None, :]
                                  - 2.0 * xs[a:b] @ cycle.T))
        summed = np.vstack([np.zeros((1, length)), np.cumsum(dist, axis=0)])
        cost += 0.5 * (summed[hi - a, phase] - summed[lo - a, phase]) / (hi - lo)
    return (cost - cost.min()) / max(float(np.ptp(cost)), 1e-12)


def edge_pose(xs: np.ndarray, period: float, clip_edges: tuple[bool, bool]) -> np.ndarray:
    """The mean of the set's first and last poses: the clip's first (last) frame where the set
    starts (ends) there, else the median over its first (last) EDGE_FRACTION periods."""
    edge = max(1, int(EDGE_FRACTION * period))
    head = xs[0] if clip_edges[0] else np.median(xs[:edge], axis=0)
    tail = xs[-1] if clip_edges[1] else np.median(xs[-edge:], axis=0)
    return 0.5 * (head + tail)


def distinct_bounds(d: np.ndarray, bounds: np.ndarray, period: float, scale: float) -> np.ndarray:
    """Per rep in [AMBIGUOUS_BOUNDS, 1]: how clearly its bounds are the one place of its cycle
    where the pose is the start pose. d: per frame, the distance from the start pose; scale: its
    range. A rep whose middle (DISTINCT_MARGIN periods inside its bounds) comes as close to the
    start pose as its bounds has two places to be cut at (a pose passed twice per rep: a swing
    to one side and back through the centre to the other, or a set whose edges caught the
    motion halfway down, a pose passed again on the way up): its bounds may lie half a rep off,
    and the factor is AMBIGUOUS_BOUNDS; one whose middle stays DISTINCT_BAND of the range
    farther away scores 1 (linear between)."""
    n, margin = len(d), int(round(DISTINCT_MARGIN * period))
    clear = np.ones(len(bounds))
    for k, (a, b) in enumerate(bounds):
        middle = d[a + margin:b - margin]
        if len(middle):
            at = 0.5 * (d[a] + d[min(b, n - 1)])
            clear[k] = np.clip((float(middle.min()) - at) / (DISTINCT_BAND * max(scale, 1e-12)), 0.0, 1.0)
    return AMBIGUOUS_BOUNDS + (1.0 - AMBIGUOUS_BOUNDS) * clear


def cover_clip(bounds: np.ndarray, n: int) -> np.ndarray:
    """A clip its source cut at its annotated set and counted: the first rep starts at its first
    frame and the last ends at its last (the source's cut is where its set starts and ends;
    Fit3D's annotators start the first rep where the clip starts, often a second before the
    pose leaves the start pose). The bounds between reps are the counter's."""
    out = bounds.copy()
    if len(out):
        out[0, 0], out[-1, 1] = 0, n
    return out


def _rep_cycle(xs: np.ndarray, peaks: np.ndarray, length: int) -> np.ndarray:
    """(length, D): the median pose `delta` frames after each rep's peak, delta < length
    (at least the first rep reaches every delta)."""
    idx = peaks[:, None] + np.arange(length)[None, :]
    poses = xs[np.minimum(idx, len(xs) - 1)]
    outside = idx >= len(xs)
    if not outside.any():
        return np.median(poses, axis=0)
    poses[outside] = np.inf                       # sorted last (np.nanmedian is 10x slower)
    ordered = np.sort(poses, axis=0)
    valid = (~outside).sum(axis=0)                # reps reaching each delta, >= 1
    delta = np.arange(length)
    return 0.5 * (ordered[(valid - 1) // 2, delta] + ordered[valid // 2, delta])


def _rest_run(d: np.ndarray, centre: float, reach: float, band: float) -> tuple[int, int]:
    """[first, last] frames of the run around the minimum of d within `reach` of `centre`
    where d stays within `band` of that minimum (the run may extend beyond the reach)."""
    lo = min(max(round(centre - reach), 0), len(d) - 1)
    hi = min(max(round(centre + reach) + 1, lo + 1), len(d))
    m = lo + int(np.argmin(d[lo:hi]))
    high = np.flatnonzero(d > d[m] + band)
    k = int(np.searchsorted(high, m))
    first = int(high[k - 1]) + 1 if k > 0 else 0
    last = int(high[k]) - 1 if k < len(high) else len(d) - 1
    return first, last


def _no_sliver_reps(cuts: np.ndarray, peaks: np.ndarray, period: float) -> np.ndarray:
    """cuts (R + 1, each rep k between cuts k and k + 1 holding peaks[k]) with every rep between
    two others spanning at least MIN_INNER_REP periods: a shorter one (its start pose found past
    its peak on one side and before it on the other, as on a motion that is not one movement
    repeated: walking, an irregular warm-up) is cut halfway between its peak and its neighbours'.
    The first and last reps are left to `whole_cycle_reps`."""
    cuts = cuts.copy()
    for k in range(1, len(peaks) - 1):
        if cuts[k + 1] - cuts[k] < MIN_INNER_REP * period:
            cuts[k] = (peaks[k - 1] + peaks[k] + 1) // 2
            cuts[k + 1] = (peaks[k] + peaks[k + 1] + 1) // 2
    return cuts


def _increasing_bounds(cuts: np.ndarray, n: int) -> np.ndarray:
    """(R, 2) [start, end) from R + 1 cuts, made strictly increasing inside [0, n] (n >= R)."""
    cuts = np.clip(cuts, 0, n)
    for k in range(1, len(cuts)):
        cuts[k] = max(cuts[k], cuts[k - 1] + 1)
    for k in range(len(cuts) - 1, -1, -1):
        cuts[k] = min(cuts[k], n - (len(cuts) - 1 - k))
    return np.stack([cuts[:-1], cuts[1:]], axis=1)


