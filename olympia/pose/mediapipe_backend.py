"""MediaPipe Pose (legacy `mp.solutions.pose`, mediapipe 0.10.21) as a pose backend.

Why this exact setup (source-formats.md, MediaPipe): 0.10.20/0.10.21 are the last releases that
ship the pose models; model_complexity=1 ("full", the paper's choice) is bundled and runs
offline, while 0 and 2 try to download their models. Video mode (static_image_mode=False)
tracks the person across frames.

Two runtimes give the same landmarks from the same model files:
- "litert" (default): olympia.pose.blazepose runs the bundled models with LiteRT and does the
  legacy graph's pre- and post-processing in numpy, ~25% less CPU a frame (docs/video.md);
- "graph": `mp.solutions.pose` itself, the reference the litert runtime is tested against.
The runtime is part of the backend version, hence of the pose cache key.

`pose_world_landmarks` (metres, origin at the hip centre, camera-aligned, y down) become H36M-17
by one of two mappings, then z-up through `olympia.skeleton.camera_to_z_up`:
- "calibrated" (default): the landmark regressor fitted on Fit3D videos against motion capture
  (olympia.pose.calibration; held-out PA-MPJPE 77-79 -> 47-52 mm, docs/video.md);
- "table": `olympia.skeleton.JOINT_SETS["mediapipe33"]` (copies and means; root, spine, thorax
  synthesized as method.md §5).
The mapping is part of the backend version, hence of the pose cache key. 2D keypoints and
per-joint confidence always come from the table (visibility is a landmark's, and MotionBERT
lifts the table's 2D joints). Because the world landmarks are centred on the hips, the root
stays near the origin: MediaPipe does not recover global translation.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from olympia.errors import ConfigError
from olympia.pose.base import PoseResult
from olympia.pose.calibration import LandmarkRegressor, load_regressor
from olympia.pose.quiet import native_stderr_to_log
from olympia.skeleton import JOINT_SETS, camera_to_z_up

MODEL_COMPLEXITY = 1  # the only offline model (see module docstring)
RUNTIMES = ("litert", "graph")
DEFAULT_RUNTIME = "litert"      # measured: same landmarks, less CPU (module docstring)
MAPPINGS = ("calibrated", "table")
DEFAULT_MAPPING = "calibrated"   # measured better on held-out subjects (docs/video.md, Pose quality)


def mapping_regressor(mapping: str) -> LandmarkRegressor | None:
    """The regressor of a mapping name (None: the table)."""
    if mapping not in MAPPINGS:
        raise ConfigError(f"unknown landmark mapping {mapping!r}; choose one of {MAPPINGS}")
    return load_regressor() if mapping == "calibrated" else None


def mediapipe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mediapipe")         # without importing it (~0.8 s)
    except PackageNotFoundError:
        raise ConfigError("MediaPipe is not installed; install the pinned mediapipe==0.10.21 "
                          "from requirements.lock (`make env`)") from None


class MediaPipeBackend:
    """H36M-17 3D pose from MediaPipe Pose world landmarks, one person per frame."""

    name = "mediapipe"

    def __init__(self, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True,
                 mapping: str = DEFAULT_MAPPING, runtime: str = DEFAULT_RUNTIME):
        if runtime not in RUNTIMES:
            raise ConfigError(f"unknown MediaPipe runtime {runtime!r}; choose one of {RUNTIMES}")
        self.runtime = runtime
        if runtime == "graph":
            try:
                import mediapipe as mp
                self._pose_module = mp.solutions.pose
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"MediaPipe Pose is unavailable ({exc}); install the pinned "
                                  "mediapipe==0.10.21 from requirements.lock (later releases have no "
                                  "pose solution)") from None
        else:
            from olympia.pose.blazepose import litert_version, model_paths
            model_paths("full")             # a missing model or runtime is a ConfigError now
        self.options = dict(min_detection_confidence=float(min_detection_confidence),
                            min_tracking_confidence=float(min_tracking_confidence),
                            smooth_landmarks=bool(smooth_landmarks))
        engine = "" if runtime == "graph" else f"-litert{litert_version()}"
        self.detector_version = (f"mediapipe-{mediapipe_version()}-full{engine}"
                                 f"-det{min_detection_confidence:g}-trk{min_tracking_confidence:g}"
                                 f"{'' if smooth_landmarks else '-nosmooth'}")
        self._tracker = None
        self.mapping = mapping
        self.regressor = mapping_regressor(mapping)
        # the table keeps the historical version string, so its cached poses stay valid
        self.version = self.detector_version + (f"+{self.regressor.version}" if self.regressor else "")

    def landmarks(self, frames: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Run MediaPipe over RGB frames. Returns world (T, 33, 4) = x, y, z, visibility in
        metres (camera-aligned, y down) and image (T, 33, 4) = x, y normalized to [0, 1],
        z, visibility; rows are NaN where no person was found."""
        if self.runtime == "litert":
            return self._litert_landmarks(frames)
        world, image = [], []
        # MediaPipe/TFLite log from C++ to descriptor 2 while the graph lives: off the terminal
        with native_stderr_to_log(), self._pose_module.Pose(
                static_image_mode=False, model_complexity=MODEL_COMPLEXITY,
                enable_segmentation=False, **self.options) as pose:
            for frame in frames:
                res = pose.process(np.ascontiguousarray(frame))
                if res.pose_world_landmarks is None or res.pose_landmarks is None:
                    world.append(np.full((33, 4), np.nan, np.float32))
                    image.append(np.full((33, 4), np.nan, np.float32))
                    continue
                world.append(np.array([(p.x, p.y, p.z, p.visibility)
                                       for p in res.pose_world_landmarks.landmark], np.float32))
                image.append(np.array([(p.x, p.y, p.z, p.visibility)
                                       for p in res.pose_landmarks.landmark], np.float32))
        if not world:
            return np.zeros((0, 33, 4), np.float32), np.zeros((0, 33, 4), np.float32)
        return np.stack(world), np.stack(image)

    def _litert_landmarks(self, frames: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        from olympia.pose.blazepose import BlazePose
        world, image = [], []
        missing = np.full((33, 4), np.nan, np.float32)
        with native_stderr_to_log():        # LiteRT logs its XNNPACK delegate from C++
            if self._tracker is None:       # models load once per backend; tracking per call
                self._tracker = BlazePose("full", **self.options)
            tracker = self._tracker
            tracker.reset()
            for frame in frames:
                found = tracker.process(frame)
                world.append(missing if found is None else found[0])
                image.append(missing if found is None else found[1])
        if not world:
            return np.zeros((0, 33, 4), np.float32), np.zeros((0, 33, 4), np.float32)
        return np.stack(world), np.stack(image)

    def estimate(self, frames: Iterable[np.ndarray], fps: float,
                 image_size: tuple[int, int]) -> PoseResult:
        world, image = self.landmarks(frames)
        return landmarks_to_result(world, image, fps, image_size, self.name, self.version,
                                   self.regressor)


def landmarks_to_result(world: np.ndarray, image: np.ndarray, fps: float,
                        image_size: tuple[int, int], backend: str, version: str,
                        regressor: LandmarkRegressor | None = None) -> PoseResult:
    """MediaPipe 33-landmark arrays (see MediaPipeBackend.landmarks) -> PoseResult (H36M-17):
    3D joints from the regressor when given, else from the table."""
    jset = JOINT_SETS["mediapipe33"]
    h36m = jset.convert(world)                      # (T, 17, 4): mean of the sources per joint
    joints = h36m[..., :3] if regressor is None else regressor.apply(world[..., :3])
    keypoints = camera_to_z_up(joints)
    joint_conf = np.clip(np.nan_to_num(h36m[..., 3], nan=0.0), 0.0, 1.0)
    confidence = joint_conf.mean(axis=1).astype(np.float32)
    width, height = image_size
    img = jset.convert(image)
    kp2d = np.stack([img[..., 0] * width, img[..., 1] * height,
                     np.clip(img[..., 3], 0.0, 1.0)], axis=-1).astype(np.float32)
    return PoseResult(keypoints=keypoints, confidence=confidence, fps=fps, backend=backend,
                      version=version, keypoints_2d=kp2d, image_size=(int(width), int(height)))
