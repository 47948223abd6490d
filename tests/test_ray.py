"""--engine ray on a real Ray cluster: a head node started with `ray start --head` on 127.0.0.1
(token authentication on, a temporary dir of its own) and a second node joining it with
`ray start --address`. The release build and the pose stage run through the CLI with
--engine ray --ray-address; their outputs must be byte-identical to the local engine's. A Ray
worker killed mid-build is retried and the build completes; a driver killed mid-build leaves
its finished work units, and the next build resumes from them. The cluster's processes are
stopped by their ids at the end (never `ray stop`, which would stop every Ray on the machine).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out[int(entry.name)] = (ppid, cmd)
    return out


def cluster_pids(temp_dir: str) -> list[int]:
    """The cluster's processes: those naming its temp dir, and their descendants (workers)."""
    procs = _processes()
    found = {pid for pid, (_, cmd) in procs.items() if temp_dir in cmd}
    grew = True
    while grew:
        more = {pid for pid, (ppid, _) in procs.items() if ppid in found} - found
        found |= more
        grew = bool(more)
    return sorted(found)


def _ray_start(args: list[str], env: dict) -> None:
    head = ["--include-dashboard", "false"] if "--head" in args else []
    done = subprocess.run([str(BIN / "ray"), "start", *args, *head, "--disable-usage-stats",
                           "--dashboard-agent-listen-port", "0", "--metrics-export-port", "0"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"ray start {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def ray_cluster():
    temp_dir = tempfile.mkdtemp(prefix="olyray-", dir="/tmp")   # short: Ray's socket paths have a length limit
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "model")])}
    env.pop("RAY_ADDRESS", None)
    try:
        _ray_start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "1",
                    "--temp-dir", temp_dir], env)
        _ray_start(["--address", f"127.0.0.1:{port}", "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
                    "--temp-dir", temp_dir], env)
        yield {"address": f"127.0.0.1:{port}", "env": env, "temp_dir": temp_dir}
    finally:
        pids = cluster_pids(temp_dir)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(1)
        shutil.rmtree(temp_dir, ignore_errors=True)


def olympia(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "olympia"), *args], env=env, capture_output=True, text=True, timeout=400, **kw)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def build_args(out: Path, clips: int) -> list[str]:
    return ["build", "--recipe", str(REPO / "pipelines/release.yaml"), "--out", str(out), "--clips", str(clips),
            "--quiet"]


def test_the_cluster_has_two_nodes(ray_cluster):
    script = ("import ray; ray.init(address=%r, _node_ip_address='127.0.0.1', logging_level='ERROR');"
              "print(len([n for n in ray.nodes() if n['Alive']]))" % ray_cluster["address"])
    out = subprocess.run([sys.executable, "-c", script], env=ray_cluster["env"], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "2"


def test_build_on_ray_is_byte_identical_to_local_and_survives_a_killed_worker(ray_cluster, tmp_path):
    env = ray_cluster["env"]
    local = olympia(build_args(tmp_path / "local", 300) + ["--workers", "2"], env)
    assert local.returncode == 0, local.stderr[-2000:]
    proc = subprocess.Popen([str(BIN / "olympia"), *build_args(tmp_path / "ray", 300), "--engine", "ray",
                             "--ray-address", ray_cluster["address"]], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    killed = _kill_a_running_task(ray_cluster["temp_dir"], proc)
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err[-2000:]
    assert "0 quarantined" in out
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    assert killed, "no Ray task was seen running to kill"


def _kill_a_running_task(temp_dir: str, proc: subprocess.Popen, timeout: float = 120) -> bool:
    """SIGKILL the first Ray worker seen running one of Olympia's tasks (ray::_call)."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        procs = _processes()
        for pid in cluster_pids(temp_dir):
            if procs.get(pid, (0, ""))[1].startswith("ray::_call"):
                os.kill(pid, signal.SIGKILL)
                return True
        time.sleep(0.05)
    return False


def test_a_killed_driver_resumes_from_finished_units(ray_cluster, tmp_path):
    env = ray_cluster["env"]
    out = tmp_path / "rel"
    cache = tmp_path / ".rel.build"
    args = build_args(out, 384) + ["--engine", "ray", "--ray-address", ray_cluster["address"]]
    proc = subprocess.Popen([str(BIN / "olympia"), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 200
    while time.time() < deadline and len(list(cache.glob("unit-*.pickle"))) < 2 and proc.poll() is None:
        time.sleep(0.1)
    finished = {p.name: p.stat().st_mtime_ns for p in cache.glob("unit-*.pickle")}
    os.kill(proc.pid, signal.SIGKILL)                    # the driver dies half-way
    proc.wait()
    assert len(finished) >= 2 and not out.exists()
    again = olympia(args, env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "384 clips" in again.stdout and not cache.exists()    # the cache goes once the release is in place
    local = olympia(build_args(tmp_path / "local", 384) + ["--workers", "2"], env)
    assert local.returncode == 0, local.stderr[-2000:]
    assert tree(out) == tree(tmp_path / "local")


def test_pose_on_ray_gives_the_same_store(ray_cluster, tmp_path, realdata):
    from olympia.video.ffmpeg_ops import normalize_video

    env = ray_cluster["env"]
    video = normalize_video(realdata("videos/pushup_test_fitness-action-eval.mp4"), tmp_path / "pushup.mp4",
                            max_height=360, start_frame=50, end_frame=75)
    segments = tmp_path / "segments.json"
    segments.write_text('[{"video": "%s", "start_frame": 0, "end_frame": 12, "label_raw": "push up"},'
                        ' {"video": "%s", "start_frame": 12, "end_frame": 25, "label_raw": "push up"},'
                        ' {"video": "%s", "start_frame": 20, "end_frame": 40, "label_raw": "push up"}]'
                        % (video, video, video))
    common = ["pose", "--segments", str(segments), "--no-cache", "--quiet"]
    local = olympia(common + ["--out", str(tmp_path / "local"), "--workers", "1"], env)
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = olympia(common + ["--out", str(tmp_path / "ray"), "--engine", "ray", "--ray-address",
                               ray_cluster["address"]], env)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    assert "2 clips" in local.stdout and "1 quarantined" in local.stdout     # [20, 40) is past the end
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")


def test_sets_on_ray_are_the_local_sets(ray_cluster, tmp_path, realdata):
    """`olympia videos sets --engine ray`: the set detection runs as one Ray task (absolute
    paths: the worker runs in Ray's working dir) and finds what the local run finds: the first
    7 s of the real push-ups, bottoms at 0.4 ... 6.3 s (PROVENANCE.md), one set of 5-6 reps."""
    import json

    from olympia.video.ffmpeg_ops import normalize_video

    env = ray_cluster["env"]
    video = normalize_video(realdata("videos/pushup_test_fitness-action-eval.mp4"), tmp_path / "pushup.mp4",
                            max_height=256, start_frame=0, end_frame=175)
    common = ["videos", "sets", str(video), "--json", "--no-cache", "--quiet"]
    local = olympia(common, env)
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = olympia(common + ["--engine", "ray", "--ray-address", ray_cluster["address"]], env)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    sets = json.loads(local.stdout)
    assert len(sets) == 1 and 5 <= sets[0]["reps"] <= 6
    assert json.loads(on_ray.stdout) == sets


def test_a_pose_run_killed_half_way_resumes_from_the_cache(ray_cluster, tmp_path, realdata):
    """The driver of `olympia pose --engine ray` dies once the first items are in the pose cache
    (content-keyed); the next run poses only the rest, and its store is the local run's."""
    import json

    from olympia.video.ffmpeg_ops import normalize_video

    env = ray_cluster["env"]
    video = normalize_video(realdata("videos/pushup_test_fitness-action-eval.mp4"), tmp_path / "pushup.mp4",
                            max_height=256, start_frame=0, end_frame=160)
    segments = tmp_path / "segments.json"
    segments.write_text(json.dumps([{"video": str(video), "start_frame": s, "end_frame": s + 20,
                                     "label_raw": "push up"} for s in range(0, 160, 20)]))
    cache = tmp_path / "cache"
    args = ["pose", "--segments", str(segments), "--quiet", "--engine", "ray", "--ray-address",
            ray_cluster["address"], "--cache-dir", str(cache), "--out", str(tmp_path / "ray")]
    proc = subprocess.Popen([str(BIN / "olympia"), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 200
    while time.time() < deadline and not list(cache.rglob("*.npz")) and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)                    # the driver dies half-way
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert 1 <= len(done) < 8 and not (tmp_path / "ray").exists()
    again = olympia(args, env)
    assert again.returncode == 0, again.stderr[-2000:]
    after = {p.name: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert len(after) == 8 and all(after[name] == t for name, t in done.items())   # finished: not posed again
    local = olympia(["pose", "--segments", str(segments), "--quiet", "--no-cache", "--workers", "2",
                     "--out", str(tmp_path / "local")], env)
    assert local.returncode == 0, local.stderr[-2000:]
    assert "8 clips" in local.stdout
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
