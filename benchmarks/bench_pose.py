"""Pose-stage benchmark (issue 5, item 8): frames/s of decode + MediaPipe pose at 720p.

The clip is 4 s of the real push-up video (1920x1080, 60 fps) normalized by ffmpeg to
1280x720 at 25 fps. Measured in the same run:

1. reference: ONE process pinned to one core, posing the clip `--tasks` times (MediaPipe model
   loaded beforehand, as a long-running worker has it);
2. all cores, one worker process per core (olympia.pose.parallel.run_pose_tasks with
   cores_per_worker=1), `--tasks` clips per worker, wall clock from pool start to the last
   result (process start-up and model loading included);
3. one worker per core pair (the layout first planned; MediaPipe turned out not to use the
   second core), same work, for information.

Target: (2) >= 0.85 x cores x (1). No cache: every frame is decoded and posed.
Usage: python benchmarks/bench_pose.py [--frames 100] [--tasks 4]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from olympia.pose.parallel import PoseTask, run_pose_task, run_pose_tasks
from olympia.video.ffmpeg_ops import normalize_video, probe

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OLYMPIA_SHARED", REPO.parent / "shared"))
VIDEO = SHARED / "realdata" / "videos" / "pushup_test_fitness-action-eval.mp4"
TARGET_EFFICIENCY = 0.85


def make_clip(out_dir: Path, frames: int) -> Path:
    clip = normalize_video(VIDEO, out_dir / "pushup_720p.mp4", max_height=720,
                           start_frame=0, end_frame=frames)
    info = probe(clip)
    assert (info.width, info.height, info.fps) == (1280, 720, 25.0), info
    return clip


def single_process_rate(clip: Path, tasks: int, core: int) -> float:
    """Frames/s of this process pinned to one core (the ffmpeg decoder child inherits it)."""
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        run_pose_task(PoseTask(str(clip), start_frame=0, end_frame=5))  # load the model
        t0 = time.perf_counter()
        outcomes = [run_pose_task(PoseTask(str(clip))) for _ in range(tasks)]
        seconds = time.perf_counter() - t0
    finally:
        os.sched_setaffinity(0, everything)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    return sum(o.result.n_frames for o in outcomes) / seconds


def pool_rate(clip: Path, workers: int, tasks_per_worker: int, cores_per_worker: int) -> float:
    tasks = [PoseTask(str(clip))] * (workers * tasks_per_worker)
    t0 = time.perf_counter()
    outcomes = run_pose_tasks(tasks, workers=workers, cores_per_worker=cores_per_worker,
                              progress=False)
    seconds = time.perf_counter() - t0
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    return sum(o.result.n_frames for o in outcomes) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="clip length (25 fps frames)")
    parser.add_argument("--tasks", type=int, default=8,
                        help="clips per process (worker start-up and model loading are amortized over them, as in a real run)")
    args = parser.parse_args()
    if not VIDEO.is_file():
        print(f"FAIL pose benchmark: {VIDEO} is absent (real videos live in ../shared/realdata)")
        return 0
    cores = sorted(os.sched_getaffinity(0))
    n = len(cores)
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp), args.frames)
        print(f"clip: {clip.name} 1280x720 25 fps, {args.frames} frames; {n} cores "
              f"(load average {os.getloadavg()[0]:.1f}); {args.tasks} clips per process")
        single = single_process_rate(clip, args.tasks, cores[0])
        print(f"1 process on 1 core:        {single:7.1f} frames/s  (reference)")
        every = pool_rate(clip, n, args.tasks, cores_per_worker=1)
        ratio = every / single
        print(f"{n} processes, 1 core each:  {every:7.1f} frames/s  = {ratio:.2f} x reference")
        pairs = max(1, n // 2)
        default = pool_rate(clip, pairs, args.tasks, cores_per_worker=2)
        print(f"{pairs} process(es), core pairs:  {default:7.1f} frames/s  = "
              f"{default / single:.2f} x reference  (one worker per core pair)")
    target = TARGET_EFFICIENCY * n
    verdict = "PASS" if ratio >= target else "FAIL"
    print(f"{verdict} pose all-cores scaling: {every:.1f} frames/s = {ratio:.2f} x one process "
          f"(target >= {TARGET_EFFICIENCY} x {n} cores = {target:.2f} x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
