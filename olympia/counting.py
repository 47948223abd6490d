"""Training-free repetition counter on a 3D skeleton (the baseline beside LiFT).

Classical signal processing, no learning:
1. principal-motion signal: the skeleton's coordinates over time (T × 51), centred and
   lightly smoothed, projected on their first principal component — the direction in pose
   space along which the body moves most (a squat's up-down, a curl's forearm swing);
2. period: the first strong peak of the signal's autocorrelation;
3. count: peaks of the signal at least 0.6 periods apart with a prominence of at least a
   third of the signal's range, taken on both signs of the component (a rep has one
   extreme away from the rest pose; the rest pose gives no interior peak), the larger count.

It counts any dominant periodic motion, so it is blind to what the exercise is, is fooled by
a second periodic motion (walking in place between reps) and by a set whose reps differ a lot
in speed. That is what LiFT's learned counter is compared against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from olympia.timebase import FPS

MIN_PERIOD_S = 0.4    # faster than 2.5 reps/s is not a rep but jitter
MAX_PERIOD_S = 12.0   # slower than one rep per 12 s is not seen as periodic
SMOOTH_S = 0.2        # moving-average window for the motion signal
MIN_SPAN_M = 0.05     # principal motion smaller than 5 cm is pose jitter, not exercise


@dataclass(frozen=True)
class CountResult:
    count: int
    period_frames: float | None   # estimated rep period, None when no periodicity was found
    peaks: np.ndarray             # frame indices of the counted rep extremes


def motion_signal(keypoints: np.ndarray, fps: float = FPS) -> np.ndarray:
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


def estimate_period(signal: np.ndarray, fps: float = FPS) -> float | None:
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


def count_reps(keypoints: np.ndarray, fps: float = FPS) -> CountResult:
    """Count repetitions in a (T, J, 3) skeleton sequence at `fps`."""
    s = motion_signal(keypoints, fps)
    span = np.ptp(s) if len(s) else 0.0
    if span < MIN_SPAN_M:
        return CountResult(0, None, np.zeros(0, np.int64))
    period = estimate_period(s, fps)
    distance = max(1, int(0.6 * (period if period else MIN_PERIOD_S * fps)))
    best = np.zeros(0, np.int64)
    for sign in (1.0, -1.0):
        peaks, _ = find_peaks(sign * s, distance=distance, prominence=span / 3)
        if len(peaks) > len(best):
            best = peaks
    return CountResult(int(len(best)), period, best.astype(np.int64))
