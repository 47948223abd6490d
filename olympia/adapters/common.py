"""Shared pieces of the source adapters: the `Adapter` declaration, clip assembly (gap filling,
plausibility checks, resampling to 25 fps with olympia.timebase) and quarantine records.
Video-only sources yield `olympia.segment.Segment` work items for the pose path
(`olympia pose --segments FILE`); axis rotations live in olympia.skeleton.

Plausibility checks exist because several facts about the sources are uncertain (units, which
side is left, which axis is up). They measure the data and warn or fail WITH the numbers:
  - bone-length stability over time (mocap bones do not stretch),
  - left/right limb-length symmetry,
  - stature in metres (a unit error shows up as 100x or 1000x),
  - the body upright in the z-up frame (head above ankles in most frames).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from olympia.errors import LabelError, LayoutError, SourceFormatError
from olympia.gaps import GapPolicy, fill_gaps
from olympia.schema import Clip, Rejected
from olympia.segment import Segment, check_rep_bounds
from olympia.skeleton import (BONES, HEAD, L_ANKLE, L_HIP, L_KNEE, NECK, R_ANKLE, R_HIP, R_KNEE,
                              ROOT, SPINE, SYMMETRIC_BONES, THORAX, bone_lengths)
from olympia.timebase import rescale_rep_bounds, resample_to_fps

log = logging.getLogger("olympia.adapters")


# --------------------------------------------------------------------------- declaration
@dataclass(frozen=True)
class Adapter:
    """One source dataset, declared once."""

    name: str                      # registry key, also the clip-id prefix
    title: str                     # human name of the dataset
    citation: str                  # how to cite it
    license: str                   # license as the owners state it
    homepage: str                  # where users obtain it
    layout: str                    # expected on-disk layout under RAW_DIR (glob-like)
    native_fps: float | None       # fps of the raw keypoints / videos (None: read per file)
    joint_set: str | None          # olympia.skeleton.JOINT_SETS key (or the adapter's own table)
    role: str = "train"            # "train" or "evaluation"
    iter_clips: Callable[[Path], Iterator[Clip | Rejected]] | None = None
    iter_segments: Callable[[Path], Iterator[Segment | Rejected]] | None = None
    verified: str = ""             # what was checked on the data, and how

    @property
    def kind(self) -> str:
        """'clips' when the source ships 3D skeletons, 'segments' when only videos."""
        return "clips" if self.iter_clips is not None else "segments"

    def clips(self, raw_dir: Path) -> Iterator[Clip | Rejected]:
        """Clips of a 3D source. A video-only source yields one Rejected saying how many
        segments wait for the pose path (so a build that includes it reports, not crashes)."""
        if self.iter_clips is not None:
            yield from self.iter_clips(Path(raw_dir))
            return
        n = sum(1 for s in self.iter_segments(Path(raw_dir)) if isinstance(s, Segment))
        yield Rejected(self.name, str(raw_dir), "", f"{n} video segment(s) need the pose path: "
                       f"olympia ingest {self.name} {raw_dir} --segments-out SEGMENTS.json, then "
                       "olympia pose --segments SEGMENTS.json")


def require_path(path: Path, what: str) -> Path:
    """Raise LayoutError naming the missing expected path."""
    if not path.exists():
        raise LayoutError(f"expected {what} at {path} (not found); check RAW_DIR points at the "
                          "unpacked release root (see `olympia sources`)")
    return path


def require_glob(raw_dir: Path, pattern: str, adapter: str) -> list[Path]:
    """Files under raw_dir matching pattern, sorted; LayoutError naming the pattern if none."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise LayoutError(f"{adapter}: RAW_DIR {raw_dir} is not a directory")
    found = sorted(raw_dir.glob(pattern))
    if not found:
        raise LayoutError(f"{adapter}: expected files matching {raw_dir / pattern} (none found); "
                          f"RAW_DIR must be the unpacked release root (see `olympia sources`)")
    return found


def provenance(path: Path, raw_dir: Path, license_: str, *, hashed: bool = True) -> dict:
    """source_file (relative to RAW_DIR), license and, when `hashed`, the file's sha256. A video
    handed to the pose path is not hashed here: the pose stage hashes it when it poses it
    (memoized in its cache), so listing a source's segments reads no video bytes."""
    from olympia.io import sha256_file
    out = {"source_file": Path(path).relative_to(raw_dir).as_posix(), "license": license_}
    if hashed:
        out["sha256"] = sha256_file(path)
    return out


def rejected(source: str, path: Path | str, message: str, *, row: int | None = None,
             field_: str = "", clip_id: str | None = None) -> Rejected:
    """A quarantine record naming the file (and row); a message that already starts with the
    file's name (SourceFormatError) does not repeat it."""
    where = str(path) if row is None else f"{path}, row {row}"
    message = str(message).removeprefix(f"{path}: ")
    return Rejected(source=source, where=where, field=field_, message=message, clip_id=clip_id)


# --------------------------------------------------------------------------- gaps
# Mocap and Kinect gaps (untracked joints) are filled whatever their length, as long as they
# are at most 20 % of the frames (olympia.gaps; the pose path also limits the run length).
GAPS = GapPolicy(max_gap=None, max_filled_fraction=0.2)


def fill_missing_frames(keypoints: np.ndarray, gaps: GapPolicy = GAPS) -> tuple[np.ndarray, float]:
    """(filled float32 keypoints, fraction of frames filled); ValueError naming the count and
    the first bad frame when more than the policy allows are missing."""
    fill = fill_gaps(keypoints, gaps.max_gap)
    bad = fill.filled | fill.missing
    if fill.missing.any() or fill.filled_fraction > gaps.max_filled_fraction:
        raise ValueError(f"{int(bad.sum())} of {len(bad)} frames hold NaN/missing joints "
                         f"(first: frame {int(np.argmax(bad))}); more than "
                         f"{gaps.max_filled_fraction:.0%} cannot be gap-filled")
    return fill.keypoints, fill.filled_fraction


# --------------------------------------------------------------------------- plausibility
@dataclass(frozen=True)
class PlausibilityLimits:
    """Thresholds of `check_plausibility` (warn / fail)."""

    bone_cv_warn: float = 0.10        # std/median of a bone's length over time
    bone_cv_fail: float = 0.60
    asym_warn: float = 0.15           # |left/right - 1| of paired limb bones
    asym_fail: float = 0.60
    stature_min: float = 1.0          # metres; outside [min, max] fails (units are wrong)
    stature_max: float = 2.3
    upright_warn: float = 0.5         # fraction of frames with head above ankles
    upright_fail: float = 0.1


def stature(keypoints: np.ndarray) -> float:
    """Pose-independent standing-height proxy in the keypoints' units: median over time of
    head->neck->thorax->spine->root plus the mean of the two legs (hip->knee->ankle), plus
    10% for the part above the head joint and below the ankle (H36M proportions)."""
    bl = bone_lengths(keypoints)
    idx = {b: i for i, b in enumerate(BONES)}
    trunk = sum(bl[:, idx[b]] for b in ((ROOT, SPINE), (SPINE, THORAX), (THORAX, NECK), (NECK, HEAD)))
    leg_r = bl[:, idx[(R_HIP, R_KNEE)]] + bl[:, idx[(R_KNEE, R_ANKLE)]]
    leg_l = bl[:, idx[(L_HIP, L_KNEE)]] + bl[:, idx[(L_KNEE, L_ANKLE)]]
    return float(np.median(trunk + (leg_r + leg_l) / 2) * 1.10)


def plausibility_numbers(keypoints: np.ndarray) -> dict:
    """Measured numbers (no judgement): see check_plausibility."""
    kp = np.asarray(keypoints, np.float64)
    bl = bone_lengths(kp).astype(np.float64)
    med = np.median(bl, axis=0)
    cv = bl.std(axis=0) / np.maximum(med, 1e-9)
    idx = {b: i for i, b in enumerate(BONES)}
    asym = [abs(med[idx[l]] / max(med[idx[r]], 1e-9) - 1) for l, r in SYMMETRIC_BONES]
    ankles_z = kp[:, [R_ANKLE, L_ANKLE], 2].mean(axis=1)
    upright = float((kp[:, HEAD, 2] > ankles_z).mean())
    return {"bone_cv_max": float(cv.max()), "bone_cv_worst": [int(x) for x in BONES[int(cv.argmax())]],
            "asymmetry_max": float(max(asym)), "stature": stature(kp),
            "upright_fraction": upright}


def check_plausibility(keypoints: np.ndarray, where: str,
                       limits: PlausibilityLimits = PlausibilityLimits()) -> list[str]:
    """Return warnings; raise SourceFormatError (with the numbers) when a check fails."""
    n = plausibility_numbers(keypoints)
    warn, fail = [], []

    def judge(value, w, f, text):
        (fail if value > f else warn if value > w else []).append(text)

    judge(n["bone_cv_max"], limits.bone_cv_warn, limits.bone_cv_fail,
          f"bone {n['bone_cv_worst']} length varies by {n['bone_cv_max']:.1%} over time")
    judge(n["asymmetry_max"], limits.asym_warn, limits.asym_fail,
          f"left/right limb lengths differ by {n['asymmetry_max']:.1%}")
    if not limits.stature_min <= n["stature"] <= limits.stature_max:
        fail.append(f"standing height {n['stature']:.3g} is not in [{limits.stature_min}, "
                    f"{limits.stature_max}] m (wrong units? cm would read ~170, mm ~1700)")
    up = n["upright_fraction"]
    if up < limits.upright_fail:
        fail.append(f"head above ankles in only {up:.0%} of frames: the up axis is not +z")
    elif up < limits.upright_warn:
        warn.append(f"head above ankles in only {up:.0%} of frames (lying exercise, or wrong up axis)")
    if fail:
        raise SourceFormatError(where, "implausible skeleton: " + "; ".join(fail + warn))
    for w in warn:
        log.warning("%s: %s", where, w)
    return warn


def left_right_consistency(keypoints: np.ndarray, forward: np.ndarray) -> float:
    """Fraction of frames whose left hip lies on the subject's anatomical left.

    With z up and `forward` the subject's facing direction per frame (T, 3), the left side is
    up × forward in a right-handed frame. 1.0: labels consistent; 0.0: mirrored.
    """
    kp = np.asarray(keypoints, np.float64)
    fwd = np.asarray(forward, np.float64).copy()
    fwd[:, 2] = 0
    left_dir = np.cross(np.array([0.0, 0.0, 1.0]), fwd)
    side = np.einsum("ti,ti->t", kp[:, L_HIP] - kp[:, R_HIP], left_dir)
    valid = np.linalg.norm(fwd, axis=1) > 1e-6
    return float((side[valid] > 0).mean()) if valid.any() else float("nan")


def detect_units(keypoints: np.ndarray, limits: PlausibilityLimits = PlausibilityLimits()) -> float:
    """Scale factor (1, 0.01 or 0.001) that brings the stature into metres, or raise ValueError."""
    s = stature(keypoints)
    for scale in (1.0, 0.01, 0.001):
        if limits.stature_min <= s * scale <= limits.stature_max:
            return scale
    raise ValueError(f"standing height {s:.4g} fits none of m / cm / mm")


def detect_up_axis(keypoints: np.ndarray) -> np.ndarray:
    """Rotation matrix sending the axis along which the head sits above the ankles (median over
    frames, sign included) to +z. Chosen among the 6 signed axes; a proper rotation."""
    kp = np.asarray(keypoints, np.float64)
    v = np.median(kp[:, HEAD] - kp[:, [R_ANKLE, L_ANKLE]].mean(axis=1), axis=0)
    axis = int(np.argmax(np.abs(v)))
    sign = 1.0 if v[axis] > 0 else -1.0
    up = np.zeros(3)
    up[axis] = sign
    if axis == 2:
        return np.diag([1.0, sign, sign])           # identity or 180° about x
    # rotate `up` onto z about the axis perpendicular to both (a 90° rotation)
    k = np.cross(up, [0.0, 0.0, 1.0])
    k /= np.linalg.norm(k)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + kx + kx @ kx                 # Rodrigues with sin=1, cos=0


# --------------------------------------------------------------------------- clip assembly
def finish_clip(adapter: Adapter, *, path: Path, raw_dir: Path, clip_id: str, subject: str,
                label_raw: str, keypoints: np.ndarray, src_fps: float, reps: int | None,
                rep_bounds=(), camera: str | None = None, split_group: str = "",
                extra: dict | None = None, label: str = "", prov: dict | None = None,
                limits: PlausibilityLimits = PlausibilityLimits(),
                gaps: GapPolicy = GAPS) -> Clip | Rejected:
    """H36M keypoints (T, 17, 3) at src_fps, metres, z up -> a 25-fps Clip with its normalized
    label (`label`, else normalize_label(label_raw)), or a Rejected record naming the file and
    what is wrong (a label with no words, NaN frames, bounds outside the set, implausible
    skeleton)."""
    where = str(path)
    from olympia.labels import normalize_label   # imported late: pandas and spaCy load on use
    try:
        label = label or normalize_label(label_raw)
    except LabelError as exc:
        return Rejected(adapter.name, where, "label_raw", str(exc), clip_id=clip_id)
    try:
        kp = np.asarray(keypoints, np.float64)
        if kp.ndim != 3 or kp.shape[1:] != (17, 3) or kp.shape[0] < 2:
            raise ValueError(f"need (T >= 2, 17, 3) keypoints, got {kp.shape}")
        rb = check_rep_bounds(rep_bounds, kp.shape[0], reps)
        kp, gap = fill_missing_frames(kp, gaps)
        warnings = check_plausibility(kp, where, limits)
        out = resample_to_fps(kp, src_fps)
        rb25 = rescale_rep_bounds(rb, src_fps, out.shape[0])
    except (ValueError, SourceFormatError) as exc:
        msg = str(exc).removeprefix(f"{where}: ")
        return Rejected(adapter.name, where, "keypoints", msg, clip_id=clip_id)
    extra = dict(extra or {})
    if warnings:
        extra["plausibility_warnings"] = warnings
    return Clip(id=clip_id, source=adapter.name, subject=str(subject), label_raw=label_raw,
                label=label, keypoints=out, reps=reps, rep_bounds=rb25, camera=camera,
                split_group=split_group, source_fps=float(src_fps),
                provenance=prov or provenance(path, raw_dir, adapter.license),
                gap_filled_fraction=gap, extra=extra)
