"""InfiniteRep (Infinity AI, CC BY 4.0): synthetic fitness videos with per-frame labels.

Layout (toinfinityai/InfiniteRep):
    <root>/<ExerciseFolder>/data/NNNNNN.mp4 + NNNNNN.json   e.g. InfinityAI_InfiniteRep_legraise_v1.0
(+ NNNNNN_params.json, the generation parameters, when shipped). The exercise name is only in
the folder name. The JSON is COCO-style (the VisionFit generator's labels, olympia.adapters.visionfit):
    images[i]: {"id", "rep_count" | "rep_count_from_start", ...}   completed reps + fraction
    annotations[i]: {"image_id", "armature_keypoints": {smplx_joint: {"x", "y", "v", "z"
                     [, "x_global", "y_global", "z_global"]}}}
    info (VisionFit): camera_K_matrix, ...

Frame rate: params.frame_rate of NNNNNN_params.json (or job.json) beside the file when present
(real: 30 fps for fitness-occlusion, 6 for a VisionFit job), else the documented 24 fps.

3D, in this order of preference (extra["lifted_from"] says which):
  1. "world": x_global/y_global/z_global (the generator's world coordinates, metres, z up);
  2. "image+depth+K": pinhole back-projection X = (x - cx)·z / f, Y = (y - cy)·z / f, Z = z
     with f, cx, cy from info.camera_K_matrix;
  3. "image+depth": the same with the principal point at the image centre and f estimated per
     video as the value in [0.3, 8]·width making bone lengths most constant over time
     (extra["focal_px"]). The camera frame (x right, y down, z forward) is rotated to z up with
     (x, y, z) -> (x, z, -y); the camera's own pitch is not removed.
On the real VisionFit job, (2) matches (1) to 3-7 mm.

Reps (`count_reps`): one per integer the per-frame count crosses after the first frame, plus
the last rep when the count would reach the next integer within one more frame (the count is
sampled at the frame rate, so a set that ends as its last rep completes can end on 3.92 of a
4-rep job at 6 fps: 3.92 + 0.105 per frame >= 4). A rep spans [the last frame before the count
leaves the previous integer, the first frame at the next integer) (the end of the video for an
extrapolated last rep), so rests between reps belong to no rep. NNNNNN_params.json's num_reps
goes to extra["num_reps_params"] (a trimmed video may hold fewer).
SMPL-X armature -> H36M is the table ARMATURE_TO_H36M below (names from the real
armature_connections.json, which the tests read). Videos without a JSON go to the pose path
(list_segments).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import (Adapter, Item, finish_clip, left_right_consistency,
                                     load_json, provenance, require_glob)
from olympia.schema import make_clip_id
from olympia.segment import Segment
from olympia.skeleton import BONES, CAMERA_TO_Z_UP, H36M_JOINTS, JointSet, rotate

NAME = "infiniterep"
NATIVE_FPS = 24.0                                   # documented default; params.frame_rate wins
COUNT_KEYS = ("rep_count", "rep_count_from_start")  # InfiniteRep / VisionFit per-frame count
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
ARMATURE_JOINTS = tuple(dict.fromkeys(n for names in ARMATURE_TO_H36M.values() for n in names)) + (
    "left_foot", "right_foot")      # read for the facing direction (ankle -> foot), not mapped
FEET = [ARMATURE_JOINTS.index("left_foot"), ARMATURE_JOINTS.index("right_foot")]
ANKLES = [ARMATURE_JOINTS.index("left_ankle"), ARMATURE_JOINTS.index("right_ankle")]
ARMATURE_SET = JointSet("smplx_armature", ARMATURE_JOINTS,
                        tuple(ARMATURE_TO_H36M[j] for j in H36M_JOINTS),
                        "InfiniteRep armature_keypoints (SMPL-X names) -> H36M-17")
_FOLDER_RE = re.compile(r"^(?:InfinityAI_InfiniteRep_)?(?P<ex>.+?)(?:_v\d+(?:\.\d+)*)?$")


def exercise_from_folder(folder: str) -> str:
    """'InfinityAI_InfiniteRep_legraise_v1.0' -> 'legraise'."""
    return _FOLDER_RE.match(folder).group("ex")


def count_reps(counts: np.ndarray) -> tuple[int, np.ndarray]:
    """Per-frame cumulative rep count -> (reps, (reps, 2) [start, end) frames) by the rule in
    the module docstring; ValueError when the count decreases or jumps a whole rep in a frame."""
    c = np.asarray(counts, np.float64)
    whole = np.floor(c + 1e-9).astype(np.int64)
    if (np.diff(c) < -1e-9).any():
        raise ValueError(f"rep_count decreases between frames (first at frame "
                         f"{int(np.argmax(np.diff(c) < -1e-9)) + 1})")
    if (np.diff(whole) > 1).any():
        raise ValueError("rep_count jumps by more than one rep between two frames")
    rising = np.diff(c) > 1e-9
    bounds = []
    for level in range(int(whole[0]) + 1, int(whole[-1]) + 1):
        end = int(np.argmax(whole >= level))
        bounds.append([_rise_start(c, level - 1, end, bounds), end])
    frac = c[-1] - whole[-1]
    if frac > 1e-9 and rising[-1]:
        run = len(rising) - int(np.argmin(rising[::-1])) if not rising.all() else 0
        step = float(np.median(np.diff(c)[run:]))
        if frac + step >= 1 - 1e-6:                 # completes within the next frame interval
            bounds.append([_rise_start(c, whole[-1], len(c), bounds), len(c)])
    return len(bounds), np.asarray(bounds, np.int64).reshape(-1, 2)


def _rise_start(c: np.ndarray, level: float, end: int, bounds: list) -> int:
    """Last frame before `end` where the count still reads `level` (the rep's start), never
    before the previous rep's end; 0 for a rep already under way at the first frame."""
    at_level = np.flatnonzero(c[:end] <= level + 1e-9)
    start = int(at_level[-1]) if at_level.size else 0
    return max(start, bounds[-1][1] if bounds else 0)


def rep_bounds_from_counts(counts: np.ndarray) -> np.ndarray:
    """Per-frame rep_count -> (R, 2) [start, end) frames (count_reps)."""
    return count_reps(counts)[1]


def generation_params(label_path: Path) -> dict:
    """The generator's params beside a label file (NNNNNN_params.json, else job.json), {} if none."""
    for p in (label_path.with_name(f"{label_path.stem}_params.json"), label_path.with_name("job.json")):
        if p.exists():
            doc = load_json(p, "generation parameters")
            params = doc.get("params", doc) if isinstance(doc, dict) else None
            if not isinstance(params, dict):
                raise ValueError(f"{p.name}: expected {{\"params\": {{...}}}}")
            return params
    return {}


def frame_rate(params: dict) -> float:
    """params.frame_rate (numbers or strings, as the real files have), else NATIVE_FPS."""
    if params.get("frame_rate") in (None, ""):
        return NATIVE_FPS
    fps = float(params["frame_rate"])
    if not 0 < fps <= 1000:
        raise ValueError(f"frame_rate {params['frame_rate']!r} is not a frame rate")
    return fps


def read_coco(path: Path) -> dict:
    """-> {"uvz" (T, J, 3) pixels/metres, "world" (T, J, 3) or None, "counts" (T,), "size"
    (w, h), "K" 3x3 or None}; NaN where a joint is missing; ValueError naming what is wrong."""
    doc = load_json(path, "InfiniteRep label file")
    if not isinstance(doc, dict) or not {"images", "annotations"} <= set(doc):
        raise ValueError("missing 'images'/'annotations': not a COCO-style InfiniteRep file")
    images = sorted(doc["images"], key=lambda im: im["id"])
    if len(images) < 2:
        raise ValueError(f"{len(images)} images; a set needs at least 2 frames")
    row = {im["id"]: i for i, im in enumerate(images)}
    uvz = np.full((len(images), len(ARMATURE_JOINTS), 3), np.nan)
    world = np.full_like(uvz, np.nan)
    for k, ann in enumerate(doc["annotations"]):
        arm = ann.get("armature_keypoints")
        if ann.get("image_id") not in row or not isinstance(arm, dict):
            raise ValueError(f"annotation {k}: unknown image_id or no armature_keypoints")
        missing = [n for n in ARMATURE_JOINTS if n not in arm]
        if missing:
            raise ValueError(f"annotation {k}: armature_keypoints lacks {missing}")
        i = row[ann["image_id"]]
        uvz[i] = [[float(arm[n]["x"]), float(arm[n]["y"]), float(arm[n]["z"])] for n in ARMATURE_JOINTS]
        if all("z_global" in arm[n] for n in ARMATURE_JOINTS):
            world[i] = [[float(arm[n][f"{a}_global"]) for a in "xyz"] for n in ARMATURE_JOINTS]
    key = next((k for k in COUNT_KEYS if k in images[0]), None)
    if key is None:
        raise ValueError(f"images carry none of {list(COUNT_KEYS)}: no per-frame rep count")
    counts = np.asarray([im.get(key, np.nan) for im in images], dtype=np.float64)
    if not np.isfinite(counts).all():
        raise ValueError(f"image {int(np.argmax(~np.isfinite(counts)))} lacks a numeric {key}")
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    k_matrix = np.asarray(info["camera_K_matrix"], np.float64) if "camera_K_matrix" in info else None
    if k_matrix is not None and k_matrix.shape != (3, 3):
        raise ValueError(f"info.camera_K_matrix must be 3x3, got {k_matrix.shape}")
    return {"uvz": uvz, "world": None if np.isnan(world).all() else world, "counts": counts,
            "count_key": key, "K": k_matrix,
            "size": (float(images[0].get("width", 224)), float(images[0].get("height", 224)))}


def back_project(uvz: np.ndarray, f: float, size: tuple[float, float],
                 centre: tuple[float, float] | None = None) -> np.ndarray:
    cx, cy = centre if centre is not None else (size[0] / 2, size[1] / 2)
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


def lift_3d(coco: dict) -> tuple[np.ndarray, dict]:
    """H36M keypoints (T, 17, 3), metres, z up, from the best 3D the labels allow (docstring),
    with the subject's left/right consistency (heel -> toe: ankle -> foot joints)."""
    if coco["world"] is not None:
        arm, how = coco["world"], {"lifted_from": "world"}
    else:
        if coco["K"] is not None:
            k = coco["K"]
            f, centre, how = float(k[0, 0]), (float(k[0, 2]), float(k[1, 2])), "image+depth+K"
        else:
            f, centre, how = estimate_focal(coco["uvz"], coco["size"]), None, "image+depth"
        arm = rotate(back_project(coco["uvz"], f, coco["size"], centre), CAMERA_TO_Z_UP)
        how = {"lifted_from": how, "focal_px": round(f, 2)}
    kp = ARMATURE_SET.convert(arm)
    toes = arm[:, FEET].mean(axis=1) - arm[:, ANKLES].mean(axis=1)
    how["left_right_consistency"] = round(left_right_consistency(kp, toes), 3)
    return kp, how


def labelled_clip(adapter: Adapter, raw_dir: Path, path: Path, clip_id: str, exercise: str,
                  subject: str, params: dict, extra: dict):
    """One COCO label file -> a Clip (shared with olympia.adapters.visionfit)."""
    fps = frame_rate(params)
    coco = read_coco(path)
    reps, rb = count_reps(coco["counts"])
    kp, lift = lift_3d(coco)
    extra = {**extra, **lift, "count_key": coco["count_key"],
             "fps_from": "params" if params.get("frame_rate") not in (None, "") else "default"}
    if params.get("num_reps") not in (None, ""):
        extra["num_reps_params"] = int(float(params["num_reps"]))
    return finish_clip(adapter, path=path, raw_dir=raw_dir, clip_id=clip_id, subject=subject,
                       label_raw=exercise, keypoints=kp, src_fps=fps, reps=reps, rep_bounds=rb,
                       extra=extra, split_group=f"{adapter.name}:{subject}", pose_estimator="synthetic")


def _data_files(raw_dir: Path) -> list[Path]:
    """Files of the release's data folders; LayoutError only when there are none."""
    return require_glob(raw_dir, "*/data/*.*", NAME)


def list_clips(raw_dir: Path) -> Iterator[Item]:
    for path in _data_files(raw_dir):
        if path.suffix == ".json" and not path.name.endswith("_params.json"):
            exercise = exercise_from_folder(path.parent.parent.name)
            yield Item(path, clip_id=make_clip_id(NAME, exercise, path.stem), data="clip")


def list_segments(raw_dir: Path) -> Iterator[Item]:
    for video in _data_files(raw_dir):
        if video.suffix == ".mp4" and not video.with_suffix(".json").exists():
            exercise = exercise_from_folder(video.parent.parent.name)
            yield Item(video, clip_id=make_clip_id(NAME, exercise, video.stem), data="segment")


def read(raw_dir: Path, item: Item):
    path = item.path
    exercise = exercise_from_folder(path.parent.parent.name)
    if item.data == "segment":   # a video without labels: whole video to the pose path
        yield Segment(str(path.resolve()), 0, None, fps=None, label_raw=exercise, reps=None,
                      clip_id=item.clip_id, source=NAME, subject=f"{exercise}-{path.stem}",
                      split_group=f"{NAME}:{exercise}-{path.stem}",
                      provenance=provenance(path, raw_dir, LICENSE, hashed=False),
                      extra={"native_fps": NATIVE_FPS, "folder": path.parent.parent.name})
        return
    yield labelled_clip(ADAPTER, raw_dir, path, item.clip_id, exercise, f"{exercise}-{path.stem}",
                        generation_params(path),
                        {"video": path.with_suffix(".mp4").name, "folder": path.parent.parent.name})


ADAPTER = Adapter(
    name=NAME, title="InfiniteRep",
    citation="Infinity AI, InfiniteRep synthetic exercise dataset, 2021 "
             "(github.com/toinfinityai/InfiniteRep)",
    license=LICENSE, homepage="https://github.com/toinfinityai/InfiniteRep",
    layout="<ExerciseFolder>/data/NNNNNN.json (+ NNNNNN.mp4)",
    native_fps=NATIVE_FPS, joint_set="smplx_armature (adapter table)", read=read,
    list_clips=list_clips, list_segments=list_segments,
    verified="armature names match the real armature_connections.json; frame rate from the "
             "params JSON (real: 30 fps, 6 fps; default 24); 3D from world coordinates, K or an "
             "estimated focal length; reps by count_reps (4 on the real 4-rep VisionFit job)")
