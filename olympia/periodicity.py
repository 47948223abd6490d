"""Periodicity of a skeleton sequence: where and with what period the pose repeats.

The primitive under the rep counter (olympia.counting) and the set detector (olympia.sets).
For every frame t and candidate period L (0.4 s .. 20 s, 4% apart) the window [t, t + 2L)
holds two cycles; it is *periodic* when the second repeats the first:

    r(t, L) = 1 - sum_{s in [t, t+L)} |x_s - x_{s+L}|^2 / V(t, L)

with x the pose features (joints minus their centroid, lightly smoothed) and V the window's
summed squared deviation from its mean (r = 1: exact repeat, r ~ 0: unrelated). A window
counts only when both cycles move (RMS deviation of the quieter one >= 5 cm: a rep followed
by rest, idling or pose jitter is not periodic) and r >= 0.6. Each window keeps the shortest
period scoring at least 85% of its best one, so 2x and 3x multiples of the rep lose. The
scan keeps two numbers per frame (that period and its strength); the (lags x T) map is built
and dropped a chunk at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from olympia.gaps import fill_gaps, missing_runs
from olympia.timebase import FPS

MIN_PERIOD_S = 0.4        # faster than 2.5 reps/s is not a rep but jitter
MAX_PERIOD_S = 20.0       # slower than one rep per 20 s is not seen as periodic (a man maker: 15 s)
SMOOTH_S = 0.2            # moving-average window of the pose features
LAG_STEP = 0.06           # relative spacing of the candidate periods
MIN_AMPLITUDE_M = 0.03    # RMS deviation of the pose (all joints) below this is idle or jitter
MIN_RECURRENCE = 0.6      # a 2-cycle window whose second cycle repeats the first this well is periodic
HARMONIC_FRACTION = 0.85  # the shortest period scoring this fraction of a window's best wins
PERIOD_TOLERANCE = 1.25   # windows within this factor of a set's period belong to the set
REST_S = 3.0              # a still stretch this long is a rest: no periodic window holds one
SCAN_VARIANCE = 0.999     # the scan keeps the principal directions holding this share of variance,
SCAN_DIMS = 12            # and at most this many
SCAN_DECIMATION = 2       # the scan runs at half the frame rate (12.5 fps)
SCAN_HOP = 2              # windows start every SCAN_HOP scanned frames (0.16 s)


def pose_features(keypoints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(T, J, 3) -> (T, 3J) float64: joints minus the body's centroid (translation removed;
    unlike the root alone, the centroid averages the joints' jitter instead of adding the
    root's to every joint), NaN runs interpolated, smoothed."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 3 or kp.shape[1] < 2:
        raise ValueError(f"count_reps expects (T, J, 3) keypoints, got shape {kp.shape}")
    if not np.isfinite(kp).all():
        gaps = fill_gaps(kp, max_gap=None)   # the one gap filler: interpolate in time, hold at the ends
        kp = np.where(gaps.missing[:, None, None], 0.0, gaps.keypoints.astype(np.float64))
    x = (kp - kp.mean(axis=1, keepdims=True)).reshape(len(kp), -1)
    return moving_average(x, max(1, int(round(SMOOTH_S * fps))))


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


def recurrence(x: np.ndarray, lags: np.ndarray, rest: np.ndarray | None = None, hop: int = 1
               ) -> tuple[np.ndarray, np.ndarray]:
    """Strength r and amplitude a of the 2-cycle windows starting every `hop` frames, both
    (len(lags), ceil(T / hop)), NaN where the window [t, t + 2L) does not fit.
    r = 1 - sum|x_s - x_{s+L}|^2 (s in [t, t+L)) / V with V the window's summed squared
    deviation from its mean; a is the RMS pose deviation of the quieter cycle (a rep followed
    by rest is not two cycles: the rest does not move). Windows holding a frame of `rest`
    (bool, (T,)) get NaN."""
    t_len, dims = x.shape
    c1 = np.vstack([np.zeros((1, dims)), np.cumsum(x, axis=0)])
    c2 = np.concatenate([[0.0], np.cumsum((x * x).sum(axis=1))])
    in_rest = np.concatenate([[0], np.cumsum(rest if rest is not None else np.zeros(t_len, bool))])
    n_starts = -(-t_len // hop)
    strength = np.full((len(lags), n_starts), np.nan)
    amplitude = np.full((len(lags), n_starts), np.nan)
    for i, lag in enumerate(lags):
        t = np.arange(0, t_len - 2 * lag + 1, hop)
        if not len(t):
            break
        d = ((x[lag:] - x[:-lag]) ** 2).sum(axis=1)
        cd = np.concatenate([[0.0], np.cumsum(d)])
        num = cd[t + lag] - cd[t]
        first, second = c1[t + lag] - c1[t], c1[t + 2 * lag] - c1[t + lag]
        whole = first + second
        var = np.maximum(c2[t + 2 * lag] - c2[t] - (whole * whole).sum(axis=1) / (2 * lag), 0.0)
        var1 = c2[t + lag] - c2[t] - (first * first).sum(axis=1) / lag
        var2 = c2[t + 2 * lag] - c2[t + lag] - (second * second).sum(axis=1) / lag
        k = len(t)
        strength[i, :k] = np.where(in_rest[t + 2 * lag] > in_rest[t], np.nan,
                                   1.0 - num / np.maximum(var, 1e-12))
        amplitude[i, :k] = np.sqrt(np.maximum(np.minimum(var1, var2), 0.0) / lag)
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


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cw = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cw, cw[-1] / 2)])


def periodic_mask(period: np.ndarray, strength: np.ndarray, set_period: float, n_frames: int
                  ) -> np.ndarray:
    """(T,) bool: frames covered by a periodic window whose period is within
    PERIOD_TOLERANCE of set_period (a window starting at t covers [t, t + 2 * period))."""
    return band_mask(period, strength, set_period / PERIOD_TOLERANCE, set_period * PERIOD_TOLERANCE,
                     n_frames)


def band_mask(period: np.ndarray, strength: np.ndarray, shortest: float, longest: float,
              n_frames: int) -> np.ndarray:
    """(T,) bool: frames covered by a periodic window whose period lies in [shortest, longest]."""
    ok = (strength > 0) & (period >= shortest) & (period <= longest)
    starts = np.flatnonzero(ok)
    delta = np.zeros(n_frames + 1, np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.minimum(starts + 2 * period[starts], n_frames), -1)
    return np.cumsum(delta[:-1]) > 0


def local_period(period: np.ndarray, strength: np.ndarray, shortest: float, longest: float,
                 n_frames: int) -> np.ndarray:
    """(T,) float: the tempo at each frame, as the strength-weighted geometric mean of the
    periods in [shortest, longest] of the periodic windows whose middle half holds the frame (a
    window starting at t with period L: [t + L/2, t + 3L/2), its two cycles' joint); NaN where
    no such window does."""
    starts = np.flatnonzero((strength > 0) & (period >= shortest) & (period <= longest))
    lags = period[starts].astype(np.float64)
    weight = strength[starts]
    first = np.minimum(starts + (lags / 2).astype(np.int64), n_frames)
    stop = np.minimum(starts + (1.5 * lags).astype(np.int64), n_frames)
    log_sum, weights = np.zeros(n_frames + 1), np.zeros(n_frames + 1)
    for acc, value in ((log_sum, weight * np.log(lags)), (weights, weight)):
        np.add.at(acc, first, value)
        np.add.at(acc, stop, -value)
    log_sum, weights = np.cumsum(log_sum[:-1]), np.cumsum(weights[:-1])
    covered = weights > 1e-9
    out = np.full(n_frames, np.nan)
    out[covered] = np.exp(log_sum[covered] / weights[covered])
    return out


def nsdf(z: np.ndarray, max_lag: int, per_column: bool = False) -> np.ndarray:
    """Normalised square difference of a centred signal (T,) or (T, D) with itself, lags
    0..max_lag: 1 - sum|z_t - z_{t+L}|^2 / (sum_{t<T-L} |z_t|^2 + sum_{t>=L} |z_t|^2);
    1 = repeats exactly after L frames, 0 = unrelated, -1 = mirrored. per_column: one curve
    per column, (max_lag + 1, D), instead of one for the whole vector."""
    z = z.reshape(len(z), -1)
    n = len(z)
    max_lag = int(min(max_lag, n - 1))
    spec = np.fft.rfft(z, 2 * n, axis=0)
    power = (spec * np.conj(spec)).real
    if not per_column:
        power, z = power.sum(axis=1, keepdims=True), np.sqrt((z * z).sum(axis=1, keepdims=True))
    acf = np.fft.irfft(power, 2 * n, axis=0)[:max_lag + 1]
    energy = np.vstack([np.zeros((1, z.shape[1])), np.cumsum(z * z, axis=0)])
    lag = np.arange(max_lag + 1)
    den = energy[n - lag] + (energy[n] - energy[lag])
    out = 2.0 * acf / np.maximum(den, 1e-12)
    return out if per_column else out[:, 0]


def repeat_strength(signals: np.ndarray, *periods: float) -> np.ndarray:
    """How well each column of signals (T, m) repeats after each of `periods`: the best
    per-column `nsdf` within 15% of the period; (len(periods), m), -1 where it does not fit."""
    s = signals.reshape(len(signals), -1)
    r = nsdf(s - s.mean(axis=0), int(np.ceil(max(periods) * 1.15)), per_column=True)
    out = np.full((len(periods), s.shape[1]), -1.0)
    for i, period in enumerate(periods):
        lo, hi = max(1, int(period / 1.15)), int(np.ceil(period * 1.15))
        if lo < len(r):
            out[i] = r[lo:hi + 1].max(axis=0)
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
    """`recurrence` + `window_periods` on pose features (T, D), made cheap three ways: the
    features are projected on the principal directions holding 99.9% of their variance (at
    most SCAN_DIMS; distances kept, jitter dropped), scanned at 1/SCAN_DECIMATION of the frame
    rate when that leaves >= 10 frames per second, with windows starting every SCAN_HOP
    scanned frames."""
    n = len(x)
    step = SCAN_DECIMATION if fps / SCAN_DECIMATION >= 10 else 1
    z = principal_coordinates(x, SCAN_VARIANCE)[::step]
    lags = lag_grid(fps / step, len(z) // 2)
    if len(z) < 2 * lags[0]:
        return PeriodScan(np.zeros(n, np.int64), np.full(n, -1.0), lags * step)
    strength, amplitude = recurrence(z, lags, resting(x, fps)[::step], hop=SCAN_HOP)
    period, q = window_periods(strength, amplitude, lags)
    every = step * SCAN_HOP   # window starts scanned every `every` frames: each stands for those
    return PeriodScan(np.repeat(period * step, every)[:n], np.repeat(q, every)[:n], lags * step)


def resting(x: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(T,) bool: frames inside a rest, a stretch of at least REST_S where the pose stays
    within MIN_AMPLITUDE_M (RMS deviation over every 1-s window around it). A periodic
    window must not hold a rest: two sets of similar poses either side of a rest would
    otherwise repeat each other across it, the rest matching itself."""
    n, w = len(x), max(2, int(round(fps)))
    if n < w:
        return np.zeros(n, bool)
    c1 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    c2 = np.concatenate([[0.0], np.cumsum((x * x).sum(axis=1))])
    s1 = c1[w:] - c1[:-w]
    rms = np.sqrt(np.maximum(c2[w:] - c2[:-w] - (s1 * s1).sum(axis=1) / w, 0.0) / w)
    still_window = rms < MIN_AMPLITUDE_M                  # window [t, t + w) barely moves
    delta = np.zeros(n + 1, np.int64)                     # frames covered by such windows
    starts = np.flatnonzero(still_window)
    np.add.at(delta, starts, 1)
    np.add.at(delta, starts + w, -1)
    still = np.cumsum(delta[:-1]) > 0
    out = np.zeros(n, bool)
    for a, b in missing_runs(still):
        if b - a >= REST_S * fps:
            out[a:b] = True
    return out


def principal_coordinates(x: np.ndarray, variance: float) -> np.ndarray:
    """Centred x in its principal axes, keeping the fewest holding `variance` of the total,
    at most SCAN_DIMS (the rest is mostly jitter)."""
    xc = x - x.mean(axis=0)
    if not np.any(xc):
        return xc[:, :1]
    sv, vt = principal_axes(xc)
    share = np.cumsum(sv ** 2) / np.sum(sv ** 2)
    k = min(int(np.searchsorted(share, variance)) + 1, SCAN_DIMS)
    return xc @ vt[:k].T
