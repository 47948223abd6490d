"""`olympia videos normalize|cut|probe` and `olympia pose` through click's CliRunner, on real
ffmpeg, real MediaPipe and a real video (the download command is tested beside its local HTTP
server in test_video_download.py)."""
from __future__ import annotations

import json

import ffmpeg
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import shared_path

from olympia.cli import main
from olympia.store import ClipStore
from olympia.video.ffmpeg_ops import normalize_video, probe

COMMANDS = [["videos"], ["videos", "download"], ["videos", "normalize"], ["videos", "cut"],
            ["videos", "probe"], ["pose"]]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def countix(tmp_path_factory):
    """2 s (50 frames) of the real countix video, normalized: cheap for MediaPipe."""
    src = shared_path("realdata", "videos", "countix_4-YmQKoHYmw.mp4")
    return normalize_video(src, tmp_path_factory.mktemp("v") / "countix.mp4",
                           start_frame=0, end_frame=50)


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_help_has_examples(cmd):
    r = run(*cmd, "--help")
    assert r.exit_code == 0 and "Examples:" in r.output
    assert f"olympia {' '.join(cmd)}" in r.output.split("Examples:")[1]


def test_normalize_reports_bad_files_and_converts_the_rest(tmp_path):
    good = tmp_path / "phone.mov"
    ffmpeg.input("testsrc=size=160x120:rate=30:d=2", f="lavfi").output(
        str(good), vcodec="libx264", pix_fmt="yuv420p").overwrite_output().run(quiet=True)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    blip = tmp_path / "blip.mp4"    # one frame at 60 fps: shorter than one 25 fps frame
    ffmpeg.input("testsrc=size=64x48:rate=60", f="lavfi").output(
        str(blip), vcodec="libx264", pix_fmt="yuv420p", frames=1).overwrite_output().run(quiet=True)
    r = run("videos", "normalize", good, bad, blip, "--out", tmp_path / "norm")
    assert r.exit_code == 1
    assert "1 videos normalized, 2 failed" in r.output and "broken.mp4" in r.output
    info = probe(tmp_path / "norm" / "phone.mp4")
    assert (info.fps, info.n_frames, info.codec) == (25.0, 50, "h264")
    assert sorted(p.name for p in (tmp_path / "norm").iterdir()) == ["phone.mp4", "quarantine.json"]
    quarantine = json.loads((tmp_path / "norm" / "quarantine.json").read_text())
    assert sorted(quarantine) == ["blip.mp4", "broken.mp4"]
    assert quarantine["blip.mp4"]["source"] == str(blip)
    assert "produced no video frames" in quarantine["blip.mp4"]["reason"]
    # the input fixed and normalized again: its entry goes, and with it the file
    bad.write_bytes(good.read_bytes())
    blip.write_bytes(good.read_bytes())
    r = run("videos", "normalize", bad, blip, "--out", tmp_path / "norm")
    assert r.exit_code == 0 and not (tmp_path / "norm" / "quarantine.json").exists()


def test_cut_from_a_segments_file(countix, tmp_path):
    segments = tmp_path / "segments.json"
    segments.write_text(json.dumps([
        {"video": str(countix), "start_frame": 5, "end_frame": 30, "clip_id": "press-1"},
        {"video": "countix.mp4", "start_frame": 40, "end_frame": 60, "clip_id": "too-long"}]))
    (tmp_path / "countix.mp4").symlink_to(countix)   # relative paths resolve next to the file
    r = run("videos", "cut", "--segments", segments, "--out", tmp_path / "clips")
    assert r.exit_code == 1 and "1 clips cut, 1 failed" in r.output
    assert "too-long" in r.output and "[40, 60)" in r.output and "50 frames" in r.output
    assert probe(tmp_path / "clips" / "press-1.mp4").n_frames == 25
    r = run("videos", "cut", countix, "--start", 0, "--end", 10, "--out", tmp_path / "one")
    assert r.exit_code == 0 and probe(tmp_path / "one" / "countix-0-10.mp4").n_frames == 10
    r = run("videos", "cut", countix, "--out", tmp_path / "x")
    assert r.exit_code == 2 and "--segments" in r.output


def test_probe_prints_json(countix):
    r = run("videos", "probe", countix)
    assert r.exit_code == 0
    facts = json.loads(r.output.splitlines()[0])
    assert (facts["width"], facts["height"], facts["n_frames"]) == (480, 272, 50)


def test_pose_writes_a_store_and_quarantines_bad_videos(countix, tmp_path):
    audio = tmp_path / "voice.m4a"
    ffmpeg.input("sine=d=1", f="lavfi").output(str(audio)).overwrite_output().run(quiet=True)
    out = tmp_path / "store"
    r = run("pose", countix, audio, "--backend", "mediapipe", "--out", out, "--quiet",
            "--cache-dir", tmp_path / "cache", "--label", "bench press", "--source", "countix")
    assert r.exit_code == 0, r.output
    assert "1 clips" in r.output and "1 quarantined" in r.output and "voice.m4a" in r.output
    store = ClipStore(out)
    clip = store.get(store.ids[0])
    assert clip.n_frames == 50 and clip.source == "countix" and clip.label_raw == "bench press"
    assert clip.pose_estimator == "mediapipe" and clip.fps == 25.0
    quarantine = json.loads((out / "meta" / "quarantine.json").read_text())
    assert len(quarantine) == 1 and "no video stream" in quarantine[0]["message"]
    store.verify()


def test_pose_one_clip_per_segment(countix, tmp_path):
    segments = tmp_path / "segments.json"
    segments.write_text(json.dumps([
        {"video": str(countix), "start_frame": 0, "end_frame": 25, "label_raw": "Bench Press",
         "reps": 1, "clip_id": "set-a"},
        {"video": str(countix), "start_frame": 25, "end_frame": 50, "label_raw": "Bench Press",
         "reps": 1, "clip_id": "set-b"}]))
    out = tmp_path / "store"
    r = run("pose", "--segments", segments, "--out", out, "--quiet", "--no-cache")
    assert r.exit_code == 0, r.output
    store = ClipStore(out)
    assert sorted(store.ids) == ["video:countix:set-a", "video:countix:set-b"]
    assert [store.get(i).n_frames for i in sorted(store.ids)] == [25, 25]


def test_pose_motionbert_needs_a_checkpoint_and_runs_with_one(countix, tmp_path, monkeypatch):
    monkeypatch.delenv("OLYMPIA_MOTIONBERT_CHECKPOINT", raising=False)
    r = CliRunner().invoke(main, ["pose", str(countix), "--backend", "motionbert",
                                  "--out", str(tmp_path / "s")])
    assert r.exit_code == 2 and "needs a checkpoint" in r.output
    assert "OLYMPIA_MOTIONBERT_CHECKPOINT" in r.output and "Traceback" not in r.output
    ckpt = shared_path("spec", "motionbert", "dstformer_tiny_checkpoint.bin")
    r = run("pose", countix, "--backend", "motionbert", "--checkpoint", ckpt,
            "--motionbert-config", "tiny", "--out", tmp_path / "mb", "--quiet", "--no-cache")
    assert r.exit_code == 0, r.output
    store = ClipStore(tmp_path / "mb")
    clip = store.get(store.ids[0])
    assert clip.pose_estimator == "motionbert" and clip.n_frames == 50


def test_cut_segments_of_one_video_from_its_normalized_copy(countix, tmp_path):
    segments = tmp_path / "segments.json"
    segments.write_text(json.dumps([
        {"video": "raw/countix.mp4", "start_frame": 0, "end_frame": 12, "clip_id": "a"},
        {"video": "raw/other.mp4", "start_frame": 0, "end_frame": 12, "clip_id": "b"}]))
    r = run("videos", "cut", countix, "--segments", segments, "--out", tmp_path / "clips")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == ["a.mp4"]
    assert probe(tmp_path / "clips" / "a.mp4").n_frames == 12
    r = run("videos", "cut", tmp_path / "nothing.mp4", "--segments", segments, "--out", tmp_path)
    assert r.exit_code == 2 and "nothing.mp4" in r.output


def test_pose_refuses_a_users_folder_before_posing_unless_forced(countix, tmp_path, monkeypatch):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("years of work")
    import olympia.pose.pipeline as pipeline
    posed = []
    real = pipeline.pose_items
    monkeypatch.setattr(pipeline, "pose_items", lambda *a, **k: posed.append(a) or real(*a, **k))
    r = CliRunner().invoke(main, ["pose", str(countix), "--out", str(out), "--quiet", "--no-cache"])
    assert r.exit_code == 2 and "not empty and is not an Olympia store" in r.output
    assert "--force" in r.output and posed == []                  # refused before any pose work
    assert (out / "chapter1.tex").read_text() == "years of work"
    r = run("pose", countix, "--out", out, "--quiet", "--no-cache", "--force")
    assert r.exit_code == 0, r.output
    assert not (out / "chapter1.tex").exists() and len(ClipStore(out).ids) == 1


def test_pose_stride_2_writes_every_frame_and_motionbert_refuses_it(countix, tmp_path):
    """`--pose-stride 2`: MediaPipe poses 25 of the 50 frames, the store still has 50 at 25 fps
    (the stride recorded in the clip); MotionBERT's temporal model needs every frame: a usage
    error naming the fix, before any work."""
    out = tmp_path / "store"
    r = run("pose", countix, "--out", out, "--quiet", "--no-cache", "--pose-stride", "2")
    assert r.exit_code == 0, r.output
    store = ClipStore(out)
    clip = store.get(store.ids[0])
    assert clip.n_frames == 50 and clip.fps == 25.0 and clip.extra["pose_stride"] == 2
    r = CliRunner().invoke(main, ["videos", "sets", str(countix), "--backend", "motionbert",
                                  "--pose-stride", "2", "--no-cache"])
    assert r.exit_code == 2 and "--pose-stride 1" in r.output and "Traceback" not in r.output


def test_pose_runtime_choice_is_recorded_and_both_find_the_same_person(countix, tmp_path):
    """`--mediapipe-runtime`: litert (default) and graph (mp.solutions.pose) are different
    estimator versions in the store (and the cache); on this close-up both see the person on
    every frame and put the joints within a few centimetres of each other."""
    stores = {}
    for runtime in ("litert", "graph"):
        out = tmp_path / runtime
        r = run("pose", countix, "--out", out, "--quiet", "--no-cache", "--mediapipe-runtime", runtime)
        assert r.exit_code == 0, r.output
        store = ClipStore(out)
        stores[runtime] = store.get(store.ids[0])
    lite, graph = stores["litert"], stores["graph"]
    assert "-litert" in lite.pose_estimator_version and "-litert" not in graph.pose_estimator_version
    assert lite.pose_estimator_version.startswith("mediapipe-0.10.21-full")
    assert lite.n_frames == graph.n_frames == 50
    assert (lite.frame_confidence > 0).all() and (graph.frame_confidence > 0).all()
    gap = np.linalg.norm(lite.keypoints - graph.keypoints, axis=-1)
    assert np.median(gap) < 0.03, np.median(gap)
