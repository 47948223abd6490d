"""Push: create or update the Label Studio project of a video collection through
label-studio-sdk (`from label_studio_sdk import LabelStudio`), one task per normalized video,
with the segments already in annotations/<collection>.json as pre-annotations (predictions).

Task data (what pull later trusts only after checking):
  video    URL the editor plays: /data/local-files/?d=<videos folder name>/<path>, or
           <url prefix><path> when the videos are served elsewhere
  olympia  {"collection", "video": <path relative to the videos folder>, "sha256", "n_frames"}
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from olympia.annotate.config import LabelStudioConfig, REPO_ROOT
from olympia.annotate.convert import (MODEL_VERSION, check_collection, check_video_relpath,
                                      load_annotations, printable, segments_of, segments_to_result)
from olympia.annotate.review import is_suggestion, suggestion_result
from olympia.errors import ConfigError, OlympiaError, VideoError
from olympia.io import sha256_file
from olympia.timebase import FPS

LABELING_CONFIG = REPO_ROOT / "annotations" / "labeling_config.xml"
TITLE_PREFIX = "olympia "
REQUEST_TIMEOUT_S = 60.0


def project_title(collection: str) -> str:
    return TITLE_PREFIX + collection


def labeling_config() -> str:
    return LABELING_CONFIG.read_text(encoding="utf-8")


def _api_message(cfg: LabelStudioConfig, what: str, exc: Exception) -> OlympiaError:
    if isinstance(exc, ApiError):
        if exc.status_code in (401, 403):
            return ConfigError(f"Label Studio at {cfg.url} refused the API token from {cfg.source or 'argument'} "
                               f"while trying to {what} (HTTP {exc.status_code}); copy a valid token from "
                               "Account & Settings (legacy tokens must be enabled for the organization, "
                               "or use a personal access token)")
        body = exc.body if isinstance(exc.body, (dict, list)) else str(exc.body)
        detail = printable(json.dumps(body)[:400] if not isinstance(body, str) else body[:400])
        return ConfigError(f"Label Studio at {cfg.url} answered HTTP {exc.status_code} while trying to "
                           f"{what}: {detail}")
    if isinstance(exc, (httpx.TransportError, OSError)):
        return ConfigError(f"cannot reach Label Studio at {cfg.url} to {what} ({type(exc).__name__}); "
                           "is it running? start it with `olympia annotate serve`, or set --url / "
                           "$OLYMPIA_LS_URL")
    return ConfigError(printable(f"Label Studio at {cfg.url}: {what} failed: {exc}"))


def call(cfg: LabelStudioConfig, what: str, fn, *args, **kwargs):
    """Run one SDK call, turning transport and HTTP errors into one clear ConfigError."""
    try:
        return fn(*args, **kwargs)
    except (ApiError, httpx.HTTPError, OSError) as exc:
        raise _api_message(cfg, what, exc) from None


def connect(cfg: LabelStudioConfig) -> LabelStudio:
    """An SDK client whose token has been checked against the server."""
    client = LabelStudio(base_url=cfg.url, api_key=cfg.token, timeout=REQUEST_TIMEOUT_S)
    call(cfg, "check the API token", client.users.whoami)
    return client


def find_project(cfg, client: LabelStudio, collection: str):
    title = project_title(collection)
    matches = [p for p in call(cfg, "list projects", lambda: list(client.projects.list()))
               if p.title == title]
    if len(matches) > 1:
        raise ConfigError(f"Label Studio at {cfg.url} has {len(matches)} projects titled {title!r} "
                          f"(ids {[p.id for p in matches]}); rename or delete the extra ones")
    return matches[0] if matches else None


@dataclass
class VideoRecord:
    rel: str            # path relative to the videos folder (posix)
    sha256: str
    n_frames: int       # frames on the 25 fps timeline


def scan_videos(videos_root: Path, collection: str) -> list[VideoRecord]:
    """The normalized videos of a collection: <videos_root>/<collection>/**/*.mp4."""
    from olympia.video.ffmpeg_ops import require_video

    root = Path(videos_root).resolve()
    folder = root / collection
    if not folder.is_dir():
        raise VideoError(f"{folder}: no such folder; put the collection's normalized videos there "
                         "(`olympia videos normalize ...`) or pass --videos")
    records = []
    for path in sorted(folder.rglob("*.mp4")):
        rel = path.relative_to(root).as_posix()
        check_video_relpath(rel)
        info = require_video(path)
        if abs(info.fps - FPS) > 1e-3:
            raise VideoError(f"{path}: {info.fps:g} fps, expected the normalized {FPS:g} fps; "
                             "normalize it first")
        records.append(VideoRecord(rel, sha256_file(path), info.frames_at(FPS)))
    if not records:
        raise VideoError(f"{folder}: no .mp4 videos; normalize the collection's videos into it first")
    return records


def video_url(rel: str, videos_root: Path, url_prefix: str | None) -> str:
    if url_prefix:
        return url_prefix + quote(rel)
    # Served by local-files storage: the document root is the videos folder's parent.
    return "/data/local-files/?d=" + quote(f"{Path(videos_root).resolve().name}/{rel}")


def task_data(rec: VideoRecord, collection: str, videos_root: Path, url_prefix: str | None) -> dict:
    return {"video": video_url(rec.rel, videos_root, url_prefix),
            "olympia": {"collection": collection, "video": rec.rel, "sha256": rec.sha256,
                        "n_frames": rec.n_frames}}


@dataclass
class PushReport:
    project_id: int
    created_project: bool = False
    config_updated: bool = False
    storage_created: bool = False
    tasks_created: list[str] = field(default_factory=list)
    tasks_updated: list[str] = field(default_factory=list)   # video re-normalized: data refreshed
    tasks_unchanged: list[str] = field(default_factory=list)
    predictions_set: list[str] = field(default_factory=list)
    suggestions: object = None       # olympia.annotate.suggest.Suggestions with --suggest

    def summary(self) -> str:
        text = (f"project {self.project_id}: {len(self.tasks_created)} task(s) created, "
                f"{len(self.tasks_updated)} updated, {len(self.tasks_unchanged)} unchanged, "
                f"{len(self.predictions_set)} pre-annotation(s) set")
        if self.suggestions is not None:
            n_sets = sum(len(v) for v in self.suggestions.sets.values())
            text += (f"; {n_sets} set(s) suggested in {len(self.suggestions.sets)} video(s) "
                     f"({self.suggestions.model_version}), {len(self.suggestions.problems)} video(s) "
                     "without a usable stretch")
        return text


def ensure_project(cfg, client, collection: str, report_cb=None):
    """(project, created, config_updated): the collection's project with our labeling config."""
    config = labeling_config()
    project = find_project(cfg, client, collection)
    if project is None:
        project = call(cfg, "create the project", client.projects.create, title=project_title(collection),
                       description=f"Olympia set segmentation of the '{collection}' videos "
                                   "(managed by `olympia annotate push`)", label_config=config)
        return project, True, False
    project = call(cfg, f"read project {project.id}", client.projects.get, id=project.id)
    if (project.label_config or "").strip() != config.strip():
        # Label Studio refuses a config that would orphan existing annotations (HTTP 400).
        call(cfg, "update the labeling config", client.projects.update, id=project.id, label_config=config)
        return project, False, True
    return project, False, False


def ensure_storage(cfg, client, project_id: int, videos_root: Path) -> bool:
    path = str(Path(videos_root).resolve())
    existing = call(cfg, "list local storages", client.import_storage.local.list, project=project_id)
    if any(s.path == path for s in existing):
        return False
    call(cfg, f"connect the videos folder {path} as local storage (start the server with "
              f"`olympia annotate serve --videos {videos_root}` so it may serve that folder)",
         client.import_storage.local.create, project=project_id, path=path, title="olympia videos",
         use_blob_urls=False)
    return True


def _existing_tasks(cfg, client, project_id: int) -> dict[str, object]:
    tasks = call(cfg, "list tasks", lambda: list(client.tasks.list(project=project_id)))
    out = {}
    for task in tasks:
        meta = (task.data or {}).get("olympia")
        if isinstance(meta, dict) and isinstance(meta.get("video"), str):
            out[meta["video"]] = task
    return out


@dataclass(frozen=True)
class Prediction:
    """A pre-annotation to put on a task: the annotations file's sets, or a suggestion."""

    result: list
    model_version: str = MODEL_VERSION
    score: float | None = None

    def as_task_field(self) -> dict:
        return {"model_version": self.model_version, "result": self.result,
                **({"score": self.score} if self.score is not None else {})}


def _ours(model_version) -> bool:
    return model_version == MODEL_VERSION or is_suggestion(model_version)


def _sync_prediction(cfg, client, task_id: int, want: Prediction) -> bool:
    preds = call(cfg, "list predictions", client.predictions.list, task=task_id)
    ours = [p for p in preds if _ours(p.model_version)]
    if len(ours) == 1 and ours[0].model_version == want.model_version and \
            json.dumps(ours[0].result, sort_keys=True) == json.dumps(want.result, sort_keys=True):
        return False
    for pred in ours:   # predictions only: annotators' work lives in annotations, never touched
        call(cfg, "replace a pre-annotation", client.predictions.delete, id=pred.id)
    call(cfg, "create a pre-annotation", client.predictions.create, task=task_id, **want.as_task_field())
    return True


def prediction_for(rec: VideoRecord, entry: dict | None, suggestions) -> Prediction | None:
    """The annotations file's sets when they were made on this very file (same sha256): human
    work beats the machine's; else the machine's suggestion, when there is one."""
    if entry and entry["sha256"] == rec.sha256 and entry["segments"]:
        return Prediction(segments_to_result(segments_of(rec.rel, entry)))
    sets = suggestions.sets.get(rec.rel) if suggestions is not None else None
    if sets:
        score = round(sum(s.confidence for s in sets) / len(sets), 3)
        return Prediction(suggestion_result(sets), suggestions.model_version, score)
    return None


def push(cfg: LabelStudioConfig, collection: str, *, videos_root: Path, annotations_dir: Path,
         url_prefix: str | None = None, suggest: Callable[[dict[str, Path]], object] | None = None
         ) -> PushReport:
    """Create or update the collection's project, tasks and pre-annotations. Never deletes or
    edits annotations, nor the pre-annotations of a task that has one; tasks whose video is
    gone are left as they are. `suggest` (videos rel -> path => olympia.annotate.suggest.
    Suggestions) makes machine suggestions for the videos without annotated sets in the file."""
    check_collection(collection)
    videos = scan_videos(videos_root, collection)
    doc = load_annotations(Path(annotations_dir) / f"{collection}.json", collection) or {"videos": {}}
    client = connect(cfg)
    project, created, updated = ensure_project(cfg, client, collection)
    report = PushReport(project.id, created, updated)
    if not url_prefix:
        report.storage_created = ensure_storage(cfg, client, project.id, videos_root)
    suggestions = None
    if suggest is not None:
        todo = {rec.rel: Path(videos_root).resolve() / rec.rel for rec in videos
                if not (doc["videos"].get(rec.rel) or {}).get("segments")
                or doc["videos"][rec.rel]["sha256"] != rec.sha256}
        suggestions = report.suggestions = suggest(todo)
    existing = _existing_tasks(cfg, client, project.id)
    new_tasks = []
    for rec in videos:
        data = task_data(rec, collection, videos_root, url_prefix)
        want = prediction_for(rec, doc["videos"].get(rec.rel), suggestions)
        task = existing.get(rec.rel)
        if task is None:
            new_tasks.append({"data": data, **({"predictions": [want.as_task_field()]} if want else {})})
            report.tasks_created.append(rec.rel)
            if want:
                report.predictions_set.append(rec.rel)
            continue
        if task.data != data:
            call(cfg, f"update task {task.id}", client.tasks.update, id=str(task.id), data=data)
            report.tasks_updated.append(rec.rel)
        else:
            report.tasks_unchanged.append(rec.rel)
        # an annotated task keeps the prediction its annotator started from (pull reviews it)
        if want and not getattr(task, "total_annotations", 0) and _sync_prediction(cfg, client, task.id, want):
            report.predictions_set.append(rec.rel)
    if new_tasks:
        call(cfg, f"import {len(new_tasks)} task(s)", client.projects.import_tasks, id=project.id,
             request=new_tasks)
    return report
