"""The open-source video path end to end, through the `olympia` CLI, on a real workout video:
download (real yt-dlp from a local HTTP server) -> normalize (ffmpeg) -> annotations (the file
`olympia annotate pull` writes; the Label Studio side is tested against a real server in
test_annotate_server.py) -> cut -> pose (real MediaPipe) -> a release that includes the store.

The annotated ranges and rep counts below are test inputs standing in for an annotator's.
"""
from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest
import yaml
from click.testing import CliRunner

from olympia.cli import main
from olympia.io import sha256_file

VIDEO = "videos/pushup_test_fitness-action-eval.mp4"   # side-view push-ups, 1920x1080, 60 fps, 13.85 s


@pytest.fixture
def http_root(realdata):
    video = realdata(*VIDEO.split("/"))             # skips with the reason when ../shared is absent
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(video.parent))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", video
    httpd.shutdown()


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_video_to_release(http_root, tmp_path):
    from olympia.annotate.convert import make_document, write_annotations
    from olympia.annotate.export import cut_segments
    from olympia.demo import DemoConfig
    from olympia.recipe import Recipe, build_from_recipe
    from olympia.release import ReleaseConfig
    from olympia.store import ClipStore

    url, original = http_root
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(yaml.safe_dump({"format_version": 1, "videos": [{
        "id": "pushups", "url": f"{url}/{original.name}", "creator": "rjt2004",
        "license": "none stated", "title": "push_up_test"}]}))
    run("videos", "download", manifest, "--out", tmp_path / "raw", "--quiet")
    assert sha256_file(tmp_path / "raw/pushups.mp4") == sha256_file(original)   # the bytes served

    run("videos", "normalize", tmp_path / "raw/pushups.mp4", "--out", tmp_path / "normalized/gym")
    video = tmp_path / "normalized/gym/pushups.mp4"
    # two sets on the 25 fps timeline: [0, 100) and [150, 250), i.e. 0-4 s and 6-10 s
    doc = make_document("gym", {"pushups.mp4": {"sha256": sha256_file(video), "n_frames": 346, "segments": [
        {"start_frame": 0, "end_frame": 100, "start_s": 0.0, "end_s": 4.0, "exercise": "Push-ups",
         "label": "pushup", "reps": 1},
        {"start_frame": 150, "end_frame": 250, "start_s": 6.0, "end_s": 10.0, "exercise": "push ups",
         "label": "pushup", "reps": 2}]}})
    write_annotations(tmp_path / "annotations/gym.json", doc)
    clips = cut_segments(doc, tmp_path / "normalized/gym", tmp_path / "clips")
    assert [p.name for p in clips] == ["0000000-0000100.mp4", "0000150-0000250.mp4"]

    run("pose", "--segments", tmp_path / "clips/gym.clips.json", "--out", tmp_path / "stores/videos",
        "--source", "opensource", "--license", "none stated", "--cache-dir", tmp_path / "cache",
        "--workers", 1, "--quiet")
    store = ClipStore(tmp_path / "stores/videos")
    meta = store.metadata().sort_values("reps")
    assert list(meta["n_frames"]) == [100, 100] and list(meta["reps"]) == [1, 2]
    assert list(meta["label_raw"]) == ["Push-ups", "push ups"] and set(meta["label"]) == {"pushup"}
    # both sets: one group, the content hash of the long source video (not the cut clips')
    assert set(meta["split_group"]) == {f"video:{sha256_file(video)[:16]}"}
    assert (meta["pose_estimator"] == "mediapipe").all()

    report = build_from_recipe(Recipe(ReleaseConfig(name="e2e"), DemoConfig(n_clips=20, clips_per_subject=5),
                                      stores=[tmp_path / "stores/videos"]),
                               tmp_path / "release", workers=1, progress=False)
    assert report.n_clips == 22 and not report.rejected
    release = ClipStore(tmp_path / "release")
    rel = release.metadata()
    assert rel["source"].value_counts().to_dict() == {"demo": 20, "opensource": 2}
    assert rel.loc[rel["source"] == "opensource", "split"].nunique() == 1     # leak-free
    import pandas as pd

    qa = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "release/data/qa").glob("*.parquet")))
    pushup_qa = qa[qa["clip_id"].isin(rel.loc[rel["source"] == "opensource", "id"])]
    assert len(pushup_qa) == 2 * 20                                  # 10 variants x 2 tasks per clip
    counting = pushup_qa[pushup_qa["task"] == "count"]
    assert set(counting["answer"]) == {"1", "2"} and counting["question"].str.contains("pushups").all()
    info = json.loads((tmp_path / "release/meta/info.json").read_text())
    assert info["counts"]["clips"] == 22


def test_clips_manifest_segments_stay_inside_their_folder(tmp_path):
    from olympia.errors import SourceFormatError
    from olympia.video.segments import load_any_segments

    good = {"clip": "gym/a/0000010-0000060.mp4", "video": "a.mp4", "start_frame": 10, "end_frame": 60,
            "exercise": "Squats", "label": "squat", "reps": 4}
    path = tmp_path / "gym.clips.json"
    path.write_text(json.dumps({"collection": "gym", "fps": 25.0, "clips": [good]}))
    [seg] = load_any_segments(path)
    assert (seg.video, seg.start_frame, seg.end_frame) == (str(tmp_path / good["clip"]), 0, 50)
    assert (seg.label_raw, seg.reps, seg.split_group) == ("Squats", 4, "gym:a.mp4")   # no hash recorded
    path.write_text(json.dumps({"collection": "gym", "fps": 25.0,
                                "clips": [dict(good, video_sha256="ab" * 32)]}))
    assert load_any_segments(path)[0].split_group == "video:" + "ab" * 8
    path.write_text(json.dumps({"collection": "gym", "fps": 25.0, "clips": [dict(good, clip="../../etc/x.mp4")]}))
    with pytest.raises(SourceFormatError, match="must stay inside"):
        load_any_segments(path)
