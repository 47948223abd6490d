"""UI-PRMD (evaluation): 10 rehabilitation movements × 10 subjects × 10 episodes, segmented
release: one repetition per file.

Layout: anywhere under RAW_DIR (only under a `Vicon` folder when one exists),
    mMM_sSS_eEE_positions[_inc].txt + mMM_sSS_eEE_angles[_inc].txt
in the same folder or in sibling `Positions/` and `Angles/` folders. Comma-separated, no header,
66 columns = 22 joints × 3 (skeleton uiprmd22 order).

Chaining (positions are not absolute): joint 0 (waist) is absolute; every other joint's
position row is an offset expressed in its parent's rotated frame:
    p_j = p_parent + G_parent · o_j,   G_j = G_parent · E(a_j)
except the collars (6, 10), which hang off the chest with the chest's OWN rotation E(a_2),
as in the dataset authors' visualization code (python port tejas1904/UI-PRMD-Visualize).
E(a) = Rz(a_z) · Rx(a_x) · Ry(a_y) with the three angle columns (a_x, a_y, a_z) in degrees
(the README's "YXZ" triplet read as extrinsic rotations: y first, then x, then z).

How this was determined, on the 5 real file pairs in ../shared/realdata/uiprmd (m01-m05,
test_adapters_real.py repeats it): all 36 assignments of angle columns to axes × 6 product
orders × 2 propagation rules were chained. Rz·Rx·Ry with columns as-is keeps the ankles
nearly fixed on the floor during squats and lunges (mean ankle std 2.1 cm; the public port's
Rz·Ry·Rx gives 10.6 cm; the next best assignment 6.1 cm), and the authors' collar rule gives
mirror-symmetric arms in symmetric movements (mean wrist asymmetry 8.5 cm vs 21.8 cm with
the fully chained collar). Units are centimetres (waist 85.6 above the floor, head tip
~1.5 m above the ankles after ×0.01); y is up (head above waist in every frame), x is the
subject's left (left hip offset +6.9, right -6.3) and the toes point +z: up × forward = +x =
left, so the sides are consistent. Axes are rotated to z up with (x, y, z) -> (x, -z, y).
Frame rate: the files are treated as 30 fps (Kinect rate stated by the port). The data
support it: a deep-squat repetition spans 73 frames and the waist drops 61 cm; at 100 fps
(the Vicon rate) the waist would peak at 5.3 m/s, at 30 fps at 1.6 m/s.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import Adapter, finish_clip, rejected, require_glob
from olympia.schema import Clip, Rejected, make_clip_id
from olympia.skeleton import Y_UP_TO_Z_UP, rotate, to_h36m

NAME = "uiprmd"
NATIVE_FPS = 30.0
CM = 0.01
MOVEMENTS = {
    1: "deep squat", 2: "hurdle step", 3: "inline lunge", 4: "side lunge", 5: "sit to stand",
    6: "standing active straight leg raise", 7: "standing shoulder abduction",
    8: "standing shoulder extension", 9: "standing shoulder internal external rotation",
    10: "standing shoulder scaption",
}
# Parent of each of the 22 joints (uiprmd22 order); collars and hips hang off chest and waist.
PARENTS = (-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20)
OWN_ROTATION_CHILDREN = (6, 10)   # collars: rotated by the chest's own E(a_2), not G_chest
_NAME_RE = re.compile(r"^m(\d\d)_s(\d\d)_e(\d\d)_positions(_inc)?\.txt$")


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


def read_matrix(path: Path) -> np.ndarray:
    """(T, 66) floats; ValueError naming the row for a bad one."""
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise ValueError("not a text file (binary content)")
    rows = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.strip().rstrip(",").split(",")
        if len(cells) != 66:
            raise ValueError(f"row {i}: {len(cells)} columns, expected 66 (22 joints × 3)")
        try:
            rows.append([float(c) for c in cells])
        except ValueError as exc:
            raise ValueError(f"row {i}: non-numeric cell ({exc})")
    if len(rows) < 2:
        raise ValueError(f"{len(rows)} rows; a repetition needs at least 2 frames")
    return np.asarray(rows)


def _angles_path(pos_path: Path) -> Path:
    name = pos_path.name.replace("_positions", "_angles")
    same = pos_path.with_name(name)
    if same.exists() or pos_path.parent.name.lower() != "positions":
        return same
    return pos_path.parent.parent / ("Angles" if pos_path.parent.name == "Positions" else "angles") / name


def iter_clips(raw_dir: Path) -> Iterator[Clip | Rejected]:
    raw_dir = Path(raw_dir)
    base = "**/Vicon/**/" if any(raw_dir.glob("**/Vicon")) else "**/"
    for pos_path in require_glob(raw_dir, base + "m[0-9][0-9]_s[0-9][0-9]_e[0-9][0-9]_positions*.txt", NAME):
        m = _NAME_RE.match(pos_path.name)
        if not m:
            continue
        movement, subject, episode, inc = int(m.group(1)), m.group(2), m.group(3), bool(m.group(4))
        clip_id = make_clip_id(NAME, f"m{movement:02d}", f"s{subject}", f"e{episode}", "inc" if inc else "")
        ang_path = _angles_path(pos_path)
        try:
            if not ang_path.exists():
                raise ValueError(f"angles file {ang_path} is missing (needed to chain positions)")
            pos, ang = read_matrix(pos_path), read_matrix(ang_path)
            if pos.shape != ang.shape:
                raise ValueError(f"positions has {len(pos)} rows but {ang_path.name} has {len(ang)}")
            if movement not in MOVEMENTS:
                raise ValueError(f"movement m{movement:02d} is not one of m01-m10")
        except ValueError as exc:
            yield rejected(NAME, pos_path, str(exc), field_="keypoints", clip_id=clip_id)
            continue
        kp = to_h36m(chain_positions(pos, ang) * CM, "uiprmd22")
        yield finish_clip(ADAPTER, path=pos_path, raw_dir=raw_dir, clip_id=clip_id,
                          subject=f"s{subject}", label_raw=MOVEMENTS[movement],
                          keypoints=rotate(kp, Y_UP_TO_Z_UP), src_fps=NATIVE_FPS, reps=1,
                          rep_bounds=[[0, len(kp)]],
                          extra={"movement": f"m{movement:02d}", "episode": f"e{episode}",
                                 "incorrect": inc},
                          split_group=f"{NAME}:s{subject}")


ADAPTER = Adapter(
    name=NAME, title="UI-PRMD",
    citation="Vakanski et al., A Data Set of Human Body Movements for Physical Rehabilitation "
             "Exercises, Data 3(1):2, 2018",
    license="UI-PRMD terms (free for research, University of Idaho)",
    homepage="https://webpages.uidaho.edu/ui-prmd/",
    layout="[**/Vicon/**/]mMM_sSS_eEE_positions.txt + mMM_sSS_eEE_angles.txt (66 columns)",
    native_fps=NATIVE_FPS, joint_set="uiprmd22", role="evaluation", iter_clips=iter_clips,
    verified="Euler order Rz·Rx·Ry, degrees, cm, y-up, authors' collar rule: measured on the "
             "5 real file pairs (ankle stillness, arm symmetry, stature); see module docstring")
