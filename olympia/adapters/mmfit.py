"""MM-Fit: 3D pose of 10 exercises from the left RGB-D camera at 30 Hz (KDMStromback/mm-fit).

Layout:
    <root>/wNN/wNN_pose_3d.npy   (3, N, 18): [:, :, 0] frame number, 1..17 joints (x, y, z rows)
    <root>/wNN/wNN_labels.csv    no header: start_frame,end_frame,reps,exercise
Label frames are values of the frame-number column (not array indices); a set covers the rows
whose frame number lies in [start_frame, end_frame]. One clip per labeled set; no per-rep
boundaries (rep_bounds empty). The official w-split goes to extra["mmfit_split"].

Uncertain facts, checked on the data at run time:
- shape: the README says 33 joints and dataset.py zero-fills 16; the adapter reads the
  shape and rejects anything but (3, N, 18) naming the shape it found.
- units are undocumented: the stature proxy (olympia.adapters.common.stature) must read
  1.0-2.3 after a scale of 1, 0.01 or 0.001; the factor used is written to
  extra["unit_scale"] and logged.
- axes are undocumented: the up axis is taken as the signed axis along which the head sits
  above the ankles (median over the set), rotated to +z (extra["up_axis"]).
- sides: the listed order (1-3 l_hip.., 11-13 r_shoulder..) is mirrored from H36M and mapped
  by name (skeleton mmfit17); low confidence, so extra["left_right_consistency"] records the
  fraction of frames where the left hip lies on the subject's left (facing = nose - thorax).
The 21 real wNN_labels.csv files (616 rows) all parse (tests/test_adapters_real.py); no real
pose_3d.npy was available, so the pose side is tested on fixtures only.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from olympia.adapters.common import (Adapter, Item, detect_units, detect_up_axis, finish_clip,
                                     int_cell, left_right_consistency, read_text, rejected,
                                     require_glob)
from olympia.schema import Rejected, make_clip_id
from olympia.skeleton import NECK, THORAX, rotate, to_h36m

NAME = "mmfit"
NATIVE_FPS = 30.0
OFFICIAL_SPLIT = {
    **{w: "train" for w in ("01", "02", "03", "04", "06", "07", "08", "16", "17", "18")},
    **{w: "val" for w in ("14", "15", "19")}, **{w: "test" for w in ("09", "10", "11")},
    **{w: "unseen" for w in ("00", "05", "12", "13", "20")},
}
EXERCISES = ("squats", "lunges", "bicep_curls", "situps", "pushups", "tricep_extensions",
             "dumbbell_rows", "jumping_jacks", "dumbbell_shoulder_press", "lateral_shoulder_raises")


class LabelRow(NamedTuple):
    """One labeled set of wNN_labels.csv."""
    start: int       # first frame (a value of the pose file's frame-number column)
    end: int         # last frame, inclusive
    reps: int
    exercise: str
    line: int        # 1-based line in the CSV (names the row in errors, numbers the clip)


def parse_label_row(cells: list[str], line: int) -> LabelRow:
    """One CSV row -> LabelRow; ValueError naming what is wrong (counts as int32, finite)."""
    if len(cells) != 4:
        raise ValueError(f"expected 4 columns start_frame,end_frame,reps,exercise, got {len(cells)}: {cells}")
    start, end, reps = (int_cell(c, what) for c, what in zip(cells[:3], ("start_frame", "end_frame", "reps")))
    if end <= start or not cells[3].strip():
        raise ValueError(f"need start < end and an exercise name, got {cells}")
    return LabelRow(start, end, reps, cells[3].strip(), line)


def label_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line, cells) of every non-blank row of wNN_labels.csv."""
    return [(i, cells) for i, cells in enumerate(csv.reader(io.StringIO(read_text(path), newline="")), start=1)
            if cells and any(c.strip() for c in cells)]


def read_labels(path: Path) -> tuple[list[LabelRow], list[Rejected]]:
    """Parse wNN_labels.csv -> ([LabelRow, ...], [Rejected row, ...]) (tests, tools)."""
    rows, bad = [], []
    for line, cells in label_rows(path):
        try:
            rows.append(parse_label_row(cells, line))
        except ValueError as exc:
            bad.append(rejected(NAME, path, str(exc), row=line))
    return rows, bad


def _load_pose(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"not a readable .npy array ({exc})")
    if arr.ndim != 3 or arr.shape[0] != 3 or arr.shape[2] != 18:
        raise ValueError(f"expected pose_3d shape (3, N, 18) = frame column + 17 joints, got "
                         f"{arr.shape}")
    return arr.astype(np.float64)


def list_clips(raw_dir: Path) -> Iterator[Item]:
    for labels_path in require_glob(raw_dir, "w[0-9][0-9]/w[0-9][0-9]_labels.csv", NAME):
        yield Item(labels_path)


def read(raw_dir: Path, item: Item):
    """A workout's labels file -> one sub-item per labeled set (each quarantined on its own),
    or, when the pose file is missing or unreadable, one Rejected per set saying why."""
    if item.row is not None:
        yield _set_clip(raw_dir, item)
        return
    labels_path = item.path
    w = labels_path.parent.name
    pose_path = labels_path.parent / f"{w}_pose_3d.npy"
    rows = label_rows(labels_path)
    if not rows:
        raise ValueError("no labeled set (an empty labels file): restore it from the release")
    problem = None
    if not pose_path.exists():
        problem = (f"{pose_path.name} is missing (expected beside {labels_path.name}): the set has "
                   "no 3D pose; unpack the full MM-Fit release")
    else:
        try:
            arr = _load_pose(pose_path)
        except (ValueError, OSError, EOFError) as exc:
            problem = f"{pose_path.name}: {exc}"
    for line, cells in rows:
        clip_id = make_clip_id(NAME, w, line, cells[-1].strip() if len(cells) == 4 else "")
        if problem:
            yield rejected(NAME, labels_path, problem, row=line, field_="keypoints", clip_id=clip_id)
            continue
        yield Item(labels_path, row=line, clip_id=clip_id, data=(cells, pose_path, arr))


def _set_clip(raw_dir: Path, item: Item):
    cells, pose_path, arr = item.data
    start, end, reps, exercise, line = parse_label_row(cells, item.row)
    w = item.path.parent.name
    frames = arr[0, :, 0]
    sel = (frames >= start) & (frames <= end)
    if sel.sum() < 2:
        raise ValueError(f"set frames [{start}, {end}] select {int(sel.sum())} rows of "
                         f"{pose_path.name} (frames {frames.min():.0f}-{frames.max():.0f})")
    joints = np.moveaxis(arr[:, sel, 1:], 0, -1)        # (n, 17, 3)
    joints[np.all(joints == 0, axis=-1)] = np.nan        # undetected joints are zeros
    return _clip(raw_dir, pose_path, joints, item.clip_id, w, exercise, reps, start, end)


def _clip(raw_dir, pose_path, kp_src, clip_id, w, exercise, reps, start, end):
    kp = to_h36m(kp_src, "mmfit17").astype(np.float64)
    extra = {"workout": w, "mmfit_split": OFFICIAL_SPLIT.get(w[1:], "unknown"),
             "start_frame": start, "end_frame": end}
    finite = np.isfinite(kp).all(axis=(1, 2))
    try:
        scale = detect_units(kp[finite])
        up = detect_up_axis(kp[finite])
    except ValueError as exc:
        return rejected(NAME, pose_path, f"set {clip_id}: {exc}", field_="keypoints", clip_id=clip_id)
    kp = rotate(kp * scale, up)
    extra.update(unit_scale=scale, up_axis=np.round(up, 3).tolist())
    ok = np.isfinite(kp).all(axis=(1, 2))
    extra["left_right_consistency"] = round(left_right_consistency(kp[ok], kp[ok, NECK] - kp[ok, THORAX]), 3)
    return finish_clip(ADAPTER, path=pose_path, raw_dir=raw_dir, clip_id=clip_id, subject=w,
                       label_raw=exercise, keypoints=kp, src_fps=NATIVE_FPS, reps=reps, extra=extra,
                       split_group=f"{NAME}:{w}", pose_estimator="rgbd")   # the release's pose from its RGB-D camera


ADAPTER = Adapter(
    name=NAME, title="MM-Fit",
    citation="Strömbäck, Huang, Radu, MM-Fit: Multimodal Deep Learning for Automatic Exercise "
             "Logging across Sensing Devices, IMWUT 4(4) 2020",
    license="MM-Fit terms (research use, mmfit.github.io)",
    homepage="https://mmfit.github.io",
    layout="wNN/wNN_pose_3d.npy (3, N, 18) + wNN/wNN_labels.csv (start,end,reps,exercise)",
    native_fps=NATIVE_FPS, joint_set="mmfit17", read=read, list_clips=list_clips,
    clips_cut_at_sets=True,
    verified="units, up axis and sides measured per set (extra: unit_scale, up_axis, "
             "left_right_consistency); all 21 real label CSVs parse")
