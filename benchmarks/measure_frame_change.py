"""The picture's per-frame change on real footage against held (frozen) frames: the
measurement behind `olympia.pose.runs.FROZEN_CHANGE` (docs/video.md, Runs).

Every video is decoded as the pose path decodes it (25 fps, shorter side <= 720 px) and its
per-frame change measured as the pose path measures it (`olympia.pose.parallel.measured_frames`:
mean absolute luma change from the previous frame, 0-255, every 8th pixel each way). Live
footage: the videos under realdata/videos, the Fit3D videos, the InfiniteRep and VisionFit
renders. Held frames: the pieces of the long evaluation video whose last frame is held (ffmpeg
tpad clone, H.264; `benchmarks/eval_counting.py --sets` assembles them), the held part only.

For live footage the figure that matters is its stillest stretch: a frozen stretch is
FROZEN_FRAMES consecutive frames all below FROZEN_CHANGE, so live footage would read as frozen
only if some FROZEN_FRAMES-frame window has its largest change below the threshold. Printed per
video: frames, exact repeats (change 0: a source slower than 25 fps repeats frames), the 1st
percentile and median of the change, and the stillest window's largest change.

Usage: python benchmarks/measure_frame_change.py [--realdata DIR] [--work DIR] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from olympia.pose.parallel import POSE_MAX_HEIGHT, measured_frames
from olympia.pose.runs import FROZEN_FRAMES, frozen_stretches
from olympia.timebase import FPS
from olympia.video.ffmpeg_ops import iter_frames

LIVE = ["videos/*.mp4", "fit3d/train/s*/videos/*/*.mp4", "infiniterep/*.mp4", "visionfit/*/video.mp4"]


def frame_change(video: Path) -> np.ndarray:
    """Every frame's change, as the pose path stores it (frame 0, without a previous one: 0)."""
    light, change = [], []
    for _ in measured_frames(iter_frames(video, fps=FPS, max_height=POSE_MAX_HEIGHT), light, change):
        pass
    return np.array(change, np.float64)


def stillest_window(change: np.ndarray, n: int = FROZEN_FRAMES) -> float:
    """The smallest, over every n consecutive frames, of the largest change among them."""
    if len(change) < n:
        return float("nan")
    return float(np.lib.stride_tricks.sliding_window_view(change, n).max(axis=1).min())


def describe(change: np.ndarray, frozen: list | None = None) -> dict:
    """Figures of frames 1.. of `change`; `frozen`: the video's frozen stretches, if asked."""
    change = change[1:]
    return {"frames": len(change), "exact_repeats": int((change == 0).sum()),
            "min": float(change.min()), "p1": float(np.percentile(change, 1)),
            "median": float(np.median(change)), "max": float(change.max()),
            "stillest_window": stillest_window(change), "frozen": frozen}


def long_video_pieces(work: Path) -> tuple[dict, dict]:
    """The long video's pieces (re-encoded 640x640, CRF 20): ({clip: its live part}, {clip:
    its held part}) for the pieces whose last frame is held."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from eval_counting import LONG_VIDEO
    live, held = {}, {}
    for i, (rel, rest_s, kind) in enumerate(LONG_VIDEO):
        piece = work / f"long_workout-{i}.mp4"
        if kind != "hold" or not piece.exists():
            continue
        change, n_held = frame_change(piece), int(rest_s * FPS)
        name, n_live = Path(rel).name, len(change) - n_held
        live[f"long video: {name}"] = describe(change[:n_live], frozen_stretches(change[:n_live]))
        held[f"long video: {name} + {rest_s} s held (from frame {n_live})"] = describe(
            change[n_live - 1:], frozen_stretches(change))
    return live, held


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    ap.add_argument("--work", type=Path, default=REPO / "work" / "eval-counting")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    changes = {str(v.relative_to(args.realdata)): frame_change(v)
               for pattern in LIVE for v in sorted(args.realdata.glob(pattern))}
    live = {name: describe(c, frozen_stretches(c)) for name, c in changes.items()}
    pieces_live, held = long_video_pieces(args.work)
    report = {"window_frames": FROZEN_FRAMES, "live": {**live, **pieces_live}, "held": held}
    print(f"{'video':70s} {'frames':>6s} {'repeats':>7s} {'p1':>7s} {'median':>7s} {'max':>7s} "
          f"{'stillest ' + str(FROZEN_FRAMES):>11s}  frozen stretches")
    for kind in ("live", "held"):
        for name, d in report[kind].items():
            print(f"{kind + ': ' + name:70s} {d['frames']:6d} {d['exact_repeats']:7d} {d['p1']:7.3f} "
                  f"{d['median']:7.3f} {d['max']:7.3f} {d['stillest_window']:11.3f}  {d['frozen']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
