"""Peak memory of `olympia videos sets` on a long 720p video (issue 13: a 45-minute 720p video
must not need more than ~1 GB). Not part of `make bench`: it poses the whole video.

The videos are the real push-up clip (13.85 s) looped with ffmpeg's -stream_loop to each of
--minutes lengths at 1280x720, 25 fps. The command runs in a child process with no pose cache;
its process tree's resident memory (olympia + the ffmpeg decoder) is sampled every 0.5 s. What
grows with the length is what is kept per frame (keypoints, landmarks, the set scan), so the
peaks of two lengths are fitted as base + slope x frames and extrapolated to 45 minutes
(67,500 frames).

Usage: python benchmarks/measure_sets_memory.py [--minutes 2.5 10] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OLYMPIA_SHARED", REPO.parent / "shared"))
VIDEO = SHARED / "realdata" / "videos" / "pushup_test_fitness-action-eval.mp4"
FRAMES_45_MIN = 45 * 60 * 25


def long_video(dst: Path, minutes: float) -> Path:
    if not dst.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(VIDEO),
                        "-t", str(minutes * 60), "-vf", "fps=25,scale=1280:720", "-an", "-c:v",
                        "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(dst)],
                       check=True)
    return dst


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (MB)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


def peak_of_run(video: Path, frames: int) -> tuple[float, float, str]:
    """(peak MB of the process tree, seconds, stdout) of one `olympia videos sets` run."""
    cmd = [sys.executable, "-c", "from olympia.cli import main; main()", "videos", "sets",
           str(video), "--json", "--no-cache", "--quiet"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.5)
    out = proc.stdout.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"FAIL videos sets exited {proc.returncode} on {video}")
    return peak, time.monotonic() - t0, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[2.5, 10.0],
                        help="video lengths measured (at least two: the peak is fitted linearly)")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the long videos (reused)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    points = []
    for minutes in args.minutes:
        video = long_video(folder / f"pushups_{minutes:g}min_720p.mp4", minutes)
        frames = int(minutes * 60 * 25)
        peak, seconds, out = peak_of_run(video, frames)
        points.append((frames, peak))
        print(f"{minutes:g} min 720p ({frames} frames): {seconds:.0f} s ({frames / seconds:.1f} frames/s), "
              f"{out.count('start_frame')} set(s); peak RSS {peak:.0f} MB (olympia + ffmpeg)", flush=True)
    f, p = np.array(points).T
    slope, base = np.polyfit(f, p, 1) if len(points) > 1 else (0.0, p[0])
    at_45 = base + slope * FRAMES_45_MIN
    print(f"peak = {base:.0f} MB + {slope * 1024:.2f} KB per frame; extrapolated to 45 min "
          f"({FRAMES_45_MIN} frames): {at_45:.0f} MB")
    print(f"{'PASS' if at_45 <= 1024 else 'FAIL'} videos sets memory, 45 min 720p: {at_45:.0f} MB "
          "(target <= 1024 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
