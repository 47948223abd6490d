"""The counter olympia shipped before the issue "Real workout videos" (olympia/counting.py at
commit bfa962b), kept verbatim as the in-run reference of benchmarks/bench_counting.py and the
"before" column of benchmarks/eval_counting.py.

First principal component of the centred, smoothed (T, 51) coordinates; period = the first
autocorrelation peak at least 0.7 x the strongest; count = peaks at least 0.6 periods apart
rising a third of the signal's range, on both signs, the larger count.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

MIN_PERIOD_S = 0.4    # faster than 2.5 reps/s is not a rep but jitter
MAX_PERIOD_S = 12.0   # slower than one rep per 12 s is not seen as periodic
SMOOTH_S = 0.2        # moving-average window for the motion signal
MIN_SPAN_M = 0.05     # principal motion smaller than 5 cm is pose jitter, not exercise


def motion_signal(keypoints: np.ndarray, fps: float = 25.0) -> np.ndarray:
    """(T, J, 3) -> (T,) projection on the first principal component of the centred motion."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 3:
        raise ValueError(f"count_reps expects (T, J, 3) keypoints, got shape {kp.shape}")
    x = kp.reshape(len(kp), -1)
    x = x - x.mean(axis=0)
    w = max(1, int(round(SMOOTH_S * fps)))
    if w > 1 and len(x) > w:
        kernel = np.ones(w) / w
        x = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, x)
    if not np.any(x):
        return np.zeros(len(x))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[0]


def estimate_period(signal: np.ndarray, fps: float = 25.0) -> float | None:
    """Rep period in frames from the autocorrelation, or None when there is no clear period."""
    s = np.asarray(signal, dtype=np.float64) - np.mean(signal)
    n = len(s)
    # lags past 3/4 of the clip overlap too little to be trusted
    lo, hi = int(MIN_PERIOD_S * fps), min(int(MAX_PERIOD_S * fps), int(0.75 * n))
    if hi <= lo or not np.any(s):
        return None
    spec = np.fft.rfft(s, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[:n]
    acf /= acf[0]
    acf = acf * n / (n - np.arange(n))          # unbiased: long lags are not penalised by overlap
    peaks, props = find_peaks(acf[: hi + 1], height=0.2)
    peaks = peaks[peaks >= lo]
    if not len(peaks):
        return None
    heights = acf[peaks]
    # the first peak that is nearly as strong as the strongest: avoids picking 2x the period
    first = peaks[np.argmax(heights >= 0.7 * heights.max())]
    return float(first)


def count_reps(keypoints: np.ndarray, fps: float = 25.0) -> int:
    """Count repetitions in a (T, J, 3) skeleton sequence at `fps` (the count only)."""
    s = motion_signal(keypoints, fps)
    span = np.ptp(s) if len(s) else 0.0
    if span < MIN_SPAN_M:
        return 0
    period = estimate_period(s, fps)
    distance = max(1, int(0.6 * (period if period else MIN_PERIOD_S * fps)))
    best = np.zeros(0, np.int64)
    for sign in (1.0, -1.0):
        peaks, _ = find_peaks(sign * s, distance=distance, prominence=span / 3)
        if len(peaks) > len(best):
            best = peaks
    return int(len(best))
