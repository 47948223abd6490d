"""Videos (or annotated segments of them) -> canonical clips, through the parallel pose stage.

`pose_items` is what `olympia pose` runs: build one PoseTask per video or segment, run them
(cached, in parallel), split each into its usable runs (olympia.pose.runs: no-person frames
at the ends trimmed, a long gap or a camera cut splits), fill the short detection gaps inside
a run (olympia.gaps) and return a `Clip` per run, or one `Rejected` per item naming the file,
the field and why nothing is usable. Nothing is dropped silently: the stretches left out are
listed in each clip's `extra["unusable"]` (frames of the video) and told to `on_note`, one
line each, as `olympia count` tells them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from olympia.engine import Engine
from olympia.errors import LabelError
from olympia.gaps import GapPolicy, fill_gaps
from olympia.pose.parallel import POSE_MAX_HEIGHT, PoseOutcome, PoseTask, run_pose_tasks
from olympia.pose.runs import MIN_RUN_FRAMES, dark_gaps, pose_runs, refusal
from olympia.schema import Clip, Rejected, make_clip_id
from olympia.segment import Segment, min_rep_frames
from olympia.timebase import FPS
from olympia.video.segments import content_split_group


@dataclass(frozen=True)
class PoseJob:
    """Options shared by every item of one `olympia pose` run."""

    backend: str = "mediapipe"          # key of olympia.pose.base.BACKENDS
    backend_options: dict = field(default_factory=dict)
    source: str = "video"               # clip.source for the clips written
    license: str = "unknown"            # provenance license of the videos
    default_label: str = "unlabeled"    # label_raw when posing whole videos without labels
    cache_dir: str | None = None
    workers: int | None = None          # None: one per core
    engine: Engine | None = None        # where the items run (olympia.engine); None: local pool
    gaps: GapPolicy = GapPolicy()
    max_height: int | None = POSE_MAX_HEIGHT
    stride: int = 1                     # pose every stride-th frame, interpolate the rest
    min_run_frames: int = MIN_RUN_FRAMES  # a run shorter than this (or half the item) is no clip


def tasks_for(videos: list[str], segments: list[Segment] | None, job: PoseJob) -> list[PoseTask]:
    common = dict(backend=job.backend, backend_options=dict(job.backend_options),
                  cache_dir=job.cache_dir, max_height=job.max_height, stride=job.stride)
    if segments:
        return [PoseTask(video=s.video, start_frame=s.start_frame, end_frame=s.end_frame, **common)
                for s in segments]
    return [PoseTask(video=str(v), **common) for v in videos]


def pose_items(videos: list[str], segments: list[Segment] | None, job: PoseJob,
               progress: bool = True, on_note: Callable[[str], None] | None = None) -> list[Clip | Rejected]:
    """Pose every video (or segment): its Clips (one per usable run, olympia.pose.runs) or one
    Rejected saying why none is usable, in item order. Each stretch left out is told to
    `on_note` as `<video>[ frames [start, end)]: <note>`."""
    tasks = tasks_for(videos, segments, job)
    outcomes = run_pose_tasks(tasks, workers=job.workers, progress=progress, engine=job.engine)
    segs = segments or [None] * len(tasks)
    return [item for o, s in zip(outcomes, segs) for item in outcome_to_clips(o, s, job, on_note)]


def joint_visibility(result) -> list[float] | None:
    """Mean 2D confidence (MediaPipe visibility) of each H36M joint over the detected frames:
    which joints the detector really saw (a low value marks a guessed, e.g. occluded, limb)."""
    if result.keypoints_2d is None or not result.detected.any():
        return None
    conf = np.nan_to_num(result.keypoints_2d[result.detected, :, 2], nan=0.0)
    return [round(float(v), 3) for v in conf.mean(axis=0)]


def clip_id_for(video: Path, segment: Segment | None, source: str) -> str:
    """An adapter's segment carries its full clip id; otherwise the id is
    `<source>:<video stem>[:<segment name>]` (the name: its clip_id, else `<stem>-<start>-<end>`)."""
    if segment is not None and segment.source and segment.clip_id:
        return segment.clip_id
    return make_clip_id(source, video.stem, *([segment.name] if segment is not None else []))


def filled_problem(fill, gaps: GapPolicy, dark: float | None = None) -> tuple[str, str] | None:
    """(field, message) when too much of a run had to be interpolated (the rule: olympia.gaps);
    `dark`: the mean brightness of the run's frames without a person, when too dark
    (olympia.pose.runs.dark_gaps): then the light is the cause and the fix."""
    if fill.filled_fraction <= gaps.max_filled_fraction:
        return None
    filled = (f"{fill.filled_fraction:.1%} of frames interpolated over detection gaps "
              f"(limit {gaps.max_filled_fraction:.0%})")
    if dark is not None:
        return "gap_filled_fraction", (f"too dark (mean brightness {dark:.0f}/255 on the frames without "
                                       f"a person): {filled}; film with more light or brighten the video")
    return "gap_filled_fraction", f"{filled}; pose is unreliable here"


def segment_fields(segment: Segment | None, video: Path, video_sha256: str, job: PoseJob) -> dict:
    """The clip fields a segment (or, for a whole video, the job) decides. The split group is
    the segment's own (a known performer), else the video's content hash: the same video posed
    under two source names lands in one split (olympia.video.segments.content_split_group)."""
    seg = segment or Segment(str(video))
    return dict(label_raw=seg.label_raw or job.default_label, subject=seg.subject or video.stem,
                split_group=seg.split_group or content_split_group(video_sha256), camera=seg.camera)


def run_reps(segment: Segment | None, start: int, end: int, split: bool) -> tuple[int | None, np.ndarray]:
    """(reps, rep bounds relative to the run) of frames [start, end) of a segment's item. Not
    split (only the no-person ends trimmed): the segment's count, its bounds clipped to the run
    (a rep left with less than 0.2 s in the run is dropped, and counted out when bounds are known).
    Split: the reps lying wholly inside the run; the count is unknown (None) when the segment
    gave a count without bounds."""
    if segment is None:
        return None, np.zeros((0, 2), np.int64)
    bounds = segment.clip_rep_bounds()
    if not split:
        clipped = np.clip(bounds, start, end) - start
        # a rep cut shorter than a repetition can last (olympia.segment.MIN_REP_SECONDS) is out
        kept = clipped[clipped[:, 1] - clipped[:, 0] >= min_rep_frames(FPS)]
        return (len(kept) if len(bounds) else segment.reps), kept
    inside = bounds[(bounds[:, 0] >= start) & (bounds[:, 1] <= end)] - start
    return (len(inside) if len(bounds) else None), inside


def outcome_to_clips(outcome: PoseOutcome, segment: Segment | None, job: PoseJob,
                     on_note: Callable[[str], None] | None = None) -> list[Clip | Rejected]:
    """The clips of one posed item: one per usable run (olympia.pose.runs), or one Rejected
    saying why nothing is usable. A single run keeps the item's clip id; several get
    `:<start>-<end>` (frames of the video) appended. The stretches left out go to `on_note`."""
    video = Path(outcome.task.video)
    source = segment.source if segment is not None and segment.source else job.source
    clip_id = clip_id_for(video, segment, source)
    where = f"{video}" + (f" frames [{segment.start_frame}, {segment.end_frame})" if segment else "")
    if not outcome.ok:
        return [Rejected(source, where, "video", outcome.error, clip_id=clip_id)]
    res = outcome.result
    if res.n_frames < 2:
        return [Rejected(source, where, "n_frames", f"only {res.n_frames} frame(s) at {FPS:g} fps; "
                         "a clip needs at least 2: widen the segment", clip_id=clip_id)]
    runs = pose_runs(res, job.gaps.max_gap, min_frames=min(job.min_run_frames, res.n_frames // 2))
    offset = segment.start_frame if segment is not None else 0
    if not runs.runs:       # one line says why: the stretches' notes would repeat it
        return [Rejected(source, where, "keypoints", refusal(res, runs), clip_id=clip_id)]
    notes = runs.notes(offset=offset)
    for note in notes if on_note is not None else ():
        on_note(f"{where}: {note}")
    fields = segment_fields(segment, video, outcome.video_sha256, job)
    from olympia.labels import normalize_label   # imported late: pandas and spaCy load on use
    try:
        label = (segment.label if segment is not None else "") or normalize_label(fields["label_raw"])
    except LabelError as exc:
        return [Rejected(source, where, "label_raw", str(exc), clip_id=clip_id)]
    out = []
    for a, b in runs.runs:
        cid = clip_id if len(runs.runs) == 1 else f"{clip_id}:{offset + a}-{offset + b}"
        fill = fill_gaps(res.keypoints[a:b], job.gaps.max_gap)
        problem = filled_problem(fill, job.gaps, dark_gaps(res, a, b))
        if problem:
            out.append(Rejected(source, f"{video} frames [{offset + a}, {offset + b})", *problem, clip_id=cid))
            continue
        reps, bounds = run_reps(segment, a, b, split=len(runs.runs) > 1)
        out.append(_run_clip(outcome, segment, job, res.window(a, b), fill, cid, source, label, fields,
                             reps, bounds, (offset + a, offset + b), notes))
    return out


def _run_clip(outcome, segment, job, res, fill, clip_id, source, label, fields, reps, bounds,
              frames, notes) -> Clip:
    video, info = Path(outcome.task.video), outcome.info
    extra = {"video": video.name, "backend_version": res.version, "image_size": res.image_size,
             "detected_fraction": round(float((res.confidence > 0).mean()), 4),
             "max_gap": job.gaps.max_gap, "joint_visibility": joint_visibility(res),
             "rotation": info.rotation, "variable_frame_rate": info.variable_frame_rate,
             **res.extra}
    provenance = {"source_file": video.name, "sha256": outcome.video_sha256, "license": job.license}
    if segment:
        extra.update(segment.extra)
        provenance.update({k: v for k, v in segment.provenance.items() if v and k != "sha256"})
        if reps != segment.reps:
            extra["segment_reps"] = segment.reps
    if segment or frames != (0, outcome.result.n_frames):
        extra.update(start_frame=frames[0], end_frame=frames[1])
    if notes:
        extra["unusable"] = notes
    return Clip(
        id=clip_id, source=source, keypoints=fill.keypoints, source_fps=info.fps or FPS,
        frame_confidence=res.confidence.clip(0.0, 1.0), pose_estimator=res.backend,
        pose_estimator_version=res.version, provenance=provenance, reps=reps, rep_bounds=bounds,
        gap_filled_fraction=fill.filled_fraction, extra=extra, label=label, **fields)
