"""Exercise sets in a long workout video: the per-video work of `olympia videos sets` and of
`olympia annotate push --suggest`.

`find_sets(WorkoutTask) -> WorkoutOutcome` is one pure, picklable function per video, like
`run_pose_task` (which it calls), so a distributed engine can map it over videos unchanged:

1. pose: frames decoded by ffmpeg at the pose resolution and streamed through the backend one
   at a time (never all held: 45 minutes of 720p would be 190 GB); only the keypoints, 0.4 KB a
   frame, are kept, and cached (a second run does not pose again);
2. runs (olympia.pose.runs): no-person stretches and frozen pictures trimmed or split out,
   camera cuts and jumps between people split, runs under 2 s left out, each with its reason;
3. sets (olympia.sets.detect_sets) in each run, on the video's 25 fps timeline.

A video without a usable run gets a one-line `refusal` (no person, too dark, frozen, too small).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from olympia.gaps import GapPolicy
from olympia.pose.base import PoseResult
from olympia.pose.parallel import PoseTask, run_pose_task
from olympia.pose.runs import MIN_RUN_FRAMES, pose_runs, refusal
from olympia.sets import ExerciseSet, SetDetection, Unusable, detect_sets
from olympia.timebase import FPS


@dataclass(frozen=True)
class WorkoutTask:
    pose: PoseTask                          # the video (or a range of it) and how to pose it
    max_gap: int | None = GapPolicy.max_gap  # longest no-person run bridged inside a run
    min_run_frames: int = MIN_RUN_FRAMES    # shorter runs cannot hold a set


@dataclass
class WorkoutOutcome:
    task: WorkoutTask
    sets: list[ExerciseSet] = field(default_factory=list)       # frames of the video, 25 fps
    unusable: list[Unusable] = field(default_factory=list)      # what was left out, and why
    n_frames: int = 0
    error: str = ""             # the video could not be posed, or no run is usable (one line)
    video_sha256: str = ""
    cached: bool = False        # the pose came from the cache

    @property
    def ok(self) -> bool:
        return not self.error

    def notes(self, fps: float = FPS) -> list[str]:
        return [u.describe(fps) for u in self.unusable]


def find_sets(task: WorkoutTask, on_frame: Callable[[int], None] | None = None) -> WorkoutOutcome:
    """Pose one video and find its sets (see the module docstring). Never raises for a bad
    video: the reason is the outcome's `error`."""
    posed = run_pose_task(task.pose, on_frame=on_frame)
    out = WorkoutOutcome(task, video_sha256=posed.video_sha256, cached=posed.cached)
    if not posed.ok:
        out.error = posed.error
        return out
    offset = task.pose.start_frame or 0
    found, why_none = sets_in_pose(posed.result, task.max_gap, task.min_run_frames)
    out.n_frames = found.n_frames
    out.sets = [s.shifted(offset) for s in found.sets]
    out.unusable = [_shift(u, offset) for u in found.unusable]
    if why_none:
        out.error = f"{task.pose.video}: {why_none}"
    return out


def sets_in_pose(result: PoseResult, max_gap: int | None = GapPolicy.max_gap,
                 min_run_frames: int = MIN_RUN_FRAMES) -> tuple[SetDetection, str]:
    """Steps 2 and 3 of the module docstring on a posed video (frames of `result`): its sets
    and what was left out, and, when no run is usable, why (one line; else "")."""
    runs = pose_runs(result, max_gap, min_run_frames)
    out = SetDetection(unusable=list(runs.unusable), n_frames=result.n_frames)
    if not runs.runs:
        return out, refusal(result, runs)
    for a, b in runs.runs:
        found = detect_sets(result.keypoints[a:b])
        out.sets += [s.shifted(a) for s in found.sets]
        out.unusable += [_shift(u, a) for u in found.unusable]
    out.sets.sort(key=lambda s: s.start_frame)
    out.unusable.sort(key=lambda u: (u.start_frame, u.end_frame))
    return out, ""


def _shift(u: Unusable, offset: int) -> Unusable:
    return Unusable(u.start_frame + offset, u.end_frame + offset, u.reason)
