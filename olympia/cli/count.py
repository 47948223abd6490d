"""`olympia count`: the training-free repetition counter (olympia.counting) on the command line."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import click
import numpy as np

from olympia.errors import ConfigError, OlympiaError, SourceFormatError

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
    try:
        from olympia.pose.pipeline import PoseJob, pose_items
    except ImportError as exc:
        raise ConfigError(f"{path}: the video pose path (olympia.pose) is unavailable ({exc}); "
                          "pass a (T, 17, 3) .npy skeleton instead") from exc
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


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True)
@click.option("--backend", default="mediapipe", show_default=True,
              help="Pose backend for video inputs (olympia.pose).")
@click.option("--with-truth", is_flag=True,
              help="Add the ground-truth rep count as a third column (store/release inputs).")
def count(inputs, backend, with_truth):
    """Count repetitions without training: principal-motion signal + autocorrelation period +
    peak picking on the 3D skeleton (olympia.counting). Prints `<path><TAB><count>` per input;
    a release or store directory prints one line per clip id.

    \b
    Examples:
      olympia count dist/olympia-demo
      olympia count dist/olympia-demo --with-truth | head
      olympia count squat.npy              # (T, 17, 3) H36M-17 skeleton at 25 fps
      olympia count my_set.mp4             # through the video pose path (MediaPipe)
    """
    from olympia.counting import count_reps
    failed = 0
    for raw in inputs:
        try:
            for name, kp, truth in iter_skeletons([raw], backend):
                line = f"{name}\t{count_reps(kp).count}"
                if with_truth:
                    line += f"\t{'' if truth is None else truth}"
                click.echo(line)
        except OlympiaError as exc:   # one bad input is reported, the others still count
            failed += 1
            click.secho(f"error: {exc}", fg="red", err=True)
    if failed:
        raise SystemExit(2)
