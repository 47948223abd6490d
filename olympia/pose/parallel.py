"""The pose stage over many videos: one pure, picklable function per item, run in a pool.

`run_pose_task(PoseTask) -> PoseOutcome` does everything for one video (or one segment):
probe, sha256, cache lookup, decode at 25 fps, pose, cache write. It takes and returns plain
picklable dataclasses and never raises for a bad item (the error goes into the outcome), so a
distributed engine (Ray, Dask, Beam) can map it over tasks unchanged. `run_pose_tasks` is the
local engine: a process pool with one worker per core, each pinned to its core, and a tqdm
progress bar.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

from tqdm import tqdm

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


def _pin_worker(counter, cores_per_worker: int) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    cores = sorted(os.sched_getaffinity(0))
    n_slots = max(1, len(cores) // cores_per_worker)
    slot = index % n_slots
    os.sched_setaffinity(0, cores[slot * cores_per_worker:(slot + 1) * cores_per_worker])


def run_pose_tasks(tasks: list[PoseTask], workers: int | None = None, progress: bool = True,
                   pin: bool = True, cores_per_worker: int = 1) -> list[PoseOutcome]:
    """Run tasks in a process pool (workers=1: in this process). Outcomes keep task order."""
    workers = default_workers() if workers is None else max(1, int(workers))
    bar = tqdm(total=len(tasks), desc="pose", unit="item", disable=not progress)
    outcomes: list[PoseOutcome | None] = [None] * len(tasks)
    if workers == 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            outcomes[i] = run_pose_task(task)
            bar.update(1)
        bar.close()
        return outcomes
    ctx = mp.get_context("spawn")  # no fork: MediaPipe/TFLite threads do not survive fork
    counter = ctx.Value("i", 0)
    init = (_pin_worker, (counter, cores_per_worker)) if pin else (None, ())
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx,
                             initializer=init[0], initargs=init[1]) as pool:
        futures = {pool.submit(run_pose_task, t): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            task = tasks[futures[fut]]
            try:
                outcomes[futures[fut]] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a crashed worker (e.g. killed for memory)
                outcomes[futures[fut]] = PoseOutcome(task, error=(
                    f"{task.video}: the pose worker process failed ({type(exc).__name__}: "
                    f"{exc}); finished items are cached, re-run to retry this one"))
            bar.update(1)
    bar.close()
    return outcomes
