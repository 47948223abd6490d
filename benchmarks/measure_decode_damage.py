"""Where a damaged file is damaged, found from its decode (`olympia.video.damage`) against the
truth: the measurement behind docs/video.md, *A file damaged in the middle*.

Clips (real footage): the Fit3D s04 warm-up (900x900, 50 fps, H.264 4:4:4), the push-up video
made 720p H.264 at 25 fps as `olympia videos normalize` would, the Countix clip (480x272, H.264)
and an InfiniteRep render (MPEG-4 part 2). Each is damaged with a fixed seed: bytes scattered
over its middle third (30, 300, 3,000) or one block of bytes there (200, 5,000), 3 seeds each.
Truth: the 25 fps frames whose picture (gray, 160 px wide) differs from the intact file's by
more than 0.5 of 255 on average. Printed per file: ffmpeg's error lines, the differing frames,
the reported stretches, the differing frames not reported (missed) and the reported frames that
do not differ (extra); then the totals for the files with and without decoder errors.

Usage: python benchmarks/measure_decode_damage.py [--realdata DIR]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from olympia.video.damage import damaged_stretches
from olympia.video.ffmpeg_ops import normalize_video, probe

CLIPS = {"fit3d": "fit3d/train/s04/videos/58860488/warmup_7.mp4",
         "push720": "videos/pushup_test_fitness-action-eval.mp4",
         "countix": "videos/countix_4-YmQKoHYmw.mp4",
         "mpeg4": "infiniterep/fitness-occlusion_00004_situp.mp4"}
DAMAGE = [("scatter", 30), ("scatter", 300), ("scatter", 3000), ("block", 200), ("block", 5000)]
SEEDS = 3
DIFFERS = 0.5           # mean |luma| difference (0-255) of a frame that differs


def gray_frames(path: Path) -> np.ndarray:
    out = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "quiet", "-i", str(path), "-map", "0:v:0",
                          "-vf", "fps=25,scale=160:-2", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=False).stdout
    return np.frombuffer(out, np.uint8).astype(np.float32)


def damage(src: Path, dst: Path, kind: str, n: int, seed: int) -> None:
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    lo, hi = len(data) // 3, 2 * len(data) // 3
    if kind == "block":
        at = int(rng.integers(lo, hi - n))
        data[at:at + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    else:
        for at in rng.integers(lo, hi, n):
            data[at] = int(rng.integers(0, 256))
    dst.write_bytes(bytes(data))


def error_lines(path: Path) -> int:
    done = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
                           "-f", "null", "-"], capture_output=True, check=False)
    return len(done.stderr.splitlines())


def measure(name: str, src: Path, tmp: Path) -> list[dict]:
    n = probe(src).frames_at()
    intact = gray_frames(src).reshape(n, -1)
    rows = []
    for kind, count in DAMAGE:
        for seed in range(SEEDS):
            bad = tmp / f"{name}-{kind}{count}-{seed}.mp4"
            damage(src, bad, kind, count, seed)
            frames = gray_frames(bad)
            if frames.size != intact.size:
                print(f"{name:8s} {kind:7s} {count:5d} seed {seed}: decodes to {frames.size // intact[0].size} "
                      f"frames, not {n} (refused whole)")
                continue
            truth = np.abs(frames.reshape(n, -1) - intact).mean(axis=1) > DIFFERS
            stretches = damaged_stretches(bad, probe(bad)) or []
            told = np.zeros(n, bool)
            for a, b in stretches:
                told[a:b] = True
            row = dict(errors=error_lines(bad), differ=int(truth.sum()), missed=int((truth & ~told).sum()),
                       extra=int((told & ~truth).sum()),
                       lead=int(np.argmax(truth) - np.argmax(told)) if truth.any() and told.any() else None)
            rows.append(row)
            print(f"{name:8s} {kind:7s} {count:5d} seed {seed}: {row['errors']:4d} error lines, "
                  f"{row['differ']:3d} frames differ, reported {stretches}, missed {row['missed']}, "
                  f"extra {row['extra']}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, rel in CLIPS.items():
            src = args.realdata / rel
            if name == "push720":
                src = normalize_video(src, tmp / "push720.mp4", max_height=720)
            rows += measure(name, src, tmp)
    for label, group in (("with decoder errors", [r for r in rows if r["errors"]]),
                         ("without", [r for r in rows if not r["errors"]])):
        leads = [r["lead"] for r in group if r["lead"] is not None]
        print(f"{label}: {len(group)} files, {sum(r['differ'] for r in group)} frames differ, "
              f"missed {sum(r['missed'] for r in group)}, extra {sum(r['extra'] for r in group)}, "
              f"files with no differing frame but a stretch {sum(1 for r in group if not r['differ'] and r['extra'])}"
              + (f", stretch starts {min(leads)}-{max(leads)} frames before the first differing frame"
                 if leads else ""))


if __name__ == "__main__":
    main()
