"""The pose stage over many videos: one pure, picklable function per item, run in a pool.

`run_pose_task(PoseTask) -> PoseOutcome` does everything for one video (or one segment):
probe, sha256, cache lookup, decode at 25 fps, pose, cache write. It takes and returns plain
picklable dataclasses and never raises for a bad item (the error goes into the outcome), so
`run_pose_tasks` maps it over an `olympia.engine.Engine` unchanged: the local process pool (one
worker per core, each pinned to its core) or a Ray cluster (one task per item; a worker process
keeps its loaded model across tasks, see `_backend`; num_gpus per task for MotionBERT).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace

from olympia.engine import Engine, ItemFailure, map_items
from olympia.errors import OlympiaError
from olympia.pose.base import PoseResult, make_backend
from olympia.pose.cache import PoseCache, cache_key, video_sha256
from olympia.timebase import FPS
from olympia.video.ffmpeg_ops import MAX_HEIGHT, VideoInfo, frame_size, iter_frames, require_video


@dataclass(frozen=True)
class PoseTask:
    video: str                          # path of the video file
    backend: str = "mediapipe"          # key of olympia.pose.base.BACKENDS
    backend_options: dict = field(default_factory=dict)  # constructor options of the backend
    start_frame: int | None = None      # segment [start, end) on the 25 fps timeline; None: all
    end_frame: int | None = None
    cache_dir: str | None = None        # None: no cache
    fps: float = FPS
    max_height: int | None = MAX_HEIGHT  # frames are scaled down to this height for pose


@dataclass
class PoseOutcome:
    task: PoseTask
    result: PoseResult | None = None   # None when the item failed
    error: str = ""                    # one-line reason when it failed
    info: VideoInfo | None = None
    video_sha256: str = ""
    cached: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result is not None


_BACKENDS: dict = {}  # per-process: loaded models are reused across tasks


def _backend(name: str, options: dict):
    key = (name, tuple(sorted((k, repr(v)) for k, v in options.items())))
    if key not in _BACKENDS:
        _BACKENDS[key] = make_backend(name, **options)
    return _BACKENDS[key]


def run_pose_task(task: PoseTask) -> PoseOutcome:
    """Pose one video or segment (pure apart from the cache). Never raises for a bad item."""
    t0 = time.perf_counter()
    out = PoseOutcome(task)
    try:
        out.info = info = require_video(task.video)
        start = task.start_frame or 0
        end = info.frames_at(task.fps) if task.end_frame is None else task.end_frame
        out.video_sha256 = video_sha256(task.video, task.cache_dir)
        backend = _backend(task.backend, task.backend_options)
        cache = PoseCache(task.cache_dir) if task.cache_dir else None
        key = cache_key(out.video_sha256, start, end, backend.name, backend.version,
                        task.fps, task.max_height)
        result = cache.get(key) if cache else None
        out.cached = result is not None
        if result is None:
            frames = iter_frames(task.video, fps=task.fps, max_height=task.max_height,
                                 start_frame=start, end_frame=end, info=info)
            result = backend.estimate(frames, task.fps, frame_size(info, task.max_height))
            if result.n_frames != end - start:
                raise OlympiaError(f"{task.video}: decoded {result.n_frames} frames for range "
                                   f"[{start}, {end}); the file is probably truncated")
            if cache:
                cache.put(key, result)
        out.result = result
    except OlympiaError as exc:
        out.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the others
        out.error = (f"{task.video}: pose failed with {type(exc).__name__}: {exc}; the item is "
                     "quarantined, the others go on (please report this with the video)")
    out.seconds = time.perf_counter() - t0
    return out


def default_workers() -> int:
    """One worker per core. Measured (benchmarks/bench_pose.py, 2 cores, 720p): two pinned
    workers pose 62.7-63.9 frames/s, one worker on the core pair 33.2-34.5 frames/s: MediaPipe
    does not use a second core within one process, so a worker per pair leaves half idle."""
    return max(1, len(os.sched_getaffinity(0)))


def run_pose_tasks(tasks: list[PoseTask], workers: int | None = None, progress: bool = True,
                   pin: bool = True, cores_per_worker: int = 1, engine: Engine | None = None) -> list[PoseOutcome]:
    """Run tasks on `engine` (default: a local spawn pool of `workers` processes, each pinned
    to `cores_per_worker` cores; workers=1: in this process). Outcomes keep task order; a task
    whose worker died is an outcome with the error (finished items are in the cache)."""
    if engine is None or engine.kind == "local":
        n = workers if workers is not None else (engine and engine.workers) or default_workers()
        engine = Engine(workers=max(1, min(int(n), len(tasks))), start_method="spawn",
                        pin_cores=cores_per_worker if pin else 0)
    sent = tasks
    if engine.kind == "ray":                # workers may run in another folder or on another node
        sent = [replace(t, video=os.path.abspath(t.video),
                        cache_dir=t.cache_dir and os.path.abspath(t.cache_dir)) for t in tasks]
    outcomes = []
    for task, out in zip(tasks, map_items(run_pose_task, sent, engine, progress=progress, desc="pose")):
        if isinstance(out, ItemFailure):
            out = PoseOutcome(task, error=(f"{task.video}: the pose worker failed ({out.error}); "
                                           "finished items are cached, re-run to retry this one"))
        else:
            out.task = task                 # the caller's task, relative paths as given
        outcomes.append(out)
    return outcomes
