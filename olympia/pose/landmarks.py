"""MediaPipe's raw 33 landmarks of a video on the 25 fps timeline, cached.

The pose cache (olympia.pose.cache) keeps H36M-17 results, i.e. what one mapping made of the
landmarks. Evaluating or fitting a landmark -> joint mapping needs the landmarks themselves, so
they are cached here, keyed like the pose cache (video sha256, range, detector version, fps,
frame size) under `<cache_dir>/landmarks/<key[:2]>/<key>.npz`. Any mapping can then be applied
without running MediaPipe again (`olympia.pose.mediapipe_backend.landmarks_to_result`).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from olympia.io import atomic_write_bytes
from olympia.pose.cache import cache_key, video_sha256
from olympia.timebase import FPS

LANDMARKS_BACKEND = "mediapipe-landmarks33"   # cache-key name: raw landmarks, no mapping


@dataclass
class LandmarkTrack:
    """MediaPipe landmarks of one video (or one range of it) on the `fps` timeline."""

    world: np.ndarray        # (T, 33, 4) x, y, z (metres, camera-aligned, y down, hip-centred), visibility
    image: np.ndarray        # (T, 33, 4) x, y in [0, 1] of the frame, z, visibility
    image_size: tuple[int, int]   # (width, height) of the decoded frames
    fps: float
    version: str             # detector version (MediaPipeBackend.version without the mapping)
    start_frame: int = 0     # first frame of the range on the fps timeline


def _load(path: Path) -> LandmarkTrack | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return LandmarkTrack(world=z["world"], image=z["image"],
                                 image_size=tuple(meta["image_size"]), fps=meta["fps"],
                                 version=meta["version"], start_frame=meta["start_frame"])
    except (OSError, ValueError, KeyError):
        return None   # absent or unreadable: recompute


def _save(path: Path, track: LandmarkTrack) -> None:
    meta = {"image_size": list(track.image_size), "fps": track.fps, "version": track.version,
            "start_frame": track.start_frame}
    buf = io.BytesIO()
    np.savez(buf, world=track.world, image=track.image, meta=np.array(json.dumps(meta)))
    atomic_write_bytes(path, buf.getvalue())


def video_landmarks(video, *, cache_dir=None, start_frame: int = 0, end_frame: int | None = None,
                    fps: float = FPS, max_height: int | None = None,
                    detector_options: dict | None = None) -> LandmarkTrack:
    """Decode [start_frame, end_frame) of `video` at `fps` (as the pose path does) and run
    MediaPipe Pose over it; cached under cache_dir when given. max_height None: the pose
    path's default (olympia.video.ffmpeg_ops.MAX_HEIGHT)."""
    from olympia.pose.mediapipe_backend import MediaPipeBackend
    from olympia.video.ffmpeg_ops import MAX_HEIGHT, frame_size, iter_frames, require_video
    max_height = MAX_HEIGHT if max_height is None else max_height
    info = require_video(video)
    end = info.frames_at(fps) if end_frame is None else int(end_frame)
    detector = MediaPipeBackend(**(detector_options or {}), mapping="table")
    path = None
    if cache_dir is not None:
        key = cache_key(video_sha256(video, cache_dir), start_frame, end, LANDMARKS_BACKEND,
                        detector.detector_version, fps, max_height)
        path = Path(cache_dir) / "landmarks" / key[:2] / f"{key}.npz"
        track = _load(path)
        if track is not None:
            return track
    frames = iter_frames(video, fps=fps, max_height=max_height, start_frame=start_frame,
                         end_frame=end, info=info)
    world, image = detector.landmarks(frames)
    track = LandmarkTrack(world=world, image=image, image_size=frame_size(info, max_height),
                          fps=fps, version=detector.detector_version, start_frame=int(start_frame))
    if path is not None:
        _save(path, track)
    return track
