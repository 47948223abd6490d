"""MotionBERT lifting as a pose backend: MediaPipe 2D keypoints -> in-tree DSTformer -> 3D.

MediaPipe's image landmarks (pixels + visibility) are mapped to H36M-17 with
`JOINT_SETS["mediapipe33"]` (confidence of a synthesized joint = mean of its sources) and
handed to `olympia.pose.motionbert.MotionBERTLifter` (243-frame windows, normalization, flip
averaging: see docs/motionbert.md). Its camera-frame output (x right, y down, z away; units of
half the shorter image side) is rescaled to metres by an assumed ankle-to-head chain length
(`body_height_m`, MotionBERT has no metric scale in the wild) and turned z-up.

The checkpoint comes from the `checkpoint` option or OLYMPIA_MOTIONBERT_CHECKPOINT; weights
cannot be downloaded at run time, so without one this backend refuses with a ConfigError.
"""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from olympia.errors import ConfigError
from olympia.pose.base import PoseResult
from olympia.pose.mediapipe_backend import MediaPipeBackend
from olympia.skeleton import camera_to_z_up

CHECKPOINT_ENV = "OLYMPIA_MOTIONBERT_CHECKPOINT"
CONFIGS = ("lite", "base", "tiny", "auto")
BODY_HEIGHT_M = 1.60  # ankle-to-head chain length of a ~1.75 m adult (lift.scale_to_chain_height)


def resolve_checkpoint(checkpoint: str | None) -> str:
    path = checkpoint or os.environ.get(CHECKPOINT_ENV, "")
    if not path:
        raise ConfigError(
            "the MotionBERT backend needs a checkpoint and none is configured: pass "
            f"--checkpoint PATH or set {CHECKPOINT_ENV} to the official MotionBERT 3D-pose "
            "checkpoint (e.g. MB_ft_h36m_global_lite best_epoch.bin; it cannot be downloaded "
            "here), or use --backend mediapipe")
    if not os.path.isfile(path):
        raise ConfigError(f"MotionBERT checkpoint {path!r} does not exist; fix --checkpoint or "
                          f"{CHECKPOINT_ENV}")
    return path


def _config(name: str, checkpoint: str, num_heads: int):
    from olympia.pose.motionbert import BASE, LITE, TINY
    from olympia.pose.motionbert.checkpoint import infer_config, model_state, read_checkpoint
    if name not in CONFIGS:
        raise ConfigError(f"MotionBERT config {name!r}: choose one of {CONFIGS}")
    if name == "auto":
        return infer_config(model_state(read_checkpoint(checkpoint), checkpoint), num_heads)
    return {"lite": LITE, "base": BASE, "tiny": TINY}[name]


class MotionBERTBackend:
    """H36M-17 3D pose lifted by MotionBERT from MediaPipe's 2D keypoints."""

    name = "motionbert"

    def __init__(self, checkpoint: str | None = None, config: str = "lite", num_heads: int = 8,
                 normalization: str = "pixel", flip: bool = True,
                 body_height_m: float = BODY_HEIGHT_M, device: str = "cpu",
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        from olympia.pose.motionbert import MotionBERTLifter
        path = resolve_checkpoint(checkpoint)
        self.lifter = MotionBERTLifter(path, _config(config, path, num_heads),
                                       normalization=normalization, flip=flip, device=device)
        # 2D input as MotionBERT was validated with here (the joint table); the calibrated 3D
        # regressor is fitted to MediaPipe's world landmarks, not to its image landmarks
        self.detector = MediaPipeBackend(min_detection_confidence, min_tracking_confidence, mapping="table")
        self.body_height_m = float(body_height_m)
        self.version = f"{self.lifter.version}-h{body_height_m:g}+{self.detector.version}"

    def lift(self, keypoints_2d: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """(T, 17, 3) H36M pixels + confidence -> (T, 17, 3) metres, z up (NaN: no person)."""
        from olympia.pose.motionbert.lift import scale_to_chain_height
        width, height = image_size
        pose = self.lifter.lift(keypoints_2d, width, height)
        if np.isfinite(pose).all(axis=(1, 2)).any():
            pose = scale_to_chain_height(pose, self.body_height_m)
        return camera_to_z_up(pose)

    def estimate(self, frames: Iterable[np.ndarray], fps: float,
                 image_size: tuple[int, int]) -> PoseResult:
        det = self.detector.estimate(frames, fps, image_size)
        keypoints = self.lift(det.keypoints_2d, image_size) if det.n_frames else det.keypoints
        return PoseResult(keypoints=keypoints, confidence=det.confidence, fps=fps,
                          backend=self.name, version=self.version,
                          keypoints_2d=det.keypoints_2d, image_size=det.image_size)
