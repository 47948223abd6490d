"""Fixture generator: tiny raw releases (2-5 records each) in each source's exact on-disk
layout, built from one synthetic squatting body whose truth is known.

The body (metres, z up, facing -y so its left is +x) squats with fixed bone lengths: ankles
on the floor, hips going down and back, knees forward (two-link IK). `SQUAT_PERIOD_S` gives
the rep boundaries. Each writer converts the body into the source's joint order, units, axes
and file format WITHOUT using olympia's adapter code (UI-PRMD angles come from scipy's
Rotation), so the adapters are checked against an independent forward model.

    python -m tests.raw_fixtures OUT_DIR     # writes OUT_DIR/<source>/...
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

SQUAT_PERIOD_S = 2.0
THIGH, SHIN = 0.43, 0.42
ANKLE_Z = 0.10
HIP_HALF = 0.12

# H36M order: root r_hip r_knee r_ankle l_hip l_knee l_ankle spine thorax neck head
#             l_shoulder l_elbow l_wrist r_shoulder r_elbow r_wrist


def squat_body(n_frames: int, fps: float, reps: int | None = None) -> np.ndarray:
    """(T, 17, 3) float64 H36M body in metres, z up, facing -y (left = +x)."""
    t = np.arange(n_frames) / fps
    depth = 0.5 - 0.5 * np.cos(2 * np.pi * t / SQUAT_PERIOD_S)          # 0 standing .. 1 deepest
    if reps is not None:
        depth[t >= reps * SQUAT_PERIOD_S] = 0.0
    leg = THIGH + SHIN
    hip_z = ANKLE_Z + leg * (1 - 0.35 * depth) - 0.001                  # never fully straight
    hip_y = 0.15 * depth                                                # hips go back (+y)
    kp = np.zeros((n_frames, 17, 3))
    for side, x in ((1, -HIP_HALF), (4, HIP_HALF)):                     # r leg at -x, l leg at +x
        hip = np.stack([np.full_like(t, x), hip_y, hip_z], -1)
        ankle = np.stack([np.full_like(t, x), np.zeros_like(t), np.full_like(t, ANKLE_Z)], -1)
        d = np.linalg.norm(hip - ankle, axis=-1)
        a = (THIGH ** 2 - SHIN ** 2 + d ** 2) / (2 * d)                  # along hip->ankle
        h = np.sqrt(np.maximum(THIGH ** 2 - a ** 2, 0))
        u = (ankle - hip) / d[:, None]
        perp = np.stack([np.zeros_like(t), -u[:, 2], u[:, 1]], -1)       # in the y-z plane
        perp *= np.where(perp[:, 1:2] < 0, 1, -1)                        # knee forward (-y)
        kp[:, side], kp[:, side + 1], kp[:, side + 2] = hip, hip + a[:, None] * u + h[:, None] * perp, ankle
    root = np.stack([np.zeros_like(t), hip_y, hip_z], -1)
    kp[:, 0] = root
    upper = {7: (0, 0, 0.25), 8: (0, 0, 0.50), 9: (0, -0.08, 0.60), 10: (0, 0, 0.73),
             11: (0.18, 0, 0.47), 12: (0.20, 0, 0.19), 13: (0.21, 0, -0.05),
             14: (-0.18, 0, 0.47), 15: (-0.20, 0, 0.19), 16: (-0.21, 0, -0.05)}
    for j, off in upper.items():
        kp[:, j] = root + np.asarray(off)
    return kp


def rep_boundaries(reps: int, fps: float, start: int = 0) -> list[int]:
    """Frames (at fps) where the squat is at its top: rep i = [b_i, b_{i+1})."""
    return [start + int(round(k * SQUAT_PERIOD_S * fps)) for k in range(reps + 1)]


# --------------------------------------------------------------------------- Fit3D
FIT3D_FROM_H36M = [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # fit3d idx -> h36m idx


def write_fit3d(root: Path) -> dict:
    """train/s03 (squat 3 reps, warmup_7 2 reps, walk_the_box no reps), train/s04 (squat, as
    .json.gz). Foot points 17-20 sit ahead of the ankles (toes), hand points 21-24 below the wrists."""
    truth = {}
    specs = {"s03": {"squat": 3, "warmup_7": 2, "walk_the_box": None}, "s04": {"squat": 2}}
    for subject, actions in specs.items():
        sdir = root / "train" / subject
        ann = {}
        for action, reps in actions.items():
            lead = 10
            n = lead + int((reps or 1) * SQUAT_PERIOD_S * 50) + 15
            body = np.roll(squat_body(n, 50.0), lead, axis=0)
            fit = np.zeros((n, 25, 3))
            fit[:, :17] = body[:, FIT3D_FROM_H36M]
            fit[:, 17:21] = body[:, [6, 6, 3, 3]] + [0, -0.1, -0.08]      # feet points
            fit[:, 21:25] = body[:, [13, 13, 16, 16]] + [0, 0, -0.08]    # hand points
            _dump_json(sdir / "joints3d_25" / f"{action}.json", {"joints3d_25": fit.round(5).tolist()},
                       gz=subject == "s04")              # the real copies are .json.gz
            for cam in ("50591643Lb", "58860488"):       # real folder names carry suffixes
                _dump_json(sdir / "camera_parameters" / cam / f"{action}.json",
                           {"extrinsics": {"R": np.eye(3).tolist(), "T": [0, 0, 0]}})
            if reps:
                ann[action] = rep_boundaries(reps, 50.0, start=lead)
            truth[(subject, action)] = {"reps": reps, "n_frames": n}
        _dump_json(sdir / "rep_ann.json", ann)
    return truth


# --------------------------------------------------------------------------- MM-Fit
MMFIT_FROM_H36M = [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13]  # mmfit idx -> h36m


def write_mmfit(root: Path) -> dict:
    """w01 (train) with 2 sets, w09 (test) with 1 set; millimetres, camera frame (y down)."""
    truth = {}
    for w, sets in {"w01": [(100, 3, "squats"), (400, 2, "lunges")], "w09": [(50, 2, "squats")]}.items():
        n, first = 700, 30                                   # frame numbers start at 30
        body = squat_body(n, 30.0)
        cam = np.stack([body[..., 0], -body[..., 2], body[..., 1] + 3.0], -1) * 1000.0  # mm, y down
        cam[25, 10] = 0.0                                    # one undetected joint (zeros), frame 55
        src = cam[:, MMFIT_FROM_H36M]                        # (N, 17, 3)
        arr = np.zeros((3, n, 18))
        arr[:, :, 0] = np.arange(first, first + n)
        arr[:, :, 1:] = np.moveaxis(src, -1, 0)
        d = root / w
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / f"{w}_pose_3d.npy", arr)
        with open(d / f"{w}_labels.csv", "w", newline="") as f:
            for start, reps, ex in sets:
                end = start + int(reps * SQUAT_PERIOD_S * 30) - 1
                csv.writer(f).writerow([start, end, reps, ex])
                truth[(w, ex, start)] = {"reps": reps, "n_src": end - start + 1}
    return truth


# --------------------------------------------------------------------------- KIMORE
KINECT_FROM_H36M = {  # kinect index -> h36m index (or a mean of two)
    0: 0, 1: 7, 2: 9, 3: 10, 4: 11, 5: 12, 6: 13, 7: 13, 8: 14, 9: 15, 10: 16, 11: 16,
    12: 4, 13: 5, 14: 6, 15: 6, 16: 1, 17: 2, 18: 3, 19: 3, 20: 8, 21: 13, 22: 13, 23: 16, 24: 16,
}


def kinect_frames(n: int) -> np.ndarray:
    body = squat_body(n, 30.0)
    kin = np.zeros((n, 25, 3))
    for k, h in KINECT_FROM_H36M.items():
        kin[:, k] = body[:, h]
    # z-up world -> Kinect camera space (y up, z away from the sensor): (x, y, z) -> (x, z, -y)
    return np.stack([kin[..., 0], kin[..., 2], 2.5 - kin[..., 1]], -1)


def kinect_csv(kin: np.ndarray, width: int, quirks: bool = False) -> str:
    """KIMORE JointPosition CSV text: 100 columns (x, y, z, state 2) or 75 (+ two empty cells);
    `quirks` as the real exports: 24 blank lines first and a comma ending every row."""
    rows = []
    for frame in kin:
        if width == 100:
            cells = [f"{v:.6f}" for j in frame for v in (*j, 2.0)]
        else:
            cells = [f"{v:.6f}" for j in frame for v in j] + ["", ""]
        rows.append(",".join(cells) + ("," if quirks else ""))
    return "\n" * (24 if quirks else 0) + "\n".join(rows) + "\n"


def write_kimore_flat(root: Path) -> dict:
    """Flat exports named by exercise, as circulating copies have them: JointPositionExercise1.csv,
    JointPositionExercise2.csv (one person), JointPositionExercise1(2).csv (another)."""
    root.mkdir(parents=True, exist_ok=True)
    names = ("JointPositionExercise1.csv", "JointPositionExercise2.csv", "JointPositionExercise1(2).csv")
    for name in names:
        (root / name).write_text(kinect_csv(kinect_frames(300), 100, quirks=True))   # 10 s, 5 squats
    return {name: {"n_src": 300} for name in names}


def write_kimore(root: Path) -> dict:
    """CG/Expert/E_ID1/Es1 (100 cols), Es5 (75 cols + trailing empties), GPP/Stroke/S_ID2/Es3."""
    truth = {}
    specs = [("CG/Expert", "E_ID1", "Es1", 100), ("CG/Expert", "E_ID1", "Es5", 75),
             ("GPP/Stroke", "S_ID2", "Es3", 100)]
    for group, subject, es, width in specs:
        kin = kinect_frames(90)
        raw = root / group / subject / es / "Raw"
        raw.mkdir(parents=True, exist_ok=True)
        (root / group / subject / es / "Label").mkdir(exist_ok=True)
        (raw / f"JointPosition{subject}.csv").write_text(kinect_csv(kin, width, quirks=es == "Es1"))
        (raw / f"JointOrientation{subject}.csv").write_text("0,0,0,1\n")
        truth[(group, subject, es)] = {"n_src": 90}
    return truth


# --------------------------------------------------------------------------- UI-PRMD
UIPRMD_PARENTS = (-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20)


def uiprmd_world(n: int) -> np.ndarray:
    """(T, 22, 3) absolute Vicon-style positions in cm, y up, toes towards +z."""
    body = squat_body(n, 30.0)
    src = {0: 0, 1: 7, 2: 8, 3: 8, 4: 9, 5: 10, 6: 8, 7: 11, 8: 12, 9: 13, 10: 8, 11: 14,
           12: 15, 13: 16, 14: 4, 15: 5, 16: 6, 17: 6, 18: 1, 19: 2, 20: 3, 21: 3}
    w = np.stack([body[:, src[j]] for j in range(22)], 1)
    w[:, 3] += [0, 0, 0.01]                     # neck just above chest
    w[:, 6] += [0.02, 0, 0]                     # collars beside the chest
    w[:, 10] += [-0.02, 0, 0]
    w[:, [17, 21]] += [0, -0.12, -0.05]         # toes forward (-y) and down
    # z-up (facing -y) -> y-up with toes +z: (x, y, z) -> (x, z, -y)
    return np.stack([w[..., 0], w[..., 2], -w[..., 1]], -1) * 100.0


def write_uiprmd(root: Path, seed: int = 0) -> dict:
    """The release layout, both systems: Kinect (66 chained columns + angles) for m01 s01 e01,
    m01 s02 e01, m05 s01 e02 and m01 s01 e01 _inc (Incorrect Segmented Movements, gzipped);
    Vicon (117 marker columns, mm, z up, 100 Hz) for m01 s01 e01 and m01 s01 e01 _inc."""
    from scipy.spatial.transform import Rotation
    rng = np.random.default_rng(seed)
    truth = {}
    for m, s, e, inc in ((1, 1, 1, ""), (1, 2, 1, ""), (5, 1, 2, ""), (1, 1, 1, "_inc")):
        n = 40 + 5 * m
        world = uiprmd_world(n)
        # random per-joint Euler angles (degrees), the file's rotation E = Rz·Rx·Ry =
        # scipy extrinsic 'yxz' with angles (a_y, a_x, a_z)
        ang = rng.uniform(-30, 30, size=(n, 22, 3))
        e_mat = Rotation.from_euler("yxz", ang[..., [1, 0, 2]].reshape(-1, 3), degrees=True) \
            .as_matrix().reshape(n, 22, 3, 3)
        g = np.empty_like(e_mat)
        g[:, 0] = e_mat[:, 0]
        off = np.empty_like(world)
        off[:, 0] = world[:, 0]
        for j in range(1, 22):
            p = UIPRMD_PARENTS[j]
            frame = e_mat[:, p] if j in (6, 10) else g[:, p]
            off[:, j] = np.einsum("tji,tj->ti", frame, world[:, j] - world[:, p])  # frame^T · d
            g[:, j] = frame @ e_mat[:, j]
        folder = "Incorrect Segmented Movements" if inc else "Segmented Movements"
        stem = f"m{m:02d}_s{s:02d}_e{e:02d}"
        for kind, data in (("Positions", off), ("Angles", ang)):
            path = root / folder / "Kinect" / kind / f"{stem}_{kind.lower()}{inc}.txt"
            _write_rows(path, data.reshape(n, 66), gz=bool(inc))
        truth[("kinect", m, s, e, bool(inc))] = {"n_src": n, "world_cm": world}
        if s == 1 and m == 1:
            body = squat_body(int(n * 100 / 30), 100.0)
            markers = vicon_markers(body)
            path = root / folder / "Vicon" / "Positions" / f"{stem}_positions{inc}.txt"
            _write_rows(path, markers.reshape(len(body), 117), gz=bool(inc))
            _write_rows(path.parent.parent / "Angles" / path.name.replace("positions", "angles"),
                        rng.uniform(-90, 90, (len(body), 117)), gz=bool(inc))
            truth[("vicon", m, s, e, bool(inc))] = {"n_src": len(body), "body": body}
    return truth


def _write_rows(path: Path, rows: np.ndarray, gz: bool = False) -> None:
    import gzip
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(",".join(f"{v:.6f}" for v in row) for row in rows) + "\n"
    if gz:
        with gzip.open(path.with_name(path.name + ".gz"), "wt") as f:
            f.write(text)
    else:
        path.write_text(text)


# Plug-in Gait marker order of the real UI-PRMD Vicon files (see olympia/adapters/uiprmd.py).
PIG_MARKERS = ("LFHD RFHD LBHD RBHD C7 T10 CLAV STRN RBAK LSHO LUPA LELB LFRM LWRA LWRB LFIN "
               "RSHO RUPA RELB RFRM RWRA RWRB RFIN LASI RASI LPSI RPSI LTHI LKNE LTIB LANK LHEE "
               "LTOE RTHI RKNE RTIB RANK RHEE RTOE").split()


def vicon_markers(body: np.ndarray) -> np.ndarray:
    """(T, 39, 3) markers in mm placed on the body (metres, z up, facing -y) so that the
    literature's rules give its joints back: Harrington 2007 hip centres (PD = 150 mm), joint
    centres 57 / 42 mm medial of the knee / ankle markers, shoulder 47 mm below the acromion."""
    b = body * 1000.0
    t = len(b)
    fwd, up = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    mk = {}
    lat_vec = b[:, 4] - b[:, 1]                              # right hip -> left hip
    half = np.linalg.norm(lat_vec, axis=1, keepdims=True) / 2
    lat = lat_vec / (2 * half)
    pw = (half - 7.3) / 0.33                                 # inverts lateral = 0.33 PW + 7.3
    pd = np.full_like(pw, 150.0)
    centre = (b[:, 1] + b[:, 4]) / 2
    mid_asis = centre - fwd * (-0.24 * pd - 9.9) - up * (-0.30 * pw - 10.9)
    mk["LASI"], mk["RASI"] = mid_asis + lat * pw / 2, mid_asis - lat * pw / 2
    mk["LPSI"], mk["RPSI"] = mid_asis - fwd * pd + lat * 40, mid_asis - fwd * pd - lat * 40
    for side, sign, hip, knee, ankle in (("L", 1, 4, 5, 6), ("R", -1, 1, 2, 3)):
        medial = -sign * np.broadcast_to(lat, (t, 3))
        for joint, parent, offset, name in ((knee, hip, 57.0, "KNE"), (ankle, knee, 42.0, "ANK")):
            marker = b[:, joint]
            for _ in range(20):   # medial ⊥ (marker - parent joint): a fixed point, found by iteration
                axis = marker - b[:, parent]
                axis /= np.linalg.norm(axis, axis=1, keepdims=True)
                med = medial - np.sum(medial * axis, 1, keepdims=True) * axis
                marker = b[:, joint] - offset * med / np.linalg.norm(med, axis=1, keepdims=True)
            mk[side + name] = marker
        mk[side + "THI"] = (b[:, hip] + b[:, knee]) / 2 - 60 * medial
        mk[side + "TIB"] = (b[:, knee] + b[:, ankle]) / 2 - 50 * medial
        mk[side + "HEE"] = b[:, ankle] - 50 * fwd - 60 * up
        mk[side + "TOE"] = b[:, ankle] + 130 * fwd - 70 * up
    thorax = b[:, 8]
    mk["C7"], mk["CLAV"] = thorax - 70 * fwd, thorax + 70 * fwd
    mk["T10"], mk["STRN"] = thorax - 250 * up - 90 * fwd, thorax - 190 * up + 90 * fwd
    mk["RBAK"] = thorax - 150 * up - 80 * fwd - 90 * np.broadcast_to(lat, (t, 3))
    head = b[:, 10]
    for name, (df, dl) in {"LFHD": (60, 60), "RFHD": (60, -60), "LBHD": (-60, 60), "RBHD": (-60, -60)}.items():
        mk[name] = head + df * fwd + dl * lat
    for side, sign, sho, elb, wri in (("L", 1, 11, 12, 13), ("R", -1, 14, 15, 16)):
        out = sign * lat
        mk[side + "SHO"] = b[:, sho] + 47 * up
        mk[side + "UPA"] = (b[:, sho] + b[:, elb]) / 2 + 40 * out
        mk[side + "ELB"] = b[:, elb]
        mk[side + "FRM"] = (b[:, elb] + b[:, wri]) / 2 + 30 * out
        mk[side + "WRA"], mk[side + "WRB"] = b[:, wri] + 25 * fwd, b[:, wri] - 25 * fwd
        mk[side + "FIN"] = b[:, wri] - 80 * up
    return np.stack([np.broadcast_to(mk[name], (t, 3)) for name in PIG_MARKERS], axis=1)


# --------------------------------------------------------------------------- InfiniteRep
INFINITEREP_FOCAL = 260.0
ARMATURE_FROM_H36M = {
    "pelvis": 0, "right_hip": 1, "right_knee": 2, "right_ankle": 3, "left_hip": 4,
    "left_knee": 5, "left_ankle": 6, "spine1": 7, "spine2": 7, "spine3": 8, "neck": 8,
    "head": 9, "jaw": 9, "left_eye_smplhf": 10, "right_eye_smplhf": 10,
    "left_collar": 8, "left_shoulder": 11, "left_elbow": 12, "left_wrist": 13,
    "right_collar": 8, "right_shoulder": 14, "right_elbow": 15, "right_wrist": 16,
    "left_foot": 17, "right_foot": 18,      # with_feet: points ahead of the ankles (the toes)
}


def with_feet(body: np.ndarray) -> np.ndarray:
    """(T, 19, 3): the H36M body plus left and right foot points 12 cm ahead (-y), 5 cm down."""
    return np.concatenate([body, body[:, [6, 3]] + [0.0, -0.12, -0.05]], axis=1)


def write_infiniterep(root: Path, reps: int = 3) -> dict:
    """InfinityAI_InfiniteRep_squat_v1.0/data/000000.json (+ .mp4), 000001.json; one
    InfinityAI_InfiniteRep_legraise_v1.0/data/000000.mp4 without JSON (video-only)."""
    truth = {}
    folder = root / "InfinityAI_InfiniteRep_squat_v1.0" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for k, yaw in enumerate((0.0, 0.6)):
        n = int(reps * SQUAT_PERIOD_S * 24) + 6
        body = with_feet(squat_body(n, 24.0, reps=reps))
        c, s = np.cos(yaw), np.sin(yaw)
        body = body @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T + [0, 0, 0]  # turn in place
        body[:, :, 1] += 0.3 * np.sin(np.arange(n) / n * 2 * np.pi)[:, None]      # step back/forth
        # z-up world -> camera (x right, y down, z forward), camera 3 m in front (-y), 1 m high
        cam = np.stack([body[..., 0], -(body[..., 2] - 1.0), body[..., 1] + 3.0], -1)
        uv = cam[..., :2] * INFINITEREP_FOCAL / cam[..., 2:3] + 112.0
        t = np.arange(n) / 24.0
        counts = np.minimum(t / SQUAT_PERIOD_S, reps)
        images, anns = [], []
        for i in range(n):
            images.append({"id": i + 1, "file_name": f"{k:06d}_{i:04d}.png", "width": 224,
                           "height": 224, "frame_number": i, "rep_count": float(counts[i])})
            arm = {name: {"x": float(uv[i, h, 0]), "y": float(uv[i, h, 1]), "v": 2,
                          "z": float(cam[i, h, 2])} for name, h in ARMATURE_FROM_H36M.items()}
            anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1,
                         "armature_keypoints": arm, "keypoints": [0] * 51})
        _dump_json(folder / f"{k:06d}.json", {"info": {}, "images": images, "annotations": anns,
                                              "categories": [{"id": 1, "name": "person"}]})
        (folder / f"{k:06d}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        truth[k] = {"reps": reps, "n_src": n, "body": body[:, :17]}
    only_video = root / "InfinityAI_InfiniteRep_legraise_v1.0" / "data"
    only_video.mkdir(parents=True, exist_ok=True)
    (only_video / "000000.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    return truth


def write_visionfit(root: Path, reps: int = 3, fps: float = 12.0) -> dict:
    """One VisionFit job folder <job>/labels.json + job.json + video.mp4: a squat rendered at
    `fps` whose per-frame rep_count_from_start ends just short of `reps` (the last frame is
    sampled before the last rep completes), with world (x_global..) and image coordinates and
    the camera's K matrix."""
    job = root / "0b0e0f00-0000-4000-8000-000000000001"
    job.mkdir(parents=True, exist_ok=True)
    n = int(reps * SQUAT_PERIOD_S * fps)                  # the set's frames; the last before the end
    body = with_feet(squat_body(n, fps))
    cam = np.stack([body[..., 0], -(body[..., 2] - 1.0), body[..., 1] + 3.0], -1)
    f, c = 300.0, 128.0
    uv = cam[..., :2] * f / cam[..., 2:3] + c
    counts = np.arange(n) / fps / SQUAT_PERIOD_S            # reps completed + fraction
    images, anns = [], []
    for i in range(n):
        images.append({"id": i, "width": 256, "height": 256, "frame_number": i,
                       "rep_count_from_start": float(counts[i])})
        arm = {name: {"x": round(float(uv[i, h, 0])), "y": round(float(uv[i, h, 1])), "v": 1,
                      "z": float(cam[i, h, 2]), "x_global": float(body[i, h, 0]),
                      "y_global": float(body[i, h, 1]), "z_global": float(body[i, h, 2])}
               for name, h in ARMATURE_FROM_H36M.items()}
        anns.append({"id": i, "image_id": i, "category_id": 1, "armature_keypoints": arm})
    _dump_json(job / "labels.json", {"info": {"camera_K_matrix": [[f, 0, c], [0, f, c], [0, 0, 1]]},
                                     "categories": [{"id": 1, "name": "person"}],
                                     "images": images, "annotations": anns})
    _dump_json(job / "job.json", {"name": "visionfit-v0.4.0",
                                  "params": {"exercise": "SQUAT", "num_reps": reps, "frame_rate": fps}})
    (job / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    return {job.name: {"reps": reps, "n_src": n, "body": body[:, :17], "last_count": float(counts[-1])}}


# --------------------------------------------------------------------------- RepCount
def write_repcount(root: Path) -> dict:
    """annotation/{train,valid,test}.csv (float strings, blank tails, class aliases) + videos."""
    rows = {
        "train": [("squant", "stu1_10.mp4", "3", ["0", "40.0", "40", "85", "85", "130"]),
                  ("pullups", "train12.mp4", "2", ["5", "50", "50", "95"])],
        "valid": [("front_raise", "val3.mp4", "1", ["10", "60"])],
        "test": [("jump_jack", "test7.mp4", "2", ["0", "20", "20", "40"]),
                 ("pommelhorse", "test8.mp4", "1", ["3", "30"])],
    }
    n_l = 8
    for split, items in rows.items():
        ann = root / "annotation"
        ann.mkdir(parents=True, exist_ok=True)
        with open(ann / f"{split}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["", "type", "name", "count", *[f"L{i}" for i in range(1, n_l + 1)]])
            for i, (typ, name, count, ls) in enumerate(items):
                w.writerow([i, typ, name, count, *ls, *[""] * (n_l - len(ls))])
                vdir = root / "video" / split
                vdir.mkdir(parents=True, exist_ok=True)
                (vdir / name).write_bytes(b"\x00\x00\x00\x18ftypmp42" + name.encode())
    return rows


# --------------------------------------------------------------------------- UCO
def write_uco(root: Path) -> dict:
    """data/{S01,S02}/<activity>/cam{0,1}.avi + p2d/p3d marker files."""
    activities = {"S01": ["elbow_flexion_left", "knee_extension_right"], "S02": ["elbow_flexion_left"]}
    for subject, acts in activities.items():
        for act in acts:
            d = root / "data" / subject / act
            d.mkdir(parents=True, exist_ok=True)
            for cam in (0, 1):
                (d / f"cam{cam}.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI " + act.encode())
                (d / f"cam{cam}_p2d.txt").write_text("\n".join("1 2 3 4 5 6" for _ in range(20)) + "\n")
            (d / "p3d.txt").write_text("\n".join("1 2 3 4 5 6 7 8 9" for _ in range(20)) + "\n")
    return activities


WRITERS = {"fit3d": write_fit3d, "mmfit": write_mmfit, "kimore": write_kimore,
           "uiprmd": write_uiprmd, "infiniterep": write_infiniterep, "repcount": write_repcount,
           "uco": write_uco, "visionfit": write_visionfit}


def write_all(out: Path) -> dict[str, Path]:
    paths = {}
    for name, writer in WRITERS.items():
        writer(out / name)
        paths[name] = out / name
    return paths


def _dump_json(path: Path, obj, gz: bool = False) -> None:
    import gzip
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(path.with_name(path.name + ".gz"), "wt") as f:
            f.write(json.dumps(obj))
    else:
        path.write_text(json.dumps(obj))


if __name__ == "__main__":
    for name, path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "work/raw_fixtures")).items():
        print(f"{name}: {path}")
