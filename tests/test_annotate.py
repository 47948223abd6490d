"""Label Studio round trip without a server: the frame convention, validation of untrusted
exports, the annotations file, configuration and token handling, server launch settings, CLI.
The real-server round trip is in test_annotate_server.py."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from olympia.annotate.config import LabelStudioConfig, load_config
from olympia.annotate.convert import (AnnotationError, check_video_relpath, latest_annotation, load_annotations,
                                      make_document, parse_result, resolve_video, segment_entry,
                                      segments_to_result, video_entry, with_labels, write_annotations)
from olympia.annotate.export import TaskOutcome, merge, PullReport, task_outcome
from olympia.annotate.server import ServerSettings, label_studio_executable, server_command, server_env
from olympia.errors import ConfigError, OlympiaError
from olympia.segment import Segment
from olympia.timebase import frames_to_ls_range, ls_range_to_frames

SHA = "ab" * 32


def region(rid, start, end, name=None, reps=None):
    items = [{"id": rid, "from_name": "set", "to_name": "video", "type": "timelinelabels",
              "value": {"ranges": [{"start": start, "end": end}], "timelinelabels": ["set"]}}]
    if name is not None:
        items.append({"id": rid, "from_name": "exercise", "to_name": "video", "type": "textarea",
                      "value": {"text": [name]}})
    if reps is not None:
        items.append({"id": rid, "from_name": "reps", "to_name": "video", "type": "number",
                      "value": {"number": reps}})
    return items


def seg(start, end, exercise, reps, label="", video="demo/a.mp4"):
    """A set of one annotated video (an olympia.segment.Segment on the 25 fps timeline)."""
    return Segment(video, start, end, label_raw=exercise, reps=reps, label=label)


def parse(*regions, n_frames=100):
    return parse_result([i for r in regions for i in r], task_id=7, video="demo/a.mp4", n_frames=n_frames)


# --- frame convention ------------------------------------------------------------------------

def test_frame_convention_by_hand():
    # LS frames are 1-based inclusive: 1..40 is the first 40 frames = [0, 40) = 0.0-1.6 s
    assert ls_range_to_frames(1, 40) == (0, 40)
    assert ls_range_to_frames(51, 100) == (50, 100)
    assert frames_to_ls_range(50, 100) == {"start": 51, "end": 100}
    assert segment_entry(seg(50, 100, "x", 1))["start_s"] == 2.0
    assert segment_entry(seg(50, 100, "x", 1))["end_s"] == 4.0
    assert segment_entry(seg(1, 26, "x", 1))["start_s"] == 0.04


@given(st.integers(1, 10**6), st.integers(0, 10**6))
def test_frame_convention_round_trips(start, length):
    s, e = ls_range_to_frames(start, start + length)
    assert e - s == length + 1                      # inclusive LS range: length + 1 frames
    assert frames_to_ls_range(s, e) == {"start": start, "end": start + length}


def test_preannotation_result_parses_back_to_the_same_segments():
    segs = [seg(50, 100, "lunge", 3), seg(0, 40, "Squats", 5)]
    back, problems = parse_result(segments_to_result(segs), task_id=1, video="demo/a.mp4", n_frames=100)
    assert problems == []
    assert back == sorted(segs, key=lambda s: s.start_frame)


# --- validation ------------------------------------------------------------------------------

def test_valid_regions_become_sorted_segments():
    segs, problems = parse(region("b", 51, 100, "  Alt.  DB Curls ", 8), region("a", 1, 40, "squat", 5.0))
    assert problems == []
    assert segs == [seg(0, 40, "squat", 5), seg(50, 100, "Alt. DB Curls", 8)]


def test_adjacent_sets_do_not_overlap_but_a_shared_frame_does():
    assert parse(region("a", 1, 40, "x", 1), region("b", 41, 80, "y", 1))[1] == []
    _, problems = parse(region("a", 1, 40, "x", 1), region("b", 40, 80, "y", 1))
    assert [(p.region, p.field) for p in problems] == [("b", "set")]
    assert "overlaps region a" in problems[0].message


def test_every_set_inside_a_long_one_is_reported():
    _, problems = parse(region("long", 1, 100, "x", 1), region("p", 10, 20, "y", 1), region("q", 30, 40, "z", 1))
    assert sorted(p.region for p in problems) == ["p", "q"]
    assert all("overlaps region long" in p.message for p in problems)


@pytest.mark.parametrize("items, field, words", [
    (region("r", 1, 40, None, 5), "exercise", "no exercise name"),
    (region("r", 1, 40, "   ", 5), "exercise", "empty"),
    (region("r", 1, 40, "x" * 201, 5), "exercise", "longer than 200"),
    (region("r", 1, 40, "squat\x00", 5), "exercise", "control characters"),
    (region("r", 1, 40, "squat"), "reps", "no rep count"),
    (region("r", 1, 40, "squat", 0), "reps", "1..1000"),
    (region("r", 1, 40, "squat", -3), "reps", "1..1000"),
    (region("r", 1, 40, "squat", 2.5), "reps", "not a whole number"),
    (region("r", 1, 40, "squat", "5"), "reps", "not a whole number"),
    (region("r", 1, 40, "squat", True), "reps", "not a whole number"),
    (region("r", 1, 40, "squat", float("nan")), "reps", "not a whole number"),
    (region("r", 40, 10, "squat", 5), "set", "starts after it ends"),
    (region("r", 0, 10, "squat", 5), "set", "outside the video"),
    (region("r", 90, 101, "squat", 5), "set", "outside the video"),
    (region("r", 7, 7, "squat", 5), "set", "at least 2 frames"),
    (region("r", 1.5, 7, "squat", 5), "set", "integer"),
])
def test_each_bad_region_names_task_region_field_and_fix(items, field, words):
    segs, problems = parse(items)
    assert segs == []
    assert [(p.task_id, p.video, p.region, p.field) for p in problems] == [(7, "demo/a.mp4", "r", field)]
    assert words in problems[0].message
    assert str(problems[0]).startswith(f"task 7 (demo/a.mp4), region r, {field}: ")


def test_untrusted_result_shapes_are_problems_not_crashes():
    assert parse_result("nope", task_id=1, video="v", n_frames=10)[1][0].message == "result is not a list"
    weird = [{"from_name": "set"}, {"id": "x", "from_name": "choice", "type": "choices", "to_name": "video", "value": {}},
             *region("d", 1, 5, "a", 1), {"id": "d", "from_name": "reps", "to_name": "video", "type": "number",
                                             "value": {"number": 2}}]
    _, problems = parse_result(weird, task_id=1, video="v", n_frames=10)
    assert [(p.region, p.field) for p in problems] == [("", "annotation"), ("x", "choice"), ("d", "reps")]
    assert "labeling config differs" in problems[1].message
    bad_label = [dict(region("r", 1, 5, "a", 1)[0], value={"ranges": [{"start": 1, "end": 5}], "timelinelabels": []})]
    assert "expected ['set']" in parse_result(bad_label, task_id=1, video="v", n_frames=10)[1][0].message
    orphan = region("o", 1, 5, "a", 1)[1:]
    assert "without a timeline region" in parse_result(orphan, task_id=1, video="v", n_frames=10)[1][0].message


@pytest.mark.parametrize("rel", ["/etc/passwd.mp4", "../x.mp4", "a/../../x.mp4", "a\\b.mp4", "a.mkv",
                                 "a//b.mp4", "./a.mp4", "x\x00.mp4", "a\n.mp4", "", None, 5, "a/" * 300 + "x.mp4"])
def test_video_paths_from_task_data_cannot_escape(rel):
    with pytest.raises(ValueError):
        check_video_relpath(rel)


def test_symlink_out_of_the_videos_folder_is_refused(tmp_path):
    (tmp_path / "videos" / "demo").mkdir(parents=True)
    (tmp_path / "secret.mp4").write_bytes(b"x")
    (tmp_path / "videos" / "demo" / "evil.mp4").symlink_to(tmp_path / "secret.mp4")
    assert resolve_video(tmp_path / "videos", "demo/ok.mp4") == (tmp_path / "videos/demo/ok.mp4").resolve()
    with pytest.raises(ValueError, match="outside the videos folder"):
        resolve_video(tmp_path / "videos", "demo/evil.mp4")


def test_latest_not_skipped_annotation_counts():
    task = {"annotations": [
        {"id": 1, "updated_at": "2026-01-02T00:00:00Z", "result": "old"},
        {"id": 2, "updated_at": "2026-01-03T00:00:00Z", "result": "new"},
        {"id": 3, "updated_at": "2026-01-04T00:00:00Z", "result": "skip", "was_cancelled": True}]}
    assert latest_annotation(task)["result"] == "new"
    assert latest_annotation({"annotations": "junk"}) is None
    assert latest_annotation({"annotations": []}) is None


def test_label_normalizer_refusal_is_a_problem():
    from olympia.labels import normalize_label

    segs, problems = with_labels([seg(0, 10, "!!!", 2), seg(10, 20, "Squats", 2)], normalize_label,
                                 task_id=3, video="v.mp4")
    assert [s.label for s in segs] == ["squat"]
    assert [(p.task_id, p.region, p.field) for p in problems] == [(3, "frames 1..10", "exercise")]


def _task(tmp_path, video="demo/a.mp4", **meta):
    data = {"olympia": {"collection": "demo", "video": video, "sha256": SHA, "n_frames": 100, **meta}}
    return {"id": 11, "data": data, "annotations": [{"id": 1, "updated_at": "x", "result": region("r", 1, 10, "squat", 2)}]}


def test_task_data_is_checked_before_any_file_is_touched(tmp_path):
    norm = lambda s: s.lower()  # noqa: E731  (labels are not under test here)
    out = task_outcome({"id": 11, "data": {"video": "x"}}, "demo", tmp_path, norm)
    assert out.problems[0].field == "data" and "not created by `olympia annotate push`" in out.problems[0].message
    out = task_outcome(_task(tmp_path, video="../../etc/passwd.mp4"), "demo", tmp_path, norm)
    assert out.problems[0].field == "data" and "videos folder" in out.problems[0].message
    out = task_outcome(_task(tmp_path, collection="other"), "demo", tmp_path, norm)
    assert "belongs to collection 'other'" in out.problems[0].message
    out = task_outcome(_task(tmp_path, sha256="zz"), "demo", tmp_path, norm)
    assert "malformed" in out.problems[0].message
    out = task_outcome(_task(tmp_path), "demo", tmp_path, norm)     # file does not exist
    assert out.problems[0].field == "video" and "moved or deleted" in out.problems[0].message
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "a.mp4").write_bytes(b"other content")
    out = task_outcome(_task(tmp_path), "demo", tmp_path, norm)
    assert "changed since import" in out.problems[0].message
    pending = dict(_task(tmp_path), annotations=[])
    assert task_outcome(pending, "demo", tmp_path, norm).pending


def test_merge_keeps_previous_entries_of_problem_and_missing_videos():
    old = {"sha256": SHA, "n_frames": 100, "segments": []}
    new = video_entry(SHA, 100, [seg(0, 10, "squat", 2, "squat")])
    previous = make_document("demo", {"demo/a.mp4": old, "demo/b.mp4": old, "demo/gone.mp4": old})
    from olympia.annotate.convert import Problem
    outcomes = [TaskOutcome(1, "demo/a.mp4", problems=[Problem(1, "demo/a.mp4", "r", "reps", "bad")]),
                TaskOutcome(2, "demo/b.mp4", entry=new), TaskOutcome(3, "demo/c.mp4", pending=True)]
    report = PullReport(Path("x"))
    doc = merge("demo", previous, outcomes, report)
    assert doc["videos"] == {"demo/a.mp4": old, "demo/b.mp4": new, "demo/gone.mp4": old}
    assert (report.kept, report.updated, report.pending, report.orphans) == (
        ["demo/a.mp4"], ["demo/b.mp4"], ["demo/c.mp4"], ["demo/gone.mp4"])


# --- annotations file ------------------------------------------------------------------------

def _doc(order):
    entries = {"demo/b.mp4": video_entry(SHA, 75, [seg(25, 75, "push-up", 10, "pushup")]),
               "demo/a.mp4": video_entry(SHA, 100, [seg(50, 100, "b", 2, "b"), seg(0, 40, "a", 1, "a")])}
    return make_document("demo", {k: entries[k] for k in order})


def test_file_is_deterministic_sorted_and_written_only_on_change(tmp_path):
    p1, p2 = tmp_path / "one.json", tmp_path / "two.json"
    assert write_annotations(p1, _doc(["demo/a.mp4", "demo/b.mp4"]))
    assert write_annotations(p2, _doc(["demo/b.mp4", "demo/a.mp4"]))
    assert p1.read_bytes() == p2.read_bytes()
    doc = json.loads(p1.read_text())
    assert list(doc["videos"]) == ["demo/a.mp4", "demo/b.mp4"]
    assert [s["start_frame"] for s in doc["videos"]["demo/a.mp4"]["segments"]] == [0, 50]
    assert p1.read_text().endswith("}\n") and "\n  \"videos\": {\n" in p1.read_text()
    mtime = p1.stat().st_mtime_ns
    assert not write_annotations(p1, _doc(["demo/b.mp4", "demo/a.mp4"]))
    assert p1.stat().st_mtime_ns == mtime
    assert sorted(os.listdir(tmp_path)) == ["one.json", "two.json"]     # no temp files left
    assert load_annotations(p1, "demo") == doc


def test_invalid_document_is_refused_and_the_file_kept(tmp_path):
    path = tmp_path / "demo.json"
    write_annotations(path, _doc(["demo/a.mp4"]))
    before = path.read_bytes()
    bad = _doc(["demo/a.mp4"])
    bad["videos"]["demo/a.mp4"]["segments"][0]["reps"] = 0
    with pytest.raises(OlympiaError, match="videos/demo/a.mp4/segments/0/reps"):
        write_annotations(path, bad)
    traversal = make_document("demo", {"../x.mp4": video_entry(SHA, 1, [])})
    with pytest.raises(OlympiaError):
        write_annotations(path, traversal)
    assert path.read_bytes() == before
    path.write_text("{not json")
    with pytest.raises(OlympiaError, match="not valid JSON"):
        load_annotations(path)


# --- configuration and token -----------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in ("OLYMPIA_LS_URL", "OLYMPIA_LS_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OLYMPIA_LS_CONFIG", str(tmp_path / "absent.toml"))
    return monkeypatch


def test_token_from_env_wins_and_is_never_shown(clean_env, tmp_path):
    cfg_file = tmp_path / "ls.toml"
    cfg_file.write_text('url = "http://127.0.0.1:9000/"\ntoken = "from-file-token"\n')
    cfg_file.chmod(0o600)
    assert load_config(config_path=cfg_file) == LabelStudioConfig("http://127.0.0.1:9000", "from-file-token", str(cfg_file))
    clean_env.setenv("OLYMPIA_LS_TOKEN", "s3cr3t-token-value")
    clean_env.setenv("OLYMPIA_LS_URL", "http://localhost:8081")
    cfg = load_config(config_path=cfg_file)
    assert (cfg.url, cfg.token, cfg.source) == ("http://localhost:8081", "s3cr3t-token-value", "$OLYMPIA_LS_TOKEN")
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(cfg)
    assert load_config(url="http://h:1").url == "http://h:1"


def test_config_file_must_be_private_and_outside_the_repo(clean_env, tmp_path):
    shared = tmp_path / "ls.toml"
    shared.write_text('token = "abc"\n')
    shared.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(config_path=shared)
    from olympia.annotate.config import REPO_ROOT
    inside = REPO_ROOT / "annotations" / ".ls-test-config.toml"
    inside.write_text('token = "abc"\n')
    inside.chmod(0o600)
    try:
        with pytest.raises(ConfigError, match="inside the repository"):
            load_config(config_path=inside)
    finally:
        inside.unlink()


def test_missing_token_and_bad_url_say_how_to_fix(clean_env):
    with pytest.raises(ConfigError, match="OLYMPIA_LS_TOKEN"):
        load_config()
    clean_env.setenv("OLYMPIA_LS_TOKEN", "abc")
    with pytest.raises(ConfigError, match="not an http"):
        load_config(url="file:///etc/passwd")
    clean_env.setenv("OLYMPIA_LS_TOKEN", "abc def")
    with pytest.raises(ConfigError, match="malformed"):
        load_config()


# --- server launch ---------------------------------------------------------------------------

def test_missing_server_venv_names_make_labelstudio(monkeypatch, tmp_path):
    monkeypatch.setenv("OLYMPIA_LABEL_STUDIO_VENV", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="make labelstudio"):
        label_studio_executable()


def test_server_binds_loopback_and_serves_only_the_videos_folder(monkeypatch, tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "label-studio").write_text("#!/bin/sh\n")
    (venv / "bin" / "label-studio").chmod(0o755)
    monkeypatch.setenv("OLYMPIA_LABEL_STUDIO_VENV", str(venv))
    monkeypatch.setenv("OLYMPIA_LS_TOKEN", "client-secret")
    monkeypatch.setenv("HOST", "zsh-sets-this")
    settings = ServerSettings(data_dir=tmp_path / "data", videos_root=tmp_path / "w" / "videos",
                              user_token="tok", password="pw", username="a@b.c")
    cmd = server_command(settings)
    assert cmd[cmd.index("--internal-host") + 1] == "127.0.0.1" and "8080" in cmd
    assert not any(v in cmd for v in ("tok", "pw"))        # credentials never on argv
    env = server_env(settings)
    assert env["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] == str((tmp_path / "w").resolve())
    assert env["LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED"] == "true"
    assert env["LABEL_STUDIO_USER_TOKEN"] == "tok"
    assert "OLYMPIA_LS_TOKEN" not in env and "HOST" not in env


# --- CLI -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["annotate"], ["annotate", "serve"], ["annotate", "push"], ["annotate", "pull"],
                                  ["annotate", "report"]])
def test_every_command_has_examples(args):
    from olympia.cli import main
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output


def test_pull_without_token_is_one_clear_line(clean_env, tmp_path):
    from olympia.cli import main
    result = CliRunner().invoke(main, ["annotate", "pull", "demo", "--annotations", str(tmp_path)])
    assert result.exit_code == 2
    assert "OLYMPIA_LS_TOKEN" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


# --- untrusted text and structure (issue "Trustworthy builds") -------------------------------

def test_region_ids_and_names_from_an_export_cannot_drive_the_terminal():
    """Raw ESC bytes from a region id or a control name reached the terminal before."""
    evil = "\x1b[2J\x1b[31mgotcha\r\x07"
    items = [dict(i, id=evil) for i in region("r", 1, 40, "squat", 0)]
    items.append({"id": "x", "from_name": evil, "type": "choices", "to_name": "video", "value": {}})
    _, problems = parse_result(items, task_id=3, video="demo/a\x1b].mp4", n_frames=100)
    text = str(AnnotationError(problems))
    assert len(problems) == 2 and "gotcha" in text
    assert not any(c in text for c in "\x1b\r\x07")
    assert "\\x1b[2J\\x1b[31mgotcha\\r\\x07" in text     # shown, escaped, not executed


class _FakeExports:
    def __init__(self, payload: bytes):
        self.payload = payload

    def download_sync(self, project_id, **kwargs):
        yield self.payload


class _FakeClient:
    def __init__(self, payload: bytes):
        self.projects = type("P", (), {"exports": _FakeExports(payload)})()


@pytest.mark.parametrize("depth", [40, 100_000])
def test_a_deeply_nested_export_is_a_clear_error_not_a_recursion_error(depth):
    """json.loads raised RecursionError at 100,000 levels; at 40 it parsed, and repr/the region
    parser could recurse later. Both are one clear OlympiaError now."""
    from olympia.annotate.export import fetch_export
    cfg = LabelStudioConfig("http://127.0.0.1:1", "t")
    payload = b'[{"id": 1, "annotations": ' + b"[" * depth + b"]" * depth + b"}]"
    with pytest.raises(OlympiaError, match="nests lists/objects more than 32 levels deep"):
        fetch_export(cfg, _FakeClient(payload), 5)
    ok = json.dumps([{"id": 1, "data": {}, "annotations": [{"result": [{"value": {"ranges": [{"start": 1}]}}]}]}])
    assert fetch_export(cfg, _FakeClient(ok.encode()), 5)[0]["id"] == 1


FAKE_SERVER = """#!{python}
import os, pathlib, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # a worker, like Django's
pathlib.Path(os.environ["FAKE_PIDS"]).write_text(f"{{os.getpid()}} {{child.pid}}")
signal.signal(signal.SIGINT, lambda *a: (child.terminate(), child.wait(), sys.exit(0)))
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_serve_stops_its_label_studio_on_sigterm_and_sigint(sig, tmp_path):
    """The previous `serve` forwarded only a KeyboardInterrupt: on SIGTERM it died and left the
    server (and its workers) running, holding the port and the database."""
    import signal
    import subprocess
    import sys
    import time
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    exe = venv / "bin" / "label-studio"
    exe.write_text(FAKE_SERVER.format(python=sys.executable))
    exe.chmod(0o755)
    pids_file = tmp_path / "pids"
    env = {**os.environ, "OLYMPIA_LABEL_STUDIO_VENV": str(venv), "FAKE_PIDS": str(pids_file)}
    serve = subprocess.Popen([sys.executable, "-c", "from olympia.cli import main; main()",
                              "annotate", "serve", "--data-dir",
                              str(tmp_path / "data"), "--videos", str(tmp_path / "videos")],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(pids) < 2:
            time.sleep(0.2)
            pids = [int(p) for p in pids_file.read_text().split()] if pids_file.is_file() else []
        assert len(pids) == 2, "the fake server did not start"
        serve.send_signal(getattr(signal, sig))
        assert serve.wait(30) == 128 + getattr(signal, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids)
    finally:
        for pid in [serve.pid, *pids]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- machine suggestions and what annotators did with them ----------------------------------

def _suggested():
    from olympia.annotate.review import SuggestedSet
    return [SuggestedSet(10, 60, 5, "", 0.9), SuggestedSet(100, 180, 8, "", 0.8),
            SuggestedSet(200, 250, 4, "squat", 0.7), SuggestedSet(300, 340, 3, "", 0.6)]


def test_a_suggestion_is_one_timeline_region_per_set_with_its_reps_and_name():
    from olympia.annotate.review import suggested_sets, suggestion_result
    result = suggestion_result(_suggested())
    first = [r for r in result if r["id"] == "olympia-set-000"]
    assert [r["from_name"] for r in first] == ["set", "reps"]           # no name suggested: none sent
    assert first[0]["value"] == {"ranges": [{"start": 11, "end": 60}], "timelinelabels": ["set"]}
    assert first[0]["score"] == 0.9 and first[1]["value"] == {"number": 5}
    named = [r for r in result if r["id"] == "olympia-set-002"]
    assert [r["value"] for r in named if r["from_name"] == "exercise"] == [{"text": ["squat"]}]
    back = suggested_sets(result)
    assert [(s.start_frame, s.end_frame, s.reps, s.exercise, s.region) for s in back] == [
        (10, 60, 5, "", "olympia-set-000"), (100, 180, 8, "", "olympia-set-001"),
        (200, 250, 4, "squat", "olympia-set-002"), (300, 340, 3, "", "olympia-set-003")]
    # untrusted: malformed items are skipped, never a crash
    assert suggested_sets([{"id": "x", "from_name": "set", "value": {"ranges": [{"start": True, "end": 3}]}},
                           "junk", {"id": 5}]) == []
    assert suggested_sets("nope") == []


def test_review_tells_accepted_edited_added_and_deleted_sets_apart():
    from olympia.annotate.review import review, suggested_sets, suggestion_result
    suggested = suggested_sets(suggestion_result(_suggested()))
    annotated = [
        ("olympia-set-000", seg(10, 60, "push-up", 5)),         # kept as suggested (name typed: none was suggested)
        ("olympia-set-001", seg(100, 175, "lunge", 9)),         # boundaries and reps changed
        ("abc", seg(202, 250, "front squat", 4)),               # a new region id, same set (IoU 0.96): name edited
        ("new", seg(400, 450, "plank", 2)),                     # the machine missed it
    ]                                                          # olympia-set-003 was deleted
    reviews, rejected = review(suggested, annotated)
    assert reviews == [
        {"status": "accepted"},
        {"status": "edited", "edited": ["boundaries", "reps"],
         "suggested": {"start_frame": 100, "end_frame": 180, "reps": 8}},
        {"status": "edited", "edited": ["boundaries", "name"],
         "suggested": {"start_frame": 200, "end_frame": 250, "reps": 4, "exercise": "squat"}},
        {"status": "added"}]
    assert [(s.start_frame, s.end_frame) for s in rejected] == [(300, 340)]


def test_pull_records_the_review_and_report_prints_the_acceptance_rate(tmp_path):
    from olympia.annotate.review import acceptance, suggestion_result
    from olympia.cli import main
    from olympia.io import sha256_file
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "a.mp4").write_bytes(b"a video")
    task = _task(tmp_path, sha256=sha256_file(tmp_path / "demo" / "a.mp4"), n_frames=500)
    task["annotations"][0]["result"] = [*region("olympia-set-000", 11, 60, "push-up", 5),
                                        *region("olympia-set-001", 101, 175, "lunge", 9),
                                        *region("new", 401, 450, "plank", 2)]
    suggestion = ("olympia-sets-1", suggestion_result(_suggested()))
    out = task_outcome(task, "demo", tmp_path, str.lower, suggestion)
    assert out.problems == []
    statuses = [s["suggestion"]["status"] for s in out.entry["segments"]]
    assert statuses == ["accepted", "edited", "added"]
    assert out.entry["suggestions"]["model_version"] == "olympia-sets-1"
    assert out.entry["suggestions"]["rejected"] == [
        {"start_frame": 200, "end_frame": 250, "reps": 4, "exercise": "squat"},
        {"start_frame": 300, "end_frame": 340, "reps": 3}]
    plain = task_outcome(task, "demo", tmp_path, str.lower)             # no suggestion: no review
    assert "suggestions" not in plain.entry and all("suggestion" not in s for s in plain.entry["segments"])

    doc = make_document("demo", {"demo/a.mp4": out.entry})
    write_annotations(tmp_path / "ann" / "demo.json", doc)              # schema-checked
    a = acceptance(load_annotations(tmp_path / "ann" / "demo.json"))
    # 4 suggested: 1 accepted, 1 edited, 2 deleted; 1 added
    assert (a.suggested, a.accepted, a.edited, a.rejected, a.added, a.rate) == (4, 1, 1, 2, 1, 0.25)
    assert a.edits == {"boundaries": 1, "name": 0, "reps": 1}
    r = CliRunner().invoke(main, ["annotate", "report", "demo", "--annotations", str(tmp_path / "ann")])
    assert r.exit_code == 0, r.output
    assert "acceptance rate: 25% (1 of 4 suggested sets accepted unchanged)" in r.output
    assert "edited                 1 (25%): boundaries 1, reps 1" in r.output
    r = CliRunner().invoke(main, ["annotate", "report", "demo", "--annotations", str(tmp_path / "ann"), "--json"])
    assert json.loads(r.output)["acceptance_rate"] == 0.25


@pytest.mark.slow
def test_a_lift_checkpoint_names_a_suggested_set_with_its_top_words(tmp_path):
    """--checkpoint: the exercise name of a suggested set is the LiFT model's most confident
    words (at most 4, each above its threshold), from a tiny checkpoint trained here."""
    from lift.configs import get_config
    from lift.predict import predict_skeleton
    from lift.checkpoint import load_checkpoint
    from lift.synthetic import write_synthetic_release
    from lift.train import train

    from olympia.cli.annotate import TOP_WORDS, lift_namer
    from olympia.store import ClipStore
    release = tmp_path / "release"
    write_synthetic_release(release, n_clips=12, seed=1)
    cfg = get_config("small")
    cfg.model.hidden_size, cfg.model.num_hidden_layers, cfg.model.num_attention_heads = 32, 1, 2
    cfg.model.intermediate_size, cfg.model.wordpiece_vocab_size = 64, 300
    cfg.train.batch_size, cfg.train.eval_batch_size, cfg.train.cache_workers = 8, 16, 1
    cfg.train.max_epochs, cfg.train.max_steps_per_epoch, cfg.train.lr = 1, 3, 1e-3
    train(release, cfg, tmp_path / "ck", progress=False)
    store = ClipStore(release)
    keypoints = store.keypoints(store.ids[0])
    name = lift_namer(tmp_path / "ck")
    model, tok, vocab, config, _ = load_checkpoint(tmp_path / "ck")
    words = predict_skeleton(model, tok, vocab, keypoints, max_tokens=config.model.max_text_tokens)["words"]
    assert name(keypoints) == " ".join(w for w, _ in words[:TOP_WORDS])
    assert name.version == "lift:ck"
