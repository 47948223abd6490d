"""Round trip against a REAL Label Studio server (one per session, see tests/ls_server.py):
push videos, post annotations through the API as an annotator would, pull, check segments,
the JSON file and the cut clips; then every kind of bad input."""
from __future__ import annotations

import difflib
import json
import shutil

import pytest
from click.testing import CliRunner
from ls_server import free_port, make_test_video, start_live_server

from olympia.annotate.convert import MODEL_VERSION, annotations_schema, write_annotations, make_document
from olympia.annotate.export import pull
from olympia.annotate.project import project_title, push
from olympia.errors import ConfigError
from olympia.io import sha256_file

pytestmark = pytest.mark.labelstudio


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    server, handle = start_live_server(tmp_path_factory.mktemp("labelstudio"))
    # demo: a.mp4 4 s (100 frames at 25 fps) and b.mp4 3 s (75 frames), made at 30 fps
    make_test_video(handle.videos_root / "demo" / "a.mp4", 4)
    make_test_video(handle.videos_root / "demo" / "b.mp4", 3)
    make_test_video(handle.videos_root / "bad" / "c.mp4", 5)        # 125 frames
    yield handle
    server.stop()


@pytest.fixture(scope="session")
def work(live, tmp_path_factory):
    return tmp_path_factory.mktemp("work")


def region(rid, start, end, name=None, reps=None):
    """What the editor saves for one set: 1-based inclusive frames (Label Studio's convention)."""
    items = [{"id": rid, "from_name": "set", "to_name": "video", "type": "timelinelabels",
              "origin": "manual", "value": {"ranges": [{"start": start, "end": end}],
                                            "timelinelabels": ["set"]}}]
    if name is not None:
        items.append({"id": rid, "from_name": "exercise", "to_name": "video", "type": "textarea",
                      "origin": "manual", "value": {"text": [name]}})
    if reps is not None:
        items.append({"id": rid, "from_name": "reps", "to_name": "video", "type": "number",
                      "origin": "manual", "value": {"number": reps}})
    return items


def tasks_by_video(live, collection):
    client = live.client()
    project = next(p for p in client.projects.list() if p.title == project_title(collection))
    return project, {t.data["olympia"]["video"]: t for t in client.tasks.list(project=project.id)}


def annotate(live, task_id, *regions):
    return live.client().annotations.create(id=task_id, result=[i for r in regions for i in r])


def test_push_creates_project_tasks_and_preannotations(live, work):
    ann = work / "annotations"
    a = live.videos_root / "demo" / "a.mp4"
    # an earlier pass already marked one set in a.mp4: frames [10, 60) -> LS range 11..60
    write_annotations(ann / "demo.json", make_document("demo", {"demo/a.mp4": {
        "sha256": sha256_file(a), "n_frames": 100, "segments": [
            {"start_frame": 10, "end_frame": 60, "start_s": 0.4, "end_s": 2.4,
             "exercise": "squat", "label": "squat", "reps": 4}]}}))
    report = push(live.config(), "demo", videos_root=live.videos_root, annotations_dir=ann)
    assert report.created_project and report.storage_created
    assert sorted(report.tasks_created) == ["demo/a.mp4", "demo/b.mp4"]
    project, tasks = tasks_by_video(live, "demo")
    parsed = live.client().projects.get(id=project.id).parsed_label_config
    assert parsed["set"]["type"] == "TimelineLabels" and parsed["set"]["to_name"] == ["video"]
    assert parsed["exercise"]["type"] == "TextArea" and parsed["reps"]["type"] == "Number"
    assert tasks["demo/a.mp4"].data["olympia"]["n_frames"] == 100
    assert tasks["demo/b.mp4"].data["olympia"]["n_frames"] == 75
    preds = live.client().predictions.list(task=tasks["demo/a.mp4"].id)
    assert [p.model_version for p in preds] == [MODEL_VERSION]
    timeline = [r for r in preds[0].result if r["from_name"] == "set"]
    assert timeline[0]["value"]["ranges"] == [{"start": 11, "end": 60}]
    assert live.client().predictions.list(task=tasks["demo/b.mp4"].id) == []

    again = push(live.config(), "demo", videos_root=live.videos_root, annotations_dir=ann)
    assert not again.created_project and not again.storage_created
    assert again.tasks_created == [] and again.predictions_set == []
    assert sorted(again.tasks_unchanged) == ["demo/a.mp4", "demo/b.mp4"]
    assert len(tasks_by_video(live, "demo")[1]) == 2


def test_local_files_storage_serves_the_video(live):
    import httpx
    _, tasks = tasks_by_video(live, "demo")
    url = live.url + tasks["demo/a.mp4"].data["video"]
    resp = httpx.get(url, headers={"Authorization": f"Token {live.token}"})
    assert resp.status_code == 200
    assert resp.content == (live.videos_root / "demo" / "a.mp4").read_bytes()


def test_pull_writes_segments_and_cuts_clips(live, work):
    from olympia.labels import normalize_label
    from olympia.video.ffmpeg_ops import probe
    import jsonschema

    _, tasks = tasks_by_video(live, "demo")
    annotate(live, tasks["demo/a.mp4"].id, region("r1", 1, 40, "Squats", 5),
             region("r2", 51, 100, "Alt. DB Curls", 8))
    annotate(live, tasks["demo/b.mp4"].id, region("q1", 26, 75, "push-up", 10))
    report = pull(live.config(), "demo", videos_root=live.videos_root,
                  annotations_dir=work / "annotations", clips_dir=work / "clips")
    assert report.problems == [] and report.written
    assert sorted(report.updated) == ["demo/a.mp4", "demo/b.mp4"]
    text = (work / "annotations" / "demo.json").read_text()
    doc = json.loads(text)
    jsonschema.validate(doc, annotations_schema())
    assert live.token not in text
    norm = normalize_label
    seg = [(s["start_frame"], s["end_frame"], s["start_s"], s["end_s"], s["exercise"], s["reps"], s["label"])
           for s in doc["videos"]["demo/a.mp4"]["segments"]]
    # LS 1..40 -> [0, 40) = 0.0-1.6 s; LS 51..100 -> [50, 100) = 2.0-4.0 s
    assert norm("Squats") == "squat"    # method.md §2 rule 1: verbs/nouns to singular
    assert seg == [(0, 40, 0.0, 1.6, "Squats", 5, "squat"),
                   (50, 100, 2.0, 4.0, "Alt. DB Curls", 8, norm("Alt. DB Curls"))]
    b = doc["videos"]["demo/b.mp4"]["segments"]
    assert [(s["start_frame"], s["end_frame"], s["reps"]) for s in b] == [(25, 75, 10)]
    frames = {p.name: probe(p).frames_at(25) for p in report.clips}
    assert sorted(p.relative_to(work / "clips").as_posix() for p in report.clips) == [
        "demo/a/0000000-0000040.mp4", "demo/a/0000050-0000100.mp4", "demo/b/0000025-0000075.mp4"]
    assert frames == {"0000000-0000040.mp4": 40, "0000050-0000100.mp4": 50, "0000025-0000075.mp4": 50}
    manifest = json.loads((work / "clips" / "demo.clips.json").read_text())
    assert [c["reps"] for c in manifest["clips"]] == [5, 8, 10]


def test_pull_is_idempotent(live, work):
    path = work / "annotations" / "demo.json"
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    report = pull(live.config(), "demo", videos_root=live.videos_root, annotations_dir=work / "annotations")
    assert not report.written and report.problems == []
    assert sorted(report.unchanged) == ["demo/a.mp4", "demo/b.mp4"]
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_edit_in_label_studio_shows_up_as_a_diff(live, work):
    path = work / "annotations" / "demo.json"
    before = path.read_text().splitlines()
    _, tasks = tasks_by_video(live, "demo")
    client = live.client()
    ann = client.annotations.list(id=tasks["demo/a.mp4"].id)[0]
    result = [dict(r, value={"number": 9}) if r["from_name"] == "reps" and r["id"] == "r2" else r
              for r in ann.result]
    client.annotations.update(id=ann.id, result=result)
    report = pull(live.config(), "demo", videos_root=live.videos_root, annotations_dir=work / "annotations")
    assert report.written and report.updated == ["demo/a.mp4"]
    diff = [line for line in difflib.unified_diff(before, path.read_text().splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert diff == ['-          "reps": 8', '+          "reps": 9']


def test_moved_video_is_reported_and_its_annotations_kept(live, work):
    path = work / "annotations" / "demo.json"
    before = path.read_bytes()
    video = live.videos_root / "demo" / "a.mp4"
    moved = video.with_name("a.moved")
    shutil.move(video, moved)
    try:
        report = pull(live.config(), "demo", videos_root=live.videos_root, annotations_dir=work / "annotations")
    finally:
        shutil.move(moved, video)
    _, tasks = tasks_by_video(live, "demo")
    assert [(p.task_id, p.video, p.field) for p in report.problems] == [
        (tasks["demo/a.mp4"].id, "demo/a.mp4", "video")]
    assert "moved or deleted" in report.problems[0].message
    assert report.kept == ["demo/a.mp4"] and path.read_bytes() == before


def test_wrong_token_and_server_down_write_nothing(live, work):
    path = work / "annotations" / "demo.json"
    before = path.read_bytes()
    kwargs = dict(videos_root=live.videos_root, annotations_dir=work / "annotations")
    with pytest.raises(ConfigError, match="refused the API token") as err:
        pull(live.config(token="0" * 40), "demo", **kwargs)
    assert "0" * 40 not in str(err.value)
    with pytest.raises(ConfigError, match="cannot reach Label Studio"):
        pull(live.config(url=f"http://127.0.0.1:{free_port()}"), "demo", **kwargs)
    assert path.read_bytes() == before


def test_bad_regions_are_listed_and_nothing_is_lost(live, work, monkeypatch):
    from olympia.cli import main

    ann_dir = work / "annotations"
    push(live.config(), "bad", videos_root=live.videos_root, annotations_dir=ann_dir)
    _, tasks = tasks_by_video(live, "bad")
    task_id = tasks["bad/c.mp4"].id
    annotate(live, task_id, region("ok", 1, 50, "lunge", 6))
    assert pull(live.config(), "bad", videos_root=live.videos_root, annotations_dir=ann_dir).problems == []
    before = (ann_dir / "bad.json").read_bytes()

    annotate(live, task_id,                          # a later, broken revision of the same task
             region("r1", 1, 50, "lunge", 6), region("r2", 40, 80, "squat", 5),    # overlap
             region("r3", 81, 90, None, 3),          # no exercise name
             region("r4", 91, 95, "plank jacks"),    # no rep count
             region("r5", 96, 100, "burpee", 0),     # reps not positive
             region("r6", 101, 105, "burpee", 2.5),  # reps not an integer
             region("r7", 110, 999, "row", 4))       # beyond the 125-frame video
    # an injected task whose data points outside the videos folder (untrusted export)
    client = live.client()
    project, _ = tasks_by_video(live, "bad")
    client.projects.import_tasks(id=project.id, request=[{"data": {
        "video": "/data/local-files/?d=../../etc/passwd", "olympia": {
            "collection": "bad", "video": "../../../etc/passwd.mp4", "sha256": "0" * 64, "n_frames": 100}}}])
    evil = tasks_by_video(live, "bad")[1]["../../../etc/passwd.mp4"]
    annotate(live, evil.id, region("e1", 1, 10, "squat", 1))

    monkeypatch.setenv("OLYMPIA_LS_TOKEN", live.token)
    monkeypatch.setenv("OLYMPIA_LS_CONFIG", str(work / "no-config.toml"))
    result = CliRunner().invoke(main, ["annotate", "pull", "bad", "--url", live.url, "--videos",
                                       str(live.videos_root), "--annotations", str(ann_dir)])
    assert result.exit_code == 2, result.output
    out = result.output
    expected = [("r2", "set", "overlaps region r1"), ("r3", "exercise", "no exercise name"),
                ("r4", "reps", "no rep count"), ("r5", "reps", "must lie in 1..1000"),
                ("r6", "reps", "not a whole number"), ("r7", "set", "outside the video")]
    for rid, field, words in expected:
        line = next((ln for ln in out.splitlines() if f"region {rid}," in ln), "")
        assert f"task {task_id} (bad/c.mp4), region {rid}, {field}:" in line and words in line, out
    assert f"task {evil.id}, data:" in out and "videos folder" in out
    assert "region r1," not in out                       # the good region is not blamed
    assert live.token not in out
    assert (ann_dir / "bad.json").read_bytes() == before  # last good annotations kept


# --- machine suggestions (push --suggest), the annotator's review, the acceptance rate --------

@pytest.fixture(scope="session")
def gym(live, tmp_path_factory):
    """Collection 'gym': the real side-view push-ups (11 reps), 320 lines, with 2 s blanked
    (frames 125-175: the man leaves and comes back): two sets, 4 and 5 reps
    (tests/test_video_sets.py); and a video without anybody."""
    import ffmpeg
    from conftest import shared_path
    src = shared_path("realdata", "videos", "pushup_test_fitness-action-eval.mp4")
    folder = live.videos_root / "gym"
    folder.mkdir(parents=True, exist_ok=True)
    (ffmpeg.input(str(src)).video.filter("fps", 25).filter("scale", 568, 320).filter("setsar", 1)
     .drawbox(0, 0, "iw", "ih", color="black", thickness="fill", enable="between(n,125,175)")
     .output(str(folder / "sets.mp4"), vcodec="libx264", pix_fmt="yuv420p", an=None)
     .overwrite_output().run(quiet=True))
    make_test_video(folder / "empty.mp4", 2)
    return tmp_path_factory.mktemp("pose-cache")


def test_suggested_sets_are_reviewed_at_pull_and_the_acceptance_rate_reported(live, work, gym, monkeypatch):
    from olympia.annotate.review import SUGGEST_VERSION
    from olympia.annotate.suggest import detect_suggestions
    from olympia.cli import main

    def namer(keypoints):               # stands in for a LiFT checkpoint (tested in test_annotate.py)
        return "push up" if len(keypoints) > 50 else ""
    namer.version = "fake:1"

    ann = work / "annotations"
    report = push(live.config(), "gym", videos_root=live.videos_root, annotations_dir=ann,
                  suggest=lambda videos: detect_suggestions(videos, cache_dir=str(gym), workers=1,
                                                            progress=False, namer=namer))
    assert report.predictions_set == ["gym/sets.mp4"]
    assert "no person detected on any of 50 frames" in report.suggestions.problems["gym/empty.mp4"]
    _, tasks = tasks_by_video(live, "gym")
    [pred] = live.client().predictions.list(task=tasks["gym/sets.mp4"].id)
    assert pred.model_version == f"{SUGGEST_VERSION}+fake:1" and 0 < pred.score <= 1
    timeline = [r for r in pred.result if r["from_name"] == "set"]
    reps = {r["id"]: r["value"]["number"] for r in pred.result if r["from_name"] == "reps"}
    names = {r["id"]: r["value"]["text"] for r in pred.result if r["from_name"] == "exercise"}
    assert len(timeline) == 2 and sorted(reps.values()) == [4, 5]
    assert names == {r["id"]: ["push up"] for r in timeline}
    first, second = sorted(timeline, key=lambda r: r["value"]["ranges"][0]["start"])
    assert first["value"]["ranges"][0]["end"] <= 125 and second["value"]["ranges"][0]["start"] > 176

    # the annotator accepts the first set as suggested and corrects the second's count
    accepted = [dict(r, origin="prediction") for r in pred.result if r["id"] == first["id"]]
    edited = [dict(r, value={"number": 6}) if r["from_name"] == "reps" else r
              for r in pred.result if r["id"] == second["id"]]
    annotate(live, tasks["gym/sets.mp4"].id, accepted, edited)
    result = pull(live.config(), "gym", videos_root=live.videos_root, annotations_dir=ann)
    assert result.problems == [] and result.pending == ["gym/empty.mp4"]
    entry = json.loads((ann / "gym.json").read_text())["videos"]["gym/sets.mp4"]
    assert [s["suggestion"] for s in entry["segments"]] == [
        {"status": "accepted"},
        {"status": "edited", "edited": ["reps"], "suggested": {
            "start_frame": second["value"]["ranges"][0]["start"] - 1,
            "end_frame": second["value"]["ranges"][0]["end"], "reps": reps[second["id"]],
            "exercise": "push up"}}]
    assert entry["suggestions"] == {"model_version": f"{SUGGEST_VERSION}+fake:1", "rejected": []}

    r = CliRunner().invoke(main, ["annotate", "report", "gym", "--annotations", str(ann)])
    assert r.exit_code == 0, r.output
    assert "acceptance rate: 50% (1 of 2 suggested sets accepted unchanged)" in r.output

    # pushing again (the CLI) never replaces the prediction an annotator started from
    monkeypatch.setenv("OLYMPIA_LS_TOKEN", live.token)
    monkeypatch.setenv("OLYMPIA_LS_CONFIG", str(work / "no-config.toml"))
    r = CliRunner().invoke(main, ["annotate", "push", "gym", "--suggest", "--url", live.url, "--videos",
                                  str(live.videos_root), "--annotations", str(ann), "--cache-dir", str(gym),
                                  "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "0 pre-annotation(s) set" in r.stdout
    assert "no suggestion for gym/empty.mp4: " in r.stderr and "no person detected on any of 50" in r.stderr
    assert [p.id for p in live.client().predictions.list(task=tasks["gym/sets.mp4"].id)] == [pred.id]
