"""Motion images of a release's clips, as the model sees them (method.md §6).

Each clip's motion image is computed once (by worker processes, one clip shard at a time) and
kept as a compact float16 (3, 320, W) array in one flat buffer (`MotionImageCache`); every
question about the clip reuses it. `StreamingImages` offers the same interface for releases
larger than RAM: images are computed from the clip shards when a batch asks for them.

A clip id may also name a window of another clip (`windows`: id -> (parent id, first frame,
end frame), the sets olympia.recut cuts at rep boundaries); its image is the motion image of
those frames of the parent.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from olympia.errors import StoreIntegrityError
from olympia.io import atomic_path
from olympia.motion_image import IMAGE_ROWS, motion_image
from olympia.skeleton import mirror
from olympia.store import ClipStore
from olympia.timebase import FPS, resample_to_length

from lift.configs import IMAGE_WIDTH, TIME_AXES

Windows = dict[str, tuple]   # clip id -> (parent, first frame, end frame[, speed[, mirrored]]) (window_frames)


def normalize_image(img: np.ndarray) -> np.ndarray:
    """Centre each channel on the clip's mean position. The paper feeds raw coordinates; centring
    removes where in the room the person stands, which says nothing about the exercise."""
    return img - img.reshape(-1, 3).mean(axis=0)


def clip_image_chw(keypoints: np.ndarray, fps: float = FPS, time_axis: str = "native") -> np.ndarray:
    """(3, 320, W) float16, W <= 640: the normalized motion image, channel first.

    time_axis "native" (the paper): one column per 2 frames (12.5 columns/s); clips longer than
    51.2 s are resampled in time to 640 columns (the rule of olympia.motion_image).
    "fit": every clip is resampled in time to the full 640 columns. ViLT interpolates its
    position embeddings to each image's valid patch grid, so a patch's position says where in
    the set it is, not when; a 2-rep and an 8-rep set then differ in the count of patches,
    which softmax attention averages away. Fitted to 640 columns, the count becomes the number
    of cycles across a fixed 20 patches, a frequency each patch shows (docs/lift.md, counting)."""
    if time_axis not in TIME_AXES:
        raise ValueError(f"time_axis must be one of {TIME_AXES}, got {time_axis!r}")
    kp = np.asarray(keypoints)
    if kp.ndim != 3 or len(kp) < 2 or not np.isfinite(kp).all():
        raise ValueError(f"a motion image needs a finite (T >= 2, J, 3) skeleton, got shape {kp.shape}"
                         + ("" if kp.ndim != 3 or len(kp) < 2 else " with NaN/inf values"))
    img = normalize_image(motion_image(kp, fps=fps))
    if img.shape[1] > IMAGE_WIDTH or time_axis == "fit":
        img = resample_to_length(img.transpose(1, 0, 2), IMAGE_WIDTH).transpose(1, 0, 2)
    return np.ascontiguousarray(img.transpose(2, 0, 1)).astype(np.float16)


def window_frames(keypoints: np.ndarray, window: tuple) -> np.ndarray:
    """Frames [start, end) of a parent clip's keypoints, played at `speed` (a 4th element, 1.0
    when absent): resampled in time to round((end - start) / speed) frames at 25 fps, so a
    speed of 1.25 shows the same reps 25 % faster (tempo augmentation, lift.samples.Recut);
    mirrored (olympia.skeleton.mirror) when a 5th element is true (mirror augmentation)."""
    start, end = window[1], window[2]
    kp = keypoints[start:end]
    speed = window[3] if len(window) > 3 else 1.0
    if len(window) > 4 and window[4]:
        kp = mirror(kp)
    return kp if speed == 1.0 else resample_to_length(kp, max(2, round(len(kp) / speed)))


def window_keypoints(store: ClipStore, clip_id: str, windows: Windows | None) -> np.ndarray:
    """The keypoints of `clip_id`: a stored clip, or a window of one (`windows`)."""
    if windows and clip_id in windows:
        return window_frames(store.keypoints(windows[clip_id][0]), windows[clip_id])
    return store.keypoints(clip_id)


def _shard_images(args) -> list[tuple[str, np.ndarray]]:
    """Worker: the images of `ids` (clips or windows of clips stored in one clip shard); each
    stored clip is read once however many windows it gives."""
    release, ids, windows, time_axis = args
    store = ClipStore(release)
    out, last = [], (None, None)
    for cid in ids:
        window = windows.get(cid, (cid, 0, None))
        if last[0] != window[0]:
            last = (window[0], store.keypoints(window[0]))
        out.append((cid, clip_image_chw(window_frames(last[1], window), time_axis=time_axis)))
    return out


class MotionImageCache:
    """Each clip's motion image, once, as (3, 320, W) float16 in one flat array."""

    def __init__(self, ids: list[str], widths: np.ndarray, flat: np.ndarray):
        self.ids = list(ids)
        self.widths = np.asarray(widths, np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.widths * 3 * IMAGE_ROWS)])
        self.flat = flat
        self._pos = {cid: i for i, cid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, pos: int) -> np.ndarray:
        w = int(self.widths[pos])
        return self.flat[self.offsets[pos]:self.offsets[pos + 1]].reshape(3, IMAGE_ROWS, w)

    def positions(self, clip_ids) -> np.ndarray:
        try:
            return np.array([self._pos[c] for c in clip_ids], np.int64)
        except KeyError as exc:
            raise StoreIntegrityError(f"clip {exc.args[0]!r} is not in the motion-image cache") from None

    @classmethod
    def from_images(cls, items: list[tuple[str, np.ndarray]]) -> "MotionImageCache":
        ids = [cid for cid, _ in items]
        widths = np.array([img.shape[2] for _, img in items], np.int64)
        flat = np.concatenate([img.ravel() for _, img in items]) if items else np.zeros(0, np.float16)
        return cls(ids, widths, flat)

    @classmethod
    def build(cls, release, clip_ids=None, workers: int = 2, progress: bool = True, windows: Windows | None = None,
              time_axis: str = "native") -> "MotionImageCache":
        """Compute the images of `clip_ids` (default: all stored clips; ids in `windows` are
        windows of stored clips) from the release's clip shards, one shard per task, in
        `workers` processes."""
        from tqdm import tqdm
        store = ClipStore(release)
        windows = windows or {}
        ids = sorted(store.index.index) if clip_ids is None else sorted(set(clip_ids))
        parent = pd.Series({cid: windows[cid][0] if cid in windows else cid for cid in ids}, dtype=object)
        missing = sorted(set(parent) - set(store.index.index))
        if missing:
            raise StoreIntegrityError(f"{release}: clip {missing[0]!r} (and {len(missing) - 1} more) has "
                                      "questions but no keypoints; rebuild the release")
        files = store.index.loc[parent.to_numpy(), "file"].to_numpy() if ids else []
        order = pd.DataFrame({"id": ids, "parent": parent.to_numpy(), "file": files}).sort_values(["file", "parent", "id"])
        jobs = [(str(store.root), group["id"].tolist(), {c: windows[c] for c in group["id"] if c in windows}, time_axis)
                for _, group in order.groupby("file", sort=True)]
        items: list = []
        bar = tqdm(total=len(jobs), desc="motion images", unit="shard", disable=not progress)
        if workers > 1 and len(jobs) > 1:
            with mp.get_context("fork").Pool(min(workers, len(jobs))) as pool:
                for part in pool.imap_unordered(_shard_images, jobs):
                    items.extend(part)
                    bar.update()
        else:
            for job in jobs:
                items.extend(_shard_images(job))
                bar.update()
        bar.close()
        items.sort(key=lambda x: x[0])
        return cls.from_images(items)

    def save(self, path) -> None:
        """Write the cache as one .npz, atomically (np.savez gets a file: given a name it would
        append .npz to the temporary one)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, ids=np.array(self.ids), widths=self.widths, flat=self.flat)

    @classmethod
    def load(cls, path) -> "MotionImageCache":
        z = np.load(path, allow_pickle=False)
        return cls(z["ids"].tolist(), z["widths"], z["flat"])


class StreamingImages:
    """The MotionImageCache interface without holding every image: each image is computed
    from the clip shards when a batch asks for it (random access by id, 2-clip row groups),
    and the last `keep` images stay in a small LRU. Memory stays bounded whatever the release
    size; each worker process opens its own store. `lift train --stream` uses it."""

    def __init__(self, release, clip_meta: pd.DataFrame, clip_ids, keep: int = 256, windows: Windows | None = None,
                 time_axis: str = "native"):
        meta = clip_meta.set_index("id").loc[list(clip_ids)]
        self.release, self.ids, self.keep = Path(release), list(meta.index), keep
        self.windows, self.time_axis = windows or {}, time_axis
        self.widths = (np.full(len(meta), IMAGE_WIDTH, np.int64) if time_axis == "fit" else
                       np.minimum((meta["n_frames"].to_numpy(np.int64) + 1) // 2, IMAGE_WIDTH))
        self._pos = {cid: i for i, cid in enumerate(self.ids)}
        self._store, self._pid, self._lru = None, None, OrderedDict()

    def __len__(self) -> int:
        return len(self.ids)

    def __getstate__(self):                      # a worker process opens its own files
        return {**self.__dict__, "_store": None, "_pid": None, "_lru": OrderedDict()}

    def image(self, pos: int) -> np.ndarray:
        img = self._lru.get(pos)
        if img is not None:
            self._lru.move_to_end(pos)
            return img
        if self._store is None or self._pid != os.getpid():
            self._store, self._pid = ClipStore(self.release), os.getpid()
        img = clip_image_chw(window_keypoints(self._store, self.ids[pos], self.windows), time_axis=self.time_axis)
        if img.shape[2] != self.widths[pos]:
            raise StoreIntegrityError(f"{self.release}: clip {self.ids[pos]!r} has {img.shape[2]} image "
                                      f"columns but n_frames says {self.widths[pos]}; rebuild the release")
        self._lru[pos] = img
        if len(self._lru) > self.keep:
            self._lru.popitem(last=False)
        return img

    positions = MotionImageCache.positions
