"""Pull: export the collection's project through label-studio-sdk, validate every region,
write annotations/<collection>.json and cut one clip per set.

Policy (nothing already annotated is lost or overwritten):
- the annotation that counts for a task is its most recently updated, not-skipped one;
- a task with any problem (bad region, overlap, video moved/deleted/changed, untrusted data)
  contributes nothing: the video keeps its previous entry in the file, and the problem is
  reported with the task id and region id;
- a task with no submitted annotation yet leaves the file's entry as it is;
- videos in the file but absent from the project are kept;
- a server that is down or a wrong token stops before anything is written;
- a task that carries a machine suggestion (`push --suggest`) records, per set, whether the
  annotator accepted it unchanged, edited it (boundaries, name, reps) or added the set, and
  which suggested sets were deleted (olympia.annotate.review).
The file changes only when its content changes, so pulling twice changes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from olympia.annotate.config import LabelStudioConfig
from olympia.annotate.convert import (MAX_FRAMES, Problem, _SHA256, _as_int,
                                      check_collection, dump_document, latest_annotation, load_annotations,
                                      make_document, parse_regions, resolve_video, segments_of,
                                      video_entry, with_labels, write_annotations)
from olympia.annotate.review import is_suggestion, review, suggested_sets
from olympia.annotate.project import call, connect, find_project
from olympia.errors import ConfigError, OlympiaError, VideoError
from olympia.io import atomic_write_text
from olympia.labels import normalize_label
from olympia.io import sha256_file
from olympia.segment import Segment
from olympia.timebase import FPS

MAX_EXPORT_BYTES = 256 * 1024 * 1024   # a JSON export of ~100k regions is a few MB
MAX_TASKS = 100_000
MAX_EXPORT_DEPTH = 32                  # a real export nests 7 deep (task > annotations > result > value > ranges)


class _TooLarge(Exception):
    pass


def fetch_export(cfg: LabelStudioConfig, client, project_id: int,
                 max_bytes: int = MAX_EXPORT_BYTES) -> list[dict]:
    """All tasks of the project as parsed JSON, size-capped and type-checked at the top level."""
    buf = bytearray()

    def read():
        for chunk in client.projects.exports.download_sync(project_id, export_type="JSON",
                                                           download_all_tasks=True):
            buf.extend(chunk)
            if len(buf) > max_bytes:
                raise _TooLarge

    try:
        call(cfg, f"export project {project_id}", read)
    except _TooLarge:
        raise OlympiaError(f"Label Studio export of project {project_id} exceeds {max_bytes} bytes; "
                           "refusing to parse it (split the collection or raise MAX_EXPORT_BYTES)") from None
    too_deep = OlympiaError(f"Label Studio export of project {project_id} nests lists/objects more "
                            f"than {MAX_EXPORT_DEPTH} levels deep (a real export has about 7); "
                            "refusing it: check the tasks' data and results for altered values")
    try:
        tasks = json.loads(bytes(buf))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OlympiaError(f"Label Studio export of project {project_id} is not JSON ({exc})") from None
    except RecursionError:
        raise too_deep from None
    if json_depth(tasks) > MAX_EXPORT_DEPTH:
        raise too_deep
    if not isinstance(tasks, list) or len(tasks) > MAX_TASKS:
        raise OlympiaError(f"Label Studio export of project {project_id} is not a list of at most "
                           f"{MAX_TASKS} tasks")
    return tasks


def json_depth(value) -> int:
    """Deepest nesting of lists and objects in parsed JSON, walked without recursion (repr,
    jsonschema and the region parser would recurse on a deeply nested value)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


@dataclass
class TaskOutcome:
    task_id: int | None
    video: str                              # relative path ("" when the task data is unusable)
    entry: dict | None = None               # new file entry (None: nothing to write)
    pending: bool = False                   # no submitted annotation yet
    problems: list[Problem] = field(default_factory=list)


def _task_meta(task, collection: str, videos_root: Path, bad):
    data = task.get("data")
    meta = data.get("olympia") if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        bad("data", "task was not created by `olympia annotate push` (no data.olympia); delete it "
            "from the project or re-import it with push")
        return None
    rel = meta.get("video")
    try:
        path = resolve_video(videos_root, rel)
    except ValueError as exc:
        bad("data", f"data.olympia.video {str(rel)[:80]!r} {exc}; the task data was altered: "
            "delete the task and run `olympia annotate push`")
        return None
    sha, n_frames = meta.get("sha256"), _as_int(meta.get("n_frames"))
    if meta.get("collection") != collection:
        bad("data", f"task belongs to collection {str(meta.get('collection'))[:64]!r}, not {collection!r}")
        return None
    if not (isinstance(sha, str) and _SHA256.match(sha)) or n_frames is None or not 1 <= n_frames <= MAX_FRAMES:
        bad("data", "data.olympia.sha256/n_frames missing or malformed; run `olympia annotate push` "
            "to refresh the task")
        return None
    return rel, path, sha, n_frames


def fetch_suggestions(cfg: LabelStudioConfig, client, project_id: int) -> dict[int, tuple[str, list]]:
    """task id -> (model version, result) of its machine suggestion (`push --suggest`), the
    latest when there are several."""
    preds = call(cfg, f"list the predictions of project {project_id}", client.predictions.list,
                 project=project_id)
    return {p.task: (str(p.model_version)[:200], p.result)
            for p in sorted(preds, key=lambda p: p.id) if is_suggestion(p.model_version)}


def task_outcome(task, collection: str, videos_root: Path, normalize,
                 suggestion: tuple[str, list] | None = None) -> TaskOutcome:
    """Validate one exported task into a file entry or a list of problems; with the task's
    machine `suggestion` (model version, result), each set records what the annotator did
    with it (olympia.annotate.review)."""
    task_id = _as_int(task.get("id")) if isinstance(task, dict) else None
    out = TaskOutcome(task_id, "")

    def bad(field_name, message, region=""):
        out.problems.append(Problem(task_id, out.video, region, field_name, message))

    if not isinstance(task, dict) or task_id is None:
        bad("data", "exported task is not an object with an integer id")
        return out
    meta = _task_meta(task, collection, videos_root, bad)
    if meta is None:
        return out
    rel, path, sha, n_frames = meta
    out.video = rel
    annotation = latest_annotation(task)
    if annotation is None:
        out.pending = True
        return out
    if not path.is_file():
        bad("video", f"moved or deleted since import: expected {path}; put the video back (or "
            "re-normalize it there) and pull again")
        return out
    if sha256_file(path) != sha:
        bad("video", f"{path} changed since import (sha256 differs): the regions may no longer "
            "match; run `olympia annotate push`, re-check the sets in Label Studio, then pull")
        return out
    regions, problems = parse_regions(annotation.get("result"), task_id=task_id, video=rel, n_frames=n_frames)
    segments = [seg for _, seg in regions]
    if not problems:
        segments, problems = with_labels(segments, normalize, task_id=task_id, video=rel)
    out.problems += problems
    if out.problems:
        return out
    reviewed = None
    if suggestion is not None:
        reviews, rejected = review(suggested_sets(suggestion[1]),
                                   [(rid, seg) for (rid, _), seg in zip(regions, segments)])
        segments = [replace(seg, extra={**seg.extra, "suggestion": r}) for seg, r in zip(segments, reviews)]
        reviewed = {"model_version": suggestion[0], "rejected": [s.entry() for s in rejected]}
    out.entry = video_entry(sha, n_frames, segments, reviewed)
    return out


@dataclass
class PullReport:
    path: Path
    written: bool = False                                   # the file changed on disk
    updated: list[str] = field(default_factory=list)        # entries added or changed
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)           # problems: previous entry kept
    pending: list[str] = field(default_factory=list)        # no annotation yet
    orphans: list[str] = field(default_factory=list)        # in the file, not in the project
    problems: list[Problem] = field(default_factory=list)
    clips: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.path}: {'written' if self.written else 'unchanged'}; "
                f"{len(self.updated)} video(s) updated, {len(self.unchanged)} unchanged, "
                f"{len(self.pending)} not annotated yet, {len(self.kept)} kept their previous "
                f"annotations because of problems, {len(self.clips)} clip(s)")


def merge(collection: str, previous: dict | None, outcomes: list[TaskOutcome], report: PullReport) -> dict:
    old = dict(previous["videos"]) if previous else {}
    videos = dict(old)
    seen: dict[str, int] = {}
    for out in outcomes:
        report.problems += out.problems
        if out.video and out.video in seen:
            report.problems.append(Problem(out.task_id, out.video, "", "data",
                                           f"same video as task {seen[out.video]}: delete one of the two tasks"))
            videos.pop(out.video, None)
            if out.video in old:
                videos[out.video] = old[out.video]
            report.kept.append(out.video)
            continue
        if out.video:
            seen[out.video] = out.task_id
        if out.problems:
            if out.video:
                report.kept.append(out.video)
        elif out.pending:
            report.pending.append(out.video)
        elif out.entry is not None:
            (report.unchanged if old.get(out.video) == out.entry else report.updated).append(out.video)
            videos[out.video] = out.entry
    report.orphans = sorted(set(old) - set(seen))
    return make_document(collection, videos)


def pull(cfg: LabelStudioConfig, collection: str, *, videos_root: Path, annotations_dir: Path,
         clips_dir: Path | None = None, normalize=None) -> PullReport:
    """Export, validate, merge into annotations/<collection>.json, then cut clips (see module doc)."""
    check_collection(collection)
    path = Path(annotations_dir) / f"{collection}.json"
    previous = load_annotations(path, collection)
    client = connect(cfg)
    project = find_project(cfg, client, collection)
    if project is None:
        raise ConfigError(f"Label Studio at {cfg.url} has no project for collection {collection!r}; "
                          f"run `olympia annotate push {collection}` first")
    tasks = fetch_export(cfg, client, project.id)
    suggestions = fetch_suggestions(cfg, client, project.id)
    normalize = normalize or normalize_label
    outcomes = [task_outcome(t, collection, videos_root, normalize,
                             suggestions.get(t.get("id")) if isinstance(t, dict) else None) for t in tasks]
    report = PullReport(path)
    doc = merge(collection, previous, outcomes, report)
    report.written = write_annotations(path, doc)
    if clips_dir is not None:
        report.clips = cut_segments(doc, videos_root, clips_dir, report)
    return report


def clip_path(clips_dir: Path, rel: str, seg: Segment) -> Path:
    stem = rel[: -len(Path(rel).suffix)]
    return Path(clips_dir) / stem / f"{seg.start_frame:07d}-{seg.end_frame:07d}.mp4"


def cut_segments(doc: dict, videos_root: Path, clips_dir: Path, report: PullReport | None = None) -> list[Path]:
    """Cut [start_frame, end_frame) of every segment into <clips_dir>/<video path>/<s>-<e>.mp4
    and write <clips_dir>/<collection>.clips.json (clip -> video, frames, exercise, label, reps).
    Existing clips with the right frame count are kept; a missing or changed video is reported."""
    from olympia.video.ffmpeg_ops import cut_clip, probe

    clips, manifest = [], []
    for rel, entry in doc["videos"].items():
        src = resolve_video(videos_root, rel)
        if not src.is_file() or sha256_file(src) != entry["sha256"]:
            if report is not None:
                report.problems.append(Problem(None, rel, "", "video", f"{src} is missing or changed "
                                               "since it was annotated; its clips were not cut"))
            continue
        for seg in segments_of(rel, entry):
            dst = clip_path(clips_dir, rel, seg)
            want = seg.end_frame - seg.start_frame
            if not (dst.is_file() and probe(dst).frames_at(FPS) == want):
                try:
                    cut_clip(src, dst, seg.start_frame, seg.end_frame)
                except VideoError as exc:
                    if report is not None:
                        report.problems.append(Problem(None, rel, f"frames {seg.start_frame + 1}.."
                                                       f"{seg.end_frame}", "video", str(exc)))
                    continue
            clips.append(dst)
            manifest.append({"clip": dst.relative_to(clips_dir).as_posix(), "video": rel,
                             "video_sha256": entry["sha256"], "start_frame": seg.start_frame, "end_frame": seg.end_frame,
                             "exercise": seg.label_raw, "label": seg.label, "reps": seg.reps})
    out = Path(clips_dir) / f"{doc['collection']}.clips.json"
    atomic_write_text(out, dump_document({"collection": doc["collection"], "fps": FPS, "clips": manifest}))
    return clips
