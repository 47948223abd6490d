"""Training-free repetition counter on a 3D skeleton (the baseline beside LiFT).

Classical signal processing, no learning. A *set* is a stretch where the pose repeats: the
cycle that starts at frame t comes back one period later.

1. pose features: joints relative to the root (translation removed, so walking into the
   capture area is not motion of the exercise), (T, 48), lightly smoothed;
2. recurrence: for every frame t and candidate period L (0.4 s .. 12 s, 4% steps) the window
   [t, t + 2L) is periodic with strength r = 1 - |x(t..t+L) - x(t+L..t+2L)|^2 / V, V the
   window's variance around its mean (r = 1: the second cycle repeats the first, r ~ 0: it
   is unrelated). Each window keeps the *shortest* period scoring at least 85% of its best
   one (so 2x and 3x multiples of the rep lose), and counts only when the pose moves (RMS
   deviation >= 5 cm, below is idle or jitter);
3. the set's period P is the strength-weighted median of the periodic windows' periods, and
   its frames are those covered by periodic windows whose period is within 25% of P: idle,
   walking in, lying down for a push-up or picking up the bar are left out;
4. the counted signal: among the set's principal components and per-limb components (a
   one-arm row moves one arm), the one that repeats best at P. Compound reps (a curl
   trifecta: three curls make one rep) repeat in the *whole* pose only at the full period,
   which step 2 measures, and peaks closer than 0.6 P merge into one rep;
5. reps: peaks of the signal away from the rest pose (the pose at the set's edges) with a
   prominence of at least 0.3 of the typical cycle's range; rep boundaries are the troughs
   (the returns to rest) between them; each rep's confidence is how well its cycle repeats
   times how full its amplitude is.

A clip without two matching cycles (one rep) falls back to counting prominent excursions of
the first principal component. The counter is blind to what the exercise is, counts any
periodic motion (walking in place is a periodic motion) and counts alternating sides as one
rep when the whole pose repeats only after both sides (Fit3D's convention).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import find_peaks

from olympia.skeleton import KINEMATIC_CHAINS
from olympia.timebase import FPS

MIN_PERIOD_S = 0.4        # faster than 2.5 reps/s is not a rep but jitter
MAX_PERIOD_S = 20.0       # slower than one rep per 20 s is not seen as periodic (a man maker: 15 s)
SMOOTH_S = 0.2            # moving-average window of the pose features
LAG_STEP = 0.04           # relative spacing of the candidate periods
MIN_AMPLITUDE_M = 0.05    # RMS deviation of the pose (all joints) below this is idle or jitter
MIN_RECURRENCE = 0.6      # a 2-cycle window whose second cycle repeats the first this well is periodic
HARMONIC_FRACTION = 0.85  # the shortest period scoring this fraction of a window's best wins
PERIOD_TOLERANCE = 1.25   # windows within this factor of the set's period belong to the set
MIN_PEAK_DISTANCE = 0.6   # peaks closer than this many periods are one rep
MIN_PROMINENCE = 0.3      # a rep's peak rises at least this fraction of the typical cycle range
MIN_SPAN_M = MIN_AMPLITUDE_M   # the one-rep fallback needs a principal motion this large

# Limb signals: each limb chain without the shared thorax/root joint (features drop the root).
LIMBS = {"torso": (7, 8, 9, 10), "left_leg": (4, 5, 6), "right_leg": (1, 2, 3),
         "left_arm": (11, 12, 13), "right_arm": (14, 15, 16)}
N_COMPONENTS = 4          # principal components offered as candidate signals
COMPOUND_MIN_RATIO = 0.3  # principal directions this large (vs the first) must all repeat
COMPOUND_MARGIN = 0.25    # a longer lag must repeat this much better to make reps compound
COMPOUND_MAX_MULTIPLE = 4 # a compound rep holds at most this many sub-motions
SCAN_VARIANCE = 0.999     # the period scan keeps the principal directions holding this variance


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


def pose_features(keypoints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(T, J, 3) -> (T, 3(J-1)) float64: joints minus the root, NaN runs interpolated, smoothed."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 3 or kp.shape[1] < 2:
        raise ValueError(f"count_reps expects (T, J, 3) keypoints, got shape {kp.shape}")
    x = (kp[:, 1:] - kp[:, :1]).reshape(len(kp), -1)
    x = _interpolate_nan(x)
    return moving_average(x, max(1, int(round(SMOOTH_S * fps))))


def _interpolate_nan(x: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(x).all(axis=1)
    if not bad.any():
        return x
    if bad.all():
        return np.zeros_like(x)
    idx = np.arange(len(x))
    good = ~bad
    out = x.copy()
    for c in range(x.shape[1]):   # per coordinate; holds the nearest value at the ends
        out[bad, c] = np.interp(idx[bad], idx[good], x[good, c])
    return out


def moving_average(x: np.ndarray, w: int) -> np.ndarray:
    """Centred moving average along axis 0, edges padded with the edge value."""
    if w <= 1 or len(x) < 2:
        return np.array(x, dtype=np.float64)
    x2 = x.reshape(len(x), -1)
    pad = np.pad(x2, ((w // 2, w - 1 - w // 2), (0, 0)), mode="edge")
    c = np.cumsum(np.vstack([np.zeros((1, x2.shape[1])), pad]), axis=0)
    return ((c[w:] - c[:-w]) / w).reshape(x.shape)


def lag_grid(fps: float = FPS, max_lag: int | None = None) -> np.ndarray:
    """Candidate periods in frames, MIN_PERIOD_S .. MAX_PERIOD_S, LAG_STEP apart (at least 1)."""
    lo = max(2, int(round(MIN_PERIOD_S * fps)))
    hi = int(round(MAX_PERIOD_S * fps)) if max_lag is None else min(max_lag, int(round(MAX_PERIOD_S * fps)))
    lags = [lo]
    while lags[-1] < hi:
        lags.append(max(lags[-1] + 1, int(round(lags[-1] * (1 + LAG_STEP)))))
    return np.asarray([l for l in lags if l <= hi] or [lo], dtype=np.int64)


def recurrence(x: np.ndarray, lags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strength r and amplitude a of every 2-cycle window, both (len(lags), T), NaN where the
    window [t, t + 2L) does not fit. r = 1 - sum|x_s - x_{s+L}|^2 (s in [t, t+L)) / V with V the
    window's summed squared deviation from its mean; a is the RMS pose deviation of the
    quieter cycle (a rep followed by rest is not two cycles: the rest does not move)."""
    t_len, dims = x.shape
    c1 = np.vstack([np.zeros((1, dims)), np.cumsum(x, axis=0)])
    c2 = np.concatenate([[0.0], np.cumsum((x * x).sum(axis=1))])
    strength = np.full((len(lags), t_len), np.nan)
    amplitude = np.full((len(lags), t_len), np.nan)
    for i, lag in enumerate(lags):
        n = t_len - 2 * lag + 1
        if n <= 0:
            break
        d = ((x[lag:] - x[:-lag]) ** 2).sum(axis=1)
        cd = np.concatenate([[0.0], np.cumsum(d)])
        t = np.arange(n)
        num = cd[t + lag] - cd[t]
        first, second = c1[t + lag] - c1[t], c1[t + 2 * lag] - c1[t + lag]
        whole = first + second
        var = np.maximum(c2[t + 2 * lag] - c2[t] - (whole * whole).sum(axis=1) / (2 * lag), 0.0)
        var1 = c2[t + lag] - c2[t] - (first * first).sum(axis=1) / lag
        var2 = c2[t + 2 * lag] - c2[t + lag] - (second * second).sum(axis=1) / lag
        strength[i, :n] = 1.0 - num / np.maximum(var, 1e-12)
        amplitude[i, :n] = np.sqrt(np.maximum(np.minimum(var1, var2), 0.0) / lag)
    return strength, amplitude


def window_periods(strength: np.ndarray, amplitude: np.ndarray, lags: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per window start t: (period in frames, strength), 0 / -1 where the window is not periodic.

    The period is the shortest local maximum over lags whose strength reaches
    HARMONIC_FRACTION of the window's best; windows moving less than MIN_AMPLITUDE_M or
    repeating less than MIN_RECURRENCE are not periodic."""
    s = np.where(np.nan_to_num(amplitude) >= MIN_AMPLITUDE_M, np.nan_to_num(strength, nan=-1.0), -1.0)
    padded = np.vstack([np.full((1, s.shape[1]), -1.0), s, np.full((1, s.shape[1]), -1.0)])
    is_peak = (s > padded[:-2]) & (s >= padded[2:]) & (s >= MIN_RECURRENCE)
    best = np.where(is_peak, s, -1.0).max(axis=0)
    chosen = is_peak & (s >= HARMONIC_FRACTION * best[None])
    first = np.argmax(chosen, axis=0)
    has = chosen.any(axis=0)
    t = np.arange(s.shape[1])
    period = np.where(has, lags[first], 0)
    return period.astype(np.int64), np.where(has, s[first, t], -1.0)


def dominant_period(periods: np.ndarray, strengths: np.ndarray, lags: np.ndarray) -> float:
    """The set's period: the most supported lag (strength-weighted histogram over the lag grid,
    neighbours pooled), refined as the weighted median of the windows within
    PERIOD_TOLERANCE of it. A plain median of a mix (windows at P and at 3P) is neither."""
    idx = np.searchsorted(lags, periods)
    hist = np.bincount(idx, weights=strengths, minlength=len(lags)).astype(float)
    pooled = hist + np.concatenate([[0.0], hist[:-1]]) + np.concatenate([hist[1:], [0.0]])
    mode = float(lags[int(np.argmax(pooled))])
    near = (periods >= mode / PERIOD_TOLERANCE) & (periods <= mode * PERIOD_TOLERANCE)
    return weighted_median(periods[near].astype(float), strengths[near])


def compound_period(xs: np.ndarray, period: float, lags: np.ndarray) -> float:
    """`period`, or a longer lag when the set's reps are compound.

    The recurrence weighs pose directions by their variance, so three curl variants that differ
    only in smaller directions look like three reps. Here every significant principal direction
    (singular value >= COMPOUND_MIN_RATIO of the largest) counts equally: a lag up to
    COMPOUND_MAX_MULTIPLE periods that repeats clearly better (by COMPOUND_MARGIN) than
    `period` is the full rep."""
    xc = xs - xs.mean(axis=0)
    if len(xc) < 4 or not np.any(xc):
        return period
    sv, vt = principal_axes(xc)
    keep = np.flatnonzero(sv >= COMPOUND_MIN_RATIO * sv[0])
    if len(keep) < 2:
        return period
    z = (xc @ vt[keep].T) / sv[keep]
    longer = [int(l) for l in lags if period * 1.5 <= l <= min(COMPOUND_MAX_MULTIPLE * period * 1.1, len(z) / 2)]
    if not longer:
        return period
    r = nsdf(z, max(longer[-1], int(np.ceil(period * 1.1))))
    base = float(r[_around(period, len(r))].max())
    scores = r[longer]
    if scores.max() < base + COMPOUND_MARGIN:
        return period
    return float(longer[int(np.argmax(scores >= HARMONIC_FRACTION * scores.max()))])


def _around(period: float, n: int) -> slice:
    return slice(max(1, int(period / 1.1)), max(2, min(n, int(np.ceil(period * 1.1)) + 1)))


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cw = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cw, cw[-1] / 2)])


def periodic_mask(period: np.ndarray, strength: np.ndarray, set_period: float, n_frames: int
                  ) -> np.ndarray:
    """(T,) bool: frames covered by a periodic window whose period is within
    PERIOD_TOLERANCE of set_period (a window starting at t covers [t, t + 2 * period))."""
    ok = (strength > 0) & (period >= set_period / PERIOD_TOLERANCE) & (period <= set_period * PERIOD_TOLERANCE)
    starts = np.flatnonzero(ok)
    delta = np.zeros(n_frames + 1, np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.minimum(starts + 2 * period[starts], n_frames), -1)
    return np.cumsum(delta[:-1]) > 0


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def candidate_signals(x: np.ndarray) -> dict[str, np.ndarray]:
    """1-D signals of the centred features: the top principal components of the whole pose and
    the first principal component of each limb (joint indices shift by one: no root)."""
    xc = x - x.mean(axis=0)
    out = {}
    if not np.any(xc):
        return {"pc0": np.zeros(len(x))}
    _, vt = principal_axes(xc)
    for k in range(min(N_COMPONENTS, len(vt))):
        out[f"pc{k}"] = xc @ vt[k]
    for name, joints in LIMBS.items():
        cols = np.concatenate([np.arange(3 * (j - 1), 3 * j) for j in joints])
        xl = xc[:, cols]
        if np.any(xl):
            out[name] = xl @ principal_axes(xl)[1][0]
    return out


def nsdf(z: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised square difference of a centred signal (T,) or (T, D) with itself, lags
    0..max_lag: 1 - sum|z_t - z_{t+L}|^2 / (sum_{t<T-L} |z_t|^2 + sum_{t>=L} |z_t|^2);
    1 = repeats exactly after L frames, 0 = unrelated, -1 = mirrored."""
    z = z.reshape(len(z), -1)
    n = len(z)
    max_lag = int(min(max_lag, n - 1))
    spec = np.fft.rfft(z, 2 * n, axis=0)
    acf = np.fft.irfft((spec * np.conj(spec)).real.sum(axis=1), 2 * n)[:max_lag + 1]
    energy = np.concatenate([[0.0], np.cumsum((z * z).sum(axis=1))])
    lag = np.arange(max_lag + 1)
    den = energy[n - lag] + (energy[n] - energy[lag])
    return 2.0 * acf / np.maximum(den, 1e-12)


def repeat_strength(signal: np.ndarray, *periods: float) -> list[float]:
    """How well a signal repeats after each of `periods`: the best `nsdf` within 15% of it
    (-1 when the period does not fit in the signal)."""
    s = signal - signal.mean(axis=0)
    r = nsdf(s, int(np.ceil(max(periods) * 1.15)))
    out = []
    for period in periods:
        lo, hi = max(1, int(period / 1.15)), int(np.ceil(period * 1.15))
        out.append(float(r[lo:hi + 1].max()) if lo < len(r) else -1.0)
    return out


def principal_axes(xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Singular values and right singular vectors (rows, largest first) of a centred (T, D)
    array, from the D x D scatter matrix (much cheaper than an SVD when T >> D)."""
    w, v = np.linalg.eigh(xc.T @ xc)
    order = np.argsort(w)[::-1]
    return np.sqrt(np.maximum(w[order], 0.0)), v[:, order].T


@dataclass(frozen=True)
class PeriodScan:
    """Per frame t: the period of the 2-cycle window starting at t, and its strength."""

    period: np.ndarray    # (T,) int64 frames; 0 where the window is not periodic
    strength: np.ndarray  # (T,) recurrence strength; -1 where the window is not periodic
    lags: np.ndarray      # candidate periods (frames) that were scanned

    @property
    def periodic(self) -> np.ndarray:
        return self.strength > 0


def scan_periods(x: np.ndarray, fps: float = FPS) -> PeriodScan:
    """`recurrence` + `window_periods` on pose features (T, D), made cheap: the features are
    projected on the principal directions holding 99.9% of their variance (distances kept),
    and scanned at half the frame rate when that still leaves >= 10 frames per second."""
    n = len(x)
    step = 2 if fps >= 20 else 1
    z = principal_coordinates(x, SCAN_VARIANCE)[::step]
    lags = lag_grid(fps / step, len(z) // 2)
    if len(z) < 2 * lags[0]:
        return PeriodScan(np.zeros(n, np.int64), np.full(n, -1.0), lags * step)
    strength, amplitude = recurrence(z, lags)
    period, q = window_periods(strength, amplitude, lags)
    return PeriodScan(np.repeat(period * step, step)[:n], np.repeat(q, step)[:n], lags * step)


def principal_coordinates(x: np.ndarray, variance: float) -> np.ndarray:
    """Centred x in its principal axes, keeping the fewest holding `variance` of the total."""
    xc = x - x.mean(axis=0)
    if not np.any(xc):
        return xc[:, :1]
    sv, vt = principal_axes(xc)
    share = np.cumsum(sv ** 2) / np.sum(sv ** 2)
    k = int(np.searchsorted(share, variance)) + 1
    return xc @ vt[:k].T


def count_reps(keypoints: np.ndarray, fps: float = FPS) -> CountResult:
    """Count repetitions in a (T, J, 3) skeleton sequence at `fps` (see the module docstring)."""
    x = pose_features(keypoints, fps)
    scan = scan_periods(x, fps)
    if not scan.periodic.any():
        return _fallback(x, fps)
    return count_periodic(x, scan)


def count_periodic(x: np.ndarray, scan: PeriodScan, span: tuple[int, int] | None = None,
                   max_pause: int | None = None) -> CountResult:
    """Reps in features x given their period scan: the set's period, its frames, the compound
    check, then `count_in_span`. `span` restricts the search to [start, end); with `max_pause`
    (frames) the set is only the strongest stretch of its period without a longer pause
    (sets.py: a rest separates sets; a clip's pauses are inside its one set)."""
    n = len(x)
    periodic = scan.periodic.copy()
    if span is not None:
        outside = np.ones(n, bool)
        outside[span[0]:span[1]] = False
        periodic &= ~outside
    if not periodic.any():
        return _fallback(x if span is None else x[span[0]:span[1]], FPS, offset=0 if span is None else span[0])
    period, q = scan.period, np.where(periodic, scan.strength, -1.0)
    set_period = dominant_period(period[periodic], q[periodic], scan.lags)
    mask = periodic_mask(period, q, set_period, n)
    if span is not None:
        mask[:span[0]] = False
        mask[span[1]:] = False
    if max_pause is not None:
        mask = _strongest_stretch(mask, q, max_pause)
    a, b = _main_span(mask)
    full = compound_period(x[a:b], set_period, scan.lags)
    sub_period = None
    if full != set_period:   # compound reps: the pose repeats only after several sub-motions
        sub_period, set_period = set_period, full
        mask |= periodic_mask(period, q, full, n) & (mask.cumsum() > 0) & (mask[::-1].cumsum()[::-1] > 0)
    result = count_in_span(x, (a, b), set_period, mask, sub_period)
    in_set = periodic & (period >= set_period / PERIOD_TOLERANCE) & (period <= set_period * PERIOD_TOLERANCE)
    return _with(result, periodicity=float(np.median(q[in_set])) if in_set.any() else 0.0)


def _strongest_stretch(mask: np.ndarray, q: np.ndarray, max_pause: int) -> np.ndarray:
    """Only the stretch of `mask` (runs closer than max_pause joined) with the largest summed
    window strength."""
    stretches: list[list[int]] = []
    for a, b in runs(mask):
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


def _with(result: CountResult, **changes) -> CountResult:
    from dataclasses import replace
    return replace(result, **changes)


def count_in_span(x: np.ndarray, span: tuple[int, int], period: float, mask: np.ndarray | None = None,
                  sub_period: float | None = None) -> CountResult:
    """Reps of features x inside span [a, b) with a known period (frames): the extremes of the
    counted signal away from the rest pose (see `_away_from_rest`), inside `mask`. The counted
    signal is the candidate that repeats best after one period; for compound reps (sub_period:
    the period of the sub-motions) the one that repeats at the period and not at sub_period."""
    a, b = span
    xs = x[a:b]
    signals = candidate_signals(xs)

    subs = [period / m for m in (2, 3) if period / m >= 2] if sub_period is None else [sub_period]

    def score(k: str) -> float:   # repeats once per rep, not once per half or third of a rep
        full, *sub = repeat_strength(signals[k], period, *subs)
        return full - max([0.0] + sub)
    name = max(signals, key=score)
    s = signals[name]
    sign = _away_from_rest(s, period)
    peaks, prom = _rep_peaks(sign * s, period)
    if mask is not None and len(peaks):
        keep = mask[a + peaks]
        peaks, prom = peaks[keep], prom[keep]
    bounds = _rep_bounds(sign * s, peaks, period)
    conf = _confidence(xs, s, peaks, prom, bounds, period)
    return CountResult(int(len(peaks)), float(period), (peaks + a).astype(np.int64),
                       (bounds + a).astype(np.int64), conf, (a, b), name)


def _away_from_rest(s: np.ndarray, period: float) -> float:
    """+1 when reps are maxima of s, -1 when minima: rest is where the set starts and ends."""
    edge = max(1, int(0.15 * period))
    rest = 0.5 * (np.median(s[:edge]) + np.median(s[-edge:]))
    return 1.0 if np.median(s) >= rest else -1.0


def _rep_peaks(s: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray]:
    """Peaks at least MIN_PEAK_DISTANCE periods apart rising MIN_PROMINENCE of the typical
    cycle range (the median range over one-period windows)."""
    w = max(2, int(round(period)))
    if len(s) > w:
        windows = np.lib.stride_tricks.sliding_window_view(s, w)[:: max(1, w // 4)]
        cycle_range = float(np.median(windows.max(axis=1) - windows.min(axis=1)))
    else:
        cycle_range = float(np.ptp(s))
    peaks, props = find_peaks(s, distance=max(1, int(MIN_PEAK_DISTANCE * period)),
                              prominence=max(MIN_PROMINENCE * cycle_range, 1e-9))
    return peaks.astype(np.int64), props["prominences"]


def _rep_bounds(s: np.ndarray, peaks: np.ndarray, period: float, rests: np.ndarray | None = None
                ) -> np.ndarray:
    """[start, end) per rep: the rest extreme between two rep peaks (the trough when there is
    none); the first rep starts at the rest extreme (else the trough) within one period before
    its peak, the last ends at the one within one period after its peak."""
    if not len(peaks):
        return np.zeros((0, 2), np.int64)
    rests = np.zeros(0, np.int64) if rests is None else np.asarray(rests, np.int64)
    reach = int(round(period))
    edges = [(max(0, peaks[0] - reach), int(peaks[0]) + 1)]
    edges += [(int(p), int(q) + 1) for p, q in zip(peaks[:-1], peaks[1:])]
    edges.append((int(peaks[-1]), min(len(s), int(peaks[-1]) + reach + 1)))
    cuts = []
    for lo, hi in edges:
        inside = rests[(rests >= lo) & (rests < hi)]
        cuts.append(int(inside[np.argmin(s[inside])]) if len(inside) else lo + int(np.argmin(s[lo:hi])))
    cuts = np.asarray(cuts, np.int64)
    cuts[-1] = min(max(cuts[-1] + 1, peaks[-1] + 1), len(s))
    bounds = np.stack([cuts[:-1], cuts[1:]], axis=1)
    bounds[:, 1] = np.maximum(bounds[:, 1], bounds[:, 0] + 1)
    return bounds


def _confidence(xs, s, peaks, prom, bounds, period) -> np.ndarray:
    """Per rep in [0, 1]: prominence relative to the set's median (a half rep scores 0.5)."""
    if not len(peaks):
        return np.zeros(0)
    med = float(np.median(prom)) if len(prom) else 1.0
    return np.clip(prom / max(med, 1e-12), 0.0, 1.0)


def _fallback(x: np.ndarray, fps: float, offset: int = 0) -> CountResult:
    """No two matching cycles: count the prominent excursions of the first principal component
    (one rep, or a motion too irregular to be periodic); 0 when the pose barely moves."""
    empty = CountResult(0, None, np.zeros(0, np.int64))
    if len(x) < 3:
        return empty
    s = candidate_signals(x)["pc0"]
    span = float(np.ptp(s))
    if span < MIN_SPAN_M:
        return empty
    sign = _away_from_rest(s, len(s) / 2)
    peaks, props = find_peaks(sign * s, prominence=span / 3)
    if not len(peaks):
        return empty
    bounds = _rep_bounds(sign * s, peaks, len(s))
    conf = np.full(len(peaks), 0.5)   # a lone excursion is a guess, not a repeated cycle
    return CountResult(int(len(peaks)), None, peaks.astype(np.int64) + offset, bounds + offset, conf,
                       (offset, offset + len(x)), "pc0")


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


def estimate_rep_bounds(keypoints: np.ndarray, reps: int | None = None, fps: float = FPS
                        ) -> RepBoundsEstimate:
    """Per-rep [start, end) frames for a clip of one set, estimated by the counter.

    reps=None: the counter's reps. A known count `reps` is kept: when the counter finds that
    many, its bounds are used; otherwise the `reps` most prominent cycles of the counted
    signal at period (set length / reps) are taken, and when even those are too few the set
    is split into `reps` equal parts. One rep spans the whole clip. Bounds are always valid
    for `olympia.segment.check_rep_bounds(bounds, len(keypoints), reps)`."""
    n = len(keypoints)
    res = count_reps(keypoints, fps)
    if reps is None or (reps > 0 and res.count == reps):
        method = "counter" if res.count else "none"
        return RepBoundsEstimate(res.rep_bounds.copy(), res.confidence.copy(), method)
    if reps <= 0 or n == 0:
        return RepBoundsEstimate(np.zeros((0, 2), np.int64), np.zeros(0), "none")
    if reps == 1:
        return RepBoundsEstimate(np.asarray([[0, n]], np.int64), np.ones(1), "forced")
    x = pose_features(keypoints, fps)
    a, b = res.span if res.span and res.count else (0, n)
    if (b - a) < reps * 2:
        a, b = 0, n
    period = (b - a) / reps
    forced = _forced_bounds(x[a:b], reps, period)
    if forced is not None:
        bounds, conf = forced
        return RepBoundsEstimate(bounds + a, conf, "forced")
    edges = np.rint(np.linspace(a, b, reps + 1)).astype(np.int64)
    return RepBoundsEstimate(np.stack([edges[:-1], edges[1:]], axis=1), np.full(reps, 0.25), "even")


def _forced_bounds(xs: np.ndarray, reps: int, period: float):
    """The `reps` most prominent extremes (away from rest) of the counted signal, at least half
    a period apart, and the troughs between them; None when there are fewer."""
    signals = candidate_signals(xs)
    name = max(signals, key=lambda k: repeat_strength(signals[k], period)[0])
    s = signals[name]
    sign = _away_from_rest(s, period)
    peaks, props = find_peaks(sign * s, distance=max(1, int(0.5 * period)), prominence=1e-9)
    if len(peaks) < reps:
        return None
    top = np.sort(peaks[np.argsort(props["prominences"])[::-1][:reps]])
    prom = props["prominences"][np.searchsorted(peaks, top)]
    bounds = _rep_bounds(sign * s, top, period)
    return bounds, 0.5 * np.clip(prom / max(float(np.median(prom)), 1e-12), 0.0, 1.0)
