"""Scale-out benchmarks (issue #14), each with its reference measured in the same run.

1. peak RSS and time of a 100,000-clip build (tiny clips: 20 frames each), target <= 1 GB,
   and ClipStore.metadata() on it, target < 2 s;
2. time and peak RSS of the 7,618-clip demo build (Olympia scale), targets < 60 s and <= 1 GB;
3. the Ray engine against the local pool on the same inputs, target >= 0.9x: the release build
   (1,024 demo clips) and the pose stage (MediaPipe on segments of the real push-up video). The
   Ray instance is local (started once, before the timings: a cluster is long-lived); each
   engine runs ROUNDS times, alternating, and its best round counts: this machine is shared, and
   a round's wall time swings by 30 % with the others' load (the Ray workers load the pose
   model in an untimed first pass, as a long-lived cluster's workers have).

Every build runs in a child process, whose own peak RSS (ru_maxrss) and its workers' (the
largest child's) are reported. Usage: python benchmarks/bench_scale.py [--skip-ray]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OLYMPIA_SHARED", REPO.parent / "shared"))
VIDEO = SHARED / "realdata" / "videos" / "pushup_test_fitness-action-eval.mp4"
TINY_FRAMES = 20
ROUNDS = 3             # rounds per engine in the Ray/local comparisons (best counts)


FAILED: list[str] = []


def verdict(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILED.append(what)


def tiny_clips(start: int, stop: int):
    """Clips [start, stop) of the tiny corpus: 20 frames, 10 clips per subject (a work unit)."""
    from olympia.schema import Clip, make_clip_id

    for i in range(start, stop):
        kp = np.random.default_rng(i).normal(0.0, 0.3, (TINY_FRAMES, 17, 3)).astype(np.float32)
        yield Clip(id=make_clip_id("tiny", f"c{i:06d}"), source="tiny", subject=f"s{i // 10:05d}",
                   label_raw="Squats", label="squat", keypoints=kp, reps=2, rep_bounds=[[0, 10], [10, 20]],
                   provenance={"source_file": f"tiny/{i}", "sha256": "", "license": "CC0-1.0"})


# --------------------------------------------------------------------- child-process scenarios

def scenario_tiny(out: str, n: int) -> dict:
    from olympia.engine import Engine
    from olympia.release import ReleaseConfig, build_release
    from olympia.spill import Unit
    from olympia.store import ClipStore

    step = 2000
    units = [Unit(f"tiny:{i}", tiny_clips, (i, min(i + step, n)), source="tiny") for i in range(0, n, step)]
    t0 = time.perf_counter()
    report = build_release(out, cfg=ReleaseConfig(name="tiny"), units=units,
                           engine=Engine(workers=2, start_method="fork"), progress=False)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    meta = ClipStore(out).metadata()
    metadata_s = time.perf_counter() - t0
    assert len(meta) == n == report.n_clips
    return {"clips": n, "build_s": build_s, "metadata_s": metadata_s}


def scenario_demo(out: str, n: int, engine: str = "local") -> dict:
    from olympia.demo import DemoConfig
    from olympia.engine import Engine, ray_connect
    from olympia.recipe import Recipe, build_from_recipe
    from olympia.release import ReleaseConfig

    eng = Engine(workers=2, start_method="fork") if engine == "local" else Engine(kind="ray", workers=2)
    if engine == "ray":
        ray_connect(eng)
    t0 = time.perf_counter()
    report = build_from_recipe(Recipe(ReleaseConfig(name="bench"), DemoConfig(n_clips=n)), out, workers=2,
                               progress=False, engine=eng)
    return {"clips": report.n_clips, "build_s": time.perf_counter() - t0}


def scenario_demo_before(out: str, n: int) -> dict:
    """The same build with the code of a reference checkout (in memory, format 1.0)."""
    from olympia.demo import DemoConfig
    from olympia.recipe import Recipe, build_from_recipe
    from olympia.release import ReleaseConfig

    t0 = time.perf_counter()
    report = build_from_recipe(Recipe(ReleaseConfig(name="bench"), DemoConfig(n_clips=n)), out, workers=2,
                               progress=False)
    return {"clips": report.n_clips, "build_s": time.perf_counter() - t0}


def scenario_tiny_before(out: str, n: int) -> dict:
    from olympia.release import ReleaseConfig, build_release
    from olympia.store import ClipStore

    t0 = time.perf_counter()
    build_release(out, tiny_clips(0, n), ReleaseConfig(name="tiny"), progress=False)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ClipStore(out).metadata()
    return {"clips": n, "build_s": build_s, "metadata_s": time.perf_counter() - t0}


def child(kind: str, *args, checkout: str | None = None) -> dict:
    """Run a scenario in a fresh process (with the code of `checkout` first on the path, if
    given); its result plus peak RSS of it and of its workers."""
    code = ("import json, resource, sys; sys.path.insert(0, %r); import bench_scale as b; "
            "import olympia; r = b.scenario_%s(*%r); r['code'] = olympia.__file__; "
            "r['rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            "r['worker_rss_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
            "u = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]; "
            "r['cpu_s'] = sum(x.ru_utime + x.ru_stime for x in u); "
            "print('RESULT ' + json.dumps(r))" % (str(Path(__file__).parent), kind, args))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([checkout, str(Path(checkout) / "model")])} if checkout else None
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=checkout or None)   # "" (the cwd) is first on a -c child's path
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"scenario {kind}{args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


# --------------------------------------------------------------------------------- the bench

def bench_before(tmp: Path, checkout: str, tiny: bool) -> None:
    r = child("demo_before", str(tmp / "demo-before"), 7618, checkout=checkout)
    assert r["code"].startswith(str(Path(checkout).resolve())), f"the reference ran {r['code']}"
    print(f"reference ({checkout}): 7,618-clip demo build {r['build_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s, "
          f"peak RSS {r['rss_mb']:.0f} MB (largest worker {r['worker_rss_mb']:.0f} MB)", flush=True)
    if tiny:
        r = child("tiny_before", str(tmp / "tiny-before"), 100_000, checkout=checkout)
        print(f"reference ({checkout}): 100,000 tiny clips build {r['build_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s, "
              f"peak RSS {r['rss_mb']:.0f} MB; metadata() {r['metadata_s']:.2f} s", flush=True)


def bench_tiny(tmp: Path) -> None:
    r = child("tiny", str(tmp / "tiny"), 100_000)
    print(f"100,000 tiny clips ({TINY_FRAMES} frames): build {r['build_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s, "
          f"peak RSS {r['rss_mb']:.0f} MB "
          f"(largest worker {r['worker_rss_mb']:.0f} MB); ClipStore.metadata() {r['metadata_s']:.2f} s", flush=True)
    verdict(r["rss_mb"] <= 1024, f"100,000-clip build peak RSS {r['rss_mb']:.0f} MB <= 1,024 MB")
    verdict(r["metadata_s"] < 2, f"metadata() of 100,000 clips {r['metadata_s']:.2f} s < 2 s")


def bench_demo(tmp: Path) -> None:
    r = child("demo", str(tmp / "demo"), 7618)
    print(f"7,618-clip demo build: {r['build_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s in all processes "
          f"(load average {os.getloadavg()[0]:.1f}), peak RSS {r['rss_mb']:.0f} MB "
          f"(largest worker {r['worker_rss_mb']:.0f} MB)", flush=True)
    verdict(r["build_s"] < 60, f"7,618-clip build {r['build_s']:.1f} s < 60 s")
    verdict(r["rss_mb"] <= 1024, f"7,618-clip build peak RSS {r['rss_mb']:.0f} MB <= 1,024 MB")


def bench_ray_build(tmp: Path) -> None:
    import ray

    from olympia.demo import DemoConfig
    from olympia.engine import Engine, ray_connect
    from olympia.recipe import Recipe, build_from_recipe
    from olympia.release import ReleaseConfig

    t0 = time.perf_counter()
    ray_connect(Engine(kind="ray", workers=2))
    print(f"local Ray instance started in {time.perf_counter() - t0:.1f} s", flush=True)
    recipe = Recipe(ReleaseConfig(name="bench"), DemoConfig(n_clips=1024))
    best = {"local": float("inf"), "ray": float("inf")}
    for round_ in range(ROUNDS):
        for kind, engine in (("local", Engine(workers=2, start_method="fork")), ("ray", Engine(kind="ray", workers=2))):
            t0 = time.perf_counter()
            build_from_recipe(recipe, tmp / f"{kind}{round_}", progress=False, engine=engine, force=True)
            best[kind] = min(best[kind], time.perf_counter() - t0)
    same = _tree(tmp / "local0") == _tree(tmp / "ray0")
    ratio = best["local"] / best["ray"]
    print(f"build of 1,024 demo clips: local pool {1024 / best['local']:.0f} clips/s, Ray {1024 / best['ray']:.0f} "
          f"clips/s (best of {ROUNDS} rounds each), Ray/local {ratio:.2f}x; byte-identical: {same}", flush=True)
    verdict(ratio >= 0.9, f"Ray build throughput {ratio:.2f}x the local pool >= 0.9x")
    verdict(same, "Ray build byte-identical to the local build")
    ray.shutdown()


def bench_ray_pose(tmp: Path) -> None:
    from olympia.engine import Engine, ray_connect
    from olympia.pose.parallel import PoseTask, run_pose_tasks
    from olympia.video.ffmpeg_ops import normalize_video

    if not VIDEO.is_file():
        verdict(False, f"Ray pose benchmark: {VIDEO} is absent (real videos live in ../shared/realdata)")
        return
    clip = normalize_video(VIDEO, tmp / "pushup_720p.mp4", max_height=720, start_frame=0, end_frame=100)
    tasks = [PoseTask(str(clip), start_frame=s, end_frame=s + 50) for s in (0, 50)] * 4
    frames = sum(t.end_frame - t.start_frame for t in tasks)
    ray_connect(Engine(kind="ray", workers=2))
    # a cluster is long-lived: its workers have loaded the model before a job's timings start
    # (untimed, as the instance start is); the local pool starts its processes in every run
    run_pose_tasks(tasks[:2], workers=2, progress=False, engine=Engine(kind="ray", workers=2))
    rates = {"local": [], "ray": []}
    for _ in range(ROUNDS):
        for kind, engine in (("local", None), ("ray", Engine(kind="ray", workers=2))):
            t0 = time.perf_counter()
            outcomes = run_pose_tasks(tasks, workers=2, progress=False, engine=engine)
            rates[kind].append(frames / (time.perf_counter() - t0))
            assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    ratio = max(rates["ray"]) / max(rates["local"])
    print(f"pose, {len(tasks)} segments x 50 frames at 720p: local pool {', '.join(f'{r:.1f}' for r in rates['local'])} "
          f"frames/s, Ray {', '.join(f'{r:.1f}' for r in rates['ray'])} frames/s (rounds; the pool starts its "
          f"processes and models each run, Ray workers keep theirs); best Ray/local {ratio:.2f}x", flush=True)
    verdict(ratio >= 0.9, f"Ray pose throughput {ratio:.2f}x the local pool >= 0.9x")


def _tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-ray", action="store_true", help="only the memory and time figures")
    parser.add_argument("--only", choices=["tiny", "demo", "ray", "before"], default=None)
    parser.add_argument("--before", metavar="CHECKOUT", default=None,
                        help="also run the demo (and with --only before, the tiny) build with the code of "
                             "another checkout, e.g. `git worktree add /tmp/before <rev>` (the in-memory builder)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="olympia-scale-") as tmp:
        tmp = Path(tmp)
        if args.before and args.only in (None, "before", "demo"):
            bench_before(tmp, args.before, tiny=args.only == "before")
        if args.only in (None, "tiny"):
            bench_tiny(tmp)
        if args.only in (None, "demo"):
            bench_demo(tmp)
        if not args.skip_ray and args.only in (None, "ray"):
            bench_ray_build(tmp)
            bench_ray_pose(tmp)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 1 if FAILED else 0             # make bench (benchmarks/run.py) reads the exit status too


if __name__ == "__main__":
    sys.exit(main())
