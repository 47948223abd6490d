"""Fit3D (imar): motion-capture 3D joints of 8 subjects doing 47 exercises, 50 fps.

Layout (sminchisescu-research/imar_vision_datasets_tools):
    <root>/train/<subject>/joints3d_25/<action>.json[.gz]   {"joints3d_25": (T, 25, 3)} metres, z up
    <root>/train/<subject>/rep_ann.json                     {action: [boundary frame, ...]}
    <root>/train/<subject>/camera_parameters/<camera>/<action>.json   (ids kept for the video path)
`.json.gz` is read transparently (a compressed copy of the release).

One clip per (subject, action) covering the annotated repetitions: frames
[b_0, b_last) at 50 fps, n boundaries -> n-1 reps, rep i = [b_i, b_{i+1}); then 25 fps.
Actions without a rep_ann entry (e.g. walk_the_box) keep the whole sequence with reps = null.
Warm-ups keep their own names: label "warmup7" for warmup_7 (method.md §1).
The 3D joints are camera-independent, so each action is ingested once (camera = null); the
camera ids (folder names, whose suffixes such as `50591643Lb` vary between copies, cut to
the 8-digit id) go to extra["cameras"].

What is verified on the data, and how: `VERIFIED` below (also listed by `olympia sources`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.adapters.common import (Adapter, Item, finish_clip, int_cell,
                                     left_right_consistency, load_json, log, rejected,
                                     require_glob, stem_of)
from olympia.schema import make_clip_id
from olympia.segment import check_rep_bounds
from olympia.skeleton import NECK, THORAX, to_h36m

NAME = "fit3d"
NATIVE_FPS = 50.0
CAMERAS = ("50591643", "58860488", "60457274", "65906101")
VERIFIED = (
    "(run time, per clip): bone lengths stable, left/right limbs symmetric, stature in metres, "
    "head above ankles in z (check_plausibility); and the left/right convention (indices 1-3 = "
    "LEFT leg, official eval_util.py H36M_TO_J17): the subject's left, up × forward with the best-conditioned "
    "of up = +z or the spine and forward = heel -> toe (foot points 17-20) or nose - thorax, "
    "must hold the H36M left hip "
    "(`extra[\"left_right_consistency\"]`, warning below 0.5; a file in the other convention "
    "reads 0.0). Real files (../shared/realdata/fit3d, subjects s03 s04 s05 s07, 187 "
    "sequences): every sequence parses, reps = len(rep_ann) - 1, consistency >= 0.82 on each.")
_WARMUP = re.compile(r"^warmup_?(\d+)$")
_CAMERA_ID = re.compile(r"^(\d+)")
FEET, ANKLES = [17, 18, 19, 20], [3, 6]   # foot points of both feet (17-18 left, 19-20 right)


def label_for(action: str) -> str:
    """warmup_7 -> 'warmup7' (kept under its own name); others are left to the normalizer."""
    m = _WARMUP.match(action)
    return f"warmup{m.group(1)}" if m else ""


def _joints(path: Path) -> np.ndarray:
    doc = load_json(path, "Fit3D joints file")
    if not isinstance(doc, dict) or "joints3d_25" not in doc:
        raise ValueError("no 'joints3d_25' key: not a Fit3D joints3d_25 file")
    kp = np.asarray(doc["joints3d_25"], dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (25, 3) or kp.shape[0] < 2:
        raise ValueError(f"joints3d_25 must be (T >= 2, 25, 3), got {kp.shape}")
    return kp


def _rep_ann(subject_dir: Path) -> dict:
    """The subject's {action: boundaries}; {} when the file is absent (no annotation)."""
    path = subject_dir / "rep_ann.json"
    if not path.exists() and not path.is_symlink():
        return {}
    ann = load_json(path, "Fit3D rep_ann.json")
    if not isinstance(ann, dict):
        raise ValueError(f"{path.name} must be an object {{action: [frames]}}, got {type(ann).__name__}")
    return ann


def annotated_set(bounds, n_frames: int) -> tuple[int, np.ndarray, int, int]:
    """rep_ann boundaries [b_0, ..., b_n] -> (n reps, (n, 2) bounds relative to b_0, b_0, b_n);
    ValueError unless they are >= 2 increasing whole frame numbers within the joints file."""
    if not isinstance(bounds, list):
        raise ValueError(f"boundaries must be a list of frame numbers, got {type(bounds).__name__}")
    b = np.asarray([int_cell(v, "boundary frame") for v in bounds], dtype=np.int64)
    try:
        if b.size < 2:
            raise ValueError(f"{b.size} boundary makes no repetition")
        rb = check_rep_bounds(np.stack([b[:-1], b[1:]], axis=1), n_frames, fps=NATIVE_FPS)
    except ValueError as exc:
        raise ValueError(f"boundaries {b.tolist()} must be >= 2 increasing frames within "
                         f"[0, {n_frames}] (the joints file has {n_frames} frames): {exc}") from None
    return len(rb), rb - b[0], int(b[0]), int(b[-1])


def list_clips(raw_dir: Path) -> Iterator[Item]:
    for path in require_glob(raw_dir, "train/*/joints3d_25/*.json*", NAME):
        if path.name.endswith((".json", ".json.gz")):
            yield Item(path, clip_id=make_clip_id(NAME, path.parent.parent.name, stem_of(path)))


def read(raw_dir: Path, item: Item):
    path = item.path
    subject_dir = path.parent.parent
    subject, action = subject_dir.name, stem_of(path)
    try:
        ann = _rep_ann(subject_dir)
    except ValueError as exc:
        yield rejected(NAME, subject_dir / "rep_ann.json", f"action {action!r}: {exc}",
                       field_="rep_bounds", clip_id=item.clip_id)
        return
    raw = _joints(path)
    kp = to_h36m(raw, "fit3d25")
    toes = raw[:, FEET].mean(axis=1) - raw[:, ANKLES].mean(axis=1)     # heel-to-toe: forward
    extra = {"action": action, "cameras": _cameras(subject_dir, action)}
    if action not in ann:
        reps, rb, start, end = None, [], 0, len(kp)
        extra["rep_annotation"] = "absent"
    else:
        try:
            reps, rb, start, end = annotated_set(ann[action], len(kp))
        except ValueError as exc:
            yield rejected(NAME, subject_dir / "rep_ann.json", f"action {action!r}: {exc}",
                           field_="rep_bounds", clip_id=item.clip_id)
            return
    clip_kp = kp[start:end]
    lr = left_right_consistency(clip_kp, toes[start:end], clip_kp[:, NECK] - clip_kp[:, THORAX])
    extra["left_right_consistency"] = round(lr, 3)
    if lr < 0.5:
        log.warning("%s: left/right look mirrored (left hip on the subject's left in %.0f%% of "
                    "frames)", path, 100 * lr)
    yield finish_clip(ADAPTER, path=path, raw_dir=raw_dir, clip_id=item.clip_id, subject=subject,
                      label_raw=action, label=label_for(action), keypoints=clip_kp,
                      src_fps=NATIVE_FPS, reps=reps, rep_bounds=rb, extra=extra,
                      split_group=f"{NAME}:{subject}")


def _cameras(subject_dir: Path, action: str) -> list[str]:
    found = sorted({_CAMERA_ID.match(p.parent.name).group(1) if _CAMERA_ID.match(p.parent.name)
                    else p.parent.name for p in subject_dir.glob(f"camera_parameters/*/{action}.json")})
    return found or list(CAMERAS)


ADAPTER = Adapter(
    name=NAME, title="Fit3D",
    citation="Fieraru et al., AIFit: Automatic 3D Human-Interpretable Feedback Models for "
             "Fitness Training, CVPR 2021",
    license="Fit3D research license (non-commercial, imar.ro)",
    homepage="https://fit3d.imar.ro",
    layout="train/<subject>/joints3d_25/<action>.json[.gz] + train/<subject>/rep_ann.json",
    native_fps=NATIVE_FPS, joint_set="fit3d25", read=read, list_clips=list_clips,
    verified=VERIFIED)
