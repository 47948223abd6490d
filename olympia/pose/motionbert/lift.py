"""2D -> 3D lifting of a whole video with a MotionBERT DSTformer, as MotionBERT's infer_wild does it.

Pipeline: H36M-17 pixel keypoints with confidence (T, 17, 3) -> normalize to the model's
[-1, 1] image frame -> consecutive `maxlen` (243) frame windows, the last one shorter and run on
its true length (the temporal embedding is cut to it, exactly as the official script does) ->
optional flip test-time augmentation -> root rule -> stitched (T, 17, 3) float32.

Output frame (the same for both normalizations): MotionBERT's camera frame — x right, y down,
z away from the camera — centred on the image centre, in units of min(width, height) / 2 pixels.
x, y follow the person across the image (global 2D motion kept); z is depth relative to the root
(the training labels are root-relative in depth). See docs/motionbert.md for the scale note.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from olympia.errors import ConfigError
from olympia.pose.motionbert.checkpoint import WEIGHTS_URL_HINT, load_dstformer
from olympia.pose.motionbert.model import DSTformer, DSTformerConfig, LITE
from olympia.skeleton import (HEAD, L_ANKLE, L_ELBOW, L_HIP, L_KNEE, L_SHOULDER, L_WRIST, NECK,
                              R_ANKLE, R_ELBOW, R_HIP, R_KNEE, R_SHOULDER, R_WRIST, ROOT, SPINE,
                              THORAX)

NORMALIZATIONS = ("pixel", "box")
ROOT_RULES = ("official", "first_frame", "relative", "none")
# H36M-17 left/right joint pairs swapped by a horizontal flip (hips, knees, ankles, shoulders...).
LEFT_JOINTS = (L_HIP, L_KNEE, L_ANKLE, L_SHOULDER, L_ELBOW, L_WRIST)
RIGHT_JOINTS = (R_HIP, R_KNEE, R_ANKLE, R_SHOULDER, R_ELBOW, R_WRIST)


@dataclass(frozen=True)
class Box:
    """The square box of the "box" normalization: top-left corner and side, in pixels."""

    x0: float
    y0: float
    side: float


def _validated(kp2d: np.ndarray) -> np.ndarray:
    kp = np.asarray(kp2d, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (17, 3):
        raise ValueError(f"expected (T, 17, 3) H36M keypoints (x_px, y_px, confidence), got {kp.shape}")
    return kp


def detected(kp2d: np.ndarray) -> np.ndarray:
    """(T, 17) bool: joints with finite coordinates and confidence > 0."""
    kp = _validated(kp2d)
    return np.isfinite(kp).all(axis=-1) & (np.nan_to_num(kp[..., 2]) > 0)


def normalize_pixel(kp2d: np.ndarray, width: int, height: int) -> np.ndarray:
    """infer_wild --pixel: centre on the image centre, divide by min(width, height) / 2.

    Undetected joints (NaN or confidence 0) become (0, 0, 0): no position, zero confidence."""
    kp = _validated(kp2d)
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    out = kp.copy()
    out[..., :2] = (kp[..., :2] - np.array([width, height]) / 2.0) / (min(width, height) / 2.0)
    out[~detected(kp)] = 0.0
    return out.astype(np.float32)


def pixel_frame_to_pixels(pose: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of normalize_pixel for a model output (what infer_wild --pixel saves): x, y in
    image pixels, z in the same pixel scale."""
    scale = min(width, height) / 2.0
    out = np.asarray(pose, dtype=np.float64) * scale
    out[..., :2] += np.array([width, height]) / 2.0
    return out.astype(np.float32)


def video_box(kp2d: np.ndarray) -> Box | None:
    """The square box around every detected keypoint of the video (MotionBERT's crop_scale with
    scale 1): side = the larger extent, centred on the keypoints' bounding box. None when fewer
    than 4 keypoints are detected or the extent is 0 (the official code then zeroes the input)."""
    kp = _validated(kp2d)
    xy = kp[detected(kp)][:, :2]
    if len(xy) < 4:
        return None
    (xmin, ymin), (xmax, ymax) = xy.min(axis=0), xy.max(axis=0)
    side = max(xmax - xmin, ymax - ymin)
    if side == 0:
        return None
    return Box((xmin + xmax - side) / 2.0, (ymin + ymax - side) / 2.0, float(side))


def normalize_box(kp2d: np.ndarray, box: Box | None) -> np.ndarray:
    """infer_wild default: map the box to [-1, 1]^2 and clip every channel to [-1, 1]."""
    kp = _validated(kp2d)
    if box is None:
        return np.zeros(kp.shape, dtype=np.float32)
    out = kp.copy()
    out[..., :2] = ((kp[..., :2] - np.array([box.x0, box.y0])) / box.side - 0.5) * 2.0
    out[~detected(kp)] = 0.0
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def box_frame_to_pixel_frame(pose: np.ndarray, box: Box, width: int, height: int) -> np.ndarray:
    """Re-express a box-normalized model output in the pixel-normalized frame (see module doc)."""
    out = np.asarray(pose, dtype=np.float64).copy()
    half = box.side / 2.0
    out[..., :2] = out[..., :2] * half + np.array([box.x0 + half, box.y0 + half])  # pixels
    out[..., 2] *= half
    scale = min(width, height) / 2.0
    out[..., :2] -= np.array([width, height]) / 2.0
    return (out / scale).astype(np.float32)


def flip_pose(data: np.ndarray | torch.Tensor):
    """Horizontal flip of (..., 17, C) data: negate x and swap left/right joints."""
    out = data.clone() if isinstance(data, torch.Tensor) else np.array(data, copy=True)
    out[..., 0] = -out[..., 0]
    swap = list(LEFT_JOINTS + RIGHT_JOINTS)
    out[..., swap, :] = out[..., list(RIGHT_JOINTS + LEFT_JOINTS), :]
    return out


def window_slices(frames: int, size: int) -> list[slice]:
    """Consecutive [start, start+size) windows covering frames; the last may be shorter."""
    return [slice(s, min(s + size, frames)) for s in range(0, frames, size)]


def chain_height(pose: np.ndarray) -> np.ndarray:
    """(T,) ankle-to-head length along the skeleton: mean leg (ankle-knee-hip) plus the spine
    chain root-spine-thorax-neck-head. A scale probe, independent of the camera."""
    p = np.asarray(pose, dtype=np.float64)

    def seg(a, b):
        return np.linalg.norm(p[:, a] - p[:, b], axis=-1)
    legs = (seg(R_ANKLE, R_KNEE) + seg(R_KNEE, R_HIP) + seg(L_ANKLE, L_KNEE) + seg(L_KNEE, L_HIP)) / 2.0
    return legs + seg(ROOT, SPINE) + seg(SPINE, THORAX) + seg(THORAX, NECK) + seg(NECK, HEAD)


def scale_to_chain_height(pose: np.ndarray, target_m: float) -> np.ndarray:
    """Rescale a lifted pose so its median chain_height equals target_m metres. MotionBERT's
    output has no metric scale in the wild (it needs the subject's depth and the focal length);
    a known or assumed body size is the usual substitute (~1.55-1.65 m for a 1.70-1.80 m adult)."""
    probe = np.nanmedian(chain_height(pose)) if len(pose) else np.nan
    if not np.isfinite(probe) or probe <= 0:
        raise ValueError("cannot scale: no frame with a finite, non-zero skeleton")
    return (np.asarray(pose, dtype=np.float64) * (target_m / probe)).astype(np.float32)


class MotionBERTLifter:
    """A loaded DSTformer plus the official inference recipe.

    normalization: "pixel" (default; infer_wild --pixel) or "box" (infer_wild's default square
    box over the whole video). flip: average with the horizontally flipped input, as the
    released configs do (flip: True). root: "official" sets the root joint's depth in each
    window's first frame to 0 (infer_wild with rootrel False; that single value only),
    "first_frame" does the same once for the whole video, "relative" subtracts the root joint
    from every joint every frame, "none" leaves the raw output.
    """

    def __init__(self, checkpoint_path: str | Path | None, config: DSTformerConfig = LITE, *,
                 normalization: str = "pixel", flip: bool = True, root: str = "official",
                 batch_size: int = 4, device: str = "cpu", trusted: bool = False,
                 model: DSTformer | None = None):
        if normalization not in NORMALIZATIONS:
            raise ConfigError(f"normalization {normalization!r}: choose one of {NORMALIZATIONS}")
        if root not in ROOT_RULES:
            raise ConfigError(f"root rule {root!r}: choose one of {ROOT_RULES}")
        if model is None:
            if checkpoint_path is None or str(checkpoint_path) == "":
                raise ConfigError("the MotionBERT backend needs a checkpoint and none is configured: "
                                  f"{WEIGHTS_URL_HINT} (weights cannot be downloaded at run time)")
            model = load_dstformer(checkpoint_path, config, trusted=trusted, device=device)
        self.model = model.to(device).eval()
        self.config = model.cfg
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.normalization, self.flip, self.root = normalization, flip, root
        self.batch_size, self.device = max(1, int(batch_size)), device

    @property
    def version(self) -> str:
        """Cache key part: checkpoint digest plus every setting that changes the output."""
        digest = "in-memory"
        if self.checkpoint_path is not None and self.checkpoint_path.is_file():
            digest = hashlib.sha256(self.checkpoint_path.read_bytes()).hexdigest()[:16]
        return (f"motionbert-{digest}-{self.normalization}-flip{int(self.flip)}-root_{self.root}"
                f"-w{self.config.maxlen}")

    def lift(self, kp2d: np.ndarray, width: int, height: int, *, nan_missing: bool = True) -> np.ndarray:
        """(T, 17, 3) pixel keypoints + confidence, H36M order -> (T, 17, 3) float32 3D pose in the
        module's output frame. Frames with no detected joint come back NaN when nan_missing."""
        kp = _validated(kp2d)
        if self.normalization == "pixel":
            pose = self.lift_normalized(normalize_pixel(kp, width, height))
        else:
            box = video_box(kp)
            pose = self.lift_normalized(normalize_box(kp, box))
            pose = (box_frame_to_pixel_frame(pose, box, width, height) if box is not None
                    else np.full(pose.shape, np.nan, dtype=np.float32))
        if nan_missing and len(kp):
            pose[~detected(kp).any(axis=1)] = np.nan
        return pose

    @torch.inference_mode()
    def lift_normalized(self, x: np.ndarray) -> np.ndarray:
        """(T, 17, 3) already-normalized input -> (T, 17, 3) float32 raw-frame output, window by
        window (full windows batched together), with flip averaging and the root rule."""
        x = np.asarray(x, dtype=np.float32)
        out = np.empty(x.shape, dtype=np.float32)
        slices = window_slices(len(x), self.config.maxlen)
        groups: dict[int, list[slice]] = {}
        for s in slices:  # equal-length windows share a batch
            groups.setdefault(s.stop - s.start, []).append(s)
        for group in groups.values():
            for i in range(0, len(group), self.batch_size):
                chunk = group[i:i + self.batch_size]
                batch = torch.from_numpy(np.stack([x[s] for s in chunk])).to(self.device)
                pred = self._predict(batch)
                for s, p in zip(chunk, pred.cpu().numpy()):
                    out[s] = p
        if self.root == "first_frame" and len(out):
            out[0, ROOT, 2] = 0.0
        return out

    def _predict(self, batch: torch.Tensor) -> torch.Tensor:
        if self.flip:
            both = self.model(torch.cat([batch, flip_pose(batch)]))
            n = len(batch)
            pred = (both[:n] + flip_pose(both[n:])) / 2.0
        else:
            pred = self.model(batch)
        if self.root == "official":
            pred[:, 0, ROOT, 2] = 0.0
        elif self.root == "relative":
            pred = pred - pred[:, :, ROOT:ROOT + 1, :]
        return pred
