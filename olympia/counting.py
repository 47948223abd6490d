"""Training-free repetition counter on a 3D skeleton (the baseline beside LiFT).

Classical signal processing, no learning; the periodicity scan is olympia.periodicity.

1. scan: for every frame, the period of the 2-cycle window starting there and how well its
   second cycle repeats the first (windows that do not move, or do not repeat, are not
   periodic);
2. the set: its period P is the most supported window period (strength-weighted), its frames
   those covered by periodic windows of period within 25% of P. Idle, walking in, lying down
   for a push-up or picking up the bar are not covered. A set whose tempo drifts (faster or
   slower by up to TEMPO_DRIFT) grows along the windows of the drifting period that touch
   it, where they are the same movement, and its reps may come as close as its local period
   allows (`follow_tempo`);
3. compound reps (a curl trifecta: three curl variants make one rep): the recurrence weighs
   pose directions by their variance, so three variants that differ in smaller directions
   look like three reps. With every significant principal direction weighed equally, the
   pose repeats clearly better after the full rep: that lag becomes P;
4. the counted signal: among the set's top principal components and per-limb components (a
   one-arm row moves one arm), the one that repeats best after P and least after P/2 or P/3
   (it moves once per rep);
5. reps: peaks of that signal away from the rest pose (the pose at the set's edges), at least
   0.6 P apart, rising at least 0.3 of the typical cycle's range; past the set's periodic
   windows (its last reps, when they are too uneven for a 2-cycle window to repeat), reps
   that rise, fall back and pass through the poses of the set's own reps continue it
   (`continued_reps`); a first or last rep whose bounds (6.) span less than 0.3 periods holds no
   cycle and is not counted (`whole_cycle_reps`);
6. rep boundaries: where the whole pose comes back to the pose the set starts and ends in, once
   per rep (`start_pose_bounds`), in the middle of the frames close to it (a hold between reps
   is cut in its middle, a pass through the pose where it leaves it). Where in the rep's cycle
   that pose lies: the phase whose pose is closest to the set's edges' and whose timing matches
   where the set starts and ends; with rest on both sides inside the clip, also the phase at
   which the frames just before the first rep and after the last hold its pose. That pose is
   not always an extreme of the counted signal (a thruster starts standing with the weight at
   the chest, halfway through the squat's signal).
   A rep's confidence: its rise within its bounds relative to the set's median rep, times how
   well its cycle repeats, times how close its bounds come to the start pose, halved when its
   middle comes as close to that pose (bounds that may lie half a rep off).

A clip without two matching 2-cycle windows may be a set too short for two whole cycles: the
signal (a principal component, a limb's component or a limb's reach) that repeats best with a
period fitting 1.75 times in the clip is counted (`short_clip_reps`). Failing that (one rep, or
motion too irregular to be periodic) the counter falls back to counting prominent excursions of
the first principal component. The counter is
blind to what the exercise is, counts any periodic motion (walking in place is periodic)
and counts alternating sides as one rep when the whole pose repeats only after both sides
(Fit3D's convention). Measured on real data: docs/counting.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np
from scipy.signal import find_peaks

from olympia.gaps import missing_runs
from olympia.periodicity import (
    HARMONIC_FRACTION,
    MIN_AMPLITUDE_M,
    MIN_PERIOD_S,
    MIN_RECURRENCE,
    PERIOD_TOLERANCE,
    PeriodScan,
    band_mask,
    dominant_period,
    local_period,
    nsdf,
    periodic_mask,
    pose_features,
    principal_axes,
    repeat_strength,
    scan_periods,
)
from olympia.rep_bounds import (
    EDGE_FRACTION,
    SPAN_OVERSHOOT,
    rest_band_bounds,
    start_pose_bounds,
)
from olympia.skeleton import (
    HEAD,
    LEFT_ARM,
    LEFT_LEG,
    NECK,
    RIGHT_ARM,
    RIGHT_LEG,
    SPINE,
    THORAX,
)
from olympia.timebase import FPS

MIN_PEAK_DISTANCE = 0.6   # peaks closer than this many periods are one rep
MIN_PROMINENCE = 0.3      # a rep's peak rises at least this fraction of the typical cycle range
MIN_SPAN_M = 0.05         # the one-rep fallback needs a principal motion this large (metres)
N_COMPONENTS = 4          # principal components offered as candidate signals
COMPOUND_MIN_RATIO = 0.3  # principal directions this large (vs the first) must all repeat
COMPOUND_MARGIN = 0.25    # a longer lag must repeat this much better to make reps compound
COMPOUND_MAX_MULTIPLE = 4 # a compound rep holds at most this many sub-motions
COMPOUND_MAX_SHARE = 0.55 # ... and at most this share of the set (two reps, edges trimmed)
FALLBACK_CONFIDENCE = 0.5 # a lone excursion is a guess, not a repeated cycle
TEMPO_DRIFT = 1.8         # a set's local period may drift this far from its dominant one
SAME_POSE = 0.5           # stretches whose mean poses differ by less than this of their spread ...
SAME_DIRECTION = 0.7      # ... and whose main directions of motion agree this well: one movement
SHORT_CLIP_CYCLES = 1.75  # a clip too short for two cycles may show its period when this many fit
EDGE_REP = 0.5            # a rep cut by the clip's edge counts when its inner side rises this much
#                           of the set's median rep (see `edge_reps`)
CONTINUE_POSE = 2.0       # a rep continuing a set passes through poses this close to its reps' (times
#                           the farthest of the set's own reps from their median pose)
MIN_EDGE_REP = 0.3        # a set's first or last rep spans at least this many periods between where the
#                           pose leaves and comes back to the start pose (half the least distance
#                           between two reps' peaks), else it is not a rep (see `whole_cycle_reps`)

# Limb signals (joint j is columns 3j..3j+2 of the pose features).
LIMBS = {"torso": (SPINE, THORAX, NECK, HEAD), "left_leg": LEFT_LEG, "right_leg": RIGHT_LEG,
         "left_arm": LEFT_ARM, "right_arm": RIGHT_ARM}


@dataclass(frozen=True)
class CountResult:
    count: int
    period_frames: float | None   # estimated rep period, None when no periodicity was found
    peaks: np.ndarray             # (R,) frame of each rep's extreme (away from rest)
    rep_bounds: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    #                               (R, 2) [start, end) frames of each rep
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))   # (R,) in [0, 1]
    span: tuple[int, int] | None = None   # [start, end) of the periodic set, None if none
    signal: str = ""              # the counted signal ("pc0", "left_arm", ..., "" when none)
    periodicity: float = 0.0      # median recurrence strength of the set's windows

    @property
    def set_confidence(self) -> float:
        return float(np.mean(self.confidence)) if len(self.confidence) else 0.0


def compound_period(xs: np.ndarray, period: float) -> float:
    """`period`, or a longer lag when the set's reps are compound.

    The recurrence weighs pose directions by their variance, so three curl variants that differ
    only in smaller directions look like three reps. Here every significant principal direction
    (singular value >= COMPOUND_MIN_RATIO of the largest) counts equally: a lag up to
    COMPOUND_MAX_MULTIPLE periods that repeats clearly better (by COMPOUND_MARGIN) than
    `period` is the full rep. Every whole lag is tried (a long rep's recurrence peaks within a
    few frames, narrower than the scan's 4% grid), up to COMPOUND_MAX_SHARE of the set: a short
    clip of two compound reps, its edges trimmed by the scan, holds the full rep 1.8 times."""
    xc = xs - xs.mean(axis=0)
    if len(xc) < 4 or not np.any(xc):
        return period
    sv, vt = principal_axes(xc)
    keep = np.flatnonzero(sv >= COMPOUND_MIN_RATIO * sv[0])
    if len(keep) < 2:
        return period
    z = (xc @ vt[keep].T) / sv[keep]
    longest = int(min(COMPOUND_MAX_MULTIPLE * period * 1.1, COMPOUND_MAX_SHARE * len(z)))
    longer = np.arange(int(np.ceil(period * 1.5)), longest + 1)
    if not len(longer):
        return period
    r = nsdf(z, max(int(longer[-1]), int(np.ceil(period * 1.1))))
    base = float(r[_around(period, len(r))].max())
    scores = r[longer]
    if scores.max() < base + COMPOUND_MARGIN:
        return period
    return float(longer[int(np.argmax(scores >= HARMONIC_FRACTION * scores.max()))])


def _around(period: float, n: int) -> slice:
    return slice(max(1, int(period / 1.1)), max(2, min(n, int(np.ceil(period * 1.1)) + 1)))


def candidate_directions(x: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Names and unit directions (D, m) in feature space of the candidate 1-D signals of x:
    the top principal components of the whole pose and the first principal component of each
    limb (zero outside the limb's columns), all from one scatter matrix."""
    xc = x - x.mean(axis=0)
    if not np.any(xc):
        return ["pc0"], np.eye(x.shape[1])[:, :1]
    scatter = xc.T @ xc
    _, vt = _axes(scatter)
    names = [f"pc{k}" for k in range(min(N_COMPONENTS, len(vt)))]
    columns = [vt[k] for k in range(len(names))]
    for name, joints in LIMBS.items():
        cols = np.concatenate([np.arange(3 * j, 3 * j + 3) for j in joints])
        block = scatter[np.ix_(cols, cols)]
        if np.trace(block) > 0:
            w = np.zeros(x.shape[1])
            w[cols] = _axes(block)[1][0]
            names.append(name)
            columns.append(w)
    return names, np.stack(columns, axis=1)


def _axes(scatter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, v = np.linalg.eigh(scatter)
    order = np.argsort(w)[::-1]
    return np.sqrt(np.maximum(w[order], 0.0)), v[:, order].T


def candidate_signals(x: np.ndarray) -> dict[str, np.ndarray]:
    """The candidate 1-D signals of x (centred features projected on `candidate_directions`)."""
    names, w = candidate_directions(x)
    return dict(zip(names, ((x - x.mean(axis=0)) @ w).T))


def count_reps(keypoints: np.ndarray, fps: float = FPS, cut_to_set: bool = False) -> CountResult:
    """Count repetitions in a (T, J, 3) skeleton sequence at `fps` (see the module docstring).

    `cut_to_set`: the sequence is one set cut where its first rep starts and its last rep ends
    (a dataset's labelled set, a clip trimmed by hand), so the reps cover it: the first starts
    at frame 0 and the last ends at the last frame (`_cover_clip`). Without it the set's edges
    are estimated, and idle frames before and after it stay out of the reps. The count and the
    bounds between reps are the same either way."""
    x = pose_features(keypoints, fps)
    scan = scan_periods(x, fps)
    if not scan.periodic.any():   # a clip of one set, too short for two cycles, or one rep
        result = short_clip_reps(x, fps) or _fallback(x, fps)
    else:
        result = count_periodic(x, scan)
    if cut_to_set and result.count:
        result = replace(result, rep_bounds=_cover_clip(result.rep_bounds, len(x)), span=(0, len(x)))
    return result


def count_periodic(x: np.ndarray, scan: PeriodScan, span: tuple[int, int] | None = None,
                   max_pause: int | None = None, reach: tuple[int, int] | None = None) -> CountResult:
    """Reps in features x given their period scan: the set's period, its frames, the compound
    check, then `count_in_span`. `span` restricts the search to [start, end); with `max_pause`
    (frames) the set is only the strongest stretch of its period without a longer pause
    (sets.py: a rest separates sets; a clip's pauses are inside its one set). `reach`: the
    frames [start, end) the set's reps may continue into past its periodic windows
    (`continued_reps`; default `span`, or the whole sequence)."""
    n = len(x)
    lo, hi = span if span is not None else (0, n)
    periodic = scan.periodic.copy()
    periodic[:lo] = False
    periodic[hi:] = False
    if not periodic.any():
        return _fallback(x[lo:hi], offset=lo)   # frames of x are at the scan's rate
    period, q = scan.period, np.where(periodic, scan.strength, -1.0)
    set_period = dominant_period(period[periodic], q[periodic], scan.lags)
    mask = periodic_mask(period, q, set_period, n)
    mask[:lo] = False
    mask[hi:] = False
    if max_pause is not None:
        mask = _strongest_stretch(mask, q, max_pause)
    a, b = _main_span(mask)
    full = compound_period(x[a:b], set_period)
    sub_period = None
    if full != set_period:   # compound reps: the pose repeats only after several sub-motions
        sub_period, set_period = set_period, full
        mask |= periodic_mask(period, q, full, n) & (mask.cumsum() > 0) & (mask[::-1].cumsum()[::-1] > 0)
    tempo = None
    if sub_period is None:   # compound reps keep one period: their sub-motions are not reps
        mask, tempo = follow_tempo(x, mask, period, q, set_period, (lo, hi))
        a, b = _main_span(mask)
    # the reps continue past the set only up to frames periodic at another tempo or movement:
    # those are searched on their own (sets.py), not continued at the set's tempo
    reach = _up_to(scan.periodic & ~mask, (a, b), reach or (lo, hi))
    result = count_in_span(x, (a, b), set_period, mask, sub_period, q, tempo, reach)
    in_set = periodic & (period >= set_period / PERIOD_TOLERANCE) & (period <= set_period * PERIOD_TOLERANCE)
    return replace(result, periodicity=float(np.median(q[in_set])) if in_set.any() else 0.0)


def _up_to(other: np.ndarray, span: tuple[int, int], reach: tuple[int, int]) -> tuple[int, int]:
    """reach [start, end) narrowed to the frames around span [a, b) before the first `other`
    frame on either side."""
    (a, b), (lo, hi) = span, reach
    after, before = np.flatnonzero(other[b:hi]), np.flatnonzero(other[lo:a])
    return (lo + int(before[-1]) + 1 if len(before) else lo, b + int(after[0]) if len(after) else hi)


def follow_tempo(x: np.ndarray, mask: np.ndarray, period: np.ndarray, q: np.ndarray,
                 set_period: float, span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A set whose tempo drifts (a subject who speeds up, slows down, or both): its frames are
    `mask` (windows within PERIOD_TOLERANCE of the set's period) grown, inside `span`, along the
    runs of frames covered by periodic windows within TEMPO_DRIFT of that period which touch
    it, where what is added is the same movement (`same_movement`: another exercise right
    before or after, at a similar tempo, stays out; so does walking in at another tempo); and
    the local period per frame (`local_period` over those windows, NaN where none)."""
    lo, hi = span
    shortest, longest = set_period / TEMPO_DRIFT, set_period * TEMPO_DRIFT
    band = band_mask(period, q, shortest, longest, len(mask))
    band[:lo] = False
    band[hi:] = False
    grown = mask.copy()
    for a, b in missing_runs(band):
        if mask[a:b].any():
            grown[a:b] = True
    a, b = _main_span(mask)
    core = x[a:b]
    for c, d in missing_runs(grown & ~mask):
        if (d <= a or c >= b) and not same_movement(core, x[c:d]):
            grown[c:d] = False
    return grown, local_period(period, q, shortest, longest, len(mask))


def same_movement(xa: np.ndarray, xb: np.ndarray) -> bool:
    """Pose features (T, 3J) of two stretches: the same movement. The mean poses of the two lie
    closer than SAME_POSE of the joints' spread within them, and their main directions of motion
    agree (|cos| >= SAME_DIRECTION); a different exercise right after (curls, then kicks)
    differs in both (sets.merge_same_movement, follow_tempo)."""
    pa, pb = xa.reshape(len(xa), -1, 3), xb.reshape(len(xb), -1, 3)
    apart = float(np.linalg.norm(pa.mean(axis=0) - pb.mean(axis=0), axis=1).mean())
    spread = 0.5 * sum(float(np.linalg.norm(p.std(axis=0), axis=1).mean()) for p in (pa, pb))
    if apart >= SAME_POSE * spread:
        return False
    da, db = (np.linalg.svd(xs - xs.mean(axis=0), full_matrices=False)[2][0] for xs in (xa, xb))
    return abs(float(da @ db)) >= SAME_DIRECTION


def refine_period(signals: np.ndarray, period: float) -> float:
    """The period at full frame rate: the lag within 15% of `period` where the signals (T, m),
    taken together, repeat best (the scan runs at half rate on a 4% grid), to 0.1 frame."""
    lo, hi = max(2, int(period / 1.15)), int(np.ceil(period * 1.15))
    if hi + 1 >= len(signals):
        return period
    r = nsdf(signals - signals.mean(axis=0), hi + 1)
    k = lo + int(np.argmax(r[lo:hi + 1]))
    a, b, c = r[k - 1], r[k], r[k + 1]
    curve = a - 2 * b + c
    shift = 0.5 * (a - c) / curve if curve < 0 else 0.0   # vertex of the parabola through the 3 lags
    return round(float(k + np.clip(shift, -0.5, 0.5)), 1)


def _strongest_stretch(mask: np.ndarray, q: np.ndarray, max_pause: int) -> np.ndarray:
    """Only the stretch of `mask` (runs closer than max_pause joined) with the largest summed
    window strength."""
    stretches: list[list[int]] = []
    for a, b in missing_runs(mask):
        if stretches and a - stretches[-1][1] <= max_pause:
            stretches[-1][1] = b
        else:
            stretches.append([a, b])
    best = max(stretches, key=lambda ab: float(np.clip(q[ab[0]:ab[1]], 0, None).sum()))
    out = np.zeros_like(mask)
    out[best[0]:best[1]] = mask[best[0]:best[1]]
    return out


def _main_span(mask: np.ndarray) -> tuple[int, int]:
    """The set: from the first to the last periodic frame (gaps inside a set are pauses)."""
    idx = np.flatnonzero(mask)
    return int(idx[0]), int(idx[-1]) + 1


def count_in_span(x: np.ndarray, span: tuple[int, int], period: float, mask: np.ndarray | None = None,
                  sub_period: float | None = None, strength: np.ndarray | None = None,
                  tempo: np.ndarray | None = None, reach: tuple[int, int] | None = None) -> CountResult:
    """Reps of features x inside span [a, b) with a known period (frames): the extremes of the
    counted signal away from the rest pose (see `_away_from_rest`) inside `mask`. The counted
    signal repeats best after one period and least after a half or a third of it (or after
    sub_period, the sub-motions of compound reps). `strength` (per frame, the scan's) scales
    each rep's confidence by how well its cycle repeats. `tempo` (per frame of x, the local
    period, NaN where unknown) lets reps come closer where the set runs faster than `period`.
    `reach` ([start, end) around span): frames the set's reps may continue into past its
    periodic windows (`continued_reps`), which widens the span."""
    a, b = span
    xs = x[a:b]
    names, directions = candidate_directions(xs)
    signals = (xs - xs.mean(axis=0)) @ directions                 # (T, m)
    period = refine_period(signals[:, :N_COMPONENTS], period)
    subs = [period / m for m in (2, 3) if period / m >= 2] if sub_period is None else [sub_period]
    strength_at = repeat_strength(signals, period, *subs)          # (1 + len(subs), m)
    # the counted signal repeats once per rep, not once per half or third of a rep
    score = strength_at[0] - np.maximum(0.0, strength_at[1:].max(axis=0))
    best = int(np.argmax(score))
    name, s = names[best], signals[:, best]
    sign = _away_from_rest(s, period)
    clip_edges = (a == 0, b == len(x))
    peaks, prom = edge_reps(sign * s, *_rep_peaks(sign * s, period, _spacing(tempo, (a, b), period, mask)),
                            period, clip_edges)
    if mask is not None and len(peaks):
        keep = mask[a + peaks]
        peaks, prom = peaks[keep], prom[keep]
    continued = np.zeros(len(peaks), bool)
    if reach is not None and len(peaks) >= 2:
        along = np.full(len(x), np.nan)                 # the counted signal over the reach
        along[reach[0]:reach[1]] = sign * ((x[reach[0]:reach[1]] - xs.mean(axis=0)) @ directions[:, best])
        every, prom, (a2, b2) = continued_reps(along, x, peaks + a, prom, (a, b), reach,
                                               round(SPAN_OVERSHOOT * period))
        if len(every) > len(peaks):
            continued = ~np.isin(every, peaks + a)
            a, b = a2, b2
            xs, s, peaks = x[a:b], sign * along[a:b], every - a
            clip_edges = (a == 0, b == len(x))
    if len(peaks) >= 2:
        bounds, closeness = start_pose_bounds(xs, peaks, period, clip_edges)
        keep = whole_cycle_reps(bounds, period)
        if not keep.all():
            peaks, prom, continued = peaks[keep], prom[keep], continued[keep]
            bounds, closeness = bounds[keep], closeness[keep]
        # a rep's size: its peak over the lowest point within its bounds (a set that starts
        # halfway up the signal has no trough before its first peak)
        prom = np.array([sign * s[p] - (sign * s[lo:hi]).min() for p, (lo, hi) in zip(peaks, bounds)])
    else:
        bounds, closeness = rest_band_bounds(sign * s, peaks, period), 1.0
    conf = _confidence(prom, bounds + a, strength, period) * closeness
    if continued.any():   # no window repeats over a continued rep: half as sure as the set's reps
        conf[continued] = (FALLBACK_CONFIDENCE * float(np.median(conf[~continued]))
                           * np.clip(prom[continued] / float(np.median(prom)), 0.0, 1.0))
    return CountResult(int(len(peaks)), float(period), (peaks + a).astype(np.int64),
                       (bounds + a).astype(np.int64), conf, (a, b), name)


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


def _away_from_rest(s: np.ndarray, period: float) -> float:
    """+1 when excursions are maxima of s, -1 when minima: rest is where s starts and ends
    (the set's edges: the clip's edges for a clip cut at the set, else where the periodic
    motion begins and ends)."""
    edge = max(1, int(EDGE_FRACTION * period))
    rest = 0.5 * (np.median(s[:edge]) + np.median(s[-edge:]))
    return 1.0 if np.median(s) >= rest else -1.0


def _spacing(tempo: np.ndarray | None, span: tuple[int, int], period: float,
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


def _rep_peaks(s: np.ndarray, period: float, spacing: np.ndarray | None = None
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
    (Fit3D s03, s05)."""
    need = EDGE_REP * float(np.median(prom))
    peak_pose, peak_spread = _pose_spread(x[peaks])
    lows = np.array([p + int(np.argmin(u[p:q + 1])) for p, q in pairwise(peaks)])
    low_pose, low_spread = _pose_spread(x[lows])
    found = [int(p) for p in peaks]
    prom = [float(r) for r in prom]
    start, end = span
    for forward in (True, False):
        while True:
            p = found[-1] if forward else found[0]
            tempo = float(np.median(np.abs(np.diff(found[-4:] if forward else found[:4]))))
            near, far = MIN_PEAK_DISTANCE * tempo, TEMPO_DRIFT * tempo
            lo, hi = ((p, min(int(p + far) + 1, reach[1])) if forward else
                      (max(int(np.ceil(p - far)), reach[0]), p + 1))
            maxima = lo + find_peaks(u[lo:hi])[0] if hi - lo >= 3 else np.zeros(0, np.int64)
            rises = np.array([u[q] - u[min(p, q):max(p, q) + 1].min() for q in maxima])
            maxima, rises = maxima[rises >= need], rises[rises >= need]
            if not len(maxima):
                break
            k = 0 if forward else -1                  # the next excursion, not the highest
            q, rise = int(maxima[k]), float(rises[k])
            if abs(q - p) < near:                     # a faster movement: not this set's rep
                break
            back = (q + np.arange(min(int(far) + 1, reach[1] - q)) if forward else
                    q - np.arange(min(int(far) + 1, q - reach[0] + 1)))
            ret = int(back[np.argmin(u[back])])
            if (u[q] - u[ret] < need
                    or np.linalg.norm(x[q] - peak_pose) > CONTINUE_POSE * peak_spread
                    or np.linalg.norm(x[ret] - low_pose) > CONTINUE_POSE * low_spread):
                break
            if forward:
                found.append(q)
                prom.append(rise)
                end = min(reach[1], max(end, ret + overshoot + 1))
            else:
                found.insert(0, q)
                prom.insert(0, rise)
                start = max(reach[0], min(start, ret - overshoot))
    return np.asarray(found, np.int64), np.asarray(prom), (start, end)


def _pose_spread(poses: np.ndarray) -> tuple[np.ndarray, float]:
    """The median of poses (R, D) and the farthest pose's distance from it (> 0)."""
    centre = np.median(poses, axis=0)
    return centre, max(float(np.linalg.norm(poses - centre, axis=1).max()), 1e-9)


def _confidence(prom: np.ndarray, bounds: np.ndarray, strength: np.ndarray | None, period: float
                ) -> np.ndarray:
    """Per rep in [0, 1]: prominence relative to the set's median rep (a half rep scores 0.5)
    times the best recurrence strength of the periodic windows holding the rep (starting up
    to one period before it: how well it repeats its neighbour); strength None: prominence."""
    if not len(prom):
        return np.zeros(0)
    full = np.clip(prom / max(float(np.median(prom)), 1e-12), 0.0, 1.0)
    if strength is None:
        return full
    reach = int(round(period))
    repeats = np.array([max(0.0, float(strength[max(0, a - reach):b].max())) if b > a else 0.0
                        for a, b in bounds])
    return full * repeats


def _fallback(x: np.ndarray, fps: float = FPS, offset: int = 0) -> CountResult:
    """No two matching cycles: count the prominent excursions of the first principal component
    (one rep, or a motion too irregular to be periodic): each rises at least MIN_SPAN_M and a
    third of the component's range and lasts at least MIN_PERIOD_S; 0 when nothing does."""
    empty = CountResult(0, None, np.zeros(0, np.int64))
    if len(x) < 3:
        return empty
    s = candidate_signals(x)["pc0"]
    span = float(np.ptp(s))
    if span < MIN_SPAN_M:
        return empty
    sign = _away_from_rest(s, len(s) / 2)
    peaks, _ = find_peaks(sign * s, prominence=max(span / 3, MIN_SPAN_M),
                          distance=max(1, int(MIN_PERIOD_S * fps)))
    if not len(peaks):
        return empty
    bounds = rest_band_bounds(sign * s, peaks, len(s))
    conf = np.full(len(peaks), FALLBACK_CONFIDENCE)
    return CountResult(int(len(peaks)), None, peaks.astype(np.int64) + offset, bounds + offset, conf,
                       (offset, offset + len(x)), "pc0")


def limb_reaches(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per limb of LIMBS, the distance (T,) from its first joint to its last (shoulder to wrist,
    hip to ankle, spine to head) in pose features x (T, 3J): how far the limb reaches, whichever
    way the skeleton is turned. A video pose estimator's world coordinates turn with the camera
    (a handheld phone tilting during a set), which the joint positions follow and these do not."""
    p = x.reshape(len(x), -1, 3)
    return {f"{name}_reach": np.linalg.norm(p[:, joints[-1]] - p[:, joints[0]], axis=1)
            for name, joints in LIMBS.items()}


def short_clip_period(signals: dict[str, np.ndarray], fps: float = FPS
                      ) -> tuple[str, float, float] | None:
    """(name, period in frames, strength) of the 1-D signal that repeats best with a period
    fitting at least SHORT_CLIP_CYCLES times in the clip, None when none does. A clip cut at two
    reps holds about two cycles, often less (the last rep's return cut off, the pose lost in
    its last frames), so no 2-cycle window fits. Here the clip is compared with itself shifted
    by each lag (`nsdf`, over the 0.75+ cycles that overlap): the period is a local maximum
    reaching MIN_RECURRENCE (a slow signal repeats well at short lags but falls from lag 0: no
    maximum), both compared stretches move (RMS deviation >= MIN_AMPLITUDE_M), and the shortest
    lag scoring HARMONIC_FRACTION of the signal's best wins."""
    n = len(next(iter(signals.values())))
    lo, hi = max(2, int(round(MIN_PERIOD_S * fps))), int(n / SHORT_CLIP_CYCLES)
    if hi <= lo:
        return None
    best: tuple[str, float, float] | None = None
    for name, s in signals.items():
        r = nsdf(s - s.mean(), hi + 1)
        lags = np.arange(lo, min(hi, len(r) - 2) + 1)
        peak = (r[lags] > r[lags - 1]) & (r[lags] >= r[lags + 1]) & (r[lags] >= MIN_RECURRENCE)
        peak &= [min(s[:n - lag].std(), s[lag:].std()) >= MIN_AMPLITUDE_M for lag in lags]
        if not peak.any():
            continue
        top = float(r[lags[peak]].max())
        lag = int(lags[peak][np.argmax(r[lags[peak]] >= HARMONIC_FRACTION * top)])
        if best is None or r[lag] > best[2]:
            best = (name, float(lag), float(r[lag]))
    return best


def short_clip_reps(x: np.ndarray, fps: float = FPS) -> CountResult | None:
    """The reps of a clip too short for two whole cycles, None when it shows no period
    (`short_clip_period`) or fewer than two reps. Candidate signals: the counter's
    (`candidate_signals`) and each limb's reach (`limb_reaches`); the one that repeats best is
    counted as in `count_in_span` (peaks away from rest, MIN_PEAK_DISTANCE periods apart), and
    each rep is cut where that signal rests (`rest_band_bounds`): the whole pose, which the
    start-pose bounds compare, is what did not repeat. A signal is chosen by how well it repeats,
    not by its variance: a pose glitch (the person lost for a few frames) has the largest
    variance and does not repeat."""
    signals = {**candidate_signals(x), **limb_reaches(x)}
    found = short_clip_period(signals, fps)
    if found is None:
        return None
    name, period, strength = found
    s = signals[name]
    sign = _away_from_rest(s, period)
    peaks, prom = _rep_peaks(sign * s, period)
    if len(peaks) < 2:
        return None
    bounds = rest_band_bounds(sign * s, peaks, period)
    conf = _confidence(prom, bounds, None, period) * strength
    return CountResult(int(len(peaks)), period, peaks.astype(np.int64), bounds.astype(np.int64), conf,
                       (0, len(x)), name, strength)


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
    clip's end (`_cover_clip`); without it, idle frames before and after the set stay out of
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
        bounds = _cover_clip(res.rep_bounds, n) if reps is not None and cut_to_set else res.rep_bounds
        return RepBoundsEstimate(bounds.copy(), res.confidence.copy(), method)
    x = pose_features(keypoints, fps)
    a, b = res.span if res.span and res.count else (0, n)
    if (b - a) < reps * 2:
        a, b = 0, n
    period = (b - a) / reps
    forced = _forced_bounds(x[a:b], reps, period, (a == 0, b == n))
    if forced is not None:
        bounds, conf = forced
        bounds = _cover_clip(bounds + a, n) if cut_to_set else bounds + a
        return RepBoundsEstimate(bounds, conf, "forced")
    edges = np.rint(np.linspace(a, b, reps + 1)).astype(np.int64)
    bounds = np.stack([edges[:-1], edges[1:]], axis=1)
    return RepBoundsEstimate(_cover_clip(bounds, n) if cut_to_set else bounds, np.full(reps, 0.25), "even")


def _cover_clip(bounds: np.ndarray, n: int) -> np.ndarray:
    """A clip its source cut at its annotated set and counted: the first rep starts at its first
    frame and the last ends at its last (the source's cut is where its set starts and ends;
    Fit3D's annotators start the first rep where the clip starts, often a second before the
    pose leaves the start pose). The bounds between reps are the counter's."""
    out = bounds.copy()
    if len(out):
        out[0, 0], out[-1, 1] = 0, n
    return out


def _forced_bounds(xs: np.ndarray, reps: int, period: float, clip_edges: tuple[bool, bool]):
    """The `reps` most prominent extremes (away from rest) of the counted signal, at least half
    a period apart, cut where the pose returns to the start pose (`start_pose_bounds`); None
    when there are fewer."""
    _, directions = candidate_directions(xs)
    signals = (xs - xs.mean(axis=0)) @ directions
    s = signals[:, int(np.argmax(repeat_strength(signals, period)[0]))]
    sign = _away_from_rest(s, period)
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

