"""One exercise set inside a video, and the one rule for repetition bounds.

A `Segment` is frames [start_frame, end_frame) of a video with the set's label and reps. It is
what video-only adapters hand to the pose path, what `olympia pose --segments` reads, and what
an annotator's Label Studio region becomes. Frame numbers count at `fps`: the project's 25 fps
timeline (normalized videos, annotations) or a source's native rate (an adapter that has not
probed the video yet; `fps` None when even the rate is unknown until then); `at_fps` converts
with the timebase's one mapping.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from olympia.timebase import FPS, frame_to_seconds, rescale_frames, rescale_rep_bounds


# Stored counts are int32 (olympia.schema: reps, n_frames, rep bounds): larger values cannot be
# written, so they are refused here, where they are checked, not by the Parquet writer.
INT32_MAX = 2**31 - 1
# The shortest repetition a human performs: 0.2 s (5 frames at 25 fps). Even the fastest
# repetitive exercises (jumping jacks, battle ropes, boxing punches: 2-4 Hz) need 0.25 s per
# cycle; a shorter rep, or more reps than the set's length holds at this pace (500 reps in
# 21 frames), is an annotation or unit error.
MIN_REP_SECONDS = 0.2


def min_rep_frames(fps: float) -> int:
    """Frames of the shortest possible repetition at `fps` (5 at 25 fps, at least 1)."""
    return max(1, int(np.ceil(MIN_REP_SECONDS * fps - 1e-9)))


def check_rep_count(reps: int | None, n_frames: int, fps: float) -> None:
    """ValueError when `reps` repetitions cannot fit in n_frames frames at fps (each lasts at
    least MIN_REP_SECONDS) or exceed the stored int32 range. None (unknown) is always valid."""
    if reps is None:
        return
    if reps > INT32_MAX:
        raise ValueError(f"{reps} reps exceed the stored int32 range [0, {INT32_MAX}]")
    if reps * min_rep_frames(fps) > n_frames:
        raise ValueError(f"{reps} reps cannot fit in {n_frames} frames ({n_frames / fps:.2f} s at "
                         f"{fps:g} fps): a repetition lasts at least {MIN_REP_SECONDS} s; "
                         "check the count and the set's frames")


def check_rep_bounds(rep_bounds, n_frames: int, reps: int | None = None,
                     fps: float | None = None) -> np.ndarray:
    """Validate per-rep [start, end) frame bounds of a set of n_frames frames.

    Returns them as an (R, 2) int64 array; raises ValueError saying which rep is wrong when a
    rep is empty, outside [0, n_frames], out of order or overlapping its neighbour, or when the
    number of pairs disagrees with `reps`. With `fps` (the frames' rate), a rep shorter than
    MIN_REP_SECONDS, or more `reps` than n_frames holds at that pace, is refused too.
    An empty array means "unknown" and is always valid (the count rule still applies).
    """
    try:
        rb = np.asarray(rep_bounds, dtype=np.int64).reshape(-1, 2)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"rep bounds must be [start, end) integer pairs ({exc})") from None
    if fps is not None:
        check_rep_count(reps, n_frames, fps)
    if rb.size == 0:
        return rb
    empty = rb[:, 0] >= rb[:, 1]
    if empty.any():
        i = int(np.argmax(empty))
        raise ValueError(f"rep {i} has start {rb[i, 0]} >= end {rb[i, 1]}")
    if rb.min() < 0 or rb.max() > n_frames:
        raise ValueError(f"rep bounds must lie in [0, {n_frames}] (the set's frames), "
                         f"got [{rb.min()}, {rb.max()}]")
    if (np.diff(rb[:, 0]) <= 0).any() or (rb[1:, 0] < rb[:-1, 1]).any():
        raise ValueError("reps must be in increasing order and must not overlap")
    if reps is not None and len(rb) != reps:
        raise ValueError(f"{len(rb)} rep bound pairs but reps = {reps}")
    if fps is not None:
        short = (rb[:, 1] - rb[:, 0]) < min_rep_frames(fps)
        if short.any():
            i = int(np.argmax(short))
            raise ValueError(f"rep {i} [{rb[i, 0]}, {rb[i, 1]}) lasts {rb[i, 1] - rb[i, 0]} frame(s) "
                             f"at {fps:g} fps: a repetition lasts at least {MIN_REP_SECONDS} s "
                             f"({min_rep_frames(fps)} frames)")
    return rb


@dataclass
class Segment:
    """Frames [start_frame, end_frame) of a video: one exercise set with its label and reps."""

    video: str                          # path of the video file
    start_frame: int = 0                # first frame of the set, 0-based, counted at `fps`
    end_frame: int | None = None        # one past its last frame; None = to the end of the video
    fps: float | None = FPS             # rate the frame numbers count at (25 = Olympia's timeline;
                                        # None = the video's own rate, known once it is probed)
    label_raw: str = ""                 # exercise name as the source or annotator wrote it
    label: str = ""                     # normalized label (olympia.labels.normalize_label)
    reps: int | None = None             # repetitions in the set; None when unknown
    rep_bounds: list = field(default_factory=list)   # per rep [start, end), absolute frames at `fps`
    clip_id: str = ""                   # full clip id of the clip it becomes ("" = derived)
    source: str = ""                    # adapter or collection it comes from
    subject: str = ""                   # performer id ("" = the video stem)
    split_group: str = ""               # leak-free split group ("" = "<source>:<subject>")
    camera: str | None = None           # camera id, when the source has several
    provenance: dict = field(default_factory=dict)   # source_file, sha256, license
    extra: dict = field(default_factory=dict)        # source-specific metadata

    def __post_init__(self):
        self.start_frame = int(self.start_frame)
        self.end_frame = None if self.end_frame is None else int(self.end_frame)
        self.rep_bounds = [[int(a), int(b)] for a, b in np.asarray(self.rep_bounds, np.int64).reshape(-1, 2)]

    @property
    def name(self) -> str:
        """Stable short name: the clip id, else `<video stem>-<start>-<end>`."""
        return self.clip_id or f"{Path(self.video).stem}-{self.start_frame}-{self.end_frame}"

    @property
    def n_frames(self) -> int | None:
        return None if self.end_frame is None else self.end_frame - self.start_frame

    @property
    def start_s(self) -> float:
        return frame_to_seconds(self.start_frame, self.fps)

    @property
    def end_s(self) -> float | None:
        return None if self.end_frame is None else frame_to_seconds(self.end_frame, self.fps)

    def at_fps(self, fps: float = FPS, video_frames: int | None = None) -> "Segment":
        """The same set with frame numbers at `fps`. `video_frames` (the video's length at
        `fps`) fills an open end. Raises ValueError when a rep becomes shorter than a frame."""
        if self.fps is None:
            raise ValueError(f"{self.video}: frames count at the video's own rate; probe it and "
                             "set fps first")
        start = int(rescale_frames(self.start_frame, self.fps, fps))
        if self.end_frame is not None:
            end = int(rescale_frames(self.end_frame, self.fps, fps))
        else:
            end = video_frames
        bounds = rescale_rep_bounds(self.rep_bounds, self.fps, video_frames or np.iinfo(np.int64).max, fps)
        return replace(self, start_frame=start, end_frame=end, fps=float(fps), rep_bounds=bounds.tolist())

    def clip_rep_bounds(self) -> np.ndarray:
        """Rep bounds relative to the set's first frame (the cut clip's frames), (R, 2) int64."""
        return np.asarray(self.rep_bounds, np.int64).reshape(-1, 2) - self.start_frame

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, item: dict) -> "Segment":
        """Inverse of to_json; TypeError/ValueError for unknown keys or bad values."""
        if not isinstance(item, dict):
            raise TypeError(f"a segment must be a JSON object, got {type(item).__name__}")
        unknown = set(item) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown segment keys {sorted(unknown)}")
        if "video" not in item:
            raise ValueError("a segment needs a `video`")
        return cls(**item)
