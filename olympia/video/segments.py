"""Segments JSON files: which frames of which video make one clip (`olympia.segment.Segment`).

Three JSON formats are read by `load_any_segments`, which returns Segments on the 25 fps
timeline:

- The adapters' work items, `{"format_version": 2, "segments": [Segment.to_json(), ...]}`,
  written by `write_segments_json` (`olympia ingest` of a video-only source): frames at the
  video's NATIVE rate (`fps` null: read from the video), full clip ids. Each video is probed
  and its frames are converted with `Segment.at_fps`. Format 1 (the former work items:
  `start_frame`/`end_frame` at the native rate or `start_s`/`end_s` in seconds, no `fps`) is
  still read.
- A simple list, frames on the normalized 25 fps timeline, [start, end):

    [{"video": "videos/creator1_full_body.mp4", "start_frame": 250, "end_frame": 1000,
      "label_raw": "Alternating Lunges", "reps": 12, "clip_id": "creator1-0001"}]

`video` is resolved relative to the segments file when it is not absolute. `reps` may be null;
`clip_id` is optional (default `<video stem>-<start>-<end>`); `subject` is optional (default the
video stem); `rep_bounds` is optional ([[start, end), ...] relative to the segment start).

- The clips manifest `olympia annotate pull --clips DIR` writes (`DIR/<collection>.clips.json`:
  `{"collection", "fps", "clips": [{"clip", "video", "video_sha256", "start_frame",
  "end_frame", "exercise", "label", "reps"}]}`): one segment per cut clip, the whole clip, with
  the annotated exercise name, its normalized label and rep count; the split group is the long
  source video's content (`content_split_group`), so no video spans two splits.

Split groups (no leakage across sources): a clip posed from video belongs to the group
`video:<sha256[:16]>` of the video it was cut from, whatever the source or collection name it
was posed under, so the same video posed twice lands in one split. A segment that names its own
`split_group` keeps it: adapters set one when the performer is known (a subject must never span
splits either) and leave it empty otherwise.

Segments of the simple list and the clips manifest have no `source`: their `clip_id` is the
segment's name, which the pose job prefixes with its source and the video stem
(`olympia pose --source`).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable

from olympia.errors import OlympiaError, SourceFormatError
from olympia.io import atomic_write_json, read_json
from olympia.segment import Segment
from olympia.timebase import FPS, seconds_to_frame

SPLIT_GROUP_HASH_CHARS = 16     # 64 bits of the sha256: no collision among any real number of videos
SEGMENTS_FORMAT_VERSION = 2      # 1: the former VideoSegment items (still read)
_V1_KEYS = {"clip_id", "source", "subject", "video", "label_raw", "camera", "start_frame",
            "end_frame", "start_s", "end_s", "reps", "rep_bounds", "split_group", "provenance",
            "extra"}


def content_split_group(video_sha256: str) -> str:
    """The split group of clips from a video whose performer is unknown: its content hash."""
    return f"video:{video_sha256[:SPLIT_GROUP_HASH_CHARS]}"


# --- the adapters' work items -----------------------------------------------------------------

def write_segments_json(segments: Iterable[Segment], path: Path | str) -> Path:
    """Write {"format_version": 2, "segments": [...]} atomically."""
    doc = {"format_version": SEGMENTS_FORMAT_VERSION, "segments": [s.to_json() for s in segments]}
    return atomic_write_json(path, doc, indent=1)


def load_segments_json(path: Path | str) -> list[Segment]:
    """The work items of a file written by `write_segments_json`, frames as written (at their
    `fps`, None = the video's own rate). Errors name the file and the item."""
    path = Path(path)
    doc = read_json(path, "segments JSON")
    version = doc.get("format_version") if isinstance(doc, dict) else None
    if version not in (1, SEGMENTS_FORMAT_VERSION) or not isinstance(doc.get("segments", []), list):
        raise SourceFormatError(path, f"expected format_version {SEGMENTS_FORMAT_VERSION} "
                                      "(write it with olympia.video.segments.write_segments_json)")
    out = []
    for i, item in enumerate(doc.get("segments", [])):
        try:
            out.append(_segment_v1(item) if version == 1 else Segment.from_json(item))
        except (TypeError, ValueError) as exc:
            raise SourceFormatError(path, f"segment {i}: {exc}", row=i) from None
    return out


def _segment_v1(item: dict) -> Segment:
    """A format-1 item: native frames (or seconds, taken onto the 25 fps timeline)."""
    if not isinstance(item, dict) or set(item) - _V1_KEYS or \
            not {"clip_id", "source", "subject", "video", "label_raw"} <= set(item):
        raise ValueError("unknown keys or a required key (clip_id, source, subject, video, "
                         "label_raw) missing")
    item = dict(item)
    start_s, end_s = item.pop("start_s", None), item.pop("end_s", None)
    fps = None
    if item.get("start_frame") is None and item.get("end_frame") is None and \
            (start_s is not None or end_s is not None):
        if item.get("rep_bounds"):
            raise ValueError("rep_bounds (native frames) with a range in seconds: give "
                             "start_frame/end_frame instead")
        fps = FPS
        item["start_frame"] = seconds_to_frame(start_s or 0.0)
        item["end_frame"] = None if end_s is None else seconds_to_frame(end_s)
    item["start_frame"] = item.get("start_frame") or 0
    item["split_group"] = item.get("split_group") or f"{item['source']}:{item['subject']}"
    return Segment(fps=fps, **item)


# --- the simple list ---------------------------------------------------------------------------

_REQUIRED = ("video", "start_frame", "end_frame")


def load_segments(path) -> list[Segment]:
    """Parse a simple segments list; errors name the file, the item index and the field."""
    path = Path(path)
    items = read_json(path, "segments JSON")
    if not isinstance(items, list):
        raise SourceFormatError(path, "must hold a JSON list of segment objects")
    return [_simple_segment(path, i, item) for i, item in enumerate(items)]


def _simple_segment(path: Path, i: int, item) -> Segment:
    if not isinstance(item, dict):
        raise SourceFormatError(path, "each segment must be a JSON object", row=i)
    missing = [k for k in _REQUIRED if k not in item]
    if missing:
        raise SourceFormatError(path, f"missing field(s) {missing}; each segment needs "
                                      "video, start_frame, end_frame", row=i)
    try:
        start, end = int(item["start_frame"]), int(item["end_frame"])
        reps = None if item.get("reps") is None else int(item["reps"])
    except (TypeError, ValueError):
        raise SourceFormatError(path, "start_frame, end_frame and reps must be integers",
                                row=i) from None
    video = Path(item["video"])
    if not video.is_absolute():
        video = path.parent / video
    try:
        return Segment(str(video), start, end, label_raw=str(item.get("label_raw", "")), reps=reps,
                       rep_bounds=[[start + a, start + b] for a, b in item.get("rep_bounds") or ()],
                       clip_id=str(item.get("clip_id", "")), subject=str(item.get("subject", "")))
    except (TypeError, ValueError) as exc:
        raise SourceFormatError(path, f"rep_bounds must be [start, end) integer pairs ({exc})",
                                row=i) from None


# --- the annotate clips manifest ----------------------------------------------------------------

def _from_clips_manifest(path: Path, doc: dict) -> list[Segment]:
    collection = str(doc["collection"])
    out = []
    for i, item in enumerate(doc["clips"]):
        try:
            clip, video = Path(item["clip"]), str(item["video"])
            start, end = int(item["start_frame"]), int(item["end_frame"])
            reps = None if item.get("reps") is None else int(item["reps"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceFormatError(path, f"clip entry needs clip, video, start_frame, end_frame, reps ({exc})",
                                    row=i) from None
        if clip.is_absolute() or ".." in clip.parts:
            raise SourceFormatError(path, f"clip path {clip} must stay inside {path.parent}", row=i)
        stem = Path(video).with_suffix("").as_posix().replace("/", "-")
        sha = item.get("video_sha256")   # absent in manifests written before it was recorded
        group = content_split_group(sha) if isinstance(sha, str) and sha else f"{collection}:{video}"
        out.append(Segment(str(path.parent / clip), 0, end - start, label_raw=str(item.get("exercise", "")),
                           label=str(item.get("label") or ""), reps=reps,
                           clip_id=f"{collection}-{stem}-{start}-{end}", subject=stem,
                           split_group=group,
                           provenance={"source_file": f"{collection}/{video}#frames={start}-{end}"},
                           extra={"collection": collection, "video": video,
                                  "video_frames": [start, end]}))
    return out


# --- any of the three, on the 25 fps timeline --------------------------------------------------

def load_any_segments(path) -> list[Segment]:
    """Read any of the three segments formats (see the module docstring) as 25 fps Segments."""
    path = Path(path)
    doc = read_json(path, "segments JSON")
    if isinstance(doc, dict) and "clips" in doc and "collection" in doc:
        return _from_clips_manifest(path, doc)
    if isinstance(doc, dict):
        return [_at_project_fps(s) for s in load_segments_json(path)]
    return load_segments(path)


def _at_project_fps(seg: Segment) -> Segment:
    """A work item with frames at the video's rate -> the 25 fps timeline, probing the video.
    An unreadable video keeps the item (as one frame, the error in extra): the pose stage then
    rejects it by name."""
    from olympia.video.ffmpeg_ops import require_video
    try:
        info = require_video(seg.video)
    except OlympiaError as exc:
        return replace(seg, start_frame=0, end_frame=1, fps=FPS, rep_bounds=[],
                       extra={"segment_error": str(exc)})
    native = seg if seg.fps is not None else replace(seg, fps=info.fps)
    frames = info.frames_at(FPS)
    try:
        return native.at_fps(FPS, frames)
    except ValueError as exc:  # a rep shorter than a frame: kept visible in clip.extra, the clip is fine
        out = replace(native, rep_bounds=[]).at_fps(FPS, frames)
        out.extra = {**out.extra, "rep_bounds_error": str(exc)}
        return out
