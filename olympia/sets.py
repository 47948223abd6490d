"""Exercise sets in a long skeleton sequence: active periodic stretches separated by rest.

Input: a (T, 17, 3) skeleton at 25 fps, NaN where no person was found, whole or pushed in
chunks as the pose path produces it (`SetDetector`). Output: one `ExerciseSet` per set:
[start_frame, end_frame) on the sequence's timeline, reps, per-rep [start, end) and a
confidence; plus the stretches that could not be used (no person, too short).

How (olympia.periodicity and olympia.counting give the pieces):
1. runs of frames with a person; gaps of at most MAX_GAP frames are interpolated (the pose
   path's gap rule), longer ones split the sequence and are reported;
2. the period scan (`olympia.periodicity.scan_periods`) of each run, in chunks of CHUNK frames
   with 2 x MAX_PERIOD of look-ahead, so memory stays O(T): per frame the period and strength
   of the 2-cycle window that starts there, never the full (lags x T) map;
3. active stretches: frames covered by a periodic window (any period); stretches closer than
   MIN_REST_S are one set (a missed rep or a short pause is not a rest);
4. each stretch is counted (`olympia.counting.count_periodic`): the counter picks the
   stretch's dominant period and the part of it that repeats at that period; what is left on
   either side, if long enough, is searched again (two exercises back to back);
5. a set needs MIN_SET_REPS reps; locomotion (the root travelling faster than
   MAX_TRAVEL_M_S, e.g. walking between stations in motion capture) is not a set.

Pure numpy/scipy: no video, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from olympia.counting import CountResult, count_periodic
from olympia.periodicity import (MAX_PERIOD_S, PeriodScan, moving_average, pose_features, runs,
                                 scan_periods)
from olympia.timebase import FPS

MAX_GAP = 12            # frames without a person that are interpolated (olympia.pose.gaps rule)
MIN_RUN_S = 2.0         # a run with a person shorter than this cannot hold a set
MIN_REST_S = 3.0        # active stretches closer than this are one set
MIN_SET_REPS = 2        # fewer reps is not a set
MAX_TRAVEL_M_S = 0.8    # root speed over the set above this is walking, not reps
CHUNK = 4096            # frames of window starts scanned at once (memory per chunk ~ lags x CHUNK)


@dataclass(frozen=True)
class ExerciseSet:
    """One set: frames [start_frame, end_frame) at 25 fps, half-open."""

    start_frame: int
    end_frame: int
    reps: int
    rep_bounds: list          # [[start, end), ...] absolute frames, one pair per rep
    confidence: float         # mean per-rep confidence times the set's periodicity, in [0, 1]
    period_frames: float      # the set's rep period

    def to_json(self) -> dict:
        """The `olympia videos sets --json` object."""
        return {"start_frame": self.start_frame, "end_frame": self.end_frame, "reps": self.reps,
                "rep_bounds": [list(map(int, b)) for b in self.rep_bounds],
                "confidence": round(float(self.confidence), 3)}


@dataclass(frozen=True)
class Unusable:
    """A stretch of the sequence that could not be searched for sets, and why."""

    start_frame: int
    end_frame: int
    reason: str               # "no person" | "too short"

    def describe(self, fps: float = FPS) -> str:
        return (f"frames [{self.start_frame}, {self.end_frame}) "
                f"({self.start_frame / fps:.1f}-{self.end_frame / fps:.1f} s): {self.reason}")


@dataclass
class SetDetection:
    sets: list[ExerciseSet] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)
    n_frames: int = 0


def detect_sets(keypoints: np.ndarray, fps: float = FPS) -> SetDetection:
    """Sets in a whole (T, J, 3) sequence (NaN = no person). See `SetDetector` for streams."""
    det = SetDetector(fps)
    det.push(keypoints)
    return det.finish()


class SetDetector:
    """Incremental set detection: `push` skeleton chunks as they are posed, then `finish`.

    Holds the pose features (T x 48 float32, 13 MB for 45 minutes at 25 fps) and two numbers
    per frame from the period scan; the scan runs on CHUNK frames at a time as soon as their
    look-ahead (2 x MAX_PERIOD_S) has arrived."""

    def __init__(self, fps: float = FPS):
        self.fps = fps
        self._kp: list[np.ndarray] = []      # pushed chunks, (t, J, 3) float32
        self._n = 0

    @property
    def n_frames(self) -> int:
        return self._n

    def push(self, keypoints: np.ndarray) -> None:
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[-1] != 3:
            raise ValueError(f"set detection expects (T, J, 3) keypoints, got shape {kp.shape}")
        # only root-relative joints are kept (what the counter uses), plus the root for travel
        self._kp.append(kp)
        self._n += len(kp)

    def finish(self) -> SetDetection:
        if not self._kp:
            return SetDetection()
        kp = np.concatenate(self._kp)
        self._kp = [kp]
        return _detect(kp, self.fps)


def person_runs(keypoints: np.ndarray, max_gap: int = MAX_GAP) -> tuple[list[tuple[int, int]], list[Unusable]]:
    """[start, end) of the runs with a person (gaps <= max_gap bridged) and the gaps that
    split them."""
    present = np.isfinite(keypoints).all(axis=(1, 2))
    bridged = present.copy()
    for a, b in runs(~present):
        if b - a <= max_gap and a > 0 and b < len(present):
            bridged[a:b] = True
    gaps = [Unusable(a, b, "no person") for a, b in runs(~bridged)]
    return runs(bridged), gaps


def _detect(kp: np.ndarray, fps: float) -> SetDetection:
    out = SetDetection(n_frames=len(kp))
    person, gaps = person_runs(kp)
    out.unusable += gaps
    for a, b in person:
        if b - a < MIN_RUN_S * fps:
            out.unusable.append(Unusable(a, b, "too short"))
            continue
        x = pose_features(kp[a:b], fps)
        scan = chunked_scan(x, fps)
        root = kp[a:b, 0]
        for s in sets_in_run(x, scan, root, fps):
            out.sets.append(_shift(s, a))
    out.sets.sort(key=lambda s: s.start_frame)
    out.unusable.sort(key=lambda u: u.start_frame)
    return out


def chunked_scan(x: np.ndarray, fps: float = FPS, chunk: int = CHUNK) -> PeriodScan:
    """`scan_periods` over CHUNK window starts at a time (each with its look-ahead)."""
    n = len(x)
    reach = 2 * int(np.ceil(MAX_PERIOD_S * fps)) + 2
    if n <= chunk + reach:
        return scan_periods(x, fps)
    period = np.zeros(n, np.int64)
    strength = np.full(n, -1.0)
    lags = None
    for start in range(0, n, chunk):
        end = min(n, start + chunk + reach)
        part = scan_periods(x[start:end], fps)
        keep = min(chunk, n - start)
        period[start:start + keep] = part.period[:keep]
        strength[start:start + keep] = part.strength[:keep]
        lags = part.lags if lags is None or len(part.lags) > len(lags) else lags
    return PeriodScan(period, strength, lags)


def active_stretches(scan: PeriodScan, n: int, fps: float = FPS) -> list[tuple[int, int]]:
    """Frames covered by a periodic window of any period, stretches closer than MIN_REST_S merged."""
    starts = np.flatnonzero(scan.periodic)
    delta = np.zeros(n + 1, np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.minimum(starts + 2 * scan.period[starts], n), -1)
    covered = np.cumsum(delta[:-1]) > 0
    merged: list[list[int]] = []
    for a, b in runs(covered):
        if merged and a - merged[-1][1] < MIN_REST_S * fps:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def sets_in_run(x: np.ndarray, scan: PeriodScan, root: np.ndarray, fps: float = FPS) -> list[ExerciseSet]:
    """Sets inside one run with a person (frames relative to the run)."""
    found = []
    todo = active_stretches(scan, len(x), fps)
    while todo:
        a, b = todo.pop()
        res = count_periodic(x, scan, (a, b), max_pause=int(MIN_REST_S * fps))
        if res.period_frames is None or res.count < MIN_SET_REPS or res.span is None:
            continue
        sa, sb = _set_span(res)
        if not _is_locomotion(root[sa:sb], fps):
            found.append(_as_set(res, sa, sb))
        for lo, hi in ((a, sa), (sb, b)):   # another exercise right before or after
            if hi - lo >= MIN_RUN_S * fps:
                todo.append((lo, hi))
    return found


def _set_span(res: CountResult) -> tuple[int, int]:
    """The set is its reps: from the first rep's start to the last rep's end."""
    return int(res.rep_bounds[0, 0]), int(res.rep_bounds[-1, 1])


def _is_locomotion(root: np.ndarray, fps: float) -> bool:
    if len(root) < 2 or not np.isfinite(root).all():
        return False
    path = moving_average(root[:, :2].astype(np.float64), max(1, int(fps)))
    travel = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
    return travel / (len(root) / fps) > MAX_TRAVEL_M_S


def _as_set(res: CountResult, a: int, b: int) -> ExerciseSet:
    conf = float(np.clip(res.set_confidence * max(res.periodicity, 0.0), 0.0, 1.0))
    return ExerciseSet(a, b, res.count, res.rep_bounds.tolist(), conf, float(res.period_frames))


def _shift(s: ExerciseSet, offset: int) -> ExerciseSet:
    return ExerciseSet(s.start_frame + offset, s.end_frame + offset, s.reps,
                       [[a + offset, b + offset] for a, b in s.rep_bounds], s.confidence, s.period_frames)
