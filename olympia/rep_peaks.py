"""A set's reps as the peaks of its counted signal (olympia.counting, step 5).

Peaks away from the rest pose at least MIN_PEAK_DISTANCE periods apart (`cycle_peaks`), the
reps cut by the clip's edges (`edge_reps`), the reps that continue a set past its periodic
windows (`continued_reps`), the first and last reps that hold no whole cycle
(`whole_cycle_reps`), and each rep's confidence (`rep_confidence`).
"""
from __future__ import annotations

from itertools import pairwise

import numpy as np
from scipy.signal import find_peaks

from olympia.rep_bounds import EDGE_FRACTION

MIN_PEAK_DISTANCE = 0.6   # peaks closer than this many periods are one rep
MIN_PROMINENCE = 0.3      # a rep's peak rises at least this fraction of the typical cycle range
TEMPO_DRIFT = 1.8         # a set's local period may drift this far from its dominant one
EDGE_REP = 0.5            # a rep cut by the clip's edge counts when its inner side rises this much
#                           of the set's median rep (see `edge_reps`)
CONTINUE_POSE = 2.0       # a rep continuing a set passes through poses this close to its reps' (times
#                           the farthest of the set's own reps from their median pose)
CONTINUE_POSE_FLOOR = 0.25 # ... that spread taken as at least this fraction of the distance from the set's
#                           median peak pose to its median pose between peaks (so a pose within half of
#                           that distance passes): the spread of 2-3 reps underestimates how a person's
#                           poses vary (KIMORE's held arm lifts; see `continued_reps`)
MIN_EDGE_REP = 0.3        # a set's first or last rep spans at least this many periods between where the
#                           pose leaves and comes back to the start pose (half the least distance
#                           between two reps' peaks), else it is not a rep (see `whole_cycle_reps`)


def away_from_rest(s: np.ndarray, period: float) -> float:
    """+1 when excursions are maxima of s, -1 when minima: rest is where s starts and ends
    (the set's edges: the clip's edges for a clip cut at the set, else where the periodic
    motion begins and ends)."""
    edge = max(1, int(EDGE_FRACTION * period))
    rest = 0.5 * (np.median(s[:edge]) + np.median(s[-edge:]))
    return 1.0 if np.median(s) >= rest else -1.0


def peak_spacing(tempo: np.ndarray | None, span: tuple[int, int], period: float,
             mask: np.ndarray | None) -> np.ndarray | None:
    """The local period over span [a, b) on the refined period's scale (the tempo's median over
    the set's frames is `period`), never above `period`, gaps interpolated; None without one."""
    if tempo is None:
        return None
    a, b = span
    local = tempo[a:b]
    known = np.flatnonzero(np.isfinite(local))
    if not len(known):
        return None
    local = np.interp(np.arange(b - a), known, local[known])
    in_set = mask[a:b] if mask is not None and mask[a:b].any() else np.ones(b - a, bool)
    return np.minimum(local * (period / float(np.median(local[in_set]))), period)


def cycle_peaks(s: np.ndarray, period: float, spacing: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Peaks at least MIN_PEAK_DISTANCE periods apart rising MIN_PROMINENCE of the typical
    cycle range (the median range over one-period windows). With `spacing` (per frame of s, a
    local period <= period) a peak needs MIN_PEAK_DISTANCE of its own local period to the
    nearest higher peak instead."""
    w = max(2, int(round(period)))
    if len(s) > w:
        windows = np.lib.stride_tricks.sliding_window_view(s, w)[:: max(1, w // 4)]
        cycle_range = float(np.median(windows.max(axis=1) - windows.min(axis=1)))
    else:
        cycle_range = float(np.ptp(s))
    shortest = period if spacing is None else float(spacing.min())
    peaks, props = find_peaks(s, distance=max(1, int(MIN_PEAK_DISTANCE * shortest)),
                              prominence=max(MIN_PROMINENCE * cycle_range, 1e-9))
    prom = props["prominences"]
    if spacing is None:
        return peaks.astype(np.int64), prom
    kept: list[int] = []
    for i in np.argsort(-s[peaks], kind="stable"):   # higher peaks first, as find_peaks does
        gap = max(1, int(MIN_PEAK_DISTANCE * spacing[peaks[i]]))
        if all(abs(int(peaks[i]) - int(peaks[j])) >= gap for j in kept):
            kept.append(int(i))
    kept.sort()
    return peaks[kept].astype(np.int64), prom[kept]


def edge_reps(s: np.ndarray, peaks: np.ndarray, prom: np.ndarray, period: float,
              clip_edges: tuple[bool, bool]) -> tuple[np.ndarray, np.ndarray]:
    """`peaks` and `prom` of signal s (excursions up) with the reps cut by the clip's edges
    added. A set that reaches the clip's first frame may start mid-motion: its start pose lies
    halfway up the counted signal (a thruster's, standing with the weight at the chest), so the
    first rep's peak rises little above the clip's first frame, and a prominence measured over
    the higher of its two sides misses it. Where the set reaches the clip's first (last) frame,
    the highest maximum of s at least MIN_PEAK_DISTANCE periods before the first peak (after
    the last) and EDGE_FRACTION periods inside the clip is a rep when it rises EDGE_REP of the
    median rep's prominence above the lowest point between it and that peak (its inner side).
    A maximum nearer the clip's edge belongs to a rep that began before the clip (a clip cut
    mid-rep, a person coming back into view). Needs 2 peaks (a median rep)."""
    if len(peaks) < 2:
        return peaks, prom
    maxima, _ = find_peaks(s)
    inside = EDGE_FRACTION * period       # a maximum in the set's edge is the start pose's, or a
    maxima = maxima[(maxima >= inside) & (maxima < len(s) - inside)]   # rep begun before the clip
    gap = MIN_PEAK_DISTANCE * period
    need = EDGE_REP * float(np.median(prom))
    added = []
    if clip_edges[0]:
        before = maxima[maxima <= peaks[0] - gap]
        if len(before):
            q = int(before[np.argmax(s[before])])
            rise = float(s[q] - s[q:peaks[0]].min())
            if rise >= need:
                added.append((q, rise))
    if clip_edges[1]:
        after = maxima[maxima >= peaks[-1] + gap]
        if len(after):
            q = int(after[np.argmax(s[after])])
            rise = float(s[q] - s[peaks[-1]:q + 1].min())
            if rise >= need:
                added.append((q, rise))
    if not added:
        return peaks, prom
    every = np.concatenate([peaks, [q for q, _ in added]])
    order = np.argsort(every, kind="stable")
    return every[order].astype(np.int64), np.concatenate([prom, [r for _, r in added]])[order]


def continued_reps(u: np.ndarray, x: np.ndarray, peaks: np.ndarray, prom: np.ndarray,
                   span: tuple[int, int], reach: tuple[int, int], overshoot: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The set's reps continued past its periodic windows, within reach [start, end): (peaks,
    prominences, span), every frame on x's timeline. u: the counted signal over every frame of
    x (excursions up); peaks (>= 2), prom and span [start, end): the set's reps and frames. The
    span grows to `overshoot` frames past where an added rep falls back (the margin by which a
    set's span reaches past its reps, rep_bounds.SPAN_OVERSHOOT), inside reach.

    A 2-cycle window is periodic only when its second cycle repeats the first, so the last reps
    of a set whose tempo turns uneven (a quick rep, then a slow one; a tired subject; an
    occluded stretch) lie past every periodic window and were left out (the occluded sit-ups:
    12 of 14 in a long video). Rep by rep outwards from the set's last (first) peak: the next
    maximum of u rising EDGE_REP of the median rep's prominence above the lowest point between
    them, within TEMPO_DRIFT local periods (the median of the last three gaps), is a rep when it
    lies at least MIN_PEAK_DISTANCE local periods away (a faster movement right after the set,
    which the set's search leaves to another set, is not continued at the set's tempo), falls
    back as far within TEMPO_DRIFT local periods, and its peak pose and the pose it falls back
    to lie within CONTINUE_POSE times the set's own spread of the median pose at the set's
    peaks and between them. A subject who stands up after a set of bent-over rows rises and
    falls like a rep at the rows' tempo, but stands up into a pose the rows never pass through
    (Fit3D s03, s05: 0.72 and 0.95 of the distance between the rows' peak and low poses). The
    spread of a set of 2-3 reps, which a few identical reps make tiny, counts as at least
    CONTINUE_POSE_FLOOR of that distance: a KIMORE subject lifting the arms 5 times with holds
    of 2.5 to 6.5 s has 3 periodic reps, and the rests before the first two lie 0.14 and 0.44 of
    that distance from the lows between them, 3.4 and 10 times their spread (3 counted, not 5)."""
    need = EDGE_REP * float(np.median(prom))
    lows = np.array([p + int(np.argmin(u[p:q + 1])) for p, q in pairwise(peaks)])
    (peak_pose, peak_spread), (low_pose, low_spread) = _pose_spread(x[peaks]), _pose_spread(x[lows])
    floor = CONTINUE_POSE_FLOOR * float(np.linalg.norm(peak_pose - low_pose))
    poses = (peak_pose, max(peak_spread, floor), low_pose, max(low_spread, floor))
    found = [int(p) for p in peaks]
    prom = [float(r) for r in prom]
    start, end = span
    for forward in (True, False):
        while (step := _next_rep(u, x, found, forward, reach, need, poses)) is not None:
            q, rise, ret = step
            if forward:
                found.append(q)
                prom.append(rise)
                end = min(reach[1], max(end, ret + overshoot + 1))
            else:
                found.insert(0, q)
                prom.insert(0, rise)
                start = max(reach[0], min(start, ret - overshoot))
    return np.asarray(found, np.int64), np.asarray(prom), (start, end)


def _next_rep(u: np.ndarray, x: np.ndarray, found: list[int], forward: bool, reach: tuple[int, int],
              need: float, poses: tuple[np.ndarray, float, np.ndarray, float]
              ) -> tuple[int, float, int] | None:
    """The rep after the last of `found` (before the first when not `forward`) as `continued_reps`
    defines it: (its peak, its rise, the frame it falls back to), None where the set ends.
    poses: the median pose at the set's peaks, their spread, the same between its peaks."""
    peak_pose, peak_spread, low_pose, low_spread = poses
    p = found[-1] if forward else found[0]
    tempo = float(np.median(np.abs(np.diff(found[-4:] if forward else found[:4]))))
    near, far = MIN_PEAK_DISTANCE * tempo, TEMPO_DRIFT * tempo
    lo, hi = ((p, min(int(p + far) + 1, reach[1])) if forward else
              (max(int(np.ceil(p - far)), reach[0]), p + 1))
    maxima = lo + find_peaks(u[lo:hi])[0] if hi - lo >= 3 else np.zeros(0, np.int64)
    rises = np.array([u[q] - u[min(p, q):max(p, q) + 1].min() for q in maxima])
    maxima, rises = maxima[rises >= need], rises[rises >= need]
    if not len(maxima):
        return None
    k = 0 if forward else -1                  # the next excursion, not the highest
    q, rise = int(maxima[k]), float(rises[k])
    if abs(q - p) < near:                     # a faster movement: not this set's rep
        return None
    back = (q + np.arange(min(int(far) + 1, reach[1] - q)) if forward else
            q - np.arange(min(int(far) + 1, q - reach[0] + 1)))
    ret = int(back[np.argmin(u[back])])
    if (u[q] - u[ret] < need
            or np.linalg.norm(x[q] - peak_pose) > CONTINUE_POSE * peak_spread
            or np.linalg.norm(x[ret] - low_pose) > CONTINUE_POSE * low_spread):
        return None
    return q, rise, ret


def _pose_spread(poses: np.ndarray) -> tuple[np.ndarray, float]:
    """The median of poses (R, D) and the farthest pose's distance from it (> 0)."""
    centre = np.median(poses, axis=0)
    return centre, max(float(np.linalg.norm(poses - centre, axis=1).max()), 1e-9)


def whole_cycle_reps(bounds: np.ndarray, period: float) -> np.ndarray:
    """Which reps to keep, given their [start, end) bounds (where the pose leaves and comes back
    to the start pose): all but a first or last rep spanning less than MIN_EDGE_REP periods, in
    a set of 3 or more. Such a rep holds no cycle: the start pose is found on both sides of its
    peak within a few frames, and what rose like a rep was the approach or the walk-off (a
    subject stepping into position, lowering the bar after the set). Reps between two others are
    kept: their peaks are the set's own, at its tempo."""
    keep = np.ones(len(bounds), bool)
    if len(bounds) >= 3:
        short = (bounds[:, 1] - bounds[:, 0]) < MIN_EDGE_REP * period
        keep[0], keep[-1] = not short[0], not short[-1]
    return keep


def rep_confidence(prom: np.ndarray, bounds: np.ndarray, strength: np.ndarray | None, period: float
                ) -> np.ndarray:
    """Per rep in [0, 1]: prominence relative to the set's median rep (a half rep scores 0.5)
    times the best recurrence strength of the periodic windows over the rep: starting up to one
    period before it (how well it repeats its neighbour), or as early as a 2-cycle window that
    still reaches its end (the last rep of a clip, shorter than a period, has no window
    starting a period before it: it scored 0); strength None: prominence."""
    if not len(prom):
        return np.zeros(0)
    full = np.clip(prom / max(float(np.median(prom)), 1e-12), 0.0, 1.0)
    if strength is None:
        return full
    reach = int(round(period))
    repeats = np.array([max(0.0, float(strength[max(0, min(a - reach, b - 2 * reach)):b].max()))
                        if b > a else 0.0 for a, b in bounds])
    return full * repeats

