"""The usable stretches ("runs") of a posed video, and why the rest is not usable.

Real footage has people walking out of frame, lights going off, camera cuts and bystanders.
Instead of refusing a video for one long gap, the pose path splits it:

1. runs with a person (`olympia.sets.person_runs`, the gap rule of `olympia.gaps`): gaps of at
   most `max_gap` frames (0.48 s) inside a run are bridged; no-person frames at the start and
   end are trimmed; a longer gap splits the video;
2. a run is split again at a camera cut (`camera_cuts`: between two frames with a person, the
   picture's mean absolute luma change from the previous frame exceeds CUT_CHANGE and
   CUT_RATIO times its median over the second around; measured: people moving in front of a
   handheld camera change it by at most 27 of 255, a cut between two real clips by 153) and
   where the tracked person jumps
   (`tracking_jumps`: the 2D hip centre moves more than JUMP_FRACTION of the picture's longer
   side between consecutive frames, 0.25 in 40 ms being about 15 m/s for a person filling
   the frame, or the person's 2D size changes by more than SCALE_JUMP: the tracker moved to
   another person);
3. a frozen picture (`frozen_stretches`: at least FROZEN_FRAMES consecutive frames, more than
   the gap rule bridges, each changing by less than FROZEN_CHANGE from the previous one; an
   editor's freeze frame, a stalled stream, a title card over a still) is left out like frames
   without a person: the picture holds no motion, and what the pose does there is the
   estimator's jitter (MediaPipe losing and finding a half-hidden person on a held frame moved
   it 3-4 cm at a time, which repeated like a 2-rep set). Measured (benchmarks/
   measure_frame_change.py): on held H.264 frames the change is at most 0.043 of 255, apart
   from single frames of 0.20-0.31 where the encoder re-encodes the held picture (a keyframe;
   one such frame between two frozen stretches does not end the freeze); the stillest
   FROZEN_FRAMES frames of live footage change by at least 0.108 each (a Fit3D warm-up
   re-encoded at 640x640, the person standing still; camera footage as delivered at least
   0.48, from sensor noise);
4. where the file is damaged (`PoseResult.damaged`, from `olympia.video.damage`: the decoder
   could not decode those frames cleanly, and what follows them up to the next keyframe is
   built on them) is left out like a frozen picture, never bridged: the decoder shows its
   guess there, smeared or half-frozen pictures the pose model still finds a person in
   (Fit3D warm-up with 3,000 bytes overwritten mid-file: counted 2 of 5 reps, without a word,
   before this check);
5. a run shorter than `min_frames` is not usable (too short to hold a set).

Every stretch that is not part of a usable run is an `olympia.sets.Unusable` with its reason
(no person detected, with the mean brightness and "too dark" below DARK_LEVEL; picture frozen;
the file damaged, with the fix: re-download or re-export it; a cut or a jump; too short);
touching stretches are merged into one line (a person flickering in and out of detection in a
dark video is one note, not forty). When no run is usable,
`refusal` says why in one line: the file damaged on half its frames or more, no person at
all, too dark, a frozen picture, a person too small in the picture, or a person seen too
briefly. Inside a run, `dark_gaps` tells whether the frames without a person are too dark (the
pose path says so when it quarantines a run for its interpolated frames).

Consumers work on runs: clips (`pose.pipeline`), counting and predict (`pose.inputs`), set
detection (`pose.workout`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from olympia.gaps import GapPolicy, missing_runs
from olympia.pose.base import PoseResult
from olympia.sets import MIN_RUN_S, Unusable, usable_runs
from olympia.skeleton import ROOT
from olympia.timebase import FPS

MIN_RUN_FRAMES = int(MIN_RUN_S * FPS)   # 2 s: shorter runs cannot hold a set (olympia.sets)
CUT_CHANGE = 40.0       # mean |luma change| (0-255) from the previous frame that can be a camera cut
CUT_RATIO = 4.0         # ... and how far above its median over the surrounding second it must be
JUMP_FRACTION = 0.25    # hip-centre move between consecutive frames, of the picture's longer side
SCALE_JUMP = 1.6        # person's 2D size ratio between consecutive frames
DARK_LEVEL = 40.0       # mean luma (0-255) below which a picture without a person is "too dark"
SMALL_PERSON = 0.15     # median person height, as a fraction of the picture's height
FROZEN_CHANGE = 0.07    # mean |luma change| (0-255) below which a frame repeats the previous picture
FROZEN_FRAMES = GapPolicy.max_gap + 1  # consecutive such frames that are a frozen picture (0.52 s)


@dataclass
class PoseRuns:
    """Usable runs [start, end) of a PoseResult's frames, and the unusable stretches."""

    runs: list[tuple[int, int]] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)
    n_frames: int = 0
    longest: int = 0          # frames of the longest stretch with one tracked person, usable or not

    def notes(self, fps: float = FPS, offset: int = 0) -> list[str]:
        """One line per unusable stretch, in time order; `offset` (a segment's first frame) is
        added to the frames, so that they are frames of the video."""
        return [replace(u, start_frame=u.start_frame + offset, end_frame=u.end_frame + offset).describe(fps)
                for u in sorted(self.unusable, key=lambda u: u.start_frame)]


def pose_runs(result: PoseResult, max_gap: int | None = GapPolicy.max_gap,
              min_frames: int = MIN_RUN_FRAMES) -> PoseRuns:
    """Split a posed video into usable runs (see the module docstring)."""
    out = PoseRuns(n_frames=result.n_frames)
    frozen, damaged = frozen_frames(result), damaged_frames(result)
    person, gaps = usable_runs(~result.detected | frozen | damaged, max_gap)
    person, held = outside(person, frozen | damaged)    # never bridged, whatever max_gap bridges
    unusable = [Unusable(u.start_frame, u.end_frame,
                         _gap_reason(result, frozen, damaged, u.start_frame, u.end_frame))
                for u in gaps + held]
    breaks = {t: "a camera cut" for t in camera_cuts(result)}
    breaks.update({t: "the tracked person jumps (another person?)" for t in tracking_jumps(result)
                   if t not in breaks})
    for a, b in person:
        cuts = sorted(t for t in breaks if a < t < b)
        for lo, hi in zip([a, *cuts], [*cuts, b]):
            out.longest = max(out.longest, hi - lo)
            if hi - lo >= max(2, min_frames):
                out.runs.append((lo, hi))
            else:
                unusable.append(Unusable(lo, hi, f"a person for only {(hi - lo) / FPS:.1f} s "
                                                 f"(a usable stretch needs {min_frames / FPS:.1f} s)"))
        unusable += [Unusable(t - 1, t + 1, f"{breaks[t]} between these frames: split there")
                     for t in cuts]
    out.unusable = merge_touching(unusable, result, frozen, damaged, out.runs)
    return out


def outside_runs(a: int, b: int, runs: list[tuple[int, int]]) -> tuple[int, int]:
    """Frames [a, b) without the usable runs' frames at its ends. A camera cut or a jump is told
    by the two frames around it, one in each piece; merged with the stretch left out next to it,
    it would reach one frame into the run beside (Countix: a note of frames [146, 197) beside
    the runs [0, 147) and [196, 246))."""
    start, end = a, b
    for lo, hi in runs:
        if lo <= a < hi:
            a = hi
        if lo < b <= hi:
            b = lo
    return (a, b) if a < b else (start, end)


def frozen_stretches(frame_change: np.ndarray | None) -> list[tuple[int, int]]:
    """[start, end) of the stretches where the picture is frozen (see the module docstring),
    from the per-frame change (`PoseResult.frame_change`; None, as in cache entries older than
    it: none): frames that repeat the previous picture; frame 0, having none, never does."""
    if frame_change is None:
        return []
    still = np.asarray(frame_change) < FROZEN_CHANGE
    still[:1] = False
    joined: list[list[int]] = []
    for a, b in missing_runs(still):
        if b - a < FROZEN_FRAMES:
            continue
        if joined and a - joined[-1][1] <= 1:      # one keyframe between: the same freeze
            joined[-1][1] = b
        else:
            joined.append([a, b])
    return [(a, b) for a, b in joined]


def outside(runs: list[tuple[int, int]], held: np.ndarray) -> tuple[list[tuple[int, int]], list[Unusable]]:
    """The parts of runs outside the `held` frames (frozen or damaged), and the held parts
    inside them (their reason is told by the caller)."""
    kept, inside = [], []
    for a, b in runs:
        kept += [(a + lo, a + hi) for lo, hi in missing_runs(~held[a:b])]
        inside += [Unusable(a + lo, a + hi, "") for lo, hi in missing_runs(held[a:b])]
    return kept, inside


def frozen_frames(result: PoseResult) -> np.ndarray:
    """(T,) bool: frames of the frozen stretches that show a person on some frame (a frozen
    picture without one, a black screen, is told as no person detected)."""
    frozen = np.zeros(result.n_frames, bool)
    for a, b in frozen_stretches(result.frame_change):
        frozen[a:b] = result.detected[a:b].any()
    return frozen


def damaged_frames(result: PoseResult) -> np.ndarray:
    """(T,) bool: frames where the file is damaged (the decoder could not decode them cleanly,
    olympia.video.damage); none when not checked."""
    if result.damaged is None:
        return np.zeros(result.n_frames, bool)
    return np.asarray(result.damaged, bool)


def merge_touching(unusable: list[Unusable], result: PoseResult,
                   frozen: np.ndarray | None = None, damaged: np.ndarray | None = None,
                   runs: list[tuple[int, int]] = ()) -> list[Unusable]:
    """One Unusable per group of touching or overlapping stretches, summarised when a group
    holds several (see the module docstring) over its frames outside `runs` (`outside_runs`; a
    lone cut between two runs keeps its two frames: "between these frames")."""
    groups: list[list[Unusable]] = []
    for u in sorted(unusable, key=lambda u: (u.start_frame, u.end_frame)):
        if groups and u.start_frame <= max(g.end_frame for g in groups[-1]):
            groups[-1].append(u)
        else:
            groups.append([u])
    none = np.zeros(result.n_frames, bool)
    frozen = none if frozen is None else frozen
    damaged = none if damaged is None else damaged
    return [g[0] if len(g) == 1 else
            _summary(g, *outside_runs(g[0].start_frame, max(u.end_frame for u in g), runs), result, frozen, damaged)
            for g in groups]


def _summary(group: list[Unusable], a: int, b: int, result: PoseResult, frozen: np.ndarray,
             damaged: np.ndarray) -> Unusable:
    parts = []
    if (~result.detected[a:b] | frozen[a:b] | damaged[a:b]).any():
        parts.append(_gap_reason(result, frozen, damaged, a, b, count=True))
    briefs = [u.end_frame - u.start_frame for u in group if u.reason.startswith("a person for")]
    if briefs:
        parts.append(f"a person seen for at most {max(briefs) / FPS:.1f} s at a time")
    cuts = sum(1 for u in group if "split there" in u.reason)
    if cuts:
        parts.append(f"{cuts} camera cut(s) or jump(s) between people")
    return Unusable(a, b, "; ".join(parts))


def _gap_reason(result: PoseResult, frozen: np.ndarray, damaged: np.ndarray, a: int, b: int,
                count: bool = False) -> str:
    """Why frames [a, b) hold no usable pose: the file damaged, the picture frozen, no person
    (mean brightness, too dark), or several; `count`: on how many of the frames there is no
    person. A damaged frame is told as damaged only: what it shows is the decoder's guess."""
    decoded = int(result.extra.get("decoded_frames", result.n_frames))
    gone = np.arange(a, b) >= decoded                 # past the end of a file cut short
    broken = damaged[a:b] & ~gone
    still = frozen[a:b] & ~broken & ~gone
    absent = ~result.detected[a:b] & ~still & ~broken & ~gone
    parts = []
    if gone.any():
        parts.append(f"the file ends at {decoded / FPS:.1f} s of the {result.n_frames / FPS:.1f} s its header "
                     f"gives (cut short: a download or copy that did not finish): re-download or re-export it")
    if broken.any():
        where = "" if broken.all() else f" on {int(broken.sum())} of {b - a} frames"
        fix = "" if gone.any() else ": re-download or re-export it"      # said once
        parts.append(f"the file is damaged here{where} (the decoder could not decode the video "
                     f"cleanly; the picture is broken until the next keyframe){fix}")
    if still.any():
        change = float(np.median(result.frame_change[a:b][still]))
        parts.append(f"picture frozen{'' if still.all() else f' on {int(still.sum())} of {b - a} frames'} "
                     f"(median change {change:.3f}/255 a frame; the pose's jitter there is no motion)")
    if absent.any() or not parts:
        # beside a freeze or damage, the brightness of the frames without a person only
        light = _brightness(result, a, b) if not parts or result.brightness is None else \
            float(np.mean(result.brightness[a:b][absent]))
        where = f" on {int(absent.sum())} of {b - a} frames" if count or parts else ""
        if light is None:
            parts.append(f"no person detected{where}")
        else:
            dark = ": too dark" if light < DARK_LEVEL else ""
            parts.append(f"no person detected{where} (mean brightness {light:.0f}/255{dark})")
    return "; ".join(parts)


def dark_gaps(result: PoseResult, a: int, b: int) -> float | None:
    """The mean brightness of the frames of [a, b) without a person when it is below DARK_LEVEL
    (the person was lost in the dark: more light is the fix, not a steadier camera); None when
    they are lit, unmeasured or absent."""
    if result.brightness is None:
        return None
    absent = ~result.detected[a:b]
    if not absent.any():
        return None
    light = float(np.mean(result.brightness[a:b][absent]))
    return light if light < DARK_LEVEL else None


def _brightness(result: PoseResult, a: int = 0, b: int | None = None) -> float | None:
    if result.brightness is None or len(result.brightness[a:b]) == 0:
        return None
    return float(np.mean(result.brightness[a:b]))


def camera_cuts(result: PoseResult) -> list[int]:
    """Frames t where the picture changes at once from frame t-1 (see the module docstring)."""
    change = result.frame_change
    if change is None or len(change) < 2:
        return []
    from scipy.ndimage import median_filter
    around = median_filter(change.astype(np.float64), size=int(FPS) + 1, mode="nearest")
    cut = (change > CUT_CHANGE) & (change > CUT_RATIO * around)
    cut[0] = False
    # only between two frames with a person: a flash to black and back inside a short gap is
    # no scene change, and a gap with nobody already splits by the gap rule when it is long
    seen = result.detected
    cut[1:] &= seen[1:] & seen[:-1]
    return [int(t) for t in np.flatnonzero(cut)]


def tracking_jumps(result: PoseResult) -> list[int]:
    """Frames t where the tracked person jumps between detected frames t-1 and t (see the
    module docstring); empty without 2D keypoints."""
    kp2d, size = result.keypoints_2d, result.image_size
    if kp2d is None or size is None or len(kp2d) < 2:
        return []
    xy = kp2d[..., :2].astype(np.float64)
    found = np.isfinite(xy).all(axis=(1, 2))
    extent = np.full(len(xy), np.nan)
    extent[found] = np.linalg.norm(xy[found].max(axis=1) - xy[found].min(axis=1), axis=1)
    pairs = found[1:] & found[:-1]
    move = np.linalg.norm(xy[1:, ROOT] - xy[:-1, ROOT], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.maximum(extent[1:] / extent[:-1], extent[:-1] / extent[1:])
    jump = pairs & ((move > JUMP_FRACTION * max(size)) | (ratio > SCALE_JUMP))
    return [int(t) + 1 for t in np.flatnonzero(jump)]


def person_height_fraction(result: PoseResult) -> float | None:
    """Median 2D height of the detected person as a fraction of the picture's height."""
    if result.keypoints_2d is None or result.image_size is None:
        return None
    y = result.keypoints_2d[..., 1]
    found = np.isfinite(y).all(axis=1)
    if not found.any():
        return None
    return float(np.median(y[found].max(axis=1) - y[found].min(axis=1)) / result.image_size[1])


def refusal(result: PoseResult, runs: PoseRuns) -> str:
    """Why a video without a usable run is refused, in one line (see the module docstring); for
    a file cut short (`PoseResult.cut_short`), where it ends."""
    why = _refusal(result, runs)
    decoded = int(result.extra.get("decoded_frames", result.n_frames))
    if decoded < result.n_frames:
        why += (f" (and the file ends at {decoded / FPS:.1f} s of the {result.n_frames / FPS:.1f} s its header "
                "gives: cut short; re-download or re-export it)")
    return why


def _refusal(result: PoseResult, runs: PoseRuns) -> str:
    n, seen = result.n_frames, int(result.detected.sum())
    light = _brightness(result)
    lit = "" if light is None else f"mean brightness {light:.0f}/255"
    if seen == 0:
        if light is not None and light < DARK_LEVEL:
            return (f"no person detected on any of {n} frames: too dark ({lit}); film with more "
                    "light or brighten the video")
        return (f"no person detected on any of {n} frames{f' ({lit})' if lit else ''}; check that "
                "one person is fully in view")
    if light is not None and light < DARK_LEVEL and seen < n / 2:
        return (f"too dark: a person is detected on only {seen} of {n} frames ({lit}); film with "
                "more light or brighten the video")
    damaged = damaged_frames(result)
    if damaged.sum() >= n / 2:
        first = int(np.argmax(damaged))
        return (f"the file is damaged on {int(damaged.sum())} of {n} frames (from {first / FPS:.1f} s: "
                "the decoder could not decode the video cleanly): re-download or re-export it")
    frozen = int(frozen_frames(result).sum())
    if frozen >= n / 2:
        return (f"picture frozen on {frozen} of {n} frames (the same picture held, e.g. a freeze "
                "frame or a still): no motion to find; give the video of the exercise itself")
    height = person_height_fraction(result)
    if height is not None and height < SMALL_PERSON:
        return (f"person too small: detected on {seen} of {n} frames at a median {height:.0%} of "
                "the picture's height; film closer or crop the video around the person")
    return (f"a person is detected on {seen} of {n} frames, but never long enough without a break "
            f"(longest {runs.longest / FPS:.1f} s; gaps > {GapPolicy.max_gap} frames, a frozen picture, "
            "camera cuts and jumps between people break it); check that one person stays in view")
