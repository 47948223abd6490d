"""InfiniteRep (Infinity AI, CC BY 4.0): synthetic fitness videos with per-frame labels, 24 fps.

Layout (toinfinityai/InfiniteRep):
    <root>/<ExerciseFolder>/data/NNNNNN.mp4 + NNNNNN.json   e.g. InfinityAI_InfiniteRep_legraise_v1.0
The exercise name is only in the folder name. The JSON is COCO-style:
    images[i]: {"id", "rep_count", ...}      rep_count = completed reps + fraction of the current
    annotations[i]: {"image_id", "armature_keypoints": {smplx_joint: {"x", "y", "v", "z"}}}
x, y are image pixels, z is the depth in metres; there is no world 3D and no intrinsics.

3D produced here (documented, not ground truth): pinhole back-projection
X = (x - cx)·z / f, Y = (y - cy)·z / f, Z = z with the principal point at the image centre
(image width/height from images[i] when present, else 224) and the focal length f estimated
per video as the value in [0.3, 8]·width that makes the body's bone lengths most constant
over time (a wrong f stretches in-plane bones differently from depth bones as the body moves).
extra["focal_px"] records it. The camera frame (x right, y down, z forward) is rotated to z up
with (x, y, z) -> (x, z, -y); the camera's own pitch is not removed.
Reps: floor(last rep_count) - floor(first rep_count); a rep ends at the frame where the
integer part steps, the next starts there; the first starts at frame 0.
SMPL-X armature -> H36M is the table ARMATURE_TO_H36M below (names from the real
armature_connections.json, which the tests read). Videos without a JSON go to the pose path
(iter_segments). 24 -> 25 fps.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import (Adapter, finish_clip, provenance, rejected,
                                     require_glob)
from olympia.errors import SourceFormatError
from olympia.io import read_json
from olympia.schema import Clip, Rejected, make_clip_id
from olympia.segment import Segment
from olympia.skeleton import BONES, CAMERA_TO_Z_UP, H36M_JOINTS, JointSet, rotate

NAME = "infiniterep"
NATIVE_FPS = 24.0
LICENSE = "CC BY 4.0"

# H36M joint <- SMPL-X armature joint(s) (mean). SMPL-X has no nose or head-top: neck/nose takes
# the head joint (skull centre, about nose height) and head takes the mid-eyes, as the
# mediapipe33/coco17 tables do; thorax is the neck base; spine the middle spine joint.
ARMATURE_TO_H36M: dict[str, tuple[str, ...]] = {
    "root": ("pelvis",), "r_hip": ("right_hip",), "r_knee": ("right_knee",),
    "r_ankle": ("right_ankle",), "l_hip": ("left_hip",), "l_knee": ("left_knee",),
    "l_ankle": ("left_ankle",), "spine": ("spine2",), "thorax": ("neck",), "neck": ("head",),
    "head": ("left_eye_smplhf", "right_eye_smplhf"), "l_shoulder": ("left_shoulder",),
    "l_elbow": ("left_elbow",), "l_wrist": ("left_wrist",), "r_shoulder": ("right_shoulder",),
    "r_elbow": ("right_elbow",), "r_wrist": ("right_wrist",),
}
ARMATURE_JOINTS = tuple(dict.fromkeys(n for names in ARMATURE_TO_H36M.values() for n in names))
ARMATURE_SET = JointSet("smplx_armature", ARMATURE_JOINTS,
                        tuple(ARMATURE_TO_H36M[j] for j in H36M_JOINTS),
                        "InfiniteRep armature_keypoints (SMPL-X names) -> H36M-17")
_FOLDER_RE = re.compile(r"^(?:InfinityAI_InfiniteRep_)?(?P<ex>.+?)(?:_v\d+(?:\.\d+)*)?$")


def exercise_from_folder(folder: str) -> str:
    """'InfinityAI_InfiniteRep_legraise_v1.0' -> 'legraise'."""
    return _FOLDER_RE.match(folder).group("ex")


def rep_bounds_from_counts(counts: np.ndarray) -> np.ndarray:
    """Per-frame rep_count -> (R, 2) [start, end) where the integer part steps."""
    whole = np.floor(np.asarray(counts, np.float64) + 1e-9).astype(np.int64)
    steps = np.nonzero(np.diff(whole) > 0)[0] + 1
    if (np.diff(whole) < 0).any():
        raise ValueError("rep_count decreases between frames")
    if (np.diff(whole)[steps - 1] > 1).any():
        raise ValueError("rep_count jumps by more than one rep between two frames")
    starts = np.concatenate([[0], steps[:-1]])
    return np.stack([starts, steps], axis=1) if steps.size else np.zeros((0, 2), np.int64)


def read_coco(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """-> (uvz (T, J, 3) in pixels/metres with NaN where missing, rep_count (T,), image ids, (w, h))."""
    doc = read_json(path, "InfiniteRep label file")
    if not isinstance(doc, dict) or not {"images", "annotations"} <= set(doc):
        raise ValueError("missing 'images'/'annotations': not a COCO-style InfiniteRep file")
    images = sorted(doc["images"], key=lambda im: im["id"])
    if len(images) < 2:
        raise ValueError(f"{len(images)} images; a set needs at least 2 frames")
    row = {im["id"]: i for i, im in enumerate(images)}
    uvz = np.full((len(images), len(ARMATURE_JOINTS), 3), np.nan)
    for k, ann in enumerate(doc["annotations"]):
        arm = ann.get("armature_keypoints")
        if ann.get("image_id") not in row or not isinstance(arm, dict):
            raise ValueError(f"annotation {k}: unknown image_id or no armature_keypoints")
        missing = [n for n in ARMATURE_JOINTS if n not in arm]
        if missing:
            raise ValueError(f"annotation {k}: armature_keypoints lacks {missing}")
        uvz[row[ann["image_id"]]] = [[arm[n]["x"], arm[n]["y"], arm[n]["z"]] for n in ARMATURE_JOINTS]
    counts = np.asarray([im.get("rep_count", np.nan) for im in images], dtype=np.float64)
    if not np.isfinite(counts).all():
        raise ValueError("an image lacks a numeric rep_count")
    size = (float(images[0].get("width", 224)), float(images[0].get("height", 224)))
    return uvz, counts, np.asarray([im["id"] for im in images]), size


def back_project(uvz: np.ndarray, f: float, size: tuple[float, float]) -> np.ndarray:
    cx, cy = size[0] / 2, size[1] / 2
    z = uvz[..., 2]
    return np.stack([(uvz[..., 0] - cx) * z / f, (uvz[..., 1] - cy) * z / f, z], axis=-1)


def estimate_focal(uvz: np.ndarray, size: tuple[float, float]) -> float:
    """Focal length (px) minimizing the summed relative std of H36M bone lengths over time."""
    ok = np.isfinite(uvz).all(axis=(1, 2))
    sub = uvz[ok]
    p, c = np.array(BONES).T

    def cost(f):
        kp = ARMATURE_SET.convert(back_project(sub, f, size))
        bl = np.linalg.norm(kp[:, c] - kp[:, p], axis=-1)
        return float((bl.std(0) / np.maximum(bl.mean(0), 1e-9)).sum())

    grid = size[0] * np.geomspace(0.3, 8.0, 60)
    best = grid[int(np.argmin([cost(f) for f in grid]))]
    lo, hi = best / 1.06, best * 1.06
    for _ in range(30):                     # golden-section refinement around the grid minimum
        a, b = hi - (hi - lo) / 1.618, lo + (hi - lo) / 1.618
        lo, hi = (lo, b) if cost(a) < cost(b) else (a, hi)
    return float((lo + hi) / 2)


def _files(raw_dir: Path, suffix: str) -> list[Path]:
    """JSON or MP4 files of the release; LayoutError only when there is neither."""
    return [p for p in require_glob(raw_dir, "*/data/*.*", NAME) if p.suffix == suffix]


def iter_clips(raw_dir: Path) -> Iterator[Clip | Rejected]:
    raw_dir = Path(raw_dir)
    for path in _files(raw_dir, ".json"):
        exercise = exercise_from_folder(path.parent.parent.name)
        clip_id = make_clip_id(NAME, exercise, path.stem)
        try:
            uvz, counts, _, size = read_coco(path)
            rb = rep_bounds_from_counts(counts)
            f = estimate_focal(uvz, size)
        except (ValueError, KeyError, TypeError, SourceFormatError) as exc:
            yield rejected(NAME, path, str(exc), field_="keypoints", clip_id=clip_id)
            continue
        kp = rotate(ARMATURE_SET.convert(back_project(uvz, f, size)), CAMERA_TO_Z_UP)
        reps = int(np.floor(counts[-1] + 1e-9) - np.floor(counts[0] + 1e-9))
        yield finish_clip(ADAPTER, path=path, raw_dir=raw_dir, clip_id=clip_id,
                          subject=f"{exercise}-{path.stem}", label_raw=exercise, keypoints=kp,
                          src_fps=NATIVE_FPS, reps=reps, rep_bounds=rb,
                          extra={"focal_px": round(f, 2), "video": path.with_suffix(".mp4").name,
                                 "folder": path.parent.parent.name, "lifted_from": "image+depth"},
                          split_group=f"{NAME}:{exercise}-{path.stem}")


def iter_segments(raw_dir: Path) -> Iterator[Segment | Rejected]:
    """Videos without a label JSON: whole video to the pose path, reps unknown."""
    raw_dir = Path(raw_dir)
    for video in _files(raw_dir, ".mp4"):
        if video.with_suffix(".json").exists():
            continue
        exercise = exercise_from_folder(video.parent.parent.name)
        yield Segment(str(video.resolve()), 0, None, fps=None, label_raw=exercise, reps=None,
                      clip_id=make_clip_id(NAME, exercise, video.stem), source=NAME,
                      subject=f"{exercise}-{video.stem}", split_group=f"{NAME}:{exercise}-{video.stem}",
                      provenance=provenance(video, raw_dir, LICENSE, hashed=False),
                      extra={"native_fps": NATIVE_FPS, "folder": video.parent.parent.name})


ADAPTER = Adapter(
    name=NAME, title="InfiniteRep",
    citation="Infinity AI, InfiniteRep synthetic exercise dataset, 2021 "
             "(github.com/toinfinityai/InfiniteRep)",
    license=LICENSE, homepage="https://github.com/toinfinityai/InfiniteRep",
    layout="<ExerciseFolder>/data/NNNNNN.json (+ NNNNNN.mp4)",
    native_fps=NATIVE_FPS, joint_set="smplx_armature (adapter table)", iter_clips=iter_clips,
    iter_segments=iter_segments,
    verified="armature names match the real armature_connections.json; focal length estimated "
             "per video from bone-length stability (extra focal_px); rep bounds from rep_count")
