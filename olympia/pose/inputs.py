"""Skeletons from what a user hands a command: a release/store directory (one per clip), a
(T, 17, 3) .npy array at 25 fps, or a video (through the video pose path). Used by
`olympia count` and `lift predict`."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from olympia.errors import ConfigError, SourceFormatError

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}


def read_skeleton_npy(path: Path) -> np.ndarray:
    try:
        kp = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise SourceFormatError(path, f"cannot be read as a .npy array ({exc})") from exc
    if kp.ndim != 3 or kp.shape[1:] != (17, 3):
        raise SourceFormatError(path, f"must hold a (T, 17, 3) H36M-17 skeleton at 25 fps, got shape {kp.shape}")
    return kp.astype(np.float32)


def skeleton_from_video(path: Path, backend: str = "mediapipe") -> np.ndarray:
    """(T, 17, 3) at 25 fps through the video pose path (olympia.pose), gaps filled."""
    from olympia.pose.pipeline import PoseJob, pose_items   # imported late: ffmpeg, tqdm
    item = pose_items([str(path)], None, PoseJob(backend=backend, workers=1), progress=False)[0]
    if not hasattr(item, "keypoints"):
        raise ConfigError(f"{path}: no skeleton from the video ({item.field}: {item.message})")
    return item.keypoints


def iter_skeletons(inputs, backend: str = "mediapipe") -> Iterator[tuple[str, np.ndarray, int | None]]:
    """(name, keypoints, ground-truth reps or None) for each input: a store/release dir (one per
    clip id), a .npy skeleton, or a video."""
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            from olympia.store import ClipStore
            store = ClipStore(path)
            meta = store.metadata(columns=["id", "reps"]).set_index("id")
            for cid in store.ids:
                reps = meta.at[cid, "reps"]
                yield cid, store.keypoints(cid), None if reps is None or reps != reps else int(reps)
        elif path.suffix.lower() == ".npy":
            yield str(path), read_skeleton_npy(path), None
        elif path.suffix.lower() in VIDEO_SUFFIXES:
            yield str(path), skeleton_from_video(path, backend), None
        elif not path.exists():
            raise ConfigError(f"{path} does not exist; give a release/store directory, a .npy skeleton or a video")
        else:
            raise ConfigError(f"{path}: unknown input type {path.suffix!r}; give a release/store "
                              f"directory, a (T, 17, 3) .npy skeleton or a video ({', '.join(sorted(VIDEO_SUFFIXES))})")
