"""`olympia videos normalize|cut|probe` and `olympia pose` through click's CliRunner, on real
ffmpeg, real MediaPipe and a real video (the download command is tested beside its local HTTP
server in test_video_download.py)."""
from __future__ import annotations

import json
import re

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


def _lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_pose_exits_1_when_no_clip_is_written_and_keeps_the_store_there(countix, tmp_path):
    """As `olympia ingest`: exit 1 when no clip is written (one quarantine line per item,
    nothing written: a store already at --out stays), 0 when some are (the partial build is
    written, test_pose_writes_a_store_and_quarantines_bad_videos), 1 with --strict when any
    item is quarantined (nothing written). `pose --help` says so."""
    nobody = tmp_path / "empty_gym.mp4"
    ffmpeg.input("testsrc=size=160x120:rate=25:d=1", f="lavfi").output(
        str(nobody), vcodec="libx264", pix_fmt="yuv420p").overwrite_output().run(quiet=True)
    out, cache = tmp_path / "store", tmp_path / "cache"
    r = run("pose", nobody, tmp_path / "gone.mp4", "--out", out, "--quiet", "--cache-dir", cache)
    assert r.exit_code == 1, r.output
    first, second = _lines(r.stderr, "quarantined: ")
    assert first.startswith(f"quarantined: {nobody}: keypoints: no person detected on any of 25 frames")
    assert not _lines(r.stderr, "note: ")                 # the quarantine line says it once
    assert second == f"quarantined: {tmp_path}/gone.mp4: video: {tmp_path}/gone.mp4: no such file; check the path"
    assert r.stdout == f"no clip to write (2 quarantined: see the reasons above); nothing written to {out}\n"
    assert not out.exists()

    assert run("pose", countix, "--out", out, "--quiet", "--cache-dir", cache).exit_code == 0
    r = run("pose", nobody, "--out", out, "--quiet", "--cache-dir", cache)
    assert r.exit_code == 1 and len(ClipStore(out).ids) == 1     # the store written before is kept
    r = run("pose", countix, nobody, "--out", tmp_path / "strict", "--quiet", "--cache-dir", cache, "--strict")
    assert r.exit_code == 1 and len(_lines(r.stderr, "quarantined: ")) == 1
    assert "--strict: 1 item(s) quarantined; nothing written" in r.stdout
    assert not (tmp_path / "strict").exists()
    help_text = " ".join(run("pose", "--help").output.split())
    assert "Exit status, as `olympia ingest`: 0 when clips were written" in help_text
    assert "1 when none was (OUT is then left as it was)" in help_text


def test_a_directory_given_as_a_video_is_told_as_a_directory(tmp_path):
    """`videos probe` and `pose` on a folder (even one named like a video): not "no such file"
    but a directory, with the fix."""
    folder = tmp_path / "adir.mp4"
    folder.mkdir()
    told = f"{folder}: is a directory, not a video file; give the video files in it (e.g. {folder}/*.mp4)"
    r = run("videos", "probe", folder)
    assert r.exit_code == 1 and r.stderr.splitlines() == [f"error: {told}"]
    r = run("pose", folder, "--out", tmp_path / "store", "--quiet", "--no-cache")
    assert r.exit_code == 1 and _lines(r.stderr, "quarantined: ") == [f"quarantined: {folder}: video: {told}"]


def test_pose_prints_a_note_for_each_stretch_left_out(tmp_path):
    """6.4 s of the real countix video with frames 60-79 painted black: two clips, and the
    stretch without a person (from frame 60, 2.4 s, to where MediaPipe finds the person again)
    is a `note:` line on stderr as `olympia count` prints it, the same line as in the clip's
    extra["unusable"]."""
    src = normalize_video(shared_path("realdata", "videos", "countix_4-YmQKoHYmw.mp4"),
                          tmp_path / "countix_6s.mp4", start_frame=0, end_frame=160)
    away = tmp_path / "away.mp4"
    (ffmpeg.input(str(src)).video
     .drawbox(0, 0, "iw", "ih", color="black", thickness="fill", enable="between(n,60,79)")
     .output(str(away), vcodec="libx264", pix_fmt="yuv420p").overwrite_output().run(quiet=True))
    out = tmp_path / "store"
    r = run("pose", away, "--out", out, "--quiet", "--no-cache")
    assert r.exit_code == 0 and r.stdout.startswith("2 clips"), r.output
    store = ClipStore(out)
    first, second = (store.get(i) for i in sorted(store.ids, key=lambda i: store.get(i).extra["start_frame"]))
    assert (first.extra["start_frame"], first.extra["end_frame"]) == (0, 60)
    back = second.extra["start_frame"]
    notes = _lines(r.stderr, "note: ")
    assert notes[0].startswith(f"note: {away}: frames [60, {back}) (2.4-{back / 25:.1f} s): no person detected "
                               "(mean brightness ")
    assert notes == [f"note: {away}: {line}" for line in first.extra["unusable"]]


def test_pose_quarantines_a_dim_video_as_too_dark(tmp_path):
    """4 s of a real Fit3D warm-up darkened with ffmpeg (eq brightness -0.45): MediaPipe loses
    the person on about a third of the frames (measured: run [15, 99), 33% interpolated; the same
    4 s as filmed, mean brightness 65/255: a person on all 100 frames). The run is quarantined for
    its interpolated frames, and the reason says the frames without a person are too dark, their
    brightness and the fix, as `olympia count` says it."""
    src = shared_path("realdata", "fit3d", "train", "s04", "videos", "58860488", "warmup_7.mp4")
    dim = tmp_path / "dim.mp4"
    (ffmpeg.input(str(src), ss=1.6, t=4).video.filter("eq", brightness=-0.45).filter("fps", 25)
     .output(str(dim), vcodec="libx264", pix_fmt="yuv420p").overwrite_output().run(quiet=True))
    r = run("pose", dim, "--out", tmp_path / "dim", "--quiet", "--no-cache")
    assert r.exit_code == 1, r.output
    [line] = _lines(r.stderr, "quarantined: ")
    told = re.search(r": gap_filled_fraction: too dark \(mean brightness (\d+)/255 on the frames without a "
                     r"person\): (\d+\.\d)% of frames interpolated over detection gaps \(limit 20%\); film "
                     r"with more light or brighten the video$", line)
    assert told, line
    assert int(told[1]) < 40 and float(told[2]) > 20
