"""Rep counting and set detection measured on the real data in ../shared/realdata.

    .venv/bin/python benchmarks/eval_counting.py [--realdata ../shared/realdata]
        [--poses work/stores/real] [--only fit3d_uncut,...] [--lso] [--sets] [--json OUT]

Sources (what is measured, and against which truth):
- fit3d_cut:   Fit3D mocap (50 -> 25 fps), the span between the first and last annotated rep
               boundary; truth = len(rep_ann[action]) - 1, boundaries = rep_ann.
- fit3d_uncut: the whole mocap sequence (idle, walking in and out included); same truth.
- fit3d_video: the Fit3D videos through the MediaPipe pose path (a clip store made by
               `olympia pose`, see --poses); truth = the mocap annotation of the same action.
- visionfit:   the VisionFit job (Infinity AI): video through MediaPipe; truth = job.json num_reps.
- infiniterep: InfiniteRep videos through MediaPipe; truth = params num_reps (situp), and the
               leg-raise video counted by eye (documented in docs/counting.md).
- countix:     the Countix clip's two annotated segments (through MediaPipe), cut at the
               annotation; truth = the annotated counts.
- pushup:      the side-view push-up video (through MediaPipe); truth counted by eye.
MM-Fit ships no pose here and KIMORE/UI-PRMD no per-set counts, so they are not measured.

Metrics per source: exact, OBO (|pred - gt| <= 1), MAE, normalised MAE (mean |pred - gt| / gt),
and for sources with rep boundaries the fraction of annotated boundaries matched by a
predicted one within 0.3 s.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from olympia.skeleton import to_h36m  # noqa: E402
from olympia.timebase import FPS, rescale_frames, resample_to_fps  # noqa: E402

FIT3D_FPS = 50.0
BOUNDARY_TOL_S = 0.3


@dataclass
class Case:
    source: str                 # fit3d_cut, fit3d_uncut, fit3d_video, ...
    name: str                   # subject/action or file
    keypoints: np.ndarray       # (T, 17, 3) at 25 fps, NaN where no person
    reps: int                   # ground-truth count
    boundaries: np.ndarray | None = None   # annotated rep boundaries (frames at 25 fps) or None
    subject: str = ""
    extra: dict = field(default_factory=dict)


def load_fit3d_joints(path: Path) -> np.ndarray:
    """Fit3D joints3d_25 (.json or the gzip-compressed copy in realdata) -> (T, 17, 3) at 50 fps."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        kp = np.asarray(json.load(f)["joints3d_25"], dtype=np.float64)
    return to_h36m(kp, "fit3d25")


def fit3d_cases(realdata: Path, subjects=None) -> list[Case]:
    """fit3d_uncut and fit3d_cut cases for every annotated (subject, action)."""
    cases = []
    for subject_dir in sorted((realdata / "fit3d" / "train").glob("s*")):
        if subjects and subject_dir.name not in subjects:
            continue
        ann = json.loads((subject_dir / "rep_ann.json").read_text())
        for action, bounds in sorted(ann.items()):
            files = list((subject_dir / "joints3d_25").glob(f"{action}.json*"))
            if not files:
                continue
            kp50 = load_fit3d_joints(files[0])
            kp = resample_to_fps(kp50, FIT3D_FPS, FPS)
            b = rescale_frames(bounds, FIT3D_FPS, FPS, len(kp))
            name = f"{subject_dir.name}/{action}"
            cases.append(Case("fit3d_uncut", name, kp, len(b) - 1, b, subject_dir.name,
                              {"action": action}))
            cases.append(Case("fit3d_cut", name, kp[b[0]:b[-1]], len(b) - 1, b - b[0],
                              subject_dir.name, {"action": action}))
    return cases


def video_keypoints(video: Path, cache_dir: Path, start: int | None = None, end: int | None = None) -> np.ndarray:
    """(T, 17, 3) at 25 fps of a video (or frames [start, end) of it) through the MediaPipe pose
    path, NaN where no person was found; cached under cache_dir like `olympia pose`."""
    from olympia.pose.parallel import PoseTask, run_pose_task
    outcome = run_pose_task(PoseTask(str(video), start_frame=start, end_frame=end,
                                     cache_dir=str(cache_dir)))
    if not outcome.ok:
        raise RuntimeError(f"{video}: {outcome.error}")
    return outcome.result.keypoints


# Counted by eye from contact sheets of the video (docs/counting.md, "ground truth").
BY_EYE = {"videos/pushup_test_fitness-action-eval.mp4": 11,
          "infiniterep/fitness-basic_000000.mp4": 6}
COUNTIX_SEGMENTS = [(0.0, 5.0, 2), (6.04, 9.73, 3)]   # seconds in the clip (PROVENANCE.md)


def video_cases(realdata: Path, cache_dir: Path) -> list[Case]:
    cases = []
    for video in sorted((realdata / "fit3d" / "train").glob("s*/videos/*/*.mp4")):
        subject, camera, action = video.parts[-4], video.parts[-2], video.stem
        ann = json.loads((realdata / "fit3d" / "train" / subject / "rep_ann.json").read_text())
        if action not in ann:
            continue
        kp = video_keypoints(video, cache_dir)
        b = rescale_frames(ann[action], FIT3D_FPS, FPS, len(kp))
        cases.append(Case("fit3d_video", f"{subject}/{camera}/{action}", kp, len(b) - 1, b, subject,
                          {"action": action}))
    job = next((realdata / "visionfit").glob("*/job.json"), None)
    if job is not None:
        reps = int(json.loads(job.read_text())["params"]["num_reps"])
        cases.append(Case("visionfit", job.parent.name, video_keypoints(job.parent / "video.mp4", cache_dir),
                          reps))
    situp = realdata / "infiniterep" / "fitness-occlusion_00004_situp.mp4"
    params = realdata / "infiniterep" / "fitness-occlusion_00004_params.json"
    if situp.exists() and params.exists():
        reps = int(json.loads(params.read_text())["params"]["num_reps"])
        cases.append(Case("infiniterep", situp.name, video_keypoints(situp, cache_dir), reps))
    for rel, reps in BY_EYE.items():
        path = realdata / rel
        if path.exists():
            src = "infiniterep" if rel.startswith("infiniterep") else "pushup"
            cases.append(Case(src, path.name, video_keypoints(path, cache_dir), reps,
                              extra={"truth": "counted by eye"}))
    countix = realdata / "videos" / "countix_4-YmQKoHYmw.mp4"
    if countix.exists():
        kp = video_keypoints(countix, cache_dir)
        for i, (a, b, reps) in enumerate(COUNTIX_SEGMENTS):
            s, e = int(round(a * FPS)), int(round(b * FPS))
            cases.append(Case("countix", f"{countix.name}#{i}", kp[s:e], reps))
    return cases
