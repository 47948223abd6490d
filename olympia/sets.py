"""Exercise sets in a long skeleton sequence: active periodic stretches separated by rest.

Input: a (T, 17, 3) skeleton at 25 fps, NaN where no person was found, whole (`detect_sets`)
or pushed in chunks as the pose path produces it (`SetDetector`). Output (`SetDetection`):
one `ExerciseSet` per set ([start_frame, end_frame) on the sequence's timeline, reps,
per-rep [start, end), confidence) and the stretches that could not be used, with why.

1. runs of frames with a person: gaps of at most GapPolicy.max_gap frames (0.48 s, the pose
   path's rule, olympia.gaps) are bridged, longer ones split the sequence and are reported;
2. the period scan (olympia.periodicity) of each run, CHUNK window starts at a time with
   2 x MAX_PERIOD_S of look-ahead: memory is O(T) (the features, 51 floats a frame, and two
   numbers a frame from the scan), never the (lags x T) recurrence map of the whole run;
3. active stretches: frames covered by a periodic window of any period (both cycles move and
   repeat); stretches closer than MIN_REST_S are one (a missed rep is not a rest);
4. each stretch is counted (olympia.counting.count_periodic): the set is the strongest part
   of the stretch that repeats at its dominant period without a pause of MIN_REST_S (its last
   or first reps may lie past the stretch, up to the next: `rep_peaks.continued_reps`); what is
   left on either side, if at least MIN_RUN_S long, is searched again (another exercise right
   before or after, without a rest between); neighbouring sets of the same movement in one
   active stretch (a tempo change splits a set there) are joined again (`merge_same_movement`);
5. a set needs MIN_SET_REPS reps; a set whose body travels faster than MAX_TRAVEL_M_S is
   walking, not a set: the root's travel where the skeleton has a global position (motion
   capture), else the feet's (`foot_path`: MediaPipe's world landmarks sit on the hips, so
   walking across a room or on a treadmill repeats like a set).

Pure numpy/scipy: no video, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from olympia.counting import CountResult, count_periodic, same_movement
from olympia.gaps import GapPolicy, missing_runs
from olympia.periodicity import (MAX_PERIOD_S, MIN_AMPLITUDE_M, REST_S, PeriodScan, moving_average, pose_features,
                                 scan_periods)
from olympia.skeleton import L_ANKLE, R_ANKLE, ROOT
from olympia.timebase import FPS

MIN_RUN_S = 2.0         # a run with a person shorter than this cannot hold a set
MIN_REST_S = REST_S     # active stretches closer than this are one set
MIN_SET_REPS = 2        # fewer reps is not a set
MAX_TRAVEL_M_S = 0.8    # the body's speed over a set above this is walking, not reps (walking: 1.2-1.4
#                         m/s; Fit3D's sets by the feet: at most 0.36 m/s, docs/counting.md)
CHUNK = 4096            # window starts scanned at once (the scan's map is ~100 lags x CHUNK floats)


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
        """The object `olympia videos sets --json` prints for a set."""
        return {"start_frame": int(self.start_frame), "end_frame": int(self.end_frame),
                "reps": int(self.reps), "rep_bounds": [[int(a), int(b)] for a, b in self.rep_bounds],
                "confidence": round(float(self.confidence), 3)}

    def shifted(self, offset: int) -> "ExerciseSet":
        return ExerciseSet(self.start_frame + offset, self.end_frame + offset, self.reps,
                           [[a + offset, b + offset] for a, b in self.rep_bounds], self.confidence,
                           self.period_frames)


@dataclass(frozen=True)
class Unusable:
    """A stretch of the sequence that could not be searched for sets, and why."""

    start_frame: int
    end_frame: int
    reason: str               # "no person detected" | "too short to hold a set"

    def describe(self, fps: float = FPS) -> str:
        """One line for the user: `frames [a, b) (s0-s1 s): reason`."""
        return (f"frames [{self.start_frame}, {self.end_frame}) "
                f"({self.start_frame / fps:.1f}-{self.end_frame / fps:.1f} s): {self.reason}")


@dataclass
class SetDetection:
    sets: list[ExerciseSet] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)
    n_frames: int = 0


def detect_sets(keypoints: np.ndarray, fps: float = FPS) -> SetDetection:
    """Sets in a whole (T, J, 3) sequence (NaN = no person). `SetDetector` does the same on a
    stream pushed in chunks."""
    detector = SetDetector(fps)
    detector.push(keypoints)
    return detector.finish()


class SetDetector:
    """Set detection on a stream: `push` skeleton chunks as the pose path produces them, then
    `finish`. Holds 3 floats per joint per frame (13 MB for 45 minutes at 25 fps); `finish`
    scans each run with a person in CHUNK-sized pieces, so the peak memory of a 45-minute video
    stays well under 100 MB."""

    def __init__(self, fps: float = FPS):
        self.fps = fps
        self._chunks: list[np.ndarray] = []
        self.n_frames = 0

    def push(self, keypoints: np.ndarray) -> None:
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[-1] != 3 or kp.shape[1] < 2:
            raise ValueError(f"set detection expects (T, J, 3) keypoints, got shape {kp.shape}")
        self._chunks.append(kp)
        self.n_frames += len(kp)

    def finish(self) -> SetDetection:
        if not self._chunks:
            return SetDetection()
        kp = np.concatenate(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
        self._chunks = [kp]
        return _detect(kp, self.fps)


def person_runs(keypoints: np.ndarray, max_gap: int | None = GapPolicy.max_gap
                ) -> tuple[list[tuple[int, int]], list[Unusable]]:
    """[start, end) of the runs with a person (gaps of at most max_gap frames bridged), and
    the longer gaps, which split them."""
    return usable_runs(~np.isfinite(keypoints).all(axis=(1, 2)), max_gap)


def usable_runs(missing: np.ndarray, max_gap: int | None = GapPolicy.max_gap
                ) -> tuple[list[tuple[int, int]], list[Unusable]]:
    """`person_runs` of a (T,) mask of the frames without a usable pose (the pose path also
    leaves out a frozen picture's frames, olympia.pose.runs)."""
    missing = np.asarray(missing, bool)
    bridged = missing.copy()
    for a, b in missing_runs(missing):
        if max_gap is not None and b - a <= max_gap and a > 0 and b < len(missing):
            bridged[a:b] = False
    gaps = [Unusable(a, b, "no person detected") for a, b in missing_runs(bridged)]
    return missing_runs(~bridged), gaps


def _detect(kp: np.ndarray, fps: float) -> SetDetection:
    out = SetDetection(n_frames=len(kp))
    person, out.unusable = person_runs(kp)
    for a, b in person:
        if b - a < MIN_RUN_S * fps:
            out.unusable.append(Unusable(a, b, "too short to hold a set"))
            continue
        x = pose_features(kp[a:b], fps)
        scan = chunked_scan(x, fps)
        found, why_not = sets_in_run(x, scan, kp[a:b], fps)
        out.sets += [s.shifted(a) for s in found]
        if not found:
            out.unusable.append(Unusable(a, b, why_not))
    out.sets.sort(key=lambda s: s.start_frame)
    out.unusable.sort(key=lambda u: u.start_frame)
    return out


def chunked_scan(x: np.ndarray, fps: float = FPS, chunk: int = CHUNK) -> PeriodScan:
    """`scan_periods` over `chunk` window starts at a time, each with the look-ahead its
    longest window needs; identical to one scan of the whole run up to the principal axes,
    which each piece takes from its own frames."""
    n = len(x)
    reach = 2 * int(np.ceil(MAX_PERIOD_S * fps)) + 2
    if n <= chunk + reach:
        return scan_periods(x, fps)
    period = np.zeros(n, np.int64)
    strength = np.full(n, -1.0)
    lags = None
    for start in range(0, n, chunk):
        part = scan_periods(x[start:min(n, start + chunk + reach)], fps)
        keep = min(chunk, n - start)
        period[start:start + keep] = part.period[:keep]
        strength[start:start + keep] = part.strength[:keep]
        lags = part.lags if lags is None or len(part.lags) > len(lags) else lags
    return PeriodScan(period, strength, lags)


def active_stretches(scan: PeriodScan, n: int, fps: float = FPS) -> list[tuple[int, int]]:
    """Frames covered by a periodic window of any period, stretches closer than MIN_REST_S joined."""
    starts = np.flatnonzero(scan.periodic)
    delta = np.zeros(n + 1, np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.minimum(starts + 2 * scan.period[starts], n), -1)
    joined: list[list[int]] = []
    for a, b in missing_runs(np.cumsum(delta[:-1]) > 0):
        if joined and a - joined[-1][1] < MIN_REST_S * fps:
            joined[-1][1] = b
        else:
            joined.append([a, b])
    return [(a, b) for a, b in joined]


def sets_in_run(x: np.ndarray, scan: PeriodScan, keypoints: np.ndarray, fps: float = FPS
                ) -> tuple[list[ExerciseSet], str]:
    """Sets inside one run with a person (features x of its (T, J, 3) `keypoints`), frames
    relative to the run (see the module docstring), and, for a run without a set, why none was
    found (one line for the user)."""
    found, misses = [], []
    stretches = active_stretches(scan, len(x), fps)
    # a set's reps may continue past its stretch into the rest on either side, not into the
    # next stretch (rep_peaks.continued_reps); a piece left beside a set, up to that set
    ends = [0] + [b for _, b in stretches]
    starts = [a for a, _ in stretches] + [len(x)]
    todo = [(a, b, (ends[i], starts[i + 1])) for i, (a, b) in enumerate(stretches)]
    while todo:
        a, b, reach = todo.pop()
        res = count_periodic(x, scan, (a, b), max_pause=int(MIN_REST_S * fps), reach=reach)
        if res.period_frames is None or res.count < MIN_SET_REPS:
            misses.append(f"a movement repeats for {(b - a) / fps:.1f} s but {res.count} rep(s) were "
                          f"counted there (a set needs {MIN_SET_REPS})")
            continue
        sa, sb = int(res.rep_bounds[0, 0]), int(res.rep_bounds[-1, 1])
        speed = body_speed(keypoints[sa:sb], float(res.period_frames), fps)
        if speed > MAX_TRAVEL_M_S:
            misses.append(f"walking, not a set: the body travels {speed:.1f} m/s "
                          f"(a set stays under {MAX_TRAVEL_M_S:g} m/s)")
        else:
            found.append(_as_set(res, sa, sb))
        todo += [(lo, hi, out) for lo, hi, out in ((a, sa, (reach[0], sa)), (sb, b, (sb, reach[1])))
                 if hi - lo >= MIN_RUN_S * fps]
    if found:
        return merge_same_movement(x, found, stretches), ""
    return [], "; ".join(misses) or no_repetition_reason(x, fps)


def merge_same_movement(x: np.ndarray, found: list[ExerciseSet], stretches: list[tuple[int, int]]
                        ) -> list[ExerciseSet]:
    """Neighbouring sets of the same movement with no rest between them are one set: the search
    in step 4 splits a set where its period changes (a tempo change, or an occluded stretch that
    repeats at twice the period). A rest is what step 3 says it is, a gap between two active
    `stretches` (no periodic window for MIN_REST_S): the pieces of a split set lie in one
    stretch however far apart their reps end (the split itself needs a pause of MIN_REST_S in
    the set's period, so the pieces' reps often end that far apart). Same movement:
    `olympia.counting.same_movement` (close mean poses, agreeing main directions of motion); a
    different exercise right after (curls, then kicks) differs in both."""
    merged: list[ExerciseSet] = []
    for s in sorted(found, key=lambda s: s.start_frame):
        last = merged[-1] if merged else None
        if last is not None and not rest_between(last, s, stretches) and \
                same_movement(x[last.start_frame:last.end_frame], x[s.start_frame:s.end_frame]):
            merged[-1] = joined_sets(last, s)
        else:
            merged.append(s)
    return merged


def rest_between(a: ExerciseSet, b: ExerciseSet, stretches: list[tuple[int, int]]) -> bool:
    """Set b, after set a, lies in a later active stretch: a rest separates them."""
    return any(a.start_frame < start <= b.start_frame for start, _ in stretches)


def joined_sets(a: ExerciseSet, b: ExerciseSet) -> ExerciseSet:
    """One set of a's reps then b's (rep-weighted confidence, median rep length as period)."""
    bounds = [list(r) for r in a.rep_bounds] + [list(r) for r in b.rep_bounds]
    confidence = (a.confidence * a.reps + b.confidence * b.reps) / (a.reps + b.reps)
    period = float(np.median([e - s for s, e in bounds]))
    return ExerciseSet(a.start_frame, b.end_frame, a.reps + b.reps, bounds, confidence, period)


def no_repetition_reason(x: np.ndarray, fps: float = FPS) -> str:
    """Why a run holds no periodic window: it barely moves, or it moves without repeating."""
    path = moving_average(x.astype(np.float64), max(1, int(fps)))
    if not len(x):
        return "no set: no frames"
    reach = float(np.sqrt(((path - path.mean(axis=0)) ** 2).reshape(len(x), -1, 3).sum(axis=2)).max())
    if reach < MIN_AMPLITUDE_M:
        return f"no set: the pose holds still (no joint moves more than {MIN_AMPLITUDE_M * 100:.0f} cm)"
    return (f"no set: joints move (up to {reach * 100:.0f} cm from the mean pose) but no two "
            f"consecutive cycles of the same movement were found (a set needs {MIN_SET_REPS} reps alike)")


def body_speed(keypoints: np.ndarray, period: float, fps: float = FPS) -> float:
    """How fast (m/s) the body of a (T, J, 3) z-up skeleton travels: the faster of its root's
    travel and its feet's (`foot_path`), each `travel_speed` over windows of one `period`."""
    return max(travel_speed(keypoints[:, ROOT, :2], period, fps),
               travel_speed(foot_path(keypoints), period, fps))


def foot_path(keypoints: np.ndarray) -> np.ndarray:
    """(T, 2) the horizontal path along which the feet carry the body, from the pose relative
    to its root alone: the lower ankle stands on the ground, so the body moves forward as far
    as that ankle moves back relative to the root; a frame where the other ankle becomes the
    lower adds nothing. Walking in MediaPipe's world landmarks (which sit on the hips) or on a
    treadmill travels by this path; in Fit3D's motion capture it covers 0.87 of the root's
    travel in the real steps around its sets (docs/counting.md, "Sets in long sequences")."""
    feet = keypoints[:, [R_ANKLE, L_ANKLE]] - keypoints[:, [ROOT]]          # (T, 2, 3)
    lower = np.argmax(-np.nan_to_num(feet[:, :, 2], nan=np.inf), axis=1)
    planted = feet[np.arange(len(feet)), lower, :2].astype(np.float64)
    step = np.nan_to_num(np.diff(planted, axis=0))
    step[lower[1:] != lower[:-1]] = 0.0
    return -np.vstack([np.zeros((1, 2)), np.cumsum(step, axis=0)])


def travel_speed(path: np.ndarray, period: float, fps: float = FPS) -> float:
    """The median speed (m/s) at which a (T, 2) horizontal path gets anywhere over one
    `period` (frames), over the windows with both ends known: a set's motion comes back
    within each rep however far it reaches, walking does not."""
    if len(path) < 2:
        return 0.0
    w = int(np.clip(round(period), 1, len(path) - 1))
    moved = np.linalg.norm(path[w:] - path[:-w], axis=1)
    moved = moved[np.isfinite(moved)]
    return float(np.median(moved)) * fps / w if len(moved) else 0.0


def _as_set(res: CountResult, a: int, b: int) -> ExerciseSet:
    confidence = float(np.clip(res.set_confidence * max(res.periodicity, 0.0), 0.0, 1.0))
    return ExerciseSet(a, b, res.count, res.rep_bounds.tolist(), confidence, float(res.period_frames))
