"""The machine's first pass over a collection (`olympia annotate push --suggest`): the sets of
each video (olympia.pose.workout.find_sets: pose through the shared cache, runs, set
detection), and optionally an exercise name per set from a `namer` (a LiFT checkpoint, made by
the CLI: the library does not import the model package).

A namer is a callable (T, 17, 3) keypoints at 25 fps -> exercise name ("" for none), with a
`version` attribute that goes into the suggestion's model version.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from olympia.annotate.review import SUGGEST_VERSION, SuggestedSet


@dataclass
class Suggestions:
    model_version: str
    sets: dict[str, list[SuggestedSet]] = field(default_factory=dict)   # video rel -> its sets
    problems: dict[str, str] = field(default_factory=dict)             # video rel -> why none
    notes: dict[str, list[str]] = field(default_factory=dict)          # video rel -> left-out stretches


def detect_suggestions(videos: dict[str, Path], *, cache_dir: str | None, workers: int | None = None,
                       progress: bool | None = None, namer: Callable | None = None) -> Suggestions:
    """Suggested sets of each video (rel path -> file), see the module docstring."""
    from olympia.gaps import fill_gaps
    from olympia.pose.parallel import PoseTask, run_items, run_pose_task
    from olympia.pose.workout import WorkoutOutcome, WorkoutTask, find_sets

    version = SUGGEST_VERSION + (f"+{namer.version}" if namer is not None else "")
    out = Suggestions(version)
    rels = sorted(videos)
    tasks = [WorkoutTask(PoseTask(str(videos[rel]), cache_dir=cache_dir)) for rel in rels]
    outcomes = run_items(find_sets, tasks, workers=workers, progress=progress, desc="sets",
                         failed=lambda task, error: WorkoutOutcome(task, error=(
                             f"{task.pose.video}: the worker process failed ({error})")))
    for rel, task, found in zip(rels, tasks, outcomes):
        out.notes[rel] = found.notes()
        if not found.ok:
            out.problems[rel] = found.error
            continue
        names = [""] * len(found.sets)
        if namer is not None and found.sets:
            keypoints = run_pose_task(task.pose).result.keypoints    # from the cache
            names = [namer(fill_gaps(keypoints[s.start_frame:s.end_frame]).keypoints) for s in found.sets]
        out.sets[rel] = [SuggestedSet(s.start_frame, s.end_frame, s.reps, name, s.confidence)
                         for s, name in zip(found.sets, names)]
    return out
