"""Annotated segments of long videos: which frames of which video make one clip.

Three JSON formats are read by `load_any_segments`:

1. The adapters' work items: `{"format_version": 1, "segments": [...]}` written by
   `olympia.adapters.common.write_segments_json` (frames at the video's NATIVE fps, or
   seconds; full clip ids). They are converted to the 25 fps timeline by probing each video.
2. A simple list, frames on the normalized 25 fps timeline, [start, end):

    [{"video": "videos/creator1_full_body.mp4", "start_frame": 250, "end_frame": 1000,
      "label_raw": "Alternating Lunges", "reps": 12, "clip_id": "creator1-0001"}]

`video` is resolved relative to the segments file when it is not absolute. `reps` may be null;
`clip_id` is optional (default `<video stem>-<start>-<end>`); `subject` is optional (default the
video stem); `rep_bounds` is optional ([[start, end), ...] relative to the segment start).

3. The clips manifest `olympia annotate pull --clips DIR` writes (`DIR/<collection>.clips.json`:
   `{"collection", "fps", "clips": [{"clip", "video", "start_frame", "end_frame", "exercise",
   "label", "reps"}]}`): one segment per cut clip, the whole clip, with the annotated exercise
   name and rep count; the split group is the long source video, so no video spans two splits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from olympia.errors import SourceFormatError


@dataclass(frozen=True)
class Segment:
    video: str                      # path of the source video
    start_frame: int                # first frame (25 fps timeline), inclusive
    end_frame: int                  # last frame, exclusive
    label_raw: str = ""             # exercise label as annotated
    reps: int | None = None         # repetition count, None when unknown
    clip_id: str = ""               # stable id part; default "<stem>-<start>-<end>"
    subject: str = ""               # performer; default the video stem
    rep_bounds: tuple = field(default_factory=tuple)  # ((start, end), ...) within the segment
    full_id: str = ""               # complete clip id (adapters' segments); overrides the default
    source: str = ""                # clip.source (adapters' segments); default the job's source
    split_group: str = ""           # leak-free split group; default "<source>:<video stem>"
    camera: str | None = None
    provenance: tuple = ()          # ((key, value), ...): source_file, sha256, license
    extra: tuple = ()               # ((key, value), ...) source-specific metadata

    @property
    def name(self) -> str:
        return self.clip_id or f"{Path(self.video).stem}-{self.start_frame}-{self.end_frame}"


_REQUIRED = ("video", "start_frame", "end_frame")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceFormatError(path, f"cannot read segments JSON ({exc}); fix the file") from None


def load_segments(path) -> list[Segment]:
    """Parse a segments JSON file; errors name the file, the item index and the field."""
    path = Path(path)
    items = _read_json(path)
    if not isinstance(items, list):
        raise SourceFormatError(path, "must hold a JSON list of segment objects")
    out = []
    for i, item in enumerate(items):
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
        bounds = tuple(tuple(int(v) for v in b) for b in item.get("rep_bounds") or ())
        out.append(Segment(str(video), start, end, str(item.get("label_raw", "")), reps,
                           str(item.get("clip_id", "")), str(item.get("subject", "")), bounds))
    return out


def load_any_segments(path) -> list[Segment]:
    """Read any of the three segments formats (see the module docstring) as 25 fps Segments."""
    path = Path(path)
    doc = _read_json(path)
    if isinstance(doc, dict) and "clips" in doc and "collection" in doc:
        return _from_clips_manifest(path, doc)
    if isinstance(doc, dict):
        return _from_video_segments(path)
    return load_segments(path)


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
        out.append(Segment(str(path.parent / clip), 0, end - start, str(item.get("exercise", "")), reps,
                           clip_id=f"{collection}-{stem}-{start}-{end}", subject=stem,
                           split_group=f"{collection}:{video}",
                           provenance=(("source_file", f"{collection}/{video}#frames={start}-{end}"),),
                           extra=(("collection", collection), ("video", video),
                                  ("video_frames", [start, end]))))
    return out


def _from_video_segments(path: Path) -> list[Segment]:
    from olympia.adapters.common import load_segments_json, segment_rep_bounds
    from olympia.errors import OlympiaError
    from olympia.video.ffmpeg_ops import FPS, require_video
    out = []
    for i, vs in enumerate(load_segments_json(path)):
        try:
            info = require_video(vs.video)
        except OlympiaError as exc:  # keep the item: the pose stage rejects it by name
            out.append(Segment(vs.video, 0, 1, vs.label_raw, vs.reps, full_id=vs.clip_id,
                               source=vs.source, subject=vs.subject, split_group=vs.split_group,
                               extra=(("segment_error", str(exc)),)))
            continue
        native = info.fps
        if vs.start_frame is not None:
            start = round(vs.start_frame / native * FPS)
        else:
            start = round((vs.start_s or 0.0) * FPS)
        if vs.end_frame is not None:
            end = round(vs.end_frame / native * FPS)
        elif vs.end_s is not None:
            end = round(vs.end_s * FPS)
        else:
            end = info.frames_at(FPS)
        bounds, extra = (), dict(vs.extra)
        if vs.rep_bounds and end > start:
            try:
                bounds = tuple(tuple(int(v) for v in b)
                               for b in segment_rep_bounds(vs, native, end - start).tolist())
            except ValueError as exc:  # kept visible in clip.extra, the clip itself is fine
                extra["rep_bounds_error"] = str(exc)
        out.append(Segment(vs.video, int(start), int(end), vs.label_raw, vs.reps, "",
                           vs.subject, bounds, full_id=vs.clip_id, source=vs.source,
                           split_group=vs.split_group, camera=vs.camera,
                           provenance=tuple(sorted(vs.provenance.items())),
                           extra=tuple(sorted(extra.items()))))
    return out
