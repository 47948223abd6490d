"""Label Studio results <-> Olympia set segments, validation, and annotations/<collection>.json.

Frame convention (docs/annotate.md; the conversion lives in olympia.timebase):
  Label Studio numbers video frames from 1 and a TimelineLabels range {"start": s, "end": e}
  includes both ends (a one-frame region has s == e). Olympia uses 0-based half-open frame
  intervals on the 25 fps timeline, like `Clip.rep_bounds` and `cut_clip`:
      start_frame = s - 1,  end_frame = e          (frames [start_frame, end_frame))
  (`ls_range_to_frames`), and back: s = start_frame + 1, e = end_frame (`frames_to_ls_range`).
  The file also stores seconds: start_s = start_frame / fps, end_s = end_frame / fps.

Everything read from an export is untrusted: types, sizes and paths are checked here, and a
bad region becomes a `Problem` naming the task, the region and the fix, never an exception
that hides the other problems.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import jsonschema

from olympia.annotate.config import REPO_ROOT
from olympia.errors import LabelError, OlympiaError
from olympia.io import atomic_write_text, read_json
from olympia.segment import Segment
from olympia.timebase import (FPS, duration_seconds, frame_to_seconds, frames_to_ls_range,
                              ls_range_to_frames, seconds_to_frame)

FORMAT_VERSION = 1
OBJECT_VIDEO, CONTROL_SET, CONTROL_NAME, CONTROL_REPS = "video", "set", "exercise", "reps"
SET_LABEL = "set"
MODEL_VERSION = "olympia-annotations"     # predictions pushed from annotations/<collection>.json
MIN_SET_FRAMES = 2                        # a clip needs T >= 2 frames (olympia.schema)
MAX_REPS = 1000
MAX_NAME_CHARS = 200
MAX_PATH_CHARS = 512
MAX_FRAMES = seconds_to_frame(12 * 3600)  # 12 h: anything longer is not a workout video
VIDEO_SUFFIXES = (".mp4",)
SCHEMA_PATH = REPO_ROOT / "schemas" / "annotations.schema.json"
FRAME_CONVENTION = (f"0-based half-open [start_frame, end_frame) on the {FPS:g} fps timeline; "
                    f"start_s = start_frame / {FPS:g}, end_s = end_frame / {FPS:g}; a Label Studio "
                    "range {start: s, end: e} (1-based, inclusive) is [s - 1, e)")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COLLECTION = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def printable(text) -> str:
    """Text from an export made safe for a terminal: every non-printable character (ESC, CR,
    NUL, newline, bidi controls...) becomes its Python escape, so a region id or label can never
    move the cursor, recolour or rewrite what the user sees."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class AnnotationError(OlympiaError):
    """Annotations from Label Studio cannot be used as they are (lists every problem)."""

    def __init__(self, problems: list["Problem"], header: str = "annotation problems"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{header} ({len(problems)}):\n{lines}")


@dataclass(frozen=True)
class Problem:
    """One offending task/region: where, which field, what is wrong and how to fix it."""

    task_id: int | None
    video: str
    region: str        # Label Studio region id, "" when the whole task is at fault
    field: str         # set | exercise | reps | video | data | annotation
    message: str

    def __str__(self) -> str:
        where = f"task {self.task_id}" if self.task_id is not None else "file"
        where += f" ({self.video})" if self.video else ""
        where += f", region {self.region}" if self.region else ""
        return printable(f"{where}, {self.field}: {self.message}")


# A set is an olympia.segment.Segment on the 25 fps timeline: video = its path relative to the
# videos folder, label_raw = the exercise name as the annotator typed it (trimmed), label = its
# normalized form, reps >= 1. In annotations/<collection>.json it is written as below.

def segment_entry(seg: Segment) -> dict:
    """A set as annotations/<collection>.json stores it (keys in this order); `suggestion`
    (olympia.annotate.review) when the set was reviewed against a machine suggestion."""
    entry = {"start_frame": seg.start_frame, "end_frame": seg.end_frame,
             "start_s": round(frame_to_seconds(seg.start_frame), 6),
             "end_s": round(frame_to_seconds(seg.end_frame), 6),
             "exercise": seg.label_raw, "label": seg.label, "reps": seg.reps}
    if "suggestion" in seg.extra:
        entry["suggestion"] = seg.extra["suggestion"]
    return entry


def segments_of(video: str, entry: dict) -> list[Segment]:
    """The sets of one video's entry in annotations/<collection>.json."""
    return [Segment(video, s["start_frame"], s["end_frame"], label_raw=s["exercise"],
                    label=s.get("label", ""), reps=s["reps"],
                    extra={"suggestion": s["suggestion"]} if "suggestion" in s else {})
            for s in entry.get("segments", [])]


# --- untrusted values ------------------------------------------------------------------------

def _as_int(value) -> int | None:
    """An int from JSON, accepting 7.0 but not True, "7" or 7.5."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def check_collection(name: str) -> str:
    if not isinstance(name, str) or not _COLLECTION.match(name):
        raise OlympiaError(f"collection name {name!r} must be 1-64 characters of lowercase "
                           "a-z 0-9 . _ - starting with a letter or digit (it names "
                           "annotations/<collection>.json)")
    return name


def check_video_relpath(rel) -> str:
    """A video path from task data: relative, inside the videos folder, no traversal.
    Returns the path or raises ValueError with the reason."""
    if not isinstance(rel, str) or not rel:
        raise ValueError("is missing or not a string")
    if len(rel) > MAX_PATH_CHARS:
        raise ValueError(f"is longer than {MAX_PATH_CHARS} characters")
    if any(not c.isprintable() for c in rel) or "\\" in rel:
        raise ValueError("holds control characters or backslashes")
    path = PurePosixPath(rel)
    if path.is_absolute() or any(part in ("..", ".", "") for part in rel.split("/")):
        raise ValueError("must be a plain relative path inside the videos folder (no '/', '..' or '.')")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"must end in {', '.join(VIDEO_SUFFIXES)} (a normalized video)")
    return rel


def resolve_video(videos_root: Path, rel: str) -> Path:
    """Absolute path of a checked relative path; ValueError when a symlink leads outside."""
    root = Path(videos_root).resolve()
    path = (root / check_video_relpath(rel)).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"resolves outside the videos folder {root}")
    return path


def clean_name(value) -> str:
    """Exercise name from a TextArea value: one non-empty printable line."""
    texts = value.get("text") if isinstance(value, dict) else None
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError("no exercise name: select the region and type the exercise name")
    name = " ".join(" ".join(texts).split())
    if not name:
        raise ValueError("exercise name is empty: type the exercise name for this set")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"exercise name is longer than {MAX_NAME_CHARS} characters")
    if any(not c.isprintable() for c in name):
        raise ValueError("exercise name holds control characters")
    return name


def clean_reps(value) -> int:
    number = value.get("number") if isinstance(value, dict) else None
    reps = _as_int(number)
    if reps is None:
        raise ValueError(f"rep count {number!r} is not a whole number: enter an integer >= 1")
    if not 1 <= reps <= MAX_REPS:
        raise ValueError(f"rep count {reps} must lie in 1..{MAX_REPS}")
    return reps


def clean_range(value, n_frames: int) -> tuple[int, int]:
    """(start_frame, end_frame) from a timelinelabels value; ValueError with the fix."""
    if not isinstance(value, dict):
        raise ValueError("timeline value is not an object")
    labels = value.get("timelinelabels")
    if labels != [SET_LABEL]:
        raise ValueError(f"timeline labels {labels!r}: expected [{SET_LABEL!r}] (label the region as a set)")
    ranges = value.get("ranges")
    if not isinstance(ranges, list) or len(ranges) != 1 or not isinstance(ranges[0], dict):
        raise ValueError("a set region needs exactly one frame range")
    start, end = _as_int(ranges[0].get("start")), _as_int(ranges[0].get("end"))
    if start is None or end is None:
        raise ValueError(f"frame range {ranges[0]!r} does not hold integer start and end frames")
    if start > end:
        raise ValueError(f"frame range starts after it ends (frames {start}..{end}): redraw the region")
    start_frame, end_frame = ls_range_to_frames(start, end)
    if start_frame < 0 or end_frame > n_frames:
        raise ValueError(f"frames {start}..{end} lie outside the video (frames 1..{n_frames}, "
                         f"{duration_seconds(n_frames):.2f} s): redraw the region inside the video")
    if end_frame - start_frame < MIN_SET_FRAMES:
        raise ValueError(f"a set must span at least {MIN_SET_FRAMES} frames, got "
                         f"{end_frame - start_frame} (frames {start}..{end})")
    return start_frame, end_frame


# --- results <-> segments --------------------------------------------------------------------

def segments_to_result(segments: list[Segment]) -> list[dict]:
    """Label Studio result list (pre-annotations) for segments: three items per region."""
    result = []
    for i, seg in enumerate(sorted(segments, key=lambda s: (s.start_frame, s.end_frame))):
        rid = f"olympia-{i:03d}"
        common = {"id": rid, "to_name": OBJECT_VIDEO, "origin": "prediction"}
        result += [
            {**common, "from_name": CONTROL_SET, "type": "timelinelabels",
             "value": {"ranges": [frames_to_ls_range(seg.start_frame, seg.end_frame)],
                       "timelinelabels": [SET_LABEL]}},
            {**common, "from_name": CONTROL_NAME, "type": "textarea", "value": {"text": [seg.label_raw]}},
            {**common, "from_name": CONTROL_REPS, "type": "number", "value": {"number": seg.reps}},
        ]
    return result


_EXPECTED = {CONTROL_SET: "timelinelabels", CONTROL_NAME: "textarea", CONTROL_REPS: "number"}


def _group_regions(result, bad) -> dict[str, dict[str, dict]]:
    regions: dict[str, dict[str, dict]] = {}
    if not isinstance(result, list):
        bad("", "annotation", "result is not a list")
        return regions
    for item in result:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            bad("", "annotation", f"result item without a string id: {str(item)[:80]!r}")
            continue
        rid, control = item["id"][:64], item.get("from_name")
        if _EXPECTED.get(control) != item.get("type") or item.get("to_name") != OBJECT_VIDEO:
            bad(rid, str(control)[:32], f"unexpected result {control!r}/{item.get('type')!r}: the "
                "project's labeling config differs from annotations/labeling_config.xml; run "
                "`olympia annotate push` to restore it")
            continue
        if control in regions.setdefault(rid, {}):
            bad(rid, control, f"region has two {control} values: keep one")
            continue
        regions[rid][control] = item.get("value")
    return regions


def parse_result(result, *, task_id, video: str, n_frames: int) -> tuple[list[Segment], list[Problem]]:
    """Segments and problems of one annotation result. Segments are sorted by start frame."""
    regions, problems = parse_regions(result, task_id=task_id, video=video, n_frames=n_frames)
    return [seg for _, seg in regions], problems


def parse_regions(result, *, task_id, video: str, n_frames: int) -> tuple[list[tuple[str, Segment]], list[Problem]]:
    """(region id, Segment) pairs and problems of one annotation result, by start frame."""
    problems: list[Problem] = []

    def bad(region, field, message):
        problems.append(Problem(task_id, video, region, field, message))

    segments: list[tuple[str, Segment]] = []
    for rid, parts in sorted(_group_regions(result, bad).items()):
        if CONTROL_SET not in parts:
            bad(rid, CONTROL_SET, "exercise name / rep count without a timeline region: draw the set "
                "on the timeline or delete the orphan values")
            continue
        fields = {}
        for control, clean in ((CONTROL_SET, lambda v: clean_range(v, n_frames)),
                               (CONTROL_NAME, clean_name), (CONTROL_REPS, clean_reps)):
            if control not in parts:
                what = "exercise name" if control == CONTROL_NAME else "rep count"
                bad(rid, control, f"no {what}: select the region and enter it")
                continue
            try:
                fields[control] = clean(parts[control])
            except ValueError as exc:
                bad(rid, control, str(exc))
        if len(fields) == 3:
            (start, end), name, reps = fields[CONTROL_SET], fields[CONTROL_NAME], fields[CONTROL_REPS]
            segments.append((rid, Segment(video, start, end, label_raw=name, reps=reps)))
    segments.sort(key=lambda rs: (rs[1].start_frame, rs[1].end_frame, rs[0]))
    reach_id, reach = None, None
    for rid, seg in segments:
        if reach is not None and seg.start_frame < reach.end_frame:
            bad(rid, CONTROL_SET, f"overlaps region {reach_id} (frames {reach.start_frame + 1}.."
                f"{reach.end_frame} vs {seg.start_frame + 1}..{seg.end_frame}); one set per "
                "stretch of video: move the boundary")
        if reach is None or seg.end_frame > reach.end_frame:
            reach_id, reach = rid, seg
    return segments, problems


def latest_annotation(task: dict):
    """The annotation that counts: the most recently updated one not cancelled (skipped)."""
    anns = task.get("annotations")
    if not isinstance(anns, list):
        return None
    live = [a for a in anns if isinstance(a, dict) and not a.get("was_cancelled")]
    return max(live, key=lambda a: (str(a.get("updated_at") or ""), _as_int(a.get("id")) or 0),
               default=None)


def with_labels(segments: list[Segment], normalize, *, task_id, video) -> tuple[list[Segment], list[Problem]]:
    """Fill `label` through the label normalizer; a name it refuses becomes a problem."""
    out, problems = [], []
    for seg in segments:
        try:
            out.append(replace(seg, label=normalize(seg.label_raw)))
        except LabelError as exc:
            problems.append(Problem(task_id, video, f"frames {seg.start_frame + 1}..{seg.end_frame}",
                                    CONTROL_NAME, f"{exc}; rename the exercise"))
    return out, problems


# --- annotations/<collection>.json -----------------------------------------------------------

def video_entry(sha256: str, n_frames: int, segments: list[Segment], suggestions: dict | None = None) -> dict:
    """A video as annotations/<collection>.json stores it; `suggestions` (model_version, the
    rejected suggested sets) when its annotation was reviewed against a machine suggestion."""
    entry = {"sha256": sha256, "n_frames": n_frames,
             "segments": [segment_entry(s) for s in sorted(segments, key=lambda s: (s.start_frame, s.end_frame))]}
    if suggestions is not None:
        entry["suggestions"] = suggestions
    return entry


def make_document(collection: str, videos: dict[str, dict]) -> dict:
    return {"format_version": FORMAT_VERSION, "collection": collection, "fps": FPS,
            "frame_convention": FRAME_CONVENTION,
            "videos": {rel: videos[rel] for rel in sorted(videos)}}


def annotations_schema() -> dict:
    return read_json(SCHEMA_PATH, "annotations JSON Schema")


def validate_document(doc: dict, where) -> None:
    try:
        jsonschema.validate(doc, annotations_schema())
    except jsonschema.ValidationError as exc:
        loc = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise OlympiaError(f"{where}: {loc}: {exc.message}; fix the file or pull it again "
                           "from Label Studio") from None


def dump_document(doc: dict) -> str:
    """Deterministic text: fixed key order, sorted videos, 2-space indent, final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_annotations(path: Path, doc: dict) -> bool:
    """Validate and write atomically; returns False (and leaves the file alone) when unchanged."""
    path = Path(path)
    validate_document(doc, path)
    text = dump_document(doc)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text)
    return True


def load_annotations(path: Path, collection: str | None = None) -> dict | None:
    """The parsed, schema-checked file, or None when it does not exist yet."""
    path = Path(path)
    if not path.is_file():
        return None
    doc = read_json(path, "annotations file (restore it from git)")
    validate_document(doc, path)
    if collection is not None and doc["collection"] != collection:
        raise OlympiaError(f"{path}: holds collection {doc['collection']!r}, expected {collection!r}")
    return doc
