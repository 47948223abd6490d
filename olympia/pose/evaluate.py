"""Pose quality against motion capture: time alignment, MPJPE, PA-MPJPE, per-joint errors.

Pure numpy, no I/O. Both skeletons are H36M-17 (olympia.skeleton), metres, on the same frame
rate (the pose path's 25 fps; a 50 fps mocap is resampled with olympia.timebase first).

- MPJPE (Human3.6M protocol 1): mean joint distance after subtracting each skeleton's root.
  The two must share an orientation: give the reference in the camera's frame (the video
  skeleton is camera-aligned), or let `evaluate_pose` fit one rotation for the whole sequence
  (`rotation="sequence"`); no per-frame rotation and no scale are fitted.
- PA-MPJPE (protocol 2): mean joint distance after a per-frame similarity alignment
  (rotation, uniform scale, translation; Umeyama 1991) of the estimate onto the reference.
- Time alignment: `pred[i]` is compared with `ref[i + offset]`; `estimate_offset` picks the
  offset with the lowest PA-MPJPE over a search window, `signal_offset` cross-correlates
  rotation-invariant motion signals (an independent check of the same quantity).

Frames where the estimate has no person (NaN) are left out and counted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from olympia.skeleton import H36M_JOINTS, HEAD, L_ANKLE, L_WRIST, R_ANKLE, R_WRIST, ROOT


def similarity_transforms(source: np.ndarray, target: np.ndarray):
    """Per-frame least-squares similarity (s, R, t) with target ≈ s·R·source + t (Umeyama).

    source, target: (T, J, 3). Returns scale (T,), rotation (T, 3, 3) with det +1 (a
    reflection is never used), translation (T, 3)."""
    src = np.asarray(source, np.float64)
    tgt = np.asarray(target, np.float64)
    mu_s, mu_t = src.mean(axis=1, keepdims=True), tgt.mean(axis=1, keepdims=True)
    xs, xt = src - mu_s, tgt - mu_t
    cov = np.einsum("tji,tjk->tik", xt, xs) / src.shape[1]
    u, d, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    sign[sign == 0] = 1.0
    fix = np.ones_like(d)
    fix[:, 2] = sign
    rot = u @ (fix[:, :, None] * vt)
    var_s = (xs ** 2).sum(axis=(1, 2)) / src.shape[1]
    scale = (d * fix).sum(axis=1) / np.maximum(var_s, 1e-12)
    trans = mu_t[:, 0] - scale[:, None] * np.einsum("tij,tj->ti", rot, mu_s[:, 0])
    return scale, rot, trans


def procrustes_align(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(T, J, 3) estimate similarity-aligned onto the reference, frame by frame."""
    scale, rot, trans = similarity_transforms(pred, ref)
    return scale[:, None, None] * np.einsum("tij,tkj->tki", rot, np.asarray(pred, np.float64)) \
        + trans[:, None]


def root_relative(keypoints: np.ndarray, root: int = ROOT) -> np.ndarray:
    kp = np.asarray(keypoints, np.float64)
    return kp - kp[:, root:root + 1]


def sequence_rotation(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """One rotation R (3, 3) minimising sum ||R·pred - ref||² over all frames and joints of
    root-relative skeletons (Kabsch): orientation alignment without a camera."""
    p = root_relative(pred).reshape(-1, 3)
    r = root_relative(ref).reshape(-1, 3)
    u, _, vt = np.linalg.svd(r.T @ p)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    return u @ fix @ vt


def joint_errors(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(T, J) Euclidean distance per frame and joint."""
    return np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(ref, np.float64), axis=-1)


def mpjpe(pred: np.ndarray, ref: np.ndarray, root: int = ROOT) -> float:
    """Mean per-joint position error after root alignment (same orientation assumed)."""
    return float(joint_errors(root_relative(pred, root), root_relative(ref, root)).mean())


def pa_mpjpe(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean per-joint position error after a per-frame similarity alignment."""
    return float(joint_errors(procrustes_align(pred, ref), ref).mean())


def overlap(n_pred: int, n_ref: int, offset: int) -> tuple[slice, slice]:
    """Slices of pred and ref compared when pred[i] matches ref[i + offset]."""
    start = max(0, -offset)
    stop = min(n_pred, n_ref - offset)
    stop = max(stop, start)
    return slice(start, stop), slice(start + offset, stop + offset)


def _valid(kp: np.ndarray) -> np.ndarray:
    return np.isfinite(kp).all(axis=(1, 2))


def estimate_offset(pred: np.ndarray, ref: np.ndarray, max_offset: int = 25,
                    min_overlap: int = 10) -> tuple[int, dict[int, float]]:
    """Offset (frames) with pred[i] ≈ ref[i + offset] minimising the PA-MPJPE; also returns
    the PA-MPJPE of every offset tried (a flat curve means the motion cannot place it)."""
    curve = {}
    for off in range(-max_offset, max_offset + 1):
        sp, sr = overlap(len(pred), len(ref), off)
        p, r = pred[sp], ref[sr]
        keep = _valid(p) & _valid(r)
        if keep.sum() >= min_overlap:
            curve[off] = pa_mpjpe(p[keep], r[keep])
    if not curve:
        raise ValueError(f"no offset within ±{max_offset} frames leaves {min_overlap} frames "
                         f"with a detected person in both skeletons ({len(pred)} and {len(ref)} frames)")
    return min(curve, key=curve.get), curve


# Rotation-invariant motion signals: distances of the end effectors to the root.
_SIGNAL_JOINTS = (HEAD, L_WRIST, R_WRIST, L_ANKLE, R_ANKLE)


def motion_signals(keypoints: np.ndarray) -> np.ndarray:
    """(T, 5) distances of head, wrists and ankles to the root (invariant to the camera)."""
    kp = np.asarray(keypoints, np.float64)
    return np.linalg.norm(kp[:, _SIGNAL_JOINTS] - kp[:, ROOT:ROOT + 1], axis=-1)


def signal_offset(pred: np.ndarray, ref: np.ndarray, max_offset: int = 25,
                  min_overlap: int = 10) -> tuple[int, float]:
    """Offset maximising the normalized cross-correlation of the motion signals (channels
    weighted by the reference's variance, so a joint that does not move does not vote).
    Returns (offset, correlation at that offset)."""
    a, b = motion_signals(pred), motion_signals(ref)
    best = (0, -np.inf)
    for off in range(-max_offset, max_offset + 1):
        sp, sr = overlap(len(a), len(b), off)
        x, y = a[sp], b[sr]
        keep = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
        if keep.sum() < min_overlap:
            continue
        x, y = x[keep] - x[keep].mean(axis=0), y[keep] - y[keep].mean(axis=0)
        sx, sy = x.std(axis=0), y.std(axis=0)
        ok = (sx > 1e-9) & (sy > 1e-9)
        if not ok.any():
            continue
        corr = (x[:, ok] * y[:, ok]).mean(axis=0) / (sx[ok] * sy[ok])
        weight = sy[ok] ** 2
        score = float((corr * weight).sum() / weight.sum())
        if score > best[1]:
            best = (off, score)
    return best


@dataclass
class PoseEvaluation:
    """Errors of one video skeleton against its motion capture (metres)."""

    offset: int                    # pred[i] compared with ref[i + offset]
    n_compared: int                # frames compared (overlap, person detected)
    n_undetected: int              # frames of the overlap without a person (left out)
    mpjpe: float                   # root-aligned, orientation as given / one sequence rotation
    pa_mpjpe: float                # per-frame similarity alignment
    per_joint_mpjpe: np.ndarray    # (17,)
    per_joint_pa_mpjpe: np.ndarray  # (17,)
    per_frame_pa_mpjpe: np.ndarray  # (n_compared,)
    rotation: str                  # "given" or "sequence"

    def as_dict(self) -> dict:
        return {"offset_frames": self.offset, "frames": self.n_compared,
                "undetected_frames": self.n_undetected, "rotation": self.rotation,
                "mpjpe_mm": round(1000 * self.mpjpe, 1), "pa_mpjpe_mm": round(1000 * self.pa_mpjpe, 1),
                "per_joint_mpjpe_mm": {n: round(1000 * float(e), 1)
                                       for n, e in zip(H36M_JOINTS, self.per_joint_mpjpe)},
                "per_joint_pa_mpjpe_mm": {n: round(1000 * float(e), 1)
                                          for n, e in zip(H36M_JOINTS, self.per_joint_pa_mpjpe)}}


def evaluate_pose(pred: np.ndarray, ref: np.ndarray, *, offset: int | None = None,
                  max_offset: int = 25, rotation: str = "given") -> PoseEvaluation:
    """Compare a (T, 17, 3) video skeleton with a (T', 17, 3) reference on the same frame rate.

    offset None: estimated (`estimate_offset`). rotation "given": the two share an
    orientation (reference put in the camera frame); "sequence": one rotation fitted over the
    whole sequence for MPJPE (PA-MPJPE fits its own per frame either way)."""
    if rotation not in ("given", "sequence"):
        raise ValueError(f"rotation must be 'given' or 'sequence', got {rotation!r}")
    pred = np.asarray(pred, np.float64)
    ref = np.asarray(ref, np.float64)
    if offset is None:
        offset, _ = estimate_offset(pred, ref, max_offset)
    sp, sr = overlap(len(pred), len(ref), offset)
    p, r = pred[sp], ref[sr]
    detected = _valid(p)
    keep = detected & _valid(r)
    if not keep.any():
        raise ValueError(f"no frame to compare at offset {offset}: {len(p)} overlapping frames, "
                         f"{int(detected.sum())} with a person")
    p, r = p[keep], r[keep]
    if rotation == "sequence":
        p = root_relative(p) @ sequence_rotation(p, r).T
    err = joint_errors(root_relative(p), root_relative(r))
    pa = joint_errors(procrustes_align(p, r), r)
    return PoseEvaluation(offset=int(offset), n_compared=int(keep.sum()),
                          n_undetected=int((~detected).sum()), mpjpe=float(err.mean()),
                          pa_mpjpe=float(pa.mean()), per_joint_mpjpe=err.mean(axis=0),
                          per_joint_pa_mpjpe=pa.mean(axis=0), per_frame_pa_mpjpe=pa.mean(axis=1),
                          rotation=rotation)
