"""UI-PRMD (evaluation): 10 rehabilitation movements × 10 subjects × 10 episodes, captured at
once by a Vicon optical tracker and a Kinect v2; segmented release: one repetition per file.

Layout of the release (both systems, correct and incorrect executions):
    {Segmented Movements, Incorrect Segmented Movements}/{Vicon, Kinect}/{Positions, Angles}/
        mMM_sSS_eEE_{positions,angles}[_inc].txt[.gz]
Any folder arrangement is accepted: every mMM_sSS_eEE_positions*.txt[.gz] under RAW_DIR is one
repetition. The system is read from the data (66 columns: Kinect, 117: Vicon), not the folder;
`.gz` is read transparently; `_inc` (or an "Incorrect" folder) marks an incorrect execution
(extra["incorrect"]). Clip ids name the system: uiprmd:{kinect,vicon}:mMM:sSS:eEE[:inc], and
extra["system"] says it too. Both systems of one subject share a split group.

Kinect (30 fps): 66 columns = 22 joints × 3, chained with the angles file (see `chain_positions`).
Joint 0 (waist) is absolute; every other joint's position row is an offset expressed in its
parent's rotated frame: p_j = p_parent + G_parent · o_j, G_j = G_parent · E(a_j), except the
collars (6, 10), which hang off the chest with the chest's OWN rotation E(a_2), as in the
authors' visualization code (python port tejas1904/UI-PRMD-Visualize). E(a) = Rz·Rx·Ry of the
(x, y, z) degree columns. Chosen on the 5 real file pairs of ../shared/realdata/uiprmd (the
port's copies of Kinect files; test_adapters_real.py repeats it): all 36 assignments of angle
columns × 6 orders × 2 collar rules; Rz·Rx·Ry keeps the ankles still during squats (2.1 cm vs
10.6 cm for the port's Rz·Ry·Rx) and the collar rule makes arms symmetric (8.5 vs 21.8 cm).
Units cm, y up (rotated to z up with (x, y, z) -> (x, -z, y)), x = the subject's left.
A deep-squat repetition at 100 fps would move the waist at 5.3 m/s; at 30 fps, 1.6 m/s.

Vicon (100 Hz): 117 columns = 39 markers × 3, absolute millimetres, z up. The markers are the
Plug-in Gait full-body set in its standard order (MARKERS below), established on the data of
../shared/realdata/uiprmd_release: the four highest markers are the head band, front pair
ahead of the back pair; the lowest six per side end in ankle/heel/toe with the toe ahead of
the heel; the two pelvis pairs sit at hip height, ASIS ahead of PSIS; and every "L" marker lies
on the subject's left (up × heel->toe) — the names of a public JavaScript port of the paper's
Table 2 list segments in another order and do not fit these data (their "Right elbow" is a
marker on the floor). H36M-17 joints from markers (VICON_RULE):
  hips: Harrington et al. 2007 regression in the pelvis frame (origin mid-ASIS, PW = ASIS
        distance, PD = mid-ASIS to mid-PSIS): anterior -0.24 PD - 9.9 mm, superior
        -0.30 PW - 10.9 mm, lateral ±(0.33 PW + 7.3) mm; root = mid hip joint centres;
  knee, ankle: the lateral epicondyle / malleolus marker moved medially (along the pelvis'
        lateral axis, made perpendicular to the segment) by half a typical adult joint width
        plus the marker radius: 57 mm (knee), 42 mm (ankle) (Plug-in Gait's joint-centre offset);
  shoulder: the acromion marker moved 47 mm down the thorax (C7/CLAV above T10/STRN);
  elbow: the lateral epicondyle marker; wrist: mid-point of the wrist bar (WRA, WRB);
  thorax: mid(C7, CLAV); spine: mid(root, thorax); head: centroid of the four head markers;
  neck/nose: mid(thorax, head).
Missing markers (all-zero or empty cells, as the real files have) are gap-filled per marker,
linearly in time (olympia.gaps, any run) when a needed marker misses at most 20 % of the
frames; otherwise the repetition is quarantined naming the marker and the count.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import (GAPS, Adapter, Item, finish_clip, flexion_angles,
                                     left_right_consistency, read_text, require_glob)
from olympia.gaps import fill_gaps
from olympia.schema import make_clip_id
from olympia.timebase import resample_to_length
from olympia.skeleton import (HEAD, L_ANKLE, L_ELBOW, L_HIP, L_KNEE, L_SHOULDER, L_WRIST, NECK,
                              R_ANKLE, R_ELBOW, R_HIP, R_KNEE, R_SHOULDER, R_WRIST, ROOT, SPINE,
                              THORAX, Y_UP_TO_Z_UP, rotate, to_h36m)

NAME = "uiprmd"
FPS = {"kinect": 30.0, "vicon": 100.0}
COLUMNS = {66: "kinect", 117: "vicon"}
CM, MM = 0.01, 0.001
MOVEMENTS = {
    1: "deep squat", 2: "hurdle step", 3: "inline lunge", 4: "side lunge", 5: "sit to stand",
    6: "standing active straight leg raise", 7: "standing shoulder abduction",
    8: "standing shoulder extension", 9: "standing shoulder internal external rotation",
    10: "standing shoulder scaption",
}
# Kinect: parent of each of the 22 joints (uiprmd22 order); collars and hips hang off chest and waist.
PARENTS = (-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20)
OWN_ROTATION_CHILDREN = (6, 10)   # collars: rotated by the chest's own E(a_2), not G_chest
# Vicon: Plug-in Gait full-body markers, in the files' column order.
MARKERS = tuple(
    "LFHD RFHD LBHD RBHD C7 T10 CLAV STRN RBAK "
    "LSHO LUPA LELB LFRM LWRA LWRB LFIN RSHO RUPA RELB RFRM RWRA RWRB RFIN "
    "LASI RASI LPSI RPSI LTHI LKNE LTIB LANK LHEE LTOE RTHI RKNE RTIB RANK RHEE RTOE".split())
_M = {m: i for i, m in enumerate(MARKERS)}
USED_MARKERS = tuple(
    "LFHD RFHD LBHD RBHD C7 T10 CLAV STRN LSHO LELB LWRA LWRB RSHO RELB RWRA RWRB "
    "LASI RASI LPSI RPSI LKNE LANK LHEE LTOE RKNE RANK RHEE RTOE".split())
KNEE_OFFSET_MM, ANKLE_OFFSET_MM, SHOULDER_DROP_MM = 57.0, 42.0, 47.0
VICON_RULE = ("Plug-in Gait markers -> H36M: Harrington 2007 hip centres, knee/ankle markers "
              f"{KNEE_OFFSET_MM:g}/{ANKLE_OFFSET_MM:g} mm medial, shoulders {SHOULDER_DROP_MM:g} mm "
              "below the acromion markers, elbow marker, mid wrist bar, thorax mid(C7, CLAV), "
              "head = head-band centroid, neck = mid(thorax, head)")
_NAME_RE = re.compile(r"^m(\d\d)_s(\d\d)_e(\d\d)_positions(_inc)?\.txt(\.gz)?$")


# --------------------------------------------------------------------------- Kinect chaining
def _rot(axis: str, deg: np.ndarray) -> np.ndarray:
    t = np.deg2rad(deg)
    c, s, o, z = np.cos(t), np.sin(t), np.ones_like(t), np.zeros_like(t)
    rows = {"x": ((o, z, z), (z, c, -s), (z, s, c)),
            "y": ((c, z, s), (z, o, z), (-s, z, c)),
            "z": ((c, -s, z), (s, c, z), (z, z, o))}[axis]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def euler_matrix(angles_deg: np.ndarray) -> np.ndarray:
    """(..., 3) angles (x, y, z) in degrees -> (..., 3, 3) = Rz · Rx · Ry."""
    a = np.asarray(angles_deg, np.float64)
    return _rot("z", a[..., 2]) @ _rot("x", a[..., 0]) @ _rot("y", a[..., 1])


def chain_positions(positions: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T, 66) relative positions + (T, 66) angles -> (T, 22, 3) absolute positions (file units)."""
    t = positions.shape[0]
    off = positions.reshape(t, 22, 3)
    e = euler_matrix(angles.reshape(t, 22, 3))
    g = np.empty_like(e)
    out = np.empty_like(off)
    out[:, 0], g[:, 0] = off[:, 0], e[:, 0]
    for j in range(1, 22):
        p = PARENTS[j]
        frame = e[:, p] if j in OWN_ROTATION_CHILDREN else g[:, p]
        out[:, j] = out[:, p] + np.einsum("tij,tj->ti", frame, off[:, j])
        g[:, j] = frame @ e[:, j]
    return out


# --------------------------------------------------------------------------- Vicon markers
def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _perpendicular(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Unit component of v perpendicular to the unit `axis` (per frame)."""
    return _unit(v - np.sum(v * axis, axis=-1, keepdims=True) * axis)


def markers_to_h36m(markers_mm: np.ndarray) -> np.ndarray:
    """(T, 39, 3) Plug-in Gait markers in mm, z up -> (T, 17, 3) H36M joints in mm (VICON_RULE)."""
    g = {m: np.asarray(markers_mm[:, i], np.float64) for m, i in _M.items()}
    mid_asis, mid_psis = (g["LASI"] + g["RASI"]) / 2, (g["LPSI"] + g["RPSI"]) / 2
    left = _unit(g["LASI"] - g["RASI"])
    forward = _perpendicular(mid_asis - mid_psis, left)
    up = np.cross(forward, left)
    pw = np.linalg.norm(g["LASI"] - g["RASI"], axis=-1, keepdims=True)
    pd = np.linalg.norm(mid_asis - mid_psis, axis=-1, keepdims=True)
    centre = mid_asis + forward * (-0.24 * pd - 9.9) + up * (-0.30 * pw - 10.9)
    lateral = left * (0.33 * pw + 7.3)
    out = np.empty((len(markers_mm), 17, 3))
    out[:, L_HIP], out[:, R_HIP] = centre + lateral, centre - lateral
    out[:, ROOT] = centre
    for side, sign, hip, knee, ankle in (("L", 1, L_HIP, L_KNEE, L_ANKLE), ("R", -1, R_HIP, R_KNEE, R_ANKLE)):
        medial = -sign * left
        kne = g[f"{side}KNE"]
        out[:, knee] = kne + KNEE_OFFSET_MM * _perpendicular(medial, _unit(kne - out[:, hip]))
        ank = g[f"{side}ANK"]
        out[:, ankle] = ank + ANKLE_OFFSET_MM * _perpendicular(medial, _unit(ank - out[:, knee]))
    thorax = (g["C7"] + g["CLAV"]) / 2
    thorax_up = _unit(thorax - (g["T10"] + g["STRN"]) / 2)
    head = (g["LFHD"] + g["RFHD"] + g["LBHD"] + g["RBHD"]) / 4
    out[:, THORAX], out[:, SPINE] = thorax, (centre + thorax) / 2
    out[:, HEAD], out[:, NECK] = head, (thorax + head) / 2
    for side, sho, elb, wri in (("L", L_SHOULDER, L_ELBOW, L_WRIST), ("R", R_SHOULDER, R_ELBOW, R_WRIST)):
        out[:, sho] = g[f"{side}SHO"] - SHOULDER_DROP_MM * thorax_up
        out[:, elb] = g[f"{side}ELB"]
        out[:, wri] = (g[f"{side}WRA"] + g[f"{side}WRB"]) / 2
    return out


def fill_markers(markers: np.ndarray) -> tuple[np.ndarray, float]:
    """Gap-fill each needed marker on its own (olympia.gaps, any run); (markers, fraction of
    frames with a filled marker). ValueError naming the marker when it misses more than the
    adapters' GapPolicy allows (20 % of frames) or everywhere."""
    out = np.array(markers, np.float64, copy=True)
    filled = np.zeros(len(out), bool)
    for name in USED_MARKERS:
        i = _M[name]
        missing = ~np.isfinite(out[:, i]).all(axis=-1)
        if not missing.any():
            continue
        if missing.mean() > GAPS.max_filled_fraction:
            raise ValueError(f"marker {name} (column {3 * i + 1}-{3 * i + 3}) is missing in "
                             f"{int(missing.sum())} of {len(out)} frames (first: frame "
                             f"{int(np.argmax(missing))}); at most {GAPS.max_filled_fraction:.0%} "
                             "can be gap-filled")
        out[:, i:i + 1] = fill_gaps(out[:, i:i + 1], None).keypoints
        filled |= missing
    return out, float(filled.mean())


# --------------------------------------------------------------------------- reading
def read_matrix(path: Path, width: int | None = None) -> np.ndarray:
    """(T, C) floats of a comma-separated file (.gz transparent); empty cells -> NaN.
    C = `width` when given, else 66 or 117; ValueError naming the row for a bad one."""
    rows = []
    for i, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.strip().rstrip(",").split(",")
        width = width or len(cells)
        if width not in COLUMNS:
            raise ValueError(f"row {i}: {width} columns; expected 66 (Kinect: 22 joints × 3) or "
                             "117 (Vicon: 39 markers × 3)")
        if len(cells) != width:
            raise ValueError(f"row {i}: {len(cells)} columns, expected {width} "
                             f"({'22 joints' if width == 66 else '39 markers'} × 3)")
        try:
            rows.append([float(c) if c.strip() else np.nan for c in cells])
        except ValueError as exc:
            raise ValueError(f"row {i}: non-numeric cell ({exc})")
    if len(rows) < 2:
        raise ValueError(f"{len(rows)} rows; a repetition needs at least 2 frames")
    return np.asarray(rows)


def angles_path(pos_path: Path) -> Path:
    """The Kinect angles file of a positions file: same folder, or the sibling Angles/ folder."""
    name = pos_path.name.replace("_positions", "_angles")
    same = pos_path.with_name(name)
    if same.exists() or pos_path.parent.name.lower() != "positions":
        return same
    sibling = "Angles" if pos_path.parent.name == "Positions" else "angles"
    return pos_path.parent.parent / sibling / name


def list_clips(raw_dir: Path) -> Iterator[Item]:
    pattern = "**/m[0-9][0-9]_s[0-9][0-9]_e[0-9][0-9]_positions*.txt*"
    for path in require_glob(raw_dir, pattern, NAME):
        if _NAME_RE.match(path.name):
            yield Item(path)


def read(raw_dir: Path, item: Item):
    path = item.path
    m = _NAME_RE.match(path.name)
    movement, subject, episode = int(m.group(1)), m.group(2), m.group(3)
    incorrect = bool(m.group(4)) or any(p.lower().startswith("incorrect") for p in path.parts)
    if movement not in MOVEMENTS:
        raise ValueError(f"movement m{movement:02d} is not one of m01-m10")
    data = read_matrix(path)
    system = COLUMNS[data.shape[1]]
    clip_id = make_clip_id(NAME, system, f"m{movement:02d}", f"s{subject}", f"e{episode}",
                           "inc" if incorrect else "")
    extra = {"system": system, "movement": f"m{movement:02d}", "episode": f"e{episode}",
             "incorrect": incorrect}
    folder = next((p.lower() for p in path.parts if p.lower() in FPS), None)
    if folder and folder != system:
        extra["folder_system"] = folder     # the data decide; the folder name disagreed
    if system == "kinect":
        kp, forward, gap = _kinect(path, data)
    else:
        kp, forward, gap = _vicon(data)
        extra["marker_rule"] = VICON_RULE
    extra["left_right_consistency"] = round(left_right_consistency(kp, forward), 3)
    yield finish_clip(ADAPTER, path=path, raw_dir=raw_dir, clip_id=clip_id,
                      subject=f"s{subject}", label_raw=MOVEMENTS[movement], keypoints=kp,
                      src_fps=FPS[system], reps=1, rep_bounds=[[0, len(kp)]], extra=extra,
                      split_group=f"{NAME}:s{subject}", gap_filled=gap,
                      pose_estimator="mocap" if system == "vicon" else "kinect_v2")


def _kinect(path: Path, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    ang_path = angles_path(path)
    if not ang_path.exists():
        raise ValueError(f"angles file {ang_path} is missing (needed to chain Kinect positions)")
    ang = read_matrix(ang_path, width=66)
    if pos.shape != ang.shape:
        raise ValueError(f"positions has {len(pos)} rows but {ang_path.name} has {len(ang)}")
    world = chain_positions(pos, ang)                     # cm, y up
    toes = world[:, [17, 21]].mean(axis=1) - world[:, [16, 20]].mean(axis=1)
    kp = rotate(to_h36m(world * CM, "uiprmd22"), Y_UP_TO_Z_UP)
    return kp, rotate(toes, Y_UP_TO_Z_UP), 0.0


def _vicon(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    markers = data.reshape(len(data), 39, 3)
    markers[np.all(markers == 0, axis=-1)] = np.nan       # Vicon writes a lost marker as zeros
    markers, gap = fill_markers(markers)
    toes = (markers[:, _M["LTOE"]] + markers[:, _M["RTOE"]] - markers[:, _M["LHEE"]]
            - markers[:, _M["RHEE"]]) / 2
    return markers_to_h36m(markers) * MM, toes, gap


def system_agreement(vicon: np.ndarray, kinect: np.ndarray) -> dict:
    """Do the two captures of one repetition agree on what moves? Both (T, 17, 3) at 25 fps,
    resampled to the same length. The joint whose flexion angle spans the widest range in the
    Vicon capture (the reference) must move alike in the Kinect one on the SAME side: r_same,
    the correlation of the two angle curves, above 0.7, and for a one-sided movement (the
    other side moves less than half as much in Vicon) more than with the mirrored joint."""
    n = min(len(vicon), len(kinect))
    av, ak = flexion_angles(resample_to_length(vicon, n)), flexion_angles(resample_to_length(kinect, n))
    span = {k: float(np.ptp(v)) for k, v in av.items()}
    joint, side = max(span, key=span.get)
    mirror = (joint, "right" if side == "left" else "left")
    corr = lambda a, b: float(np.corrcoef(a, b)[0, 1]) if np.ptp(a) > 0 and np.ptp(b) > 0 else 0.0  # noqa: E731
    r_same, r_mirror = corr(av[(joint, side)], ak[(joint, side)]), corr(av[(joint, side)], ak[mirror])
    one_sided = span[mirror] < 0.5 * span[(joint, side)]
    return {"joint": joint, "side": side, "range_deg": round(span[(joint, side)], 1),
            "one_sided": one_sided, "r_same": round(r_same, 3), "r_mirror": round(r_mirror, 3),
            "agree": r_same > 0.7 and (not one_sided or r_same > r_mirror)}


ADAPTER = Adapter(
    name=NAME, title="UI-PRMD",
    citation="Vakanski et al., A Data Set of Human Body Movements for Physical Rehabilitation "
             "Exercises, Data 3(1):2, 2018",
    license="UI-PRMD terms (Open Data Commons PDDL 1.0, University of Idaho)",
    homepage="https://webpages.uidaho.edu/ui-prmd/",
    layout="{Segmented Movements,Incorrect Segmented Movements}/{Vicon,Kinect}/{Positions,Angles}/"
           "mMM_sSS_eEE_{positions,angles}[_inc].txt[.gz] (Kinect 66 columns, Vicon 117)",
    native_fps=None, joint_set="uiprmd22 (Kinect) / Plug-in Gait 39 markers (Vicon)",
    role="evaluation", read=read, list_clips=list_clips,
    verified="Kinect: Euler order Rz·Rx·Ry, degrees, cm, y-up, authors' collar rule, measured on "
             "5 real file pairs; Vicon: Plug-in Gait marker order and sides established on the "
             "real release (heel->toe forward, L markers on the left); see the module docstring")
