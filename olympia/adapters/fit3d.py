"""Fit3D (imar): motion-capture 3D joints of 8 subjects doing 47 exercises, 50 fps.

Layout (sminchisescu-research/imar_vision_datasets_tools):
    <root>/train/<subject>/joints3d_25/<action>.json   {"joints3d_25": (T, 25, 3)} metres, z up
    <root>/train/<subject>/rep_ann.json                {action: [boundary frame, ...]}
    <root>/train/<subject>/camera_parameters/<camera>/<action>.json   (ids kept for the video path)

One clip per (subject, action) covering the annotated repetitions: frames
[b_0, b_last) at 50 fps, n boundaries -> n-1 reps, rep i = [b_i, b_{i+1}); then 25 fps.
Actions without a rep_ann entry (e.g. walk_the_box) keep the whole sequence with reps = null.
Warm-ups keep their own names: label "warmup7" for warmup_7 (method.md §1).
The 3D joints are camera-independent, so each action is ingested once (camera = null).

What is verified on the data, and how: `VERIFIED` below (also listed by `olympia sources`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import (Adapter, finish_clip, left_right_consistency, log,
                                     rejected, require_glob)
from olympia.errors import SourceFormatError
from olympia.io import read_json
from olympia.schema import Clip, Rejected, make_clip_id
from olympia.segment import check_rep_bounds
from olympia.skeleton import NECK, THORAX, to_h36m

NAME = "fit3d"
NATIVE_FPS = 50.0
CAMERAS = ("50591643", "58860488", "60457274", "65906101")
VERIFIED = (
    "(run time, per clip): bone lengths stable, left/right limbs symmetric, stature in metres, "
    "head above ankles in z (check_plausibility); and the left/right convention (indices 1-3 = "
    "LEFT leg, from the official eval_util.py H36M_TO_J17 map, medium confidence): the subject's "
    "left, computed as up × facing with facing = nose (H36M neck) minus thorax projected on the "
    "floor, must hold the H36M left hip in most frames (`extra[\"left_right_consistency\"]`, "
    "warning below 0.5). No real Fit3D file is available here, so this was checked on fixture "
    "data built to the documented convention only.")
_WARMUP = re.compile(r"^warmup_?(\d+)$")


def label_for(action: str) -> str:
    """warmup_7 -> 'warmup7' (kept under its own name); others are left to the normalizer."""
    m = _WARMUP.match(action)
    return f"warmup{m.group(1)}" if m else ""


def _load_rep_ann(path: Path) -> dict | Rejected:
    if not path.exists():
        return {}
    try:
        ann = read_json(path, "Fit3D rep_ann.json")
    except SourceFormatError as exc:
        return rejected(NAME, path, str(exc))
    if not isinstance(ann, dict):
        return rejected(NAME, path, "expected an object {action: [frames]}")
    return ann


def _joints(path: Path) -> np.ndarray:
    doc = read_json(path, "Fit3D joints file")
    if not isinstance(doc, dict) or "joints3d_25" not in doc:
        raise ValueError("no 'joints3d_25' key: not a Fit3D joints3d_25 file")
    kp = np.asarray(doc["joints3d_25"], dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (25, 3) or kp.shape[0] < 2:
        raise ValueError(f"joints3d_25 must be (T >= 2, 25, 3), got {kp.shape}")
    return kp


def _annotated_set(bounds, n_frames: int) -> tuple[int, np.ndarray, int, int]:
    """rep_ann boundaries [b_0, ..., b_n] -> (n reps, (n, 2) bounds relative to b_0, b_0, b_n);
    ValueError unless they are >= 2 increasing frames within the joints file."""
    b = np.asarray(bounds, dtype=np.int64).ravel()
    try:
        if b.size < 2:
            raise ValueError(f"{b.size} boundary makes no repetition")
        rb = check_rep_bounds(np.stack([b[:-1], b[1:]], axis=1), n_frames)
    except ValueError as exc:
        raise ValueError(f"boundaries {b.tolist()} must be >= 2 increasing frames within "
                         f"[0, {n_frames}] (the joints file has {n_frames} frames): {exc}") from None
    return len(rb), rb - b[0], int(b[0]), int(b[-1])


def iter_clips(raw_dir: Path) -> Iterator[Clip | Rejected]:
    raw_dir = Path(raw_dir)
    files = require_glob(raw_dir, "train/*/joints3d_25/*.json", NAME)
    reps_by_subject: dict[Path, dict | Rejected] = {}
    for path in files:
        subject_dir = path.parent.parent
        subject, action = subject_dir.name, path.stem
        clip_id = make_clip_id(NAME, subject, action)
        if subject_dir not in reps_by_subject:
            reps_by_subject[subject_dir] = _load_rep_ann(subject_dir / "rep_ann.json")
            if isinstance(reps_by_subject[subject_dir], Rejected):
                yield reps_by_subject[subject_dir]
        ann = reps_by_subject[subject_dir]
        try:
            kp = to_h36m(_joints(path), "fit3d25")
        except (ValueError, SourceFormatError) as exc:
            yield rejected(NAME, path, str(exc), field_="keypoints", clip_id=clip_id)
            continue
        extra = {"action": action, "cameras": _cameras(subject_dir, action)}
        bounds = None if isinstance(ann, Rejected) else ann.get(action)
        if bounds is None:
            reps, rb, start, end = None, [], 0, len(kp)
            extra["rep_annotation"] = "absent"
        else:
            try:
                reps, rb, start, end = _annotated_set(bounds, len(kp))
            except ValueError as exc:
                yield rejected(NAME, subject_dir / "rep_ann.json", f"action {action!r}: {exc}",
                               field_="rep_bounds", clip_id=clip_id)
                continue
        clip_kp = kp[start:end]
        if len(clip_kp) >= 2:
            lr = left_right_consistency(clip_kp, clip_kp[:, NECK] - clip_kp[:, THORAX])
            extra["left_right_consistency"] = round(lr, 3)
            if lr < 0.5:
                log.warning("%s: left/right look mirrored (left hip on the subject's left in "
                            "%.0f%% of frames)", path, 100 * lr)
        yield finish_clip(ADAPTER, path=path, raw_dir=raw_dir, clip_id=clip_id, subject=subject,
                          label_raw=action, label=label_for(action), keypoints=clip_kp,
                          src_fps=NATIVE_FPS, reps=reps, rep_bounds=rb, extra=extra,
                          split_group=f"{NAME}:{subject}")


def _cameras(subject_dir: Path, action: str) -> list[str]:
    found = sorted(p.parent.name for p in subject_dir.glob(f"camera_parameters/*/{action}.json"))
    return found or list(CAMERAS)


ADAPTER = Adapter(
    name=NAME, title="Fit3D",
    citation="Fieraru et al., AIFit: Automatic 3D Human-Interpretable Feedback Models for "
             "Fitness Training, CVPR 2021",
    license="Fit3D research license (non-commercial, imar.ro)",
    homepage="https://fit3d.imar.ro",
    layout="train/<subject>/joints3d_25/<action>.json + train/<subject>/rep_ann.json",
    native_fps=NATIVE_FPS, joint_set="fit3d25", iter_clips=iter_clips,
    verified=VERIFIED)
