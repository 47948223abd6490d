"""Skeletons from what a user hands a command: a release/store directory (one per clip), a
(T, 17, 3) .npy array at 25 fps, or a video (through the video pose path). Used by
`olympia count` and `lift predict`.

A video yields one skeleton per usable run (olympia.pose.runs): no-person frames at its ends
are trimmed, a person leaving for longer than 12 frames or a camera cut splits it, short gaps
inside a run are filled. A run that is not the whole video is named `<path>#frames=<a>-<b>`
(frames of the 25 fps timeline, [a, b)); the stretches left out are told to `on_note`, one line
each (default: printed to stderr as `note: ...`). A video with no usable run raises VideoError
saying why (no person, too dark, person too small). Videos are posed through the shared pose
cache (`olympia.pose.cache.default_cache_dir`: a second run does not run MediaPipe again) with
a progress bar over the frames on a terminal.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from olympia.errors import ConfigError, SourceFormatError, VideoError

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
_DEFAULT = object()   # cache_dir not given: the shared default cache


def read_skeleton_npy(path: Path) -> np.ndarray:
    try:
        kp = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise SourceFormatError(path, f"cannot be read as a .npy array ({exc})") from exc
    if kp.ndim != 3 or kp.shape[1:] != (17, 3):
        raise SourceFormatError(path, f"must hold a (T, 17, 3) H36M-17 skeleton at 25 fps, got shape {kp.shape}")
    return kp.astype(np.float32)


def print_note(line: str) -> None:
    print(f"note: {line}", file=sys.stderr)


def skeletons_from_video(path: Path, backend: str = "mediapipe", *, cache_dir=_DEFAULT,
                         progress: bool | None = None,
                         on_note: Callable[[str], None] | None = print_note) -> list[tuple[str, np.ndarray]]:
    """(name, (T, 17, 3) keypoints at 25 fps, gaps filled) per usable run of a video (see the
    module docstring). cache_dir None: no cache. progress None: a bar on terminals only."""
    from olympia.gaps import fill_gaps
    from olympia.pose.cache import default_cache_dir
    from olympia.pose.parallel import PoseTask, run_items, run_pose_task
    from olympia.pose.runs import pose_runs, refusal
    cache = default_cache_dir() if cache_dir is _DEFAULT else cache_dir
    task = PoseTask(str(path), backend=backend, cache_dir=None if cache is None else str(cache))
    [outcome] = run_items(run_pose_task, [task], workers=1, progress=progress)
    if not outcome.ok:
        raise VideoError(outcome.error)
    result = outcome.result
    runs = pose_runs(result)
    if not runs.runs:       # one line says why: the stretches' notes would repeat it
        raise VideoError(f"{path}: {refusal(result, runs)}")
    if on_note is not None:
        for note in runs.notes():
            on_note(f"{path}: {note}")
    whole = runs.runs == [(0, result.n_frames)]
    return [(str(path) if whole else f"{path}#frames={a}-{b}", fill_gaps(result.keypoints[a:b]).keypoints)
            for a, b in runs.runs]


def run_offset(name: str) -> int:
    """The first frame in its video of a run named `<path>#frames=<a>-<b>` (above), 0 for any
    other name: `olympia count` reports a run's reps in the video's frames, as `olympia videos
    sets` reports sets."""
    m = re.search(r"#frames=(\d+)-\d+$", name)
    return int(m.group(1)) if m else 0


def iter_skeletons(inputs, backend: str = "mediapipe", *, cache_dir=_DEFAULT, progress: bool | None = None,
                   on_note: Callable[[str], None] | None = print_note
                   ) -> Iterator[tuple[str, np.ndarray, int | None]]:
    """(name, keypoints, ground-truth reps or None) for each input: a store/release dir (one per
    clip id), a .npy skeleton, or a video (one per usable run, see the module docstring)."""
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
            for name, kp in skeletons_from_video(path, backend, cache_dir=cache_dir, progress=progress,
                                                 on_note=on_note):
                yield name, kp, None
        elif not path.exists():
            raise ConfigError(f"{path} does not exist; give a release/store directory, a .npy skeleton or a video")
        else:
            raise ConfigError(f"{path}: unknown input type {path.suffix!r}; give a release/store "
                              f"directory, a (T, 17, 3) .npy skeleton or a video ({', '.join(sorted(VIDEO_SUFFIXES))})")
