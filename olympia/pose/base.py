"""The pose-backend interface: RGB frames of one video in, H36M-17 3D keypoints out.

Every backend returns keypoints in the project axis convention (olympia/skeleton.py: metres,
right-handed, z up). Camera-frame outputs (x right, y down, z away from the camera, as
MediaPipe's world landmarks and MotionBERT's output are) are turned z-up once, by
`olympia.skeleton.camera_to_z_up`: (x, y, z) -> (x, z, -y), a proper rotation (determinant +1),
so x stays to the camera's right, y points away from the camera and z points up.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Protocol

import numpy as np

from olympia.errors import ConfigError

@dataclass
class PoseResult:
    """3D pose of one video (or one segment of it) on the 25 fps timeline."""

    keypoints: np.ndarray            # (T, 17, 3) float32, metres, z up; NaN where no person
    confidence: np.ndarray           # (T,) float32 in [0, 1]; 0 where no person
    fps: float                       # frame rate of the keypoints (25)
    backend: str                     # "mediapipe", "motionbert"
    version: str                     # model version string (part of the cache key)
    keypoints_2d: np.ndarray | None = None   # (T, 17, 3): x_px, y_px, confidence; NaN if none
    image_size: tuple[int, int] | None = None  # (width, height) of the frames the 2D refers to
    extra: dict = field(default_factory=dict)   # backend facts worth keeping in clip.extra
    brightness: np.ndarray | None = None  # (T,) mean luma 0-255 of each decoded frame (why no person)
    frame_change: np.ndarray | None = None  # (T,) mean |luma - previous frame's| 0-255 (camera cuts)
    damaged: np.ndarray | None = None  # (T,) bool: the file is damaged there (olympia.video.damage); None: not checked

    def __post_init__(self):
        self.keypoints = np.asarray(self.keypoints, np.float32)
        self.confidence = np.asarray(self.confidence, np.float32)
        t = self.keypoints.shape[0]
        assert self.keypoints.shape == (t, 17, 3), self.keypoints.shape
        assert self.confidence.shape == (t,), self.confidence.shape
        if self.keypoints_2d is not None:
            self.keypoints_2d = np.asarray(self.keypoints_2d, np.float32)
            assert self.keypoints_2d.shape == (t, 17, 3), self.keypoints_2d.shape
        for name in ("brightness", "frame_change"):
            if getattr(self, name) is not None:
                setattr(self, name, np.asarray(getattr(self, name), np.float32))
                assert getattr(self, name).shape == (t,), (name, getattr(self, name).shape)
        if self.damaged is not None:
            self.damaged = np.asarray(self.damaged, bool)
            assert self.damaged.shape == (t,), self.damaged.shape

    @property
    def n_frames(self) -> int:
        return int(self.keypoints.shape[0])

    def window(self, start: int, end: int) -> "PoseResult":
        """Frames [start, end) of this result."""
        def cut(a):
            return None if a is None else a[start:end]
        return replace(self, keypoints=self.keypoints[start:end], confidence=self.confidence[start:end],
                       keypoints_2d=cut(self.keypoints_2d), brightness=cut(self.brightness),
                       frame_change=cut(self.frame_change), damaged=cut(self.damaged))

    def cut_short(self, n_frames: int) -> "PoseResult":
        """This result of a file that ended early (a download or copy cut short: the frames its
        header promises are not in it) on the promised `n_frames`: the frames past the last
        decoded one hold no person; extra["decoded_frames"] says where the file ends
        (olympia.pose.runs tells it). The per-frame picture measures repeat the last frame's."""
        t, pad = self.n_frames, n_frames - self.n_frames

        def extend(a: np.ndarray | None, value) -> np.ndarray | None:
            if a is None:
                return None
            tail = np.repeat(a[-1:], pad, axis=0) if value is None else np.full((pad, *a.shape[1:]), value, a.dtype)
            return np.concatenate([a, tail])
        return replace(self, keypoints=extend(self.keypoints, np.nan), confidence=extend(self.confidence, 0.0),
                       keypoints_2d=extend(self.keypoints_2d, np.nan), brightness=extend(self.brightness, None),
                       frame_change=extend(self.frame_change, None), damaged=extend(self.damaged, False),
                       extra={**self.extra, "decoded_frames": int(t)})

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: frames where a person was found (all keypoints finite)."""
        return np.isfinite(self.keypoints).all(axis=(1, 2))

    def upsampled(self, stride: int, n_frames: int, fps: float) -> "PoseResult":
        """This result of every `stride`-th frame (frame k here is frame k * stride) on the
        full timeline of `n_frames` frames at `fps`. A frame between two posed frames is their
        linear interpolation when both found a person, else NaN (confidence 0): a run's edges
        lose up to stride - 1 frames rather than claim a person on a frame nobody looked at
        (holding the neighbour put one on the first black frame of a real blackout, and the
        picture's change from it then read as a camera cut). The frames after the last posed
        one hold it. brightness / frame_change / damaged stay as given (the caller measures
        them on every decoded frame)."""
        if stride == 1:
            return replace(self, fps=fps)
        t = np.arange(n_frames)
        k = np.minimum(t // stride, self.n_frames - 1)
        nxt = np.minimum(k + 1, self.n_frames - 1)
        w = np.where(t // stride < self.n_frames - 1, (t % stride) / stride, 0.0)
        seen = self.detected[k] & (self.detected[nxt] | (w == 0))

        def lerp(a: np.ndarray, nobody: float) -> np.ndarray:
            wk = w.reshape((-1,) + (1,) * (a.ndim - 1))
            out = np.where(wk == 0, a[k], (1 - wk) * a[k] + wk * a[nxt])
            out[~seen] = nobody
            return out.astype(np.float32)
        return replace(self, keypoints=lerp(self.keypoints, np.nan), confidence=lerp(self.confidence, 0.0),
                       keypoints_2d=None if self.keypoints_2d is None else lerp(self.keypoints_2d, np.nan),
                       fps=fps, extra={**self.extra, "pose_stride": int(stride)})


class PoseBackend(Protocol):
    """A pose estimator. `estimate` is called once per video (or segment): backends that
    track across frames (MediaPipe video mode) start fresh on every call."""

    name: str
    version: str

    def estimate(self, frames: Iterable[np.ndarray], fps: float,
                 image_size: tuple[int, int]) -> PoseResult: ...


def _mediapipe(**options) -> PoseBackend:
    from olympia.pose.mediapipe_backend import MediaPipeBackend
    return MediaPipeBackend(**options)


def _motionbert(**options) -> PoseBackend:
    from olympia.pose.motionbert_backend import MotionBERTBackend
    return MotionBERTBackend(**options)


# Backend registry. Factories import lazily: mediapipe and torch load only when used.
BACKENDS: dict[str, Callable[..., PoseBackend]] = {"mediapipe": _mediapipe, "motionbert": _motionbert}


def make_backend(name: str, **options) -> PoseBackend:
    """Instantiate a registered backend by name (options go to its constructor)."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown pose backend {name!r}; choose one of {sorted(BACKENDS)}")
    return BACKENDS[name](**options)
