"""Videos (or annotated segments of them) -> canonical clips, through the parallel pose stage.

`pose_items` is what `olympia pose` runs: build one PoseTask per video or segment, run them
(cached, in parallel), fill short detection gaps (olympia.gaps) and return a `Clip` per
item, or a `Rejected` naming the file, the field and the fix. Nothing is dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from olympia.engine import Engine
from olympia.errors import LabelError
from olympia.gaps import GapPolicy, fill_gaps
from olympia.pose.parallel import PoseOutcome, PoseTask, run_pose_tasks
from olympia.schema import Clip, Rejected, make_clip_id
from olympia.segment import Segment
from olympia.timebase import FPS
from olympia.video.ffmpeg_ops import MAX_HEIGHT
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
    max_height: int | None = MAX_HEIGHT


def tasks_for(videos: list[str], segments: list[Segment] | None, job: PoseJob) -> list[PoseTask]:
    common = dict(backend=job.backend, backend_options=dict(job.backend_options),
                  cache_dir=job.cache_dir, max_height=job.max_height)
    if segments:
        return [PoseTask(video=s.video, start_frame=s.start_frame, end_frame=s.end_frame, **common)
                for s in segments]
    return [PoseTask(video=str(v), **common) for v in videos]


def pose_items(videos: list[str], segments: list[Segment] | None, job: PoseJob,
               progress: bool = True) -> list[Clip | Rejected]:
    """Pose every video (or segment) and return one Clip or Rejected per item, in order."""
    tasks = tasks_for(videos, segments, job)
    outcomes = run_pose_tasks(tasks, workers=job.workers, progress=progress, engine=job.engine)
    segs = segments or [None] * len(tasks)
    return [outcome_to_clip(o, s, job) for o, s in zip(outcomes, segs)]


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


def gap_problem(fill, n_frames: int, gaps: GapPolicy) -> tuple[str, str] | None:
    """(field, message) when the detection gaps make the clip unusable (the rule: olympia.gaps)."""
    if fill.missing.any():
        return "keypoints", (f"no person detected on {int(fill.missing.sum())} of {n_frames} frames "
                             f"(longest gap {fill.longest_unfilled_run} frames > max_gap "
                             f"{gaps.max_gap}); check that one person is fully in view, or trim "
                             "the segment")
    if fill.filled_fraction > gaps.max_filled_fraction:
        return "gap_filled_fraction", (f"{fill.filled_fraction:.1%} of frames interpolated over "
                                       f"detection gaps (limit {gaps.max_filled_fraction:.0%}); "
                                       "pose is unreliable here")
    return None


def segment_fields(segment: Segment | None, video: Path, video_sha256: str, job: PoseJob) -> dict:
    """The clip fields a segment (or, for a whole video, the job) decides. The split group is
    the segment's own (a known performer), else the video's content hash: the same video posed
    under two source names lands in one split (olympia.video.segments.content_split_group)."""
    seg = segment or Segment(str(video))
    return dict(label_raw=seg.label_raw or job.default_label, subject=seg.subject or video.stem,
                split_group=seg.split_group or content_split_group(video_sha256), reps=seg.reps,
                rep_bounds=seg.clip_rep_bounds(), camera=seg.camera)


def outcome_to_clip(outcome: PoseOutcome, segment: Segment | None, job: PoseJob) -> Clip | Rejected:
    video = Path(outcome.task.video)
    source = segment.source if segment is not None and segment.source else job.source
    clip_id = clip_id_for(video, segment, source)
    where = f"{video}" + (f" frames [{segment.start_frame}, {segment.end_frame})" if segment else "")
    if not outcome.ok:
        return Rejected(source, where, "video", outcome.error, clip_id=clip_id)
    res = outcome.result
    if res.n_frames < 2:
        return Rejected(source, where, "n_frames", f"only {res.n_frames} frame(s) at {FPS:g} fps; "
                        "a clip needs at least 2: widen the segment", clip_id=clip_id)
    fill = fill_gaps(res.keypoints, job.gaps.max_gap)
    problem = gap_problem(fill, res.n_frames, job.gaps)
    if problem:
        return Rejected(source, where, *problem, clip_id=clip_id)
    fields = segment_fields(segment, video, outcome.video_sha256, job)
    from olympia.labels import normalize_label   # imported late: pandas and spaCy load on use
    try:
        label = (segment.label if segment is not None else "") or normalize_label(fields["label_raw"])
    except LabelError as exc:
        return Rejected(source, where, "label_raw", str(exc), clip_id=clip_id)
    info = outcome.info
    extra = {"video": video.name, "backend_version": res.version, "image_size": res.image_size,
             "detected_fraction": round(float((res.confidence > 0).mean()), 4),
             "max_gap": job.gaps.max_gap, "joint_visibility": joint_visibility(res),
             "rotation": info.rotation, "variable_frame_rate": info.variable_frame_rate,
             **res.extra}
    provenance = {"source_file": video.name, "sha256": outcome.video_sha256, "license": job.license}
    if segment:
        extra.update(segment.extra, start_frame=segment.start_frame, end_frame=segment.end_frame)
        provenance.update({k: v for k, v in segment.provenance.items() if v and k != "sha256"})
    return Clip(
        id=clip_id, source=source, keypoints=fill.keypoints, source_fps=info.fps or FPS,
        frame_confidence=res.confidence.clip(0.0, 1.0), pose_estimator=res.backend,
        pose_estimator_version=res.version, provenance=provenance,
        gap_filled_fraction=fill.filled_fraction, extra=extra, label=label, **fields)
