"""Motion capture to compare video skeletons with: Fit3D's joints and cameras, by video.

Fit3D (olympia.adapters.fit3d) films every action with four synchronised cameras:
    <root>/train/<subject>/videos/<camera>/<action>.mp4              50 fps, 900x900
    <root>/train/<subject>/joints3d_25/<action>.json[.gz]           mocap, 50 fps, metres, z up
    <root>/train/<subject>/camera_parameters/<camera>/<action>.json  R, T, intrinsics
Camera folder names carry a suffix in some copies (`65906101LF` for `65906101`): cameras are
matched by their serial number (the digits).

The camera's extrinsics follow Human3.6M's convention, x_cam = R·(X_world - T) (T is the
camera centre in the world; checked on the real files: projecting the mocap with the
intrinsics lands on MediaPipe's 2D landmarks, see tests/test_pose_eval.py). A video skeleton
is camera-aligned (olympia.pose.base), so the mocap is compared in the camera frame, turned
z-up by the same rotation as the video skeleton (olympia.skeleton.camera_to_z_up).
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from olympia.adapters.fit3d import NATIVE_FPS
from olympia.errors import ConfigError, SourceFormatError
from olympia.pose.inputs import read_skeleton_npy
from olympia.skeleton import camera_to_z_up, to_h36m
from olympia.timebase import FPS, resample_to_fps


def _read_json_maybe_gz(path: Path, what: str):
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise SourceFormatError(path, f"{what} not found") from None
    except (OSError, UnicodeDecodeError, EOFError, json.JSONDecodeError) as exc:
        raise SourceFormatError(path, f"cannot read {what} ({exc})") from None


def read_fit3d_joints(path) -> np.ndarray:
    """Fit3D joints3d_25 file (.json, or a gzip-compressed copy) -> (T, 17, 3) H36M at 50 fps
    (the adapter's fit3d25 mapping)."""
    path = Path(path)
    doc = _read_json_maybe_gz(path, "Fit3D joints3d_25 file")
    kp = np.asarray(doc.get("joints3d_25", []) if isinstance(doc, dict) else [], np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (25, 3) or kp.shape[0] < 2:
        raise SourceFormatError(path, f"expected {{'joints3d_25': (T >= 2, 25, 3)}}, got shape {kp.shape}")
    return to_h36m(kp, "fit3d25")


def read_mocap(path, fps: float = FPS) -> np.ndarray:
    """A reference skeleton on the `fps` timeline: a Fit3D joints file (50 fps, resampled with
    olympia.timebase) or a (T, 17, 3) .npy already at 25 fps."""
    path = Path(path)
    if path.suffix == ".npy":
        return read_skeleton_npy(path)
    if path.name.endswith((".json", ".json.gz")):
        return resample_to_fps(read_fit3d_joints(path), NATIVE_FPS, fps)
    raise ConfigError(f"{path}: unknown mocap format; give a Fit3D joints3d_25 .json/.json.gz "
                      "or a (T, 17, 3) H36M-17 .npy at 25 fps")


@dataclass(frozen=True)
class Fit3DCamera:
    rotation: np.ndarray     # (3, 3) world -> camera
    centre: np.ndarray       # (3,) camera centre in world coordinates (Fit3D's "T")
    focal: np.ndarray        # (2,) fx, fy in pixels of the original 900x900 video
    principal: np.ndarray    # (2,) cx, cy

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> camera frame (x right, y down, z forward)."""
        return (np.asarray(points, np.float64) - self.centre) @ self.rotation.T

    def project(self, points_camera: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 2) pixels (pinhole, distortion ignored)."""
        p = np.asarray(points_camera, np.float64)
        return p[..., :2] / p[..., 2:3] * self.focal + self.principal


def read_fit3d_camera(path) -> Fit3DCamera:
    path = Path(path)
    doc = _read_json_maybe_gz(path, "Fit3D camera parameters")
    try:
        ext, intr = doc["extrinsics"], doc["intrinsics_w_distortion"]
        cam = Fit3DCamera(rotation=np.asarray(ext["R"], np.float64).reshape(3, 3),
                          centre=np.asarray(ext["T"], np.float64).reshape(3),
                          focal=np.asarray(intr["f"], np.float64).reshape(2),
                          principal=np.asarray(intr["c"], np.float64).reshape(2))
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceFormatError(path, f"not a Fit3D camera file (extrinsics R, T and "
                                f"intrinsics_w_distortion f, c expected; {exc})") from None
    return cam


@dataclass(frozen=True)
class Fit3DVideo:
    """One Fit3D video and the files that describe the same take."""

    video: Path
    subject: str          # s03
    action: str           # warmup_7
    camera: str           # serial number, e.g. 65906101
    joints: Path          # joints3d_25/<action>.json[.gz]
    camera_parameters: Path

    @property
    def name(self) -> str:
        return f"{self.subject}/{self.camera}/{self.action}"


def _serial(folder: str) -> str:
    m = re.match(r"\d+", folder)
    return m.group(0) if m else folder


def fit3d_video(video) -> Fit3DVideo:
    """The Fit3D take of a video at <subject>/videos/<camera>/<action>.mp4; ConfigError when
    the video is not in that layout or its joints or camera file is missing."""
    video = Path(video)
    camera_dir, subject_dir = video.parent, video.parent.parent.parent
    if video.parent.parent.name != "videos":
        raise ConfigError(f"{video} is not in Fit3D's layout <subject>/videos/<camera>/<action>.mp4; "
                          "give --mocap (and --camera) explicitly")
    action, serial = video.stem, _serial(camera_dir.name)
    joints = [p for p in (subject_dir / "joints3d_25" / f"{action}.json",
                          subject_dir / "joints3d_25" / f"{action}.json.gz") if p.is_file()]
    cams = [d / f"{action}.json" for d in sorted((subject_dir / "camera_parameters").glob(f"{serial}*"))
            if (d / f"{action}.json").is_file()]
    if not joints or not cams:
        missing = "joints3d_25" if not joints else f"camera_parameters/{serial}*"
        raise ConfigError(f"{video}: no {missing} file for action {action!r} under {subject_dir}")
    return Fit3DVideo(video=video, subject=subject_dir.name, action=action, camera=serial,
                      joints=joints[0], camera_parameters=cams[0])


def find_fit3d_videos(root) -> list[Fit3DVideo]:
    """Every video with its mocap and camera under a Fit3D root (…/train/<subject>/videos/…)."""
    root = Path(root)
    return [fit3d_video(v) for v in sorted(root.glob("**/videos/*/*.mp4"))]


def mocap_in_camera(joints_path, camera_path, fps: float = FPS) -> np.ndarray:
    """Fit3D mocap (T, 17, 3) on the `fps` timeline in the camera's frame, turned z-up like a
    video skeleton (x to the image right, y away from the camera, z up)."""
    world = read_mocap(joints_path, fps)
    cam = read_fit3d_camera(camera_path)
    return camera_to_z_up(cam.world_to_camera(world)).astype(np.float64)
