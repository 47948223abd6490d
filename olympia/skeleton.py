"""Human3.6M-17 skeleton: joint order, kinematic chains, and joint-set converters as data.

Axis convention for every clip Olympia writes (documented once, here):
metres, right-handed, **z up** (gravity along -z), x/y horizontal. Fit3D and Human3.6M world
frames already are z-up; sources in camera or y-up frames are rotated by their adapter or
pose backend with `CAMERA_TO_Z_UP` / `Y_UP_TO_Z_UP` below. The root is not forced to the origin: global motion (jumps, walks) is kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

H36M_JOINTS: tuple[str, ...] = (
    "root", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax",
    "neck", "head", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
)
N_JOINTS = len(H36M_JOINTS)
# Joint indices by name, in H36M_JOINTS order (tests/test_skeleton.py checks the two agree).
(ROOT, R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, SPINE, THORAX, NECK, HEAD,
 L_SHOULDER, L_ELBOW, L_WRIST, R_SHOULDER, R_ELBOW, R_WRIST) = range(N_JOINTS)

# The limbs, proximal to distal, per side (drawing, symmetry, synthetic motion).
LEFT_LEG, RIGHT_LEG = (L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)
LEFT_ARM, RIGHT_ARM = (L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST)
LEFT_JOINTS = LEFT_LEG + LEFT_ARM

# Parent of each joint (root has none); used for bone lengths and plausibility checks.
H36M_PARENTS: tuple[int, ...] = (-1, ROOT, R_HIP, R_KNEE, ROOT, L_HIP, L_KNEE, ROOT, SPINE, THORAX,
                                 NECK, THORAX, L_SHOULDER, L_ELBOW, THORAX, R_SHOULDER, R_ELBOW)
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(H36M_PARENTS) if p >= 0)

# The five kinematic chains of the motion image, in the paper's order (method.md §6).
KINEMATIC_CHAINS: tuple[tuple[int, ...], ...] = (
    (ROOT, SPINE, THORAX, NECK, HEAD),
    (ROOT, L_HIP, L_KNEE, L_ANKLE),
    (ROOT, R_HIP, R_KNEE, R_ANKLE),
    (THORAX, L_SHOULDER, L_ELBOW, L_WRIST),
    (THORAX, R_SHOULDER, R_ELBOW, R_WRIST),
)
CHAIN_NAMES = ("torso_head", "left_leg", "right_leg", "left_arm", "right_arm")

# Each joint's counterpart on the other side (itself on the midline), for `mirror`.
MIRRORED_JOINTS: tuple[int, ...] = tuple(
    {**{l: r for l, r in zip(LEFT_LEG + LEFT_ARM, RIGHT_LEG + RIGHT_ARM)},
     **{r: l for l, r in zip(LEFT_LEG + LEFT_ARM, RIGHT_LEG + RIGHT_ARM)}}.get(j, j) for j in range(N_JOINTS))

# Left/right pairs for symmetry checks ((left bone), (right bone)): thigh, shin, upper arm, forearm.
SYMMETRIC_BONES = (((L_HIP, L_KNEE), (R_HIP, R_KNEE)), ((L_KNEE, L_ANKLE), (R_KNEE, R_ANKLE)),
                   ((L_SHOULDER, L_ELBOW), (R_SHOULDER, R_ELBOW)), ((L_ELBOW, L_WRIST), (R_ELBOW, R_WRIST)))

# Rotations into the z-up convention (proper rotations, det +1, so left stays left):
# a y-up frame (x sideways, y up, z towards/away from the camera): (x, y, z) -> (x, -z, y);
Y_UP_TO_Z_UP = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float64)
# a camera frame (x right, y down, z forward, as MediaPipe's world landmarks, MotionBERT's output
# and a pinhole back-projection are): (x, y, z) -> (x, z, -y), so y then points away from the camera.
CAMERA_TO_Z_UP = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=np.float64)


def mirror(keypoints: np.ndarray) -> np.ndarray:
    """The mirror image of (..., 17, 3) H36M keypoints: x negated (a reflection through a
    vertical plane; z stays up) and every left joint swapped with its right counterpart, so a
    left-arm row becomes a right-arm row done by a mirrored person, with left still left."""
    kp = np.asarray(keypoints)
    out = kp[..., list(MIRRORED_JOINTS), :].copy()
    out[..., 0] = -out[..., 0]
    return out


def rotate(keypoints: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(..., 3) points times a 3x3 rotation -> float32 (NaN propagates)."""
    return (np.asarray(keypoints, np.float64) @ np.asarray(matrix, np.float64).T).astype(np.float32)


def camera_to_z_up(keypoints: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points (x right, y down, z forward) -> the project's z-up frame."""
    return rotate(keypoints, CAMERA_TO_Z_UP)


@dataclass(frozen=True)
class JointSet:
    """A source joint set and how each H36M joint is made from it.

    `to_h36m[j]` lists source joint names whose mean is H36M joint j (one name: a copy).
    """

    name: str
    joints: tuple[str, ...]
    to_h36m: tuple[tuple[str, ...], ...]
    note: str = ""

    @cached_property
    def matrix(self) -> np.ndarray:
        """(17, N) float32 weights: h36m = matrix @ source."""
        index = {n: i for i, n in enumerate(self.joints)}
        w = np.zeros((N_JOINTS, len(self.joints)), dtype=np.float32)
        for j, sources in enumerate(self.to_h36m):
            for s in sources:
                w[j, index[s]] += 1.0 / len(sources)
        return w

    def convert(self, keypoints: np.ndarray) -> np.ndarray:
        """(T, N, C) source keypoints -> (T, 17, C) float32 H36M keypoints (NaN propagates)."""
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[1] != len(self.joints):
            raise ValueError(f"{self.name}: expected (T, {len(self.joints)}, C) keypoints, got {kp.shape}")
        # Exact copies/means without 0*NaN contamination: gather then average per target joint.
        out = np.empty((kp.shape[0], N_JOINTS, kp.shape[2]), dtype=np.float32)
        index = {n: i for i, n in enumerate(self.joints)}
        for j, sources in enumerate(self.to_h36m):
            idx = [index[s] for s in sources]
            out[:, j] = kp[:, idx].mean(axis=1) if len(idx) > 1 else kp[:, idx[0]]
        return out


def _table(name, joints, mapping, note=""):
    rows = tuple(tuple(mapping[j]) if isinstance(mapping[j], (list, tuple)) else (mapping[j],)
                 for j in H36M_JOINTS)
    return JointSet(name, tuple(joints), rows, note)


MEDIAPIPE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
KINECT_V2_25 = (
    "SpineBase", "SpineMid", "Neck", "Head", "ShoulderLeft", "ElbowLeft", "WristLeft",
    "HandLeft", "ShoulderRight", "ElbowRight", "WristRight", "HandRight", "HipLeft", "KneeLeft",
    "AnkleLeft", "FootLeft", "HipRight", "KneeRight", "AnkleRight", "FootRight", "SpineShoulder",
    "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight",
)
FIT3D25 = (
    "pelvis", "left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle",
    "spine", "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist", "foot_17", "foot_18", "foot_19", "foot_20",
    "hand_21", "hand_22", "hand_23", "hand_24",
)
MMFIT17 = (
    "hip", "l_hip", "l_knee", "l_foot", "r_hip", "r_knee", "r_foot", "spine", "thorax",
    "neck_nose", "head", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
)
UIPRMD22 = (
    "waist", "spine", "chest", "neck", "head", "head_tip", "left_collar", "left_upper_arm",
    "left_forearm", "left_hand", "right_collar", "right_upper_arm", "right_forearm",
    "right_hand", "left_upper_leg", "left_lower_leg", "left_foot", "left_toes",
    "right_upper_leg", "right_lower_leg", "right_foot", "right_toes",
)

# Root = mid-hips, thorax = mid-shoulders, spine = mid(root, thorax) = mean of the four
# (method.md §5) for every set that lacks them.
_HIPS_SHOULDERS = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")
# MediaPipe-33 and COCO-17 name their joints alike: one table serves both (neck <- nose,
# head <- mid-eyes).
_FACE_BODY_TO_H36M = {
    "root": ("left_hip", "right_hip"), "r_hip": "right_hip", "r_knee": "right_knee",
    "r_ankle": "right_ankle", "l_hip": "left_hip", "l_knee": "left_knee",
    "l_ankle": "left_ankle", "spine": _HIPS_SHOULDERS,
    "thorax": ("left_shoulder", "right_shoulder"), "neck": "nose",
    "head": ("left_eye", "right_eye"), "l_shoulder": "left_shoulder",
    "l_elbow": "left_elbow", "l_wrist": "left_wrist", "r_shoulder": "right_shoulder",
    "r_elbow": "right_elbow", "r_wrist": "right_wrist"}

JOINT_SETS: dict[str, JointSet] = {
    "mediapipe33": _table("mediapipe33", MEDIAPIPE33, _FACE_BODY_TO_H36M,
                          "method.md §5 / source-formats.md: root, spine, thorax synthesized; head = mid-eyes"),
    "coco17": _table("coco17", COCO17, _FACE_BODY_TO_H36M, "same synthesis as MotionBERT's coco2h36m"),
    "kinect_v2_25": _table("kinect_v2_25", KINECT_V2_25, {
        "root": "SpineBase", "r_hip": "HipRight", "r_knee": "KneeRight", "r_ankle": "AnkleRight",
        "l_hip": "HipLeft", "l_knee": "KneeLeft", "l_ankle": "AnkleLeft", "spine": "SpineMid",
        "thorax": "SpineShoulder", "neck": "Neck", "head": "Head",
        "l_shoulder": "ShoulderLeft", "l_elbow": "ElbowLeft", "l_wrist": "WristLeft",
        "r_shoulder": "ShoulderRight", "r_elbow": "ElbowRight", "r_wrist": "WristRight"},
        "Kinect has no nose: H36M neck/nose <- Neck"),
    "fit3d25": _table("fit3d25", FIT3D25, {
        "root": "pelvis", "r_hip": "right_hip", "r_knee": "right_knee",
        "r_ankle": "right_ankle", "l_hip": "left_hip", "l_knee": "left_knee",
        "l_ankle": "left_ankle", "spine": "spine", "thorax": "thorax", "neck": "neck_nose",
        "head": "head", "l_shoulder": "left_shoulder", "l_elbow": "left_elbow",
        "l_wrist": "left_wrist", "r_shoulder": "right_shoulder", "r_elbow": "right_elbow",
        "r_wrist": "right_wrist"},
        "Fit3D indices 1-3 are the LEFT leg (official eval_util H36M_TO_J17): swapped to H36M"),
    "mmfit17": _table("mmfit17", MMFIT17, {
        "root": "hip", "r_hip": "r_hip", "r_knee": "r_knee", "r_ankle": "r_foot",
        "l_hip": "l_hip", "l_knee": "l_knee", "l_ankle": "l_foot", "spine": "spine",
        "thorax": "thorax", "neck": "neck_nose", "head": "head", "l_shoulder": "l_shoulder",
        "l_elbow": "l_elbow", "l_wrist": "l_wrist", "r_shoulder": "r_shoulder",
        "r_elbow": "r_elbow", "r_wrist": "r_wrist"},
        "MM-Fit lists sides mirrored from H36M; mapped by name"),
    "uiprmd22": _table("uiprmd22", UIPRMD22, {
        "root": "waist", "r_hip": "right_upper_leg", "r_knee": "right_lower_leg",
        "r_ankle": "right_foot", "l_hip": "left_upper_leg", "l_knee": "left_lower_leg",
        "l_ankle": "left_foot", "spine": ("spine", "chest"), "thorax": "neck", "neck": "head",
        "head": "head_tip", "l_shoulder": "left_upper_arm", "l_elbow": "left_forearm",
        "l_wrist": "left_hand", "r_shoulder": "right_upper_arm", "r_elbow": "right_forearm",
        "r_wrist": "right_hand"},
        "Vicon segment origins: upper arm = shoulder, forearm = elbow, hand = wrist, "
        "upper leg = hip, lower leg = knee, foot = ankle"),
}


def to_h36m(keypoints: np.ndarray, joint_set: str) -> np.ndarray:
    """Convert (T, N, C) keypoints of a named joint set to (T, 17, C) H36M order."""
    return JOINT_SETS[joint_set].convert(keypoints)


def bone_lengths(keypoints: np.ndarray) -> np.ndarray:
    """(T, 17, 3) -> (T, 16) bone lengths in the order of BONES."""
    kp = np.asarray(keypoints, dtype=np.float32)
    p, c = np.array(BONES).T
    return np.linalg.norm(kp[:, c] - kp[:, p], axis=-1)
