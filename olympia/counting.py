"""Training-free repetition counter on a 3D skeleton (the baseline beside LiFT).

Classical signal processing, no learning. This module finds the set and counts it; the steps
below live in: the periodicity scan (1) olympia.periodicity; the candidate signals and the
compound period (3, 4) olympia.rep_signals; the reps as peaks of the counted signal and their
confidence (5) olympia.rep_peaks; the rep boundaries (6) olympia.rep_bounds; bounds for a clip
whose source gives only a count olympia.rep_bounds_estimate.

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
    scan_periods,
)
from olympia.rep_bounds import (
    SPAN_OVERSHOOT,
    cover_clip,
    rest_band_bounds,
    start_pose_bounds,
)
from olympia.rep_peaks import (
    TEMPO_DRIFT,
    away_from_rest,
    continued_reps,
    cycle_peaks,
    edge_reps,
    peak_spacing,
    rep_confidence,
    whole_cycle_reps,
)
from olympia.rep_signals import (
    candidate_signals,
    compound_period,
    counted_signal,
    limb_reaches,
)
from olympia.timebase import FPS

MIN_SPAN_M = 0.05         # the one-rep fallback needs a principal motion this large (metres)
FALLBACK_CONFIDENCE = 0.5 # a lone excursion is a guess, not a repeated cycle
FALLBACK_COMPONENTS = 2   # ... searched on the first principal components in turn (see `_fallback`)
SAME_POSE = 0.5           # stretches whose mean poses differ by less than this of their spread ...
SAME_DIRECTION = 0.7      # ... and whose main directions of motion agree this well: one movement
SHORT_CLIP_CYCLES = 1.75  # a clip too short for two cycles may show its period when this many fit
SHORT_CLIP_RETURN = 0.5   # ... and its reps are reps when, between them, the pose comes back closer than
#                           this share of the clip's farthest pose from its edges', and their peaks
#                           lie as close to each other (see `returns_between_reps`)


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


def count_reps(keypoints: np.ndarray, fps: float = FPS, cut_to_set: bool = False) -> CountResult:
    """Count repetitions in a (T, J, 3) skeleton sequence at `fps` (see the module docstring).

    `cut_to_set`: the sequence is one set cut where its first rep starts and its last rep ends
    (a dataset's labelled set, a clip trimmed by hand), so the reps cover it: the first starts
    at frame 0 and the last ends at the last frame (`cover_clip`). Without it the set's edges
    are estimated, and idle frames before and after it stay out of the reps. The count and the
    bounds between reps are the same either way."""
    x = pose_features(keypoints, fps)
    scan = scan_periods(x, fps)
    if not scan.periodic.any():   # a clip of one set, too short for two cycles, or one rep
        result = short_clip_reps(x, fps) or _fallback(x, fps)
    else:
        result = count_periodic(x, scan)
    if cut_to_set and result.count:
        result = replace(result, rep_bounds=cover_clip(result.rep_bounds, len(x)), span=(0, len(x)))
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
    counted signal away from the rest pose (see `away_from_rest`) inside `mask`. The counted
    signal repeats best after one period and least after a half or a third of it (or after
    sub_period, the sub-motions of compound reps). `strength` (per frame, the scan's) scales
    each rep's confidence by how well its cycle repeats. `tempo` (per frame of x, the local
    period, NaN where unknown) lets reps come closer where the set runs faster than `period`.
    `reach` ([start, end) around span): frames the set's reps may continue into past its
    periodic windows (`continued_reps`), which widens the span."""
    a, b = span
    xs = x[a:b]
    name, direction, s, period = counted_signal(xs, period, sub_period)
    sign = away_from_rest(s, period)
    clip_edges = (a == 0, b == len(x))
    peaks, prom = edge_reps(sign * s, *cycle_peaks(sign * s, period, peak_spacing(tempo, (a, b), period, mask)),
                            period, clip_edges)
    if mask is not None and len(peaks):
        keep = mask[a + peaks]
        peaks, prom = peaks[keep], prom[keep]
    continued = np.zeros(len(peaks), bool)
    if reach is not None and len(peaks) >= 2:
        along = np.full(len(x), np.nan)                 # the counted signal over the reach
        along[reach[0]:reach[1]] = sign * ((x[reach[0]:reach[1]] - xs.mean(axis=0)) @ direction)
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
    conf = rep_confidence(prom, bounds + a, strength, period) * closeness
    if continued.any():   # no window repeats over a continued rep: half as sure as the set's reps
        conf[continued] = (FALLBACK_CONFIDENCE * float(np.median(conf[~continued]))
                           * np.clip(prom[continued] / float(np.median(prom)), 0.0, 1.0))
    return CountResult(int(len(peaks)), float(period), (peaks + a).astype(np.int64),
                       (bounds + a).astype(np.int64), conf, (a, b), name)


def _fallback(x: np.ndarray, fps: float = FPS, offset: int = 0) -> CountResult:
    """No two matching cycles: count the prominent excursions of the first principal component
    (one rep, or a motion too irregular to be periodic): each rises at least MIN_SPAN_M and a
    third of the component's range and lasts at least MIN_PERIOD_S; where it has none, the next
    component, up to FALLBACK_COMPONENTS (a step to a new stance can be the largest motion, the
    rep the second: UI-PRMD's inline lunge m03 s02 e02); 0 when nothing does."""
    empty = CountResult(0, None, np.zeros(0, np.int64))
    if len(x) < 3:
        return empty
    signals = candidate_signals(x)
    for name in [f"pc{k}" for k in range(FALLBACK_COMPONENTS) if f"pc{k}" in signals]:
        s = signals[name]
        span = float(np.ptp(s))
        if span < MIN_SPAN_M:
            return empty
        sign = away_from_rest(s, len(s) / 2)
        peaks, _ = find_peaks(sign * s, prominence=max(span / 3, MIN_SPAN_M),
                              distance=max(1, int(MIN_PERIOD_S * fps)))
        if len(peaks):
            bounds = rest_band_bounds(sign * s, peaks, len(s))
            conf = np.full(len(peaks), FALLBACK_CONFIDENCE)
            return CountResult(int(len(peaks)), None, peaks.astype(np.int64) + offset, bounds + offset, conf,
                               (offset, offset + len(x)), name)
    return empty


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
    variance and does not repeat.

    Between two reps the body comes back to the pose the clip starts and ends in, and each rep
    peaks in the same pose; one rep may hold two motions that do not (UI-PRMD's single
    repetitions counted 2 in 120 of 231; Fit3D's single annotated reps 1 in only 26% of 761): see
    `returns_between_reps`. Where they are not reps, the clip shows no reps here."""
    signals = {**candidate_signals(x), **limb_reaches(x)}
    found = short_clip_period(signals, fps)
    if found is None:
        return None
    name, period, strength = found
    s = signals[name]
    sign = away_from_rest(s, period)
    peaks, prom = cycle_peaks(sign * s, period)
    if len(peaks) < 2:
        return None
    bounds = rest_band_bounds(sign * s, peaks, period)
    if not returns_between_reps(x, bounds[1:, 0], peaks):
        return None
    conf = rep_confidence(prom, bounds, None, period) * strength
    return CountResult(int(len(peaks)), period, peaks.astype(np.int64), bounds.astype(np.int64), conf,
                       (0, len(x)), name, strength)


def returns_between_reps(x: np.ndarray, cuts: np.ndarray, peaks: np.ndarray) -> bool:
    """Whether a short clip's reps are reps: at each frame of `cuts` (the boundaries between
    them) the pose lies closer than SHORT_CLIP_RETURN of the clip's farthest pose to the mean of
    its first and last poses, and the pose at each rep's peak lies as close to the first rep's.
    Poses are compared by their joints' pairwise distances, which a turning camera (a handheld
    phone tilting, see `limb_reaches`) leaves alone. One rep may hold two motions that each go
    out and back: a secondary component of one squat (the bottom lies between them: UI-PRMD's
    single repetitions, 0.38-1.0 of the way to the farthest pose, median 1.0), or the two sides
    of an alternating rep and the two parts of a compound one (a twist left, then right; a
    squat, then a press), which come back between them but peak in different poses (Fit3D's
    single annotated reps: 0.47-1.95 apart, but for 3 burpees and a mule kick at 0.09-0.26).
    Short real sets: boundaries 0.03-0.29 of the way, peaks 0.03-0.29 apart (Fit3D windows of 2
    annotated reps), 0.17 and 0.41 (the Countix segment)."""
    p = x.reshape(len(x), -1, 3)
    i, j = np.triu_indices(p.shape[1], 1)
    shape = np.linalg.norm(p[:, i] - p[:, j], axis=2)            # (T, J(J-1)/2)
    edges = 0.5 * (shape[0] + shape[-1])
    far = max(float(np.linalg.norm(shape - edges, axis=1).max()), 1e-12)
    back = np.linalg.norm(shape[cuts] - edges, axis=1)
    apart = np.linalg.norm(shape[peaks] - shape[peaks[0]], axis=1)
    return bool(np.all(back < SHORT_CLIP_RETURN * far) and np.all(apart < SHORT_CLIP_RETURN * far))
