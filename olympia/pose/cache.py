"""On-disk cache of pose results, keyed by (video sha256, segment, backend, model version).

Layout under the cache dir:
  pose/<key[:2]>/<key>.npz   one PoseResult (keypoints, confidence, keypoints_2d, brightness, frame_change,
                             damaged, meta JSON)
  sha256/<path-key>.txt      a video's sha256, memoized by (absolute path, size, mtime_ns)
The key is the sha256 of a canonical JSON of everything that changes the result, so a re-run
recomputes exactly the items whose video bytes, range, backend or model version changed.
Writes are atomic (olympia.io); a corrupt entry is treated as a miss.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from olympia.io import atomic_write_bytes, atomic_write_text
from olympia.pose.base import PoseResult
from olympia.io import sha256_file

CACHE_FORMAT = 2  # 2: max_height limits the shorter side (portrait videos)
ENV_CACHE = "OLYMPIA_POSE_CACHE"


def default_cache_dir() -> Path:
    """The pose cache every command shares (`olympia pose`, `count`, `videos sets`, `annotate
    push --suggest`, `lift predict`): $OLYMPIA_POSE_CACHE, else $XDG_CACHE_HOME/olympia/pose,
    else ~/.cache/olympia/pose. One cache, so a video posed by one command is not posed again
    by the next."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "olympia" / "pose"


def cache_key(video_sha256: str, start_frame: int, end_frame: int, backend: str, version: str,
              fps: float, max_height: int | None, stride: int = 1) -> str:
    payload = {"format": CACHE_FORMAT, "video": video_sha256, "start": int(start_frame),
               "end": int(end_frame), "backend": backend, "version": version,
               "fps": float(fps), "max_height": max_height}
    if stride != 1:         # every-frame entries keep the keys they had before strides existed
        payload["stride"] = int(stride)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def video_sha256(path, cache_dir=None) -> str:
    """sha256 of a video file, memoized under cache_dir by (absolute path, size, mtime)."""
    path = Path(path).resolve()
    if cache_dir is None:
        return sha256_file(path)
    st = path.stat()
    ident = hashlib.sha256(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    memo = Path(cache_dir) / "sha256" / f"{ident}.txt"
    try:
        digest = memo.read_text().strip()
        if len(digest) == 64:
            return digest
    except OSError:
        pass
    digest = sha256_file(path)
    atomic_write_text(memo, digest)
    return digest


class PoseCache:
    """PoseResult store. `get` returns None on a miss (or an unreadable entry)."""

    def __init__(self, cache_dir):
        self.root = Path(cache_dir)

    def path(self, key: str) -> Path:
        return self.root / "pose" / key[:2] / f"{key}.npz"

    def get(self, key: str) -> PoseResult | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                kp2d = z["keypoints_2d"] if "keypoints_2d" in z.files else None
                light = z["brightness"] if "brightness" in z.files else None  # older entries: none
                change = z["frame_change"] if "frame_change" in z.files else None
                damaged = z["damaged"] if "damaged" in z.files else None   # older: not checked
                return PoseResult(keypoints=z["keypoints"], confidence=z["confidence"],
                                  keypoints_2d=kp2d, brightness=light, frame_change=change, damaged=damaged,
                                  fps=meta["fps"],
                                  backend=meta["backend"],
                                  version=meta["version"],
                                  image_size=tuple(meta["image_size"]) if meta["image_size"] else None,
                                  extra=meta.get("extra", {}))
        except (OSError, ValueError, KeyError, AssertionError):
            return None  # corrupt or foreign file: recompute

    def put(self, key: str, result: PoseResult) -> Path:
        arrays = {"keypoints": result.keypoints, "confidence": result.confidence}
        if result.keypoints_2d is not None:
            arrays["keypoints_2d"] = result.keypoints_2d
        for name in ("brightness", "frame_change", "damaged"):
            if getattr(result, name) is not None:
                arrays[name] = getattr(result, name)
        meta = {"fps": result.fps, "backend": result.backend, "version": result.version,
                "image_size": list(result.image_size) if result.image_size else None,
                "extra": result.extra}
        arrays["meta"] = np.array(json.dumps(meta, sort_keys=True, default=str))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return atomic_write_bytes(self.path(key), buf.getvalue())
