"""A calibrated MediaPipe-33 -> H36M-17 mapping: a linear landmark -> joint regressor.

MediaPipe's landmarks are not H36M joints: its "hip" sits on the skin, higher and wider than a
hip joint centre, its "nose" is no H36M neck. The table mapping (olympia.skeleton
JOINT_SETS["mediapipe33"]) copies or averages landmarks; this regressor learns each joint as a
weighted sum of all 33 landmarks, fitted on Fit3D videos against their motion capture.

Model (pure numpy): joint_j = sum_k w_jk · landmark_k, the same weights for x, y and z, every
row summing to 1. So the mapping commutes with any rotation, scale and translation of the
landmarks: it does not depend on the camera, the body's place or MediaPipe's metric scale.

Fit (`fit_regressor`): minimise over W, with a per-frame similarity (s_n, R_n, t_n),
    sum_n || s_n·R_n·(W·L_n) + t_n - Y_n ||²  +  ridge · mean(diag(A)) · ||W - W_table||²,
where L_n are the landmarks and Y_n the mocap joints of frame n (the PA-MPJPE the regressor is
judged by), A the landmarks' Gram matrix (so `ridge` does not depend on units or frame count),
and the prior W_table the table mapping. Alternating: align (Umeyama) with W fixed, then solve
each joint's constrained ridge problem in closed form (KKT). The estimate is aligned onto the
mocap, never the reverse, so shrinking the skeleton cannot lower the loss.

The fitted file (olympia/pose/data/mediapipe_h36m_regressor.json) carries its provenance: the
videos it was fitted on, the recipe, the date, and the same recipe fitted on each subject
alone (`held_out`) with their figures on the other subject. Regenerate it with
    python -m olympia.pose.quality ../shared/realdata/fit3d/train
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from olympia.errors import ConfigError
from olympia.pose.evaluate import similarity_transforms
from olympia.skeleton import H36M_JOINTS, JOINT_SETS, MEDIAPIPE33

REGRESSOR_PATH = Path(__file__).resolve().parent / "data" / "mediapipe_h36m_regressor.json"
FORMAT_VERSION = 1
RIDGE = 0.01       # chosen on held-out subjects (docs/video.md, "Pose quality"); flat from 3e-3 to 3e-2
ITERATIONS = 4     # alternations; held-out PA-MPJPE moves < 0.5 mm between 1 and 16


@dataclass(frozen=True)
class LandmarkRegressor:
    """H36M-17 joints as weighted sums of MediaPipe's 33 landmarks."""

    weights: np.ndarray                       # (17, 33), rows sum to 1
    provenance: dict = field(default_factory=dict, compare=False)

    @property
    def version(self) -> str:
        """Digest of the weights: part of the backend version, hence of the pose cache key."""
        return "h36mreg-" + hashlib.sha256(np.ascontiguousarray(self.weights, np.float64)
                                           .tobytes()).hexdigest()[:12]

    def apply(self, landmarks: np.ndarray) -> np.ndarray:
        """(T, 33, 3) landmarks (any frame, any unit) -> (T, 17, 3) float32 joints in the same
        frame. A frame without a person (NaN landmarks) stays NaN."""
        lm = np.asarray(landmarks, np.float64)
        if lm.ndim != 3 or lm.shape[1:] != (len(MEDIAPIPE33), 3):
            raise ValueError(f"expected (T, 33, 3) MediaPipe landmarks, got {lm.shape}")
        return np.einsum("jk,tkc->tjc", self.weights, lm).astype(np.float32)


def table_weights() -> np.ndarray:
    """(17, 33) weights of the table mapping (the fit's prior and the `table` mapping)."""
    return JOINT_SETS["mediapipe33"].matrix.astype(np.float64)


def _solve_rows(gram: np.ndarray, cross: np.ndarray, prior: np.ndarray, ridge: float) -> np.ndarray:
    """argmin_w  w'Aw - 2 b'w + reg·||w - w0||²  subject to sum(w) = 1, for every joint."""
    k = gram.shape[0]
    reg = ridge * np.trace(gram) / k
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = gram + reg * np.eye(k)
    kkt[:k, k] = kkt[k, :k] = 1.0
    rhs = np.vstack([cross + reg * prior.T, np.ones((1, prior.shape[0]))])   # (k + 1, 17)
    return np.linalg.solve(kkt, rhs)[:k].T


def fit_regressor(landmarks: list[np.ndarray], targets: list[np.ndarray], *, ridge: float = RIDGE,
                  iterations: int = ITERATIONS, prior: np.ndarray | None = None) -> np.ndarray:
    """Fit (17, 33) weights on time-aligned pairs: landmarks (T, 33, 3) and mocap joints
    (T, 17, 3) of the same frames (frames with a NaN on either side are left out)."""
    pairs = [(np.asarray(lm, np.float64), np.asarray(y, np.float64)) for lm, y in zip(landmarks, targets)]
    lm = np.concatenate([a for a, _ in pairs])
    y = np.concatenate([b for _, b in pairs])
    if lm.shape[0] != y.shape[0]:
        raise ValueError(f"landmarks and targets must pair frame by frame, got {lm.shape} and {y.shape}")
    keep = np.isfinite(lm).all(axis=(1, 2)) & np.isfinite(y).all(axis=(1, 2))
    lm, y = lm[keep], y[keep]
    if len(lm) < 10:
        raise ValueError(f"only {len(lm)} frames with both a person and mocap; need at least 10")
    prior = table_weights() if prior is None else np.asarray(prior, np.float64)
    weights = prior.copy()
    for _ in range(iterations):
        pred = np.einsum("jk,tkc->tjc", weights, lm)
        scale, rot, trans = similarity_transforms(pred, y)
        # the mocap taken into the estimate's frame: R'(Y - t)/s; its residual counts s² times
        target = np.einsum("tji,tkj->tki", rot, y - trans[:, None]) / scale[:, None, None]
        w2 = scale ** 2
        gram = np.einsum("t,tkc,tlc->kl", w2, lm, lm)
        cross = np.einsum("t,tkc,tjc->kj", w2, lm, target)
        weights = _solve_rows(gram, cross, prior, ridge)
    return weights


def regressor_document(weights: np.ndarray, provenance: dict, held_out: dict) -> dict:
    """The JSON document of a fitted regressor (weights rounded to 1e-5)."""
    def rows(w):
        return [[round(float(v), 5) for v in row] for row in np.asarray(w)]
    return {"format_version": FORMAT_VERSION,
            "model": "h36m_joint[j] = sum_k weights[j][k] * mediapipe_landmark[k] (x, y, z alike; "
                     "each row sums to 1)",
            "landmarks": list(MEDIAPIPE33), "joints": list(H36M_JOINTS),
            "weights": rows(weights), "provenance": provenance,
            "held_out": {s: {**v, "weights": rows(v["weights"])} for s, v in held_out.items()}}


def regressor_json_text(doc: dict) -> str:
    """Stable JSON with one weight row per line (readable diffs of a refit)."""
    text = json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False)
    return re.sub(r"\[\s+(-?[0-9][-0-9.e,\s]*?)\s+\]",
                  lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def regressor_from_document(doc: dict, where: str = "regressor", weights_key: str | None = None) -> LandmarkRegressor:
    """Parse a regressor document; `weights_key` picks a held-out fold's weights (e.g. "s03")."""
    try:
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format_version {doc.get('format_version')!r}, expected {FORMAT_VERSION}")
        if list(doc["landmarks"]) != list(MEDIAPIPE33) or list(doc["joints"]) != list(H36M_JOINTS):
            raise ValueError("landmark or joint names differ from olympia.skeleton's")
        w = doc["weights"] if weights_key is None else doc["held_out"][weights_key]["weights"]
        w = np.asarray(w, np.float64)
        if w.shape != (len(H36M_JOINTS), len(MEDIAPIPE33)) or not np.isfinite(w).all():
            raise ValueError(f"weights must be a finite (17, 33) matrix, got {w.shape}")
        if not np.allclose(w.sum(axis=1), 1.0, atol=1e-3):
            raise ValueError("every row of weights must sum to 1")
        w = w / w.sum(axis=1, keepdims=True)   # exactly 1 again after the file's rounding
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: not a valid landmark regressor ({exc}); regenerate it with "
                          "`python -m olympia.pose.calibration FIT3D_ROOT`") from None
    return LandmarkRegressor(w, doc.get("provenance", {}))


@lru_cache(maxsize=4)
def load_regressor(path: str | None = None, weights_key: str | None = None) -> LandmarkRegressor:
    """The packaged regressor (or one at `path`); `weights_key` selects a held-out fold."""
    path = Path(path) if path else REGRESSOR_PATH
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the landmark regressor ({exc})") from None
    return regressor_from_document(doc, str(path), weights_key)
