"""KIMORE (evaluation, zero-shot): Kinect v2 skeletons of 5 rehabilitation exercises, ~30 fps.

Two layouts are read:
  - the release: <root>/{CG/Expert,CG/NotExpert,GPP/Stroke,GPP/Parkinson,GPP/BackPain}/<subject>/Es<k>/Raw/JointPosition*.csv
    (exercise from the Es folder, subject from its folder);
  - flat exports named by exercise, as copies of the release circulate:
    <root>/[<folder>/]JointPositionExercise<k>[(<n>)].csv (exercise k from the name; the copy
    suffix "(n)" tells the files of different people apart, so subject = "<folder>/copy<n>",
    copy1 without a suffix).
CSV: no header, one row per frame, 25 Kinect v2 joints × (x, y, z, tracking state) = 100
columns, or 75 (x, y, z only). Real exports start with 24-64 blank lines and end each row with
a comma (../shared/realdata/kimore): blank lines are skipped, trailing empty cells stripped.
A row whose column count differs from the first rejects the file, naming the row.
Tracking state 0 (not tracked) and all-zero joints become gaps, filled when under 20% of the
frames (state 1, inferred, is kept). Kinect camera space (metres, y up, z away from the
sensor) is rotated to z up with (x, y, z) -> (x, -z, y), a proper rotation, so Kinect's left
stays left.

Repetitions: KIMORE gives no counts. reps stays null (unknown) and no rep bounds are invented:
the counter's guess is recorded only as extra["reps_estimated"] (see docs/adapters.md), because
a guessed count would become a training target for LiFT's counting task.

Verified on the 4 real exports: stature 1.5-1.8 m, bones stable, limbs symmetric, upright
(check_plausibility, per clip).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import (Adapter, Item, PlausibilityLimits, finish_clip,
                                     left_right_consistency, read_text, require_glob)
from olympia.errors import LayoutError
from olympia.schema import make_clip_id
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
RELEASE_PATTERN = "*/*/*/Es[1-5]/Raw/JointPosition*.csv"
FEET = [KINECT_V2_25.index("FootLeft"), KINECT_V2_25.index("FootRight")]
ANKLES = [KINECT_V2_25.index("AnkleLeft"), KINECT_V2_25.index("AnkleRight")]
_FLAT = re.compile(r"^JointPositionExercise([1-5])(?:\s*\((\d+)\))?\.csv$", re.IGNORECASE)


def read_joint_positions(path: Path) -> np.ndarray:
    """(T, 25, 3) metres in Kinect camera space, NaN where untracked; ValueError naming the row."""
    rows = []
    width = None
    for i, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        while cells and not cells[-1].strip():      # trailing empty columns / the final comma
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
    arr = np.asarray(rows, dtype=np.float64).reshape(len(rows), n_joints, width // n_joints)
    xyz = arr[:, :, :3].copy()
    xyz[np.all(xyz == 0, axis=-1)] = np.nan
    if width == 100:
        xyz[arr[:, :, 3] == 0] = np.nan                 # tracking state 0: not tracked
    return xyz


def list_clips(raw_dir: Path) -> Iterator[Item]:
    """Release layout files, else flat JointPositionExercise<k>.csv exports."""
    try:
        paths = require_glob(raw_dir, RELEASE_PATTERN, NAME)
    except LayoutError:
        paths = [p for p in sorted(Path(raw_dir).rglob("JointPosition*.csv")) if _FLAT.match(p.name)]
        if not paths:
            raise LayoutError(f"{NAME}: expected {Path(raw_dir) / RELEASE_PATTERN} or flat "
                              f"JointPositionExercise<1-5>.csv exports under {raw_dir} (none found); "
                              "RAW_DIR must be the unpacked release root (see `olympia sources`)") from None
    for path in paths:
        yield Item(path, clip_id=make_clip_id(NAME, *_identity(raw_dir, path)[:3], path.stem))


def _identity(raw_dir: Path, path: Path) -> tuple[str, str, str, str]:
    """(group, subject, exercise key Es<k>, layout) of a file in either layout."""
    m = _FLAT.match(path.name)
    if path.parent.name == "Raw" and re.fullmatch(r"Es[1-5]", path.parent.parent.name):
        es_dir = path.parent.parent
        group = es_dir.parent.parent.relative_to(raw_dir).as_posix()
        return group, es_dir.parent.name, es_dir.name, "release"
    folder = path.parent.relative_to(raw_dir).as_posix()
    group = "flat" if folder == "." else f"flat/{folder}"
    return group, f"copy{m.group(2) or 1}", f"Es{m.group(1)}", "flat"


def read(raw_dir: Path, item: Item):
    group, subject, es, layout = _identity(raw_dir, item.path)
    joints = read_joint_positions(item.path)
    kp = rotate(to_h36m(joints, "kinect_v2_25"), Y_UP_TO_Z_UP)
    toes = rotate(joints[:, FEET].mean(axis=1) - joints[:, ANKLES].mean(axis=1), Y_UP_TO_Z_UP)
    extra = {"group": group, "exercise": es, "layout": layout,
             "left_right_consistency": round(left_right_consistency(kp, toes), 3)}
    yield finish_clip(ADAPTER, path=item.path, raw_dir=raw_dir, clip_id=item.clip_id,
                      subject=f"{group}/{subject}", label_raw=EXERCISES[es], keypoints=kp,
                      src_fps=NATIVE_FPS, reps=None, extra=extra,
                      split_group=f"{NAME}:{group}/{subject}", limits=LIMITS,
                      pose_estimator="kinect_v2")


ADAPTER = Adapter(
    name=NAME, title="KIMORE",
    citation="Capecci et al., The KIMORE Dataset: KInematic Assessment of MOvement and Clinical "
             "Scores for Remote Monitoring of Physical REhabilitation, IEEE TNSRE 27(7) 2019",
    license="KIMORE terms (research use, on request from the owners)",
    homepage="https://vrai.dii.univpm.it/content/kimore-dataset",
    layout="{CG/Expert,...,GPP/BackPain}/<subject>/Es<1-5>/Raw/JointPosition*.csv "
           "(or flat JointPositionExercise<k>[(n)].csv exports)",
    native_fps=NATIVE_FPS, joint_set="kinect_v2_25", role="evaluation", read=read,
    list_clips=list_clips,
    verified="4 real Kinect exports (../shared/realdata/kimore): 24-64 leading blank lines, "
             "100 values + trailing comma; stature/bones/symmetry/upright per clip")
