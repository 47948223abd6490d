"""KIMORE (evaluation, zero-shot): Kinect v2 skeletons of 5 rehabilitation exercises, ~30 fps.

Layout (third-party loaders, medium confidence):
    <root>/{CG/Expert,CG/NotExpert,GPP/Stroke,GPP/Parkinson,GPP/BackPain}/<subject>/Es<k>/Raw/JointPosition*.csv
CSV: no header, one row per frame, 25 Kinect v2 joints × (x, y, z, tracking state) = 100
columns; some files have 75 columns (x, y, z only) or trailing empty columns (stripped). A row
whose non-empty column count differs from the file's first row rejects the file, naming the
row. Kinect camera space (metres, y up, z away from the sensor) is rotated to z up with
(x, y, z) -> (x, -z, y), a proper rotation, so Kinect's left stays left. All-zero joints
(untracked) become gaps, filled when under 20% of frames. No repetition counts: reps = null.

Verified at run time per clip: stature in metres, bones stable, limbs symmetric, upright
(check_plausibility). No real KIMORE file was available here: checked on fixtures only.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import (Adapter, PlausibilityLimits, finish_clip, rejected,
                                     require_glob)
from olympia.schema import Clip, Rejected, make_clip_id
from olympia.skeleton import KINECT_V2_25, Y_UP_TO_Z_UP, rotate, to_h36m

NAME = "kimore"
NATIVE_FPS = 30.0
EXERCISES = {  # Capecci et al. 2019, Table 1
    "Es1": "lifting of the arms",
    "Es2": "lateral tilt of the trunk with the arms in extension",
    "Es3": "trunk rotation",
    "Es4": "pelvis rotations on the transverse plane",
    "Es5": "squatting",
}
# Kinect v2 tracking jitters more than mocap: bones may vary more before a warning.
LIMITS = PlausibilityLimits(bone_cv_warn=0.2)


def read_joint_positions(path: Path) -> np.ndarray:
    """(T, 25, 3) metres in Kinect camera space; SourceFormat problems raise ValueError with row."""
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise ValueError("not a text CSV (binary content)")
    rows = []
    width = None
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        while cells and not cells[-1].strip():      # trailing empty columns
            cells.pop()
        width = width or len(cells)
        if width not in (75, 100):
            raise ValueError(f"row {i}: {width} columns; expected 100 (25 joints × x,y,z,state) or 75")
        if len(cells) != width:
            raise ValueError(f"row {i}: {len(cells)} columns where earlier rows have {width}")
        try:
            values = [float(c) if c.strip() else np.nan for c in cells]
        except ValueError as exc:
            raise ValueError(f"row {i}: non-numeric cell ({exc})")
        rows.append(values)
    if len(rows) < 2:
        raise ValueError(f"{len(rows)} frame rows; a set needs at least 2")
    n_joints = len(KINECT_V2_25)
    arr = np.asarray(rows, dtype=np.float64).reshape(len(rows), n_joints, width // n_joints)[:, :, :3]
    arr[np.all(arr == 0, axis=-1)] = np.nan
    return arr


def iter_clips(raw_dir: Path) -> Iterator[Clip | Rejected]:
    raw_dir = Path(raw_dir)
    for path in require_glob(raw_dir, "*/*/*/Es[1-5]/Raw/JointPosition*.csv", NAME):
        es_dir = path.parent.parent
        subject_dir = es_dir.parent
        group = subject_dir.parent.relative_to(raw_dir).as_posix()
        subject = subject_dir.name
        m = re.match(r"Es[1-5]", es_dir.name)
        clip_id = make_clip_id(NAME, group.replace("/", "-"), subject, es_dir.name, path.stem)
        try:
            kp = to_h36m(read_joint_positions(path), "kinect_v2_25")
        except ValueError as exc:
            yield rejected(NAME, path, str(exc), field_="keypoints", clip_id=clip_id)
            continue
        yield finish_clip(ADAPTER, path=path, raw_dir=raw_dir, clip_id=clip_id,
                          subject=f"{group}/{subject}", label_raw=EXERCISES[m.group(0)],
                          keypoints=rotate(kp, Y_UP_TO_Z_UP), src_fps=NATIVE_FPS, reps=None,
                          extra={"group": group, "exercise": es_dir.name},
                          split_group=f"{NAME}:{group}/{subject}", limits=LIMITS)


ADAPTER = Adapter(
    name=NAME, title="KIMORE",
    citation="Capecci et al., The KIMORE Dataset: KInematic Assessment of MOvement and Clinical "
             "Scores for Remote Monitoring of Physical REhabilitation, IEEE TNSRE 27(7) 2019",
    license="KIMORE terms (research use, on request from the owners)",
    homepage="https://vrai.dii.univpm.it/content/kimore-dataset",
    layout="{CG/Expert,...,GPP/BackPain}/<subject>/Es<1-5>/Raw/JointPosition*.csv",
    native_fps=NATIVE_FPS, joint_set="kinect_v2_25", role="evaluation", iter_clips=iter_clips,
    verified="stature/bones/symmetry/upright per clip; fixtures only (no real file here)")
