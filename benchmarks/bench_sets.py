"""Set detection benchmark (issue "Real workout videos"): frames/s of olympia.sets.detect_sets
after pose on a long video, and its peak memory.

The input is a constructed 45-minute workout at 25 fps (67,500 frames, the issue's long-video
case): 40 sets of 6-15 reps (periods 1-5 s, on arms, legs or the whole body) separated by 20-60 s
rests of jitter, with a 30 s stretch without a person. In-run reference: the same detector on
a 5-minute excerpt with the scan's three economies turned off (full frame rate, every window
start, all 51 feature dimensions); both must find the same sets in the excerpt.

Targets: >= 2,500 frames/s (100x real time: a 45-minute video's sets in under 30 s after pose),
>= 3x the reference, peak memory of the detection <= 250 MB (the issue allows ~1 GB for the
whole video path), and the constructed sets found (recall and precision >= 0.95 at IoU 0.5,
reps within one).
"""
from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import olympia.periodicity as periodicity  # noqa: E402
from olympia.sets import detect_sets  # noqa: E402

FPS = 25
LIMBS = {"arms": (12, 13, 15, 16), "legs": (2, 3, 5, 6), "body": tuple(j for j in range(17) if j not in (2, 3, 5, 6))}


def workout(minutes: float = 45, seed: int = 0):
    """(keypoints (T, 17, 3) float32, true sets [(start, end, reps)])."""
    rng = np.random.default_rng(seed)
    stand = np.zeros((17, 3), np.float32)
    stand[:, 2] = np.linspace(0.1, 1.7, 17)
    parts, truth, n, total = [], [], 0, int(minutes * 60 * FPS)
    while n < total - 40 * FPS:
        rest = int(rng.integers(20, 60) * FPS)
        parts.append(np.repeat(stand[None], rest, axis=0))
        n += rest
        if len(truth) == 12:                       # a stretch without a person
            parts.append(np.full((30 * FPS, 17, 3), np.nan, np.float32))
            n += 30 * FPS
        period, reps = int(rng.integers(25, 125)), int(rng.integers(6, 16))
        joints = LIMBS[rng.choice(list(LIMBS))]
        t = np.arange(period * reps)
        kp = np.repeat(stand[None], len(t), axis=0)
        kp[:, list(joints), int(rng.integers(3))] += float(rng.uniform(0.25, 0.5)) * \
            ((1 - np.cos(2 * np.pi * t / period)) / 2)[:, None]
        parts.append(kp)
        truth.append((n, n + len(t), reps))
        n += len(t)
    parts.append(np.repeat(stand[None], max(0, total - n), axis=0))
    kp = np.concatenate(parts)[:total]
    return kp + rng.normal(0, 0.008, kp.shape).astype(np.float32), truth


def iou(a, b) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def scores(sets, truth) -> tuple[float, float, float]:
    hits = [max(sets, key=lambda s: iou((s.start_frame, s.end_frame), t[:2]), default=None) for t in truth]
    ok = [(s, t) for s, t in zip(hits, truth) if s is not None and iou((s.start_frame, s.end_frame), t[:2]) >= 0.5]
    return (len(ok) / len(truth), len({id(s) for s, _ in ok}) / max(1, len(sets)),
            float(np.mean([abs(s.reps - t[2]) <= 1 for s, t in ok])) if ok else 0.0)


def naive(keypoints):
    """The detector with the scan's economies off: every frame, every window, every dimension."""
    saved = (periodicity.SCAN_DECIMATION, periodicity.SCAN_HOP, periodicity.SCAN_DIMS, periodicity.SCAN_VARIANCE)
    periodicity.SCAN_DECIMATION, periodicity.SCAN_HOP, periodicity.SCAN_DIMS, periodicity.SCAN_VARIANCE = 1, 1, 51, 1.0
    try:
        return detect_sets(keypoints)
    finally:
        (periodicity.SCAN_DECIMATION, periodicity.SCAN_HOP, periodicity.SCAN_DIMS,
         periodicity.SCAN_VARIANCE) = saved


def verdict(ok, what):
    print(("PASS " if ok else "FAIL ") + what)


def main() -> int:
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}")
    kp, truth = workout()
    tracemalloc.start()
    t0 = time.perf_counter()
    det = detect_sets(kp)
    seconds = time.perf_counter() - t0
    peak_mb = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    fast = len(kp) / seconds
    recall, precision, obo = scores(det.sets, truth)
    excerpt = slice(0, 5 * 60 * FPS)
    ex_truth = [t for t in truth if t[1] <= excerpt.stop]
    slow, quick = 0.0, 0.0
    for _ in range(3):      # best of 3 rounds, interleaved: one round swings with the machine's load
        t0 = time.perf_counter()
        slow_sets = naive(kp[excerpt]).sets
        slow = max(slow, excerpt.stop / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        quick_sets = detect_sets(kp[excerpt]).sets
        quick = max(quick, excerpt.stop / (time.perf_counter() - t0))
    # same sets: as many, the same reps, each overlapping its twin at IoU >= 0.9 (comparing start
    # seconds, as before, failed on 2,848 vs 2,850 frames: the two sides of a second's boundary)
    same = len(quick_sets) == len(slow_sets) and all(
        a.reps == b.reps and iou((a.start_frame, a.end_frame), (b.start_frame, b.end_frame)) >= 0.9
        for a, b in zip(quick_sets, slow_sets))
    print(f"set detection on {len(kp):,} frames ({len(kp) / FPS / 60:.0f} min at 25 fps): {fast:,.0f} frames/s "
          f"({fast / FPS:,.0f}x real time), peak memory {peak_mb:,.0f} MB; {len(det.sets)} sets found of "
          f"{len(truth)}, recall {recall:.2f}, precision {precision:.2f}, reps within one {obo:.2f}; "
          f"unusable: {[u.describe() for u in det.unusable]}")
    print(f"5-minute excerpt ({len(ex_truth)} sets): {quick:,.0f} frames/s; reference without the scan's "
          f"economies {slow:,.0f} frames/s; ratio {quick / slow:.1f}x; same sets: {same}")
    verdict(fast >= 2500, f"set detection {fast:,.0f} frames/s >= 2,500")
    verdict(quick / slow >= 3, f"set detection {quick / slow:.1f}x the reference >= 3x")
    verdict(peak_mb <= 250, f"set detection peak memory {peak_mb:,.0f} MB <= 250 MB on 45 minutes")
    verdict(recall >= 0.95 and precision >= 0.95 and obo >= 0.95,
            f"constructed sets: recall {recall:.2f}, precision {precision:.2f}, reps within one {obo:.2f} >= 0.95")
    verdict(same, "the reference finds the same sets in the excerpt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
