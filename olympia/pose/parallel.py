"""The pose stage over many videos: one pure, picklable function per item, run in a pool.

`run_pose_task(PoseTask) -> PoseOutcome` does everything for one video (or one segment):
probe, sha256, cache lookup, decode at 25 fps, pose, where the file is damaged (only when the
decode printed errors, `olympia.video.damage`; once for a cache entry made before that check),
cache write. It takes and returns plain picklable dataclasses and never raises for a bad
item (the error goes into the outcome), so `run_items` maps it (or any such per-item
function: `workout.find_sets`) over an `olympia.engine.Engine` unchanged: the local process
pool (one worker per core, each pinned to its core) or a Ray cluster (one task per item; a
worker process keeps its loaded model across tasks, see `_backend`; num_gpus per task for
MotionBERT). One item or one local worker runs in this process, with a progress bar over the
video's frames.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

import numpy as np
from tqdm import tqdm

from olympia.engine import Engine, ItemFailure, map_items
from olympia.errors import ConfigError, OlympiaError
from olympia.pose.base import PoseResult, make_backend
from olympia.pose.cache import PoseCache, cache_key, video_sha256
from olympia.pose.quiet import terminal_stderr
from olympia.timebase import FPS
from olympia.video.damage import decode_damage
from olympia.video.ffmpeg_ops import MAX_HEIGHT, VideoInfo, frame_size, iter_frames, require_video

# Shorter side of the frames the pose model gets. Decoding at the model's resolution was
# measured and not adopted (benchmarks/bench_pose.py, docs/video.md, 720p input): MediaPipe's
# landmark model costs the same CPU a frame whatever the input size (~21 ms through
# mp.solutions.pose, ~11 ms with the LiteRT runtime), so 256 lines (its input) saved 5-7% of
# the CPU per frame and 360 lines 3-4%, while PA-MPJPE against Fit3D motion capture
# rose 43.4 -> 44.3 / 43.9 mm, the occluded sit-up's bone-length CV passed its limit at 360 and
# a close-up (Countix) lost its person for seconds at 256.
POSE_MAX_HEIGHT = MAX_HEIGHT

# `--pose-stride N` (an option; every frame by default): MediaPipe poses every Nth frame of the
# 25 fps timeline and the frames between are interpolated. Every frame is still decoded (h264
# needs it) and measured (brightness, camera cuts); only the landmark model (~21 ms of CPU a
# frame through mp.solutions.pose, ~11 ms with the LiteRT runtime) runs less often. Measured (docs/video.md, Benchmark), N = 2: 38-39
# -> 62-66 frames per CPU-second on 720p input, PA-MPJPE against Fit3D motion capture 50.9 ->
# 50.7 mm (9 takes, first 6 s, held-out regressor); but on the hard real clips the counts got
# worse (occluded sit-ups 9 -> 6 of 14, leg raises 6 -> 5 of 6, a Countix set 2 -> 1 of 3: the
# tracker sees half the frames), so the default stays 1. MotionBERT lifts a 2D sequence with a
# temporal model at 25 fps: it takes every frame.
STRIDED_BACKENDS = ("mediapipe",)


@dataclass(frozen=True)
class PoseTask:
    video: str                          # path of the video file
    backend: str = "mediapipe"          # key of olympia.pose.base.BACKENDS
    backend_options: dict = field(default_factory=dict)  # constructor options of the backend
    start_frame: int | None = None      # segment [start, end) on the 25 fps timeline; None: all
    end_frame: int | None = None
    cache_dir: str | None = None        # None: no cache
    fps: float = FPS
    max_height: int | None = POSE_MAX_HEIGHT  # shorter side of the frames the model sees
    stride: int = 1                     # pose every stride-th frame, interpolate the rest

    def pose_stride(self) -> int:
        """The stride this task poses at; ConfigError for one its backend cannot take."""
        stride = int(self.stride)
        if stride < 1 or (stride > 1 and self.backend not in STRIDED_BACKENDS):
            raise ConfigError(f"pose stride {stride} is not possible with the {self.backend} backend "
                              f"(strides > 1: {', '.join(STRIDED_BACKENDS)}; MotionBERT lifts every "
                              "frame): use --pose-stride 1")
        return stride


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


LUMA = np.array([0.299, 0.587, 0.114], np.float32)   # BT.601 weights of R, G, B


def measured_frames(frames: Iterable[np.ndarray], brightness: list[float], change: list[float],
                    on_frame: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """Pass frames through, recording each one's mean luma and its mean absolute luma change
    from the previous frame (every 8th pixel each way: ~0.1 ms a 720p frame), and telling
    `on_frame` (a progress bar's update) about each."""
    previous = None
    for frame in frames:
        luma = frame[::8, ::8].astype(np.float32) @ LUMA
        brightness.append(float(luma.mean()))
        change.append(0.0 if previous is None or previous.shape != luma.shape
                      else float(np.abs(luma - previous).mean()))
        previous = luma
        if on_frame is not None:
            on_frame(1)
        yield frame


def run_pose_task(task: PoseTask, on_frame: Callable[[int], None] | None = None) -> PoseOutcome:
    """Pose one video or segment (pure apart from the cache). Never raises for a bad item.
    `on_frame` (not part of the task: a local progress bar) hears of every decoded frame."""
    t0 = time.perf_counter()
    out = PoseOutcome(task)
    try:
        out.info = info = require_video(task.video)
        start = task.start_frame or 0
        end = info.frames_at(task.fps) if task.end_frame is None else task.end_frame
        out.video_sha256 = video_sha256(task.video, task.cache_dir)
        stride = task.pose_stride()
        backend = _backend(task.backend, task.backend_options)
        cache = PoseCache(task.cache_dir) if task.cache_dir else None
        key = cache_key(out.video_sha256, start, end, backend.name, backend.version,
                        task.fps, task.max_height, stride)
        result = cache.get(key) if cache else None
        out.cached = result is not None
        if result is None:
            heard: list[str] = []
            frames = iter_frames(task.video, fps=task.fps, max_height=task.max_height,
                                 start_frame=start, end_frame=end, info=info, errors=heard)
            light: list[float] = []
            change: list[float] = []
            measured = measured_frames(frames, light, change, on_frame)
            posed = measured if stride == 1 else (f for i, f in enumerate(measured) if i % stride == 0)
            result = backend.estimate(posed, task.fps / stride, frame_size(info, task.max_height))
            decoded = len(light)
            if not decoded or result.n_frames != -(-decoded // stride):
                raise OlympiaError(f"{task.video}: decoded {decoded} frames for range [{start}, {end}); "
                                   "the file is probably truncated or corrupt: re-download or re-export it")
            damaged = np.zeros(decoded, bool) if not heard else \
                decode_damage(task.video, info, fps=task.fps, start_frame=start, end_frame=end)
            result = replace(result.upsampled(stride, decoded, task.fps),
                             brightness=np.array(light, np.float32), frame_change=np.array(change, np.float32),
                             damaged=None if damaged is None else damaged[:decoded])
            if decoded < end - start:       # the file ends early: the frames it holds are used
                result = result.cut_short(end - start)
            if cache:
                cache.put(key, result)
        else:
            if result.damaged is None:      # an entry from before the check: checked once, kept
                result = replace(result, damaged=decode_damage(task.video, info, fps=task.fps,
                                                               start_frame=start, end_frame=end))
                if result.damaged is not None:
                    cache.put(key, result)
            if on_frame is not None:
                on_frame(result.n_frames)
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


def task_frames(task) -> int | None:
    """Frames a task will decode (a PoseTask, or a task holding one as `.pose`), for a
    progress bar's total; None when the video cannot be probed (the task will say why)."""
    pose = getattr(task, "pose", task)
    if pose.end_frame is not None:
        return pose.end_frame - (pose.start_frame or 0)
    try:
        return require_video(pose.video).frames_at(pose.fps) - (pose.start_frame or 0)
    except OlympiaError:
        return None


def run_items(fn: Callable, tasks: list, *, engine: Engine | None = None, workers: int | None = None,
              progress: bool | None = True, pin: bool = True, cores_per_worker: int = 1,
              failed: Callable | None = None, desc: str = "pose") -> list:
    """`fn(task)` for every task, outcomes in task order. Local engine (the default) with one
    worker, or one task: in this process, with a progress bar over each video's frames (`fn`
    takes `on_frame`). Otherwise `olympia.engine.map_items` on `engine` (default: a `spawn` pool,
    as MediaPipe/TFLite threads do not survive fork, of `workers` processes pinned to
    `cores_per_worker` cores each) with a bar over items; `failed(task, error)` makes the
    outcome of a task whose call raised or whose worker died. progress None: bars on a
    terminal only."""
    if engine is None or engine.kind == "local":
        n = workers if workers is not None else (engine and engine.workers) or default_workers()
        n = max(1, min(int(n), len(tasks)))
        if n == 1:
            return _run_here(fn, tasks, progress, desc)
        engine = Engine(workers=n, start_method=engine.start_method if engine else "spawn",
                        pin_cores=cores_per_worker if pin else 0)
    elif pin and not engine.pin_cores:      # Ray workers pinned as the pool's are (engine.claim_cores)
        engine = replace(engine, pin_cores=max(cores_per_worker, math.ceil(engine.num_cpus)))
    shown = terminal_stderr.isatty() if progress is None else progress
    outcomes = []
    for task, out in zip(tasks, map_items(fn, tasks, engine, progress=shown, desc=desc)):
        if isinstance(out, ItemFailure):
            if failed is None:
                raise OlympiaError(f"{desc}: item {out.index} failed: {out.error}")
            out = failed(task, out.error)
        outcomes.append(out)
    return outcomes


def _run_here(fn: Callable, tasks: list, progress: bool | None, desc: str) -> list:
    bar = tqdm(desc=desc, unit="frame", file=terminal_stderr, disable=None if progress is None else not progress)
    outcomes = []
    for i, task in enumerate(tasks):
        bar.reset(total=task_frames(task))
        bar.set_description(f"{desc} {i + 1}/{len(tasks)}" if len(tasks) > 1 else desc)
        outcomes.append(fn(task, on_frame=bar.update))
    bar.close()
    return outcomes


def for_remote(task: PoseTask) -> PoseTask:
    """The task with absolute paths: a Ray worker may run in another folder or on another node."""
    return replace(task, video=os.path.abspath(task.video),
                   cache_dir=task.cache_dir and os.path.abspath(task.cache_dir))


def run_pose_tasks(tasks: list[PoseTask], workers: int | None = None, progress: bool = True,
                   pin: bool = True, cores_per_worker: int = 1, engine: Engine | None = None) -> list[PoseOutcome]:
    """run_pose_task over tasks with `run_items` (default engine: a local pool of `workers`
    processes pinned to `cores_per_worker` cores; workers=1: in this process). Outcomes keep
    task order and the caller's tasks; a task whose worker died is an outcome with the error
    (finished items are in the cache)."""
    remote = engine is not None and engine.kind == "ray"
    sent = [for_remote(t) for t in tasks] if remote else tasks

    def failed(task, error):
        return PoseOutcome(task, error=(f"{task.video}: the pose worker failed ({error}); "
                                        "finished items are cached, re-run to retry this one"))
    outcomes = run_items(run_pose_task, sent, engine=engine, workers=workers, progress=progress, pin=pin,
                         cores_per_worker=cores_per_worker, failed=failed)
    for task, out in zip(tasks, outcomes):
        out.task = task                     # the caller's task, relative paths as given
    return outcomes
